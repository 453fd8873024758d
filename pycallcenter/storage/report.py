"""Reports from the database: interval reports from the queue log (recomputed with
pycallcenter.acd.stats, the one place that defines the figures) or from the CDRs, per-agent reports,
and summaries grouped by queue, trunk group, called number or a script variable.

Times are wall-clock UTC epoch seconds taken from the rows' ISO stamps, so rows from several
appliances sharing one database line up. Service level is :class:`pycallcenter.acd.stats.ServiceLevel`:
the definition the ACD logged (SLCONFIG lines) unless one is given.
"""
import datetime as _dt
import math

from pycallcenter.acd.core import LogEntry
from pycallcenter.acd.stats import ServiceLevel, agent_report, interval_report, log_level

COLUMNS = ("offered", "answered", "abandoned", "service_level", "asa", "aht", "occupancy")
GROUPS = ("agent", "queue", "trunk", "called")  # and var:NAME

def parse_when(text):
    """Return epoch seconds for an ISO date or date-time (no zone means UTC); ValueError otherwise."""
    t = _dt.datetime.fromisoformat(str(text).replace("Z", "+00:00"))
    if t.tzinfo is None:
        t = t.replace(tzinfo=_dt.timezone.utc)
    return t.timestamp()


def parse_interval(text):
    """Return seconds for '30m', '1h', '900s', '900' or '1d'; ValueError otherwise."""
    s = str(text).strip().lower()
    mult = {"s": 1, "m": 60, "h": 3600, "d": 86400}.get(s[-1:], None)
    value = float(s[:-1] if mult else s) * (mult or 1)
    if not value > 0:
        raise ValueError(f"interval must be positive, got {text!r}")
    return value


def _epoch(iso):
    return parse_when(iso) if iso else None


def load_queue_log(store):
    """Return the whole queue log as acd LogEntry tuples on the epoch time scale. All of it: a call that
    entered before the report's end may complete after it, and its talk time counts."""
    out = []
    for r in store.queue_log():
        t = _epoch(r["iso"])
        if t is None:
            continue
        call = r["call_id"] if r["call_id"] == "-" else call_key(r)
        out.append(LogEntry(t, call, r["queue"], r["agent"], r["event"], r["data"] or {}))
    out.sort(key=lambda e: e.time)  # stable: same-time rows keep the order they were logged in
    return out


def call_key(row):
    """Return a call's key across runs: call ids restart at C1 on every start, so the run qualifies them."""
    run = row.get("run")
    return row["call_id"] if run is None else f"{row['call_id']}@{run}"


def logged_levels(qlog):
    """Return ({queue: ServiceLevel}, the last one) from the queue log's SLCONFIG lines (defaults when none)."""
    levels, last = {}, ServiceLevel()
    for e in qlog:
        if e.event == "SLCONFIG":
            last = levels[e.queue] = log_level(e.data, last)
    return levels, last


def wrapups(qlog):
    """Return {call id: after-call work seconds} from the queue log's WRAPUPEND lines."""
    out = {}
    for e in qlog:
        if e.event == "WRAPUPEND" and e.call != "-":
            out[e.call] = out.get(e.call, 0.0) + e.data.get("acw", 0.0)
    return out


def _result(r):
    """Return a queued CDR's queue_result (rows written before that column: from agent and outcome)."""
    if r.get("queue_result"):
        return r["queue_result"]
    return "answered" if r["agent"] else "abandoned" if r["outcome"] == "abandoned" else "left"


def cdr_figures(rows, levels, mode_level, acw=None):
    """Return offered, answered, abandoned, short_abandoned, answered_in_sl, service_level, asa, aht from
    queued CDRs (their last queue visit, queue_result); AHT is talk + hold from the CDR plus the agent's
    wrap-up from the queue log (acw: {call id: seconds}) when known."""
    acw = acw or {}
    answered = [r for r in rows if _result(r) == "answered"]
    abandoned = [r for r in rows if _result(r) == "abandoned"]

    def level(r):
        return levels.get(r["queue"], mode_level)

    short = sum(1 for r in abandoned if r["queue_wait"] is not None and level(r).is_short(r["queue_wait"]))
    waits = [r["queue_wait"] or 0.0 for r in answered]
    in_sl = sum(1 for r, w in zip(answered, waits) if level(r).in_target(w))
    handled = [(r["talk"] or 0.0) + (r["hold"] or 0.0) + acw[call_key(r)] for r in answered if call_key(r) in acw]
    return {"offered": len(rows), "answered": len(answered), "abandoned": len(abandoned), "short_abandoned": short,
            "answered_in_sl": in_sl, "service_level": mode_level.of(in_sl, len(rows), len(answered), short),
            "asa": sum(waits) / len(waits) if waits else None,
            "aht": sum(handled) / len(handled) if handled else None,
            "sl_seconds": mode_level.seconds, "sl_mode": mode_level.mode}


def _bins(start, end, interval):
    nbins = int(math.ceil((end - start) / interval))
    return nbins, [[] for _ in range(nbins)]


def cdr_intervals(cdrs, start, end, interval, service_level=None, qlog=(), queue=None):
    """Return interval dicts from CDRs. Queued calls (with a queue visit) count in the interval they
    entered the queue, with the queue log's service level definition (or service_level) and wrap-up
    times; without any queued call every inbound call counts, answered when it was answered at all."""
    levels, last = logged_levels(qlog)
    if service_level is not None:
        levels, last = {}, service_level
    queued = [r for r in cdrs if r.get("queued_time") and (queue is None or r["queue"] == queue)]
    nbins, bins = _bins(start, end, interval)
    out = []
    if queued:
        acw = wrapups(qlog)
        for r in queued:
            t = _epoch(r["queued_time"])
            if start <= t < end:
                bins[int((t - start) // interval)].append(r)
        for b, rows in enumerate(bins):
            out.append(dict(cdr_figures(rows, levels, last, acw), start=start + b * interval,
                            end=min(end, start + (b + 1) * interval), occupancy=None))
        return out
    for r in cdrs:  # no ACD: every inbound call is offered to the centre
        t = _epoch(r["start_time"])
        if r.get("direction") == "out" or t is None or not start <= t < end:
            continue
        bins[int((t - start) // interval)].append((t, r))
    for b, items in enumerate(bins):
        answered = [(t, r) for t, r in items if r["answer_time"]]
        waits = [_epoch(r["answer_time"]) - t for t, r in answered]
        talk = [r["billsec"] or 0.0 for _, r in answered]
        in_sl = sum(1 for w in waits if last.in_target(w))
        out.append({"start": start + b * interval, "end": min(end, start + (b + 1) * interval),
                    "offered": len(items), "answered": len(answered), "abandoned": len(items) - len(answered),
                    "answered_in_sl": in_sl, "service_level": last.of(in_sl, len(items), len(answered), 0),
                    "asa": sum(waits) / len(waits) if waits else None,
                    "aht": sum(talk) / len(talk) if talk else None, "occupancy": None,
                    "sl_seconds": last.seconds, "sl_mode": last.mode})
    return out


def data_range(store):
    """Return (first, last) epoch seconds of the CDRs and queue log, or None when both are empty."""
    cdrs = store.cdrs()
    times = [_epoch(r["start_time"]) for r in cdrs] + [_epoch(r["end_time"]) for r in cdrs]
    times += [_epoch(r["iso"]) for r in store.queue_log()]
    times = [t for t in times if t is not None]
    return (min(times), max(times)) if times else None


# One report's rows at most: every interval of [start, end) is a row, kept in memory and printed (a year of
# 15-minute intervals is 35,040; a day of 1-second ones 86,400).
MAX_INTERVALS = 100_000


def _range(store, start, end, interval):
    if start is None or end is None:
        rng = data_range(store)
        if rng is None:
            return None
        start = math.floor(rng[0] / interval) * interval if start is None else start
        end = (math.floor(rng[1] / interval) + 1) * interval if end is None else end
    if not end > start:
        raise ValueError("--to must be after --from")
    if (end - start) / interval > MAX_INTERVALS:  # 1900 to 9999 in 15 minutes ran out of memory
        raise ValueError(f"{(end - start) / interval:,.0f} intervals of {interval:g} s from --from to --to; at most "
                         f"{MAX_INTERVALS:,}: widen --interval or narrow --from/--to")
    return start, end


def interval_rows(store, start=None, end=None, interval=1800.0, service_level=None, queue=None, source="auto"):
    """Return (source, rows): 'queue_log' or 'cdr', and one dict per interval of [start, end). source
    'auto' takes the queue log when the ACD kept one."""
    rng = _range(store, start, end, interval)
    if rng is None:
        return "none", []
    start, end = rng
    qlog = load_queue_log(store)
    if source == "queue_log" or (source == "auto" and any(e.event == "ENTER" for e in qlog)):
        return "queue_log", interval_report(qlog, start, end, interval=interval, queue=queue,
                                            service_level=service_level)
    return "cdr", cdr_intervals(store.cdrs(), start, end, interval, service_level, qlog, queue)


def group_key(by):
    """Return fn(cdr row) -> the group a CDR belongs to, for --by queue, trunk, called or var:NAME."""
    if by.startswith("var:") and len(by) > 4:
        name = by[4:]
        return lambda r: (r["vars"] or {}).get(name)
    if by in ("queue", "trunk", "called"):
        return lambda r: r[by]
    raise ValueError(f"--by must be one of {', '.join(GROUPS)} or var:NAME, got {by!r}")


def group_rows(store, by, start=None, end=None, service_level=None):
    """Return one dict per group of the CDRs that started in [start, end): calls, their outcomes, and the
    queue figures of the group's queued calls (offered, answered, abandoned, service level, ASA, AHT)."""
    key = group_key(by)
    qlog = load_queue_log(store)
    levels, last = logged_levels(qlog)
    if service_level is not None:
        levels, last = {}, service_level
    acw = wrapups(qlog)
    groups = {}
    for r in store.cdrs():
        t = _epoch(r["start_time"])
        if t is None or (start is not None and t < start) or (end is not None and t >= end):
            continue
        g = key(r)
        groups.setdefault("-" if g in (None, "") else str(g), []).append(r)
    out = []
    for g in sorted(groups):
        rows = groups[g]
        outcomes = {}
        for r in rows:
            o = r.get("outcome") or "-"
            outcomes[o] = outcomes.get(o, 0) + 1
        queued = [r for r in rows if r.get("queued_time")]
        out.append(dict(cdr_figures(queued, levels, last, acw), group=g, calls=len(rows), outcomes=outcomes))
    return out


def outcome_counts(store, start=None, end=None):
    """Return {outcome: calls} of the CDRs that started in [start, end), largest first ('-' for rows
    written before the outcome column existed)."""
    counts = {}
    for r in store.cdrs():
        t = _epoch(r["start_time"])
        if t is not None and (start is None or t >= start) and (end is None or t < end):
            counts[r["outcome"] or "-"] = counts.get(r["outcome"] or "-", 0) + 1
    return dict(sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))


def agent_rows(store, start=None, end=None):
    """Return the per-agent report (pycallcenter.acd.stats.agent_report) of the queue log in [start, end)."""
    qlog = load_queue_log(store)
    if not qlog:
        return []
    start = qlog[0].time if start is None else start
    end = qlog[-1].time + 1e-6 if end is None else end
    return agent_report(qlog, start, end)


def _f(v, pct=False):
    if v is None:
        return "-"
    return f"{100 * v:.0f}%" if pct else f"{v:.1f}"


def format_groups(by, rows):
    """Return the grouped summary as a fixed-width text table."""
    head = (f"{by:<16} {'calls':>6} {'queued':>6} {'answered':>8} {'abandon':>7} {'SL':>5} {'ASA s':>7} {'AHT s':>7}"
            "  outcomes")
    lines = [head]
    for r in rows:
        outs = " ".join(f"{k}={v}" for k, v in sorted(r["outcomes"].items(), key=lambda kv: (-kv[1], kv[0])))
        lines.append(f"{r['group'][:16]:<16} {r['calls']:>6} {r['offered']:>6} {r['answered']:>8} {r['abandoned']:>7} "
                     f"{_f(r['service_level'], True):>5} {_f(r['asa']):>7} {_f(r['aht']):>7}  {outs}")
    return "\n".join(lines)


def _hms(seconds):
    m, s = divmod(int(round(seconds)), 60)
    return f"{m // 60}:{m % 60:02d}:{s:02d}"


def format_agents(rows):
    """Return the per-agent report as a fixed-width text table (times h:mm:ss)."""
    head = (f"{'agent':<12} {'calls':>5} {'missed':>6} {'talk':>8} {'hold':>8} {'wrap-up':>8} {'login':>8} {'occ':>5}"
            "  paused")
    lines = [head]
    for r in rows:
        pauses = " ".join(f"{k}={_hms(v)}" for k, v in sorted(r["pauses"].items()))
        lines.append(f"{r['agent'][:12]:<12} {r['calls']:>5} {r['missed']:>6} {_hms(r['talk']):>8} {_hms(r['hold']):>8} "
                     f"{_hms(r['acw']):>8} {_hms(r['login']):>8} {_f(r['occupancy'], True):>5}  {pauses or '-'}")
    return "\n".join(lines)


def format_table(rows):
    """Return the interval rows as a fixed-width text table with a total line."""
    f = _f

    head = f"{'interval (UTC)':<17} {'offered':>7} {'answered':>8} {'abandon':>7} {'SL':>5} {'ASA s':>7} {'AHT s':>7} {'occ':>5}"
    lines = [head]
    for r in rows:
        t = _dt.datetime.fromtimestamp(r["start"], _dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{t:<17} {r['offered']:>7} {r['answered']:>8} {r['abandoned']:>7} {f(r['service_level'], True):>5} "
                     f"{f(r['asa']):>7} {f(r['aht']):>7} {f(r['occupancy'], True):>5}")
    tot = {k: sum(r[k] for r in rows) for k in ("offered", "answered", "abandoned")}
    lines.append(f"{'total':<17} {tot['offered']:>7} {tot['answered']:>8} {tot['abandoned']:>7}")
    return "\n".join(lines)
