"""Interval reports from the database: the queue log when there is one (recomputed with
pycallcenter.acd.stats, the one place that defines the figures), else the CDRs alone.

Times are wall-clock UTC epoch seconds taken from the rows' ISO stamps, so rows from several
appliances sharing one database line up.
"""
import datetime as _dt
import math

from pycallcenter.acd.core import LogEntry
from pycallcenter.acd.stats import interval_report

COLUMNS = ("offered", "answered", "abandoned", "service_level", "asa", "aht", "occupancy")


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
        out.append(LogEntry(t, r["call_id"], r["queue"], r["agent"], r["event"], r["data"] or {}))
    out.sort(key=lambda e: e.time)  # stable: same-time rows keep the order they were logged in
    return out


def cdr_intervals(cdrs, start, end, interval, sl_seconds=20.0):
    """Return interval dicts from CDRs alone: inbound calls offered; answered by an agent when the call
    was queued, else answered at all; ASA from start to answer; AHT is billed seconds."""
    nbins = int(math.ceil((end - start) / interval))
    bins = [[] for _ in range(nbins)]
    for r in cdrs:
        t = _epoch(r["start_time"])
        if r.get("direction") == "out" or t is None or not start <= t < end:
            continue
        bins[int((t - start) // interval)].append((t, r))
    out = []
    for b, items in enumerate(bins):
        answered = [(t, r) for t, r in items if r["answer_time"] and (r["agent"] or not r["queue"])]
        waits = [_epoch(r["answer_time"]) - t for t, r in answered]
        talk = [r["billsec"] or 0.0 for _, r in answered]
        out.append({"start": start + b * interval, "end": min(end, start + (b + 1) * interval),
                    "offered": len(items), "answered": len(answered), "abandoned": len(items) - len(answered),
                    "service_level": sum(1 for w in waits if w <= sl_seconds) / len(items) if items else None,
                    "asa": sum(waits) / len(waits) if waits else None,
                    "aht": sum(talk) / len(talk) if talk else None, "occupancy": None})
    return out


def data_range(store):
    """Return (first, last) epoch seconds of the CDRs and queue log, or None when both are empty."""
    cdrs = store.cdrs()
    times = [_epoch(r["start_time"]) for r in cdrs] + [_epoch(r["end_time"]) for r in cdrs]
    times += [_epoch(r["iso"]) for r in store.queue_log()]
    times = [t for t in times if t is not None]
    return (min(times), max(times)) if times else None


def interval_rows(store, start=None, end=None, interval=1800.0, sl_seconds=20.0, queue=None):
    """Return (source, rows): 'queue_log' or 'cdr', and one dict per interval of [start, end)."""
    if start is None or end is None:
        rng = data_range(store)
        if rng is None:
            return "none", []
        start = math.floor(rng[0] / interval) * interval if start is None else start
        end = (math.floor(rng[1] / interval) + 1) * interval if end is None else end
    if not end > start:
        raise ValueError("--to must be after --from")
    qlog = load_queue_log(store)
    if any(e.event == "ENTER" for e in qlog):
        return "queue_log", interval_report(qlog, start, end, interval=interval, queue=queue, sl_seconds=sl_seconds)
    return "cdr", cdr_intervals(store.cdrs(), start, end, interval, sl_seconds)


def format_table(rows):
    """Return the interval rows as a fixed-width text table with a total line."""
    def f(v, pct=False):
        if v is None:
            return "-"
        return f"{100 * v:.0f}%" if pct else f"{v:.1f}"

    head = f"{'interval (UTC)':<17} {'offered':>7} {'answered':>8} {'abandon':>7} {'SL':>5} {'ASA s':>7} {'AHT s':>7} {'occ':>5}"
    lines = [head]
    for r in rows:
        t = _dt.datetime.fromtimestamp(r["start"], _dt.timezone.utc).strftime("%Y-%m-%d %H:%M")
        lines.append(f"{t:<17} {r['offered']:>7} {r['answered']:>8} {r['abandoned']:>7} {f(r['service_level'], True):>5} "
                     f"{f(r['asa']):>7} {f(r['aht']):>7} {f(r['occupancy'], True):>5}")
    tot = {k: sum(r[k] for r in rows) for k in ("offered", "answered", "abandoned")}
    lines.append(f"{'total':<17} {tot['offered']:>7} {tot['answered']:>8} {tot['abandoned']:>7}")
    return "\n".join(lines)
