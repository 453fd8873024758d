"""The wallboard's figures: per queue, per agent and for the whole centre, with threshold alerts.

Computed on the engine's thread from the ACD's counters (today's totals) and the engine's calls, and
pushed to wallboards over WebSocket once a board second (the ``wallboard`` CTI event). Definitions:

- service level: the ACD's one definition (``[service_level]``, docs/operations.md);
- ASA: today's total wait of answered calls / answered calls;
- AHT: (talk + hold + after-call work) / calls whose handling ended today;
- abandon %: abandoned / offered today (short abandons included, as the ACD counts them);
- calls in IVR: calls in the centre that are neither in a queue nor with an agent.
"""
import datetime as _dt
from dataclasses import dataclass

from pycallcenter.dsp import SAMPLE_RATE


@dataclass
class Thresholds:
    """When the wallboard alerts ([wallboard] keys)."""

    service_level: float = 0.8  # alert when a queue's service level falls below
    abandon: float = 0.05  # alert when a queue's abandoned share rises above
    waiting: int = 5  # alert when more calls than this wait in a queue
    longest_wait: float = 120.0  # alert when a call has waited longer (seconds)


def _ratio(a, b, digits=4):
    return round(a / b, digits) if b else None


def queue_view(rt, today, handled, th):
    """Return one queue's wallboard row from its realtime figures, today's counters and handled (n, seconds)."""
    answered, offered = rt["answered"], rt["offered"]
    row = {"queue": rt["queue"], "waiting": rt["waiting"], "longest_wait": round(rt["longest_wait"], 1),
           "service_level": None if rt["service_level"] is None else round(rt["service_level"], 4),
           "sl_seconds": rt["sl_seconds"], "asa": _ratio(today.get("wait", 0.0), answered, 1),
           "aht": _ratio(handled[1], handled[0], 1), "abandon": _ratio(rt["abandoned"], offered),
           "offered": offered, "answered": answered, "abandoned": rt["abandoned"], "agents": dict(rt["agents"])}
    row["alerts"] = alerts(row, th)
    return row


def alerts(row, th):
    """Return the names of the thresholds a queue (or the centre) row crosses."""
    out = []
    if row["service_level"] is not None and row["service_level"] < th.service_level:
        out.append("service_level")
    if row["abandon"] is not None and row["abandon"] > th.abandon:
        out.append("abandon")
    if row["waiting"] > th.waiting:
        out.append("waiting")
    if row["longest_wait"] > th.longest_wait:
        out.append("longest_wait")
    return out


def view(acd, engine, handled, th, busy_calls=()):
    """Return the wallboard view: {'time', 'wall', 'queues', 'agents', 'centre', 'thresholds'}.

    handled: queue -> [calls whose handling ended, their seconds]; busy_calls: call ids agents placed
    themselves (click-to-dial), which are not IVR calls."""
    now = engine.now / SAMPLE_RATE
    queues, level = [], None
    sums = {k: 0 for k in ("waiting", "offered", "answered", "abandoned", "answered_in_sl", "short_abandoned")}
    wait_total, handled_n, handled_s, longest = 0.0, 0, 0.0, 0.0
    for name, q in acd.queues.items():
        rt = acd.realtime(name, now)
        h = handled.get(name, (0, 0.0))
        queues.append(queue_view(rt, q.today, h, th))
        for k in sums:
            sums[k] += rt[k]
        wait_total += q.today.get("wait", 0.0)
        handled_n, handled_s = handled_n + h[0], handled_s + h[1]
        longest = max(longest, rt["longest_wait"])
        level = level or acd.level(name)
    agents, states = [], {}
    for name, a in acd.agents.items():
        rt = acd.agent_realtime(name, now)
        call = engine.calls.get(a.call) if a.call else None
        first = call.caller_leg if call is not None else None
        qc = acd.calls.get(a.call) if a.call else None
        agents.append({"name": name, "state": rt["state"], "in_state": round(rt["in_state"], 1),
                       "reason": a.reason or "", "caller": first.caller if first else "",
                       "queue": qc.queue if qc else (call.queue if call is not None else None), "calls": a.calls})
        states[rt["state"]] = states.get(rt["state"], 0) + 1
    in_ivr = sum(1 for cid, c in engine.calls.items()
                 if cid not in acd.calls and cid not in busy_calls and c.caller_leg is not None
                 and c.caller_leg.active and not c.agent)
    sl = None
    if level is not None:
        sl = level.of(sums["answered_in_sl"], sums["offered"], sums["answered"], sums["short_abandoned"])
    centre = {"waiting": sums["waiting"], "longest_wait": round(longest, 1), "offered": sums["offered"],
              "answered": sums["answered"], "abandoned": sums["abandoned"],
              "service_level": None if sl is None else round(sl, 4), "asa": _ratio(wait_total, sums["answered"], 1),
              "aht": _ratio(handled_s, handled_n, 1), "abandon": _ratio(sums["abandoned"], sums["offered"]),
              "in_ivr": in_ivr, "agents": states}
    centre["alerts"] = alerts(centre, th)
    wall = _dt.datetime.fromtimestamp(engine.epoch + now).replace(microsecond=0)
    return {"time": round(now, 2), "wall": wall.isoformat(sep=" "), "queues": queues, "agents": agents,
            "centre": centre, "thresholds": dict(th.__dict__)}
