"""Reports recomputed from the queue log alone: interval reports (15/30/60 minutes or a day) per queue,
and per-agent reports.

Call outcomes count in the interval the call entered the queue. Agent time (occupancy, utilisation,
calls per agent hour) is split across intervals at the boundaries: handling runs from CONNECT to
WRAPUPEND (talk + hold + after-call work), available is logged in, not paused and not handling.

Service level has one definition, :class:`ServiceLevel`, used by the ACD's live counters (wallboard,
metrics, CTI), these reports and the CDR reports. The ACD writes the definition in force into its
queue log (an ``SLCONFIG`` line before a queue's first call and after every change), so a report
recomputed from the log uses the same definition as the screens did, unless told otherwise.
"""
import math
from dataclasses import dataclass, replace
from typing import NamedTuple

# what the denominator of the service level is: 'offered' counts abandoned calls against it,
# 'answered' leaves them out, 'exclude_short' leaves out only those abandoned before short_abandon
TREATMENTS = MODES = ("offered", "exclude_short", "answered")


class LogEntry(NamedTuple):
    """One queue-log line: time, call id, queue, agent ('-' when none), event and its fields."""

    time: float
    call: str
    queue: str
    agent: str
    event: str
    data: dict


@dataclass(frozen=True)
class ServiceLevel:
    """The service level definition: calls answered within ``seconds``, over the calls that ``mode``
    counts (see MODES); an abandon before ``short_abandon`` seconds is a short abandon."""

    seconds: float = 20.0
    mode: str = "offered"
    short_abandon: float = 5.0

    def __post_init__(self):
        if self.mode not in MODES:
            raise ValueError(f"service level mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        for name in ("seconds", "short_abandon"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise ValueError(f"service level {name} must be a number of seconds >= 0, got {v!r}")

    def in_target(self, wait):
        """Return True when a call answered after `wait` seconds counts as answered in time."""
        return wait <= self.seconds

    def is_short(self, wait):
        """Return True when a call abandoned after `wait` seconds is a short abandon."""
        return wait < self.short_abandon

    def of(self, answered_in_sl, offered, answered, short_abandoned):
        """Return the service level (0..1) of these counts, or None when nothing counts yet."""
        denom = {"offered": offered, "exclude_short": offered - short_abandoned, "answered": answered}[self.mode]
        return answered_in_sl / denom if denom > 0 else None

    def as_dict(self):
        """Return the definition as a plain dict (queue-log fields, JSON views)."""
        return {"seconds": self.seconds, "mode": self.mode, "short_abandon": self.short_abandon}

    @classmethod
    def from_config(cls, table, where="service_level"):
        """Return a ServiceLevel from a config table {seconds, mode, short_abandon}; ValueError naming
        the table and key that is wrong."""
        if not isinstance(table, dict):
            raise ValueError(f"{where} must be a table with seconds, mode and short_abandon")
        unknown = set(table) - {"seconds", "mode", "short_abandon"}
        if unknown:
            raise ValueError(f"{where}: unknown key(s) {', '.join(sorted(unknown))}; allowed: seconds, mode, short_abandon")
        try:
            return cls(**table)
        except ValueError as exc:
            raise ValueError(f"{where}: {exc}") from None


def log_level(data, default=None):
    """Return the ServiceLevel an SLCONFIG queue-log line carries (default when it is not readable)."""
    try:
        return ServiceLevel(float(data["seconds"]), str(data["mode"]), float(data["short_abandon"]))
    except (KeyError, TypeError, ValueError):
        return default


class _Visit:
    __slots__ = ("bin", "level", "wait", "abandon", "timed_out", "talk", "hold", "acw", "transfer", "fcr")

    def __init__(self, b, level):
        self.bin, self.level, self.wait, self.abandon, self.timed_out = b, level, None, None, False
        self.talk = self.hold = self.acw = None
        self.transfer, self.fcr = False, False


class AgentClock:
    """Follows agents' states through the queue log and hands out the time spent in each state:
    ``spend(agent, kind, t0, t1, reason)`` with kind handling, paused or available (reason: the
    pause reason). Only logged-in time is handed out."""

    def __init__(self, spend):
        self.spend = spend
        self.agents = {}  # name -> [logged_in, paused, handling, since, reason]

    def feed(self, e):
        """Account for one queue-log entry (entries must come in time order)."""
        if e.agent == "-":
            return
        st = self.agents.setdefault(e.agent, [False, False, False, e.time, ""])
        self._settle(e.agent, st, e.time)
        if e.event == "LOGIN":
            st[0], st[1], st[2] = True, False, False
        elif e.event == "LOGOUT":
            st[0] = False
        elif e.event == "PAUSE":
            st[1], st[4] = True, str(e.data.get("reason", "") or "-")
        elif e.event == "UNPAUSE":
            st[1] = False
        elif e.event == "DND":
            st[1], st[4] = bool(e.data.get("on")), "dnd"
        elif e.event == "CONNECT":
            st[2] = True
        elif e.event == "WRAPUPEND":
            st[2] = False

    def close(self, t):
        """Hand out every agent's time up to t."""
        for name, st in self.agents.items():
            self._settle(name, st, t)

    def _settle(self, name, st, t):
        if st[0] and t > st[3]:
            kind = "handling" if st[2] else "paused" if st[1] else "available"
            self.spend(name, kind, st[3], t, st[4] if kind == "paused" else "")
        st[3] = max(st[3], t)


def _overrides(sl_seconds, short_abandon, sl_treatment):
    """Return the ServiceLevel fields a report's options override (the rest stays as logged)."""
    return {k: v for k, v in (("seconds", sl_seconds), ("short_abandon", short_abandon), ("mode", sl_treatment))
            if v is not None}


def interval_report(qlog, start, end, interval=900.0, queue=None, service_level=None, sl_seconds=None,
                    short_abandon=None, sl_treatment=None):
    """Return one dict per interval in [start, end): offered, answered, abandoned, short_abandoned,
    service_level, asa, avg_abandon_delay, aht, occupancy, utilisation, transfers, calls_per_agent_hour, fcr.

    Service level follows the SLCONFIG lines of the log (else ServiceLevel's defaults) unless a
    ServiceLevel is given; sl_seconds, short_abandon and sl_treatment (the mode) override those parts
    of whichever applies."""
    changes = _overrides(sl_seconds, short_abandon, sl_treatment)

    def applied(level):
        level = service_level or level
        return replace(level, **changes) if changes else level

    applied(ServiceLevel())  # a bad override is a ValueError before any work
    if not interval > 0 or not end > start:
        raise ValueError("need interval > 0 and end > start")
    nbins = int(math.ceil((end - start) / interval))
    visits, current, last, wrap_of = [], {}, {}, {}
    agent_time = [dict(handling=0.0, available=0.0, paused=0.0) for _ in range(nbins)]
    levels, latest = {}, [ServiceLevel()]  # queue -> definition in force; the last one logged

    def bin_of(t):
        return int((t - start) // interval)

    def spend(agent, kind, t0, t1, reason):
        t0, t1 = max(t0, start), min(t1, end)
        b = bin_of(t0) if t0 < end else nbins
        while t0 < t1 and b < nbins:
            edge = min(t1, start + (b + 1) * interval)
            agent_time[b][kind] += edge - t0
            t0, b = edge, b + 1

    clock = AgentClock(spend)
    for e in qlog:
        clock.feed(e)
        if e.event == "SLCONFIG":
            level = log_level(e.data, latest[0])
            levels[e.queue], latest[0] = level, level
            continue
        if e.queue == "-" or (queue is not None and e.queue != queue):
            if e.event == "FLAG" and e.call in last and e.data.get("name") == "fcr":
                last[e.call].fcr = bool(e.data.get("value"))
            continue
        key = (e.call, e.queue)
        if e.event == "ENTER":
            v = None
            if start <= e.time < end:
                v = _Visit(bin_of(e.time), applied(levels.get(e.queue, latest[0])))
                visits.append(v)
            current[key] = v
            last[e.call] = v
            continue
        v = current.get(key)
        if v is None:
            continue
        if e.event == "CONNECT":
            v.wait = e.data["wait"]
        elif e.event == "ABANDON":
            v.abandon = e.data["wait"]
        elif e.event in ("EXITWITHTIMEOUT", "EXITEMPTY"):
            v.timed_out = True
        elif e.event in ("COMPLETE", "TRANSFER"):
            v.talk, v.hold = e.data["talk"], e.data["hold"]
            v.transfer = e.event == "TRANSFER"
            wrap_of[e.agent] = v
        elif e.event == "WRAPUPEND":
            w = wrap_of.pop(e.agent, None)
            if w is not None:
                w.acw = e.data["acw"]
        elif e.event == "FLAG" and e.data.get("name") == "fcr":
            v.fcr = bool(e.data.get("value"))
    clock.close(end)

    mode_level = applied(latest[0])
    out = []
    for b in range(nbins):
        vs = [v for v in visits if v.bin == b]
        out.append(_summarise(vs, agent_time[b], start + b * interval, min(end, start + (b + 1) * interval),
                              mode_level))
    return out


def _summarise(vs, at, t0, t1, level):
    answered = [v for v in vs if v.wait is not None]
    abandoned = [v for v in vs if v.abandon is not None]
    short = sum(1 for v in abandoned if v.level.is_short(v.abandon))
    in_sl = sum(1 for v in answered if v.level.in_target(v.wait))
    handled = [v.talk + v.hold + v.acw for v in answered if v.talk is not None and v.acw is not None]
    logged = at["handling"] + at["available"] + at["paused"]
    staffed = at["handling"] + at["available"]

    def mean(xs):
        return sum(xs) / len(xs) if xs else None

    return {
        "start": t0, "end": t1, "offered": len(vs), "answered": len(answered), "abandoned": len(abandoned),
        "short_abandoned": short, "abandoned_after_short": len(abandoned) - short,
        "timed_out": sum(1 for v in vs if v.timed_out), "answered_in_sl": in_sl,
        "service_level": level.of(in_sl, len(vs), len(answered), short),
        "sl_seconds": level.seconds, "sl_mode": level.mode,
        "asa": mean([v.wait for v in answered]),
        "avg_abandon_delay": mean([v.abandon for v in abandoned]),
        "aht": mean(handled),
        "talk": sum(v.talk for v in answered if v.talk is not None),
        "hold": sum(v.hold for v in answered if v.hold is not None),
        "acw": sum(v.acw for v in answered if v.acw is not None),
        "transfers": sum(1 for v in vs if v.transfer),
        "occupancy": at["handling"] / staffed if staffed else None,
        "utilisation": at["handling"] / logged if logged else None,
        "agent_hours": logged / 3600.0,
        "calls_per_agent_hour": len(answered) / (logged / 3600.0) if logged else None,
        "fcr": sum(1 for v in answered if v.fcr) / len(answered) if answered else None,
    }


def agent_report(qlog, start, end):
    """Return one dict per agent active in [start, end): calls answered, offers missed, talk, hold,
    wrap-up (acw) and login seconds, occupancy (handling / logged in and not paused) and paused seconds
    by reason."""
    rows = {}

    def row(name):
        return rows.setdefault(name, {"agent": name, "calls": 0, "missed": 0, "talk": 0.0, "hold": 0.0, "acw": 0.0,
                                      "login": 0.0, "handling": 0.0, "available": 0.0, "paused": 0.0,
                                      "pauses": {}})

    def spend(agent, kind, t0, t1, reason):
        t0, t1 = max(t0, start), min(t1, end)
        if t1 > t0:
            r = row(agent)
            r[kind] += t1 - t0
            r["login"] += t1 - t0
            if kind == "paused":
                r["pauses"][reason] = r["pauses"].get(reason, 0.0) + t1 - t0

    clock = AgentClock(spend)
    for e in qlog:
        clock.feed(e)
        if e.agent == "-" or not start <= e.time < end:
            continue
        if e.event == "CONNECT":
            row(e.agent)["calls"] += 1
        elif e.event == "RINGNOANSWER":
            row(e.agent)["missed"] += 1
        elif e.event in ("COMPLETE", "TRANSFER"):
            r = row(e.agent)
            r["talk"] += e.data.get("talk", 0.0)
            r["hold"] += e.data.get("hold", 0.0)
        elif e.event == "WRAPUPEND":
            row(e.agent)["acw"] += e.data.get("acw", 0.0)
    clock.close(end)
    out = []
    for name in sorted(rows):
        r = rows[name]
        staffed = r["handling"] + r["available"]
        r["occupancy"] = r["handling"] / staffed if staffed else None
        out.append(r)
    return out


def day_report(qlog, start=0.0, end=86400.0, **options):
    """Return the report for the whole of [start, end) as one dict."""
    return interval_report(qlog, start, end, interval=end - start, **options)[0]


def format_queue_log(qlog):
    """Return the queue log as text, one 'time|call|queue|agent|EVENT|k=v,...' line per entry."""
    return "\n".join(f"{e.time:.3f}|{e.call}|{e.queue}|{e.agent}|{e.event}|"
                     + ",".join(f"{k}={e.data[k]}" for k in sorted(e.data)) for e in qlog)


def _value(text):
    for cast in (int, float):
        try:
            return cast(text)
        except ValueError:
            pass
    return text


def parse_queue_log(text):
    """Return the LogEntry list of a queue log written by format_queue_log (DecodeError on bad lines)."""
    from pycallcenter.errors import DecodeError

    out = []
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.split("|")
        try:
            t, call, queue, agent, event, fields = parts
            data = dict(kv.split("=", 1) for kv in fields.split(",")) if fields else {}
            out.append(LogEntry(float(t), call, queue, agent, event, {k: _value(v) for k, v in data.items()}))
        except ValueError:
            raise DecodeError(f"not a queue log line: {line!r}", element=f"line {n}") from None
    return out
