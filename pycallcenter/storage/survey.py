"""Post-call survey answers: one row per rated call, and the figures per agent and per queue.

A caller rates the call 1..5 after the agent hangs up (``apps/survey.py``); the row carries the run and
call id (the call's CDR), the agent and the queue, so results group either way and join the CDR.
"""
from pycallcenter.storage.quality import _fetch, _period

SCORES = (1, 2, 3, 4, 5)


def save(store, run, call_id, created, caller, queue, agent, score):
    """Store one survey answer; return its row. ValueError for a score outside 1..5."""
    if isinstance(score, bool) or score not in SCORES:
        raise ValueError(f"a survey score is a whole number 1..5, not {score!r}")
    row = {"run": run, "call_id": call_id, "created": created, "caller": caller or "", "queue": queue or "",
           "agent": agent or "", "score": int(score)}
    store.add("survey", row)
    return row


def report(store, since=None, until=None, every_appliance=False):
    """Return {"agent": [...], "queue": [...]}: per agent and per queue in [since, until] (ISO dates), each
    row {name, count, mean, counts: [how many 1s, 2s, 3s, 4s, 5s]}; this appliance's answers, or those of
    every appliance sharing the database (the manager's report)."""
    conds, params = (["1 = 1"], []) if every_appliance else (["appliance = ?"], [store.appliance])
    conds, params = _period("created", since, until, conds, params)
    out = {}
    for by in ("agent", "queue"):
        sql = (f"SELECT {by}, score, COUNT(*) FROM survey WHERE " + " AND ".join(conds) +
               f" GROUP BY {by}, score ORDER BY {by}")
        rows = {}
        for name, score, n in _fetch(store, sql, params):
            rows.setdefault(name, [0] * len(SCORES))[int(score) - 1] += int(n)
        out[by] = [{"name": name, "count": sum(c), "mean": round(sum(s * k for s, k in zip(SCORES, c)) / sum(c), 2),
                    "counts": c} for name, c in rows.items()]
    return out


def format_report(figures):
    """Return the survey figures as text lines (per agent, then per queue)."""
    lines = []
    for by in ("agent", "queue"):
        lines.append(f"Survey by {by}: {'name':<16} {'count':>5} {'mean':>5}   1s  2s  3s  4s  5s")
        if not figures[by]:
            lines.append("  (no answers)")
        for r in figures[by]:
            lines.append(f"  {r['name']:<26} {r['count']:>5} {r['mean']:>5.2f}  " +
                         " ".join(f"{k:>3}" for k in r["counts"]))
    return lines
