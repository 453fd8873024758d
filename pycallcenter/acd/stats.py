"""Reports recomputed from the queue log alone: interval reports (15/30/60 minutes or a day) per queue.

Call outcomes count in the interval the call entered the queue. Agent time (occupancy, utilisation,
calls per agent hour) is split across intervals at the boundaries: handling runs from CONNECT to
WRAPUPEND (talk + hold + after-call work), available is logged in, not paused and not handling.
Service level treatments: 'offered' (answered within T / offered), 'exclude_short' (short abandons
leave the denominator), 'answered' (answered within T / answered).
"""
import math

TREATMENTS = ("offered", "exclude_short", "answered")


class _Visit:
    __slots__ = ("bin", "wait", "abandon", "timed_out", "talk", "hold", "acw", "transfer", "fcr")

    def __init__(self, b):
        self.bin, self.wait, self.abandon, self.timed_out = b, None, None, False
        self.talk = self.hold = self.acw = None
        self.transfer, self.fcr = False, False


def interval_report(qlog, start, end, interval=900.0, queue=None, sl_seconds=20.0, short_abandon=5.0,
                    sl_treatment="offered"):
    """Return one dict per interval in [start, end): offered, answered, abandoned, short_abandoned,
    service_level, asa, avg_abandon_delay, aht, occupancy, utilisation, transfers, calls_per_agent_hour, fcr."""
    if sl_treatment not in TREATMENTS:
        raise ValueError(f"sl_treatment must be one of {TREATMENTS}, got {sl_treatment!r}")
    if not interval > 0 or not end > start:
        raise ValueError("need interval > 0 and end > start")
    nbins = int(math.ceil((end - start) / interval))
    visits, current, last, wrap_of = [], {}, {}, {}
    agent_time = [dict(handling=0.0, available=0.0, paused=0.0) for _ in range(nbins)]
    agents = {}  # name -> [logged_in, paused, handling, since]

    def bin_of(t):
        return int((t - start) // interval)

    def spend(st, t):
        if st[0] and t > st[3]:
            kind = "handling" if st[2] else "paused" if st[1] else "available"
            t0, t1 = max(st[3], start), min(t, end)
            b = bin_of(t0) if t0 < end else nbins
            while t0 < t1 and b < nbins:
                edge = min(t1, start + (b + 1) * interval)
                agent_time[b][kind] += edge - t0
                t0, b = edge, b + 1
        st[3] = t

    for e in qlog:
        if e.agent != "-":
            st = agents.setdefault(e.agent, [False, False, False, e.time])
            spend(st, e.time)
            if e.event == "LOGIN":
                st[0], st[1], st[2] = True, False, False
            elif e.event == "LOGOUT":
                st[0] = False
            elif e.event == "PAUSE":
                st[1] = True
            elif e.event == "UNPAUSE":
                st[1] = False
            elif e.event == "DND":
                st[1] = bool(e.data.get("on"))
            elif e.event == "CONNECT":
                st[2] = True
            elif e.event == "WRAPUPEND":
                st[2] = False
        if e.queue == "-" or (queue is not None and e.queue != queue):
            if e.event == "FLAG" and e.call in last and e.data.get("name") == "fcr":
                last[e.call].fcr = bool(e.data.get("value"))
            continue
        key = (e.call, e.queue)
        if e.event == "ENTER":
            v = None
            if start <= e.time < end:
                v = _Visit(bin_of(e.time))
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
    for st in agents.values():
        spend(st, end)

    out = []
    for b in range(nbins):
        vs = [v for v in visits if v.bin == b]
        out.append(_summarise(vs, agent_time[b], start + b * interval, min(end, start + (b + 1) * interval),
                              sl_seconds, short_abandon, sl_treatment))
    return out


def _summarise(vs, at, t0, t1, sl_seconds, short_abandon, treatment):
    answered = [v for v in vs if v.wait is not None]
    abandoned = [v for v in vs if v.abandon is not None]
    short = sum(1 for v in abandoned if v.abandon < short_abandon)
    in_sl = sum(1 for v in answered if v.wait <= sl_seconds)
    handled = [v.talk + v.hold + v.acw for v in answered if v.talk is not None and v.acw is not None]
    denom = {"offered": len(vs), "exclude_short": len(vs) - short, "answered": len(answered)}[treatment]
    logged = at["handling"] + at["available"] + at["paused"]
    staffed = at["handling"] + at["available"]

    def mean(xs):
        return sum(xs) / len(xs) if xs else None

    return {
        "start": t0, "end": t1, "offered": len(vs), "answered": len(answered), "abandoned": len(abandoned),
        "short_abandoned": short, "abandoned_after_short": len(abandoned) - short,
        "timed_out": sum(1 for v in vs if v.timed_out), "answered_in_sl": in_sl,
        "service_level": in_sl / denom if denom else None,
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
    from pycallcenter.acd.core import LogEntry
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
