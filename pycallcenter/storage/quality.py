"""Recordings search and quality checks for the supervisor console.

A recording row knows its call (run, call id); the call's CDR knows the caller, queue, agent and the
agent's wrap-up code, so a search joins the two. A quality check scores one recorded call on the
configured criteria (``[[quality.criterion]]``: name, weight, fatal), each 0..5; the total is the
weighted mean scaled to 0..100, and 0 when a fatal criterion scores 0.
"""
import datetime as _dt

SCORE_MAX = 5


def _fetch(store, sql, params):
    store._ensure()
    return store._fetch(sql.replace("?", store.placeholder), tuple(params))


def _period(col, since, until, conds, params):
    """Return conds and params with col in [since, until] (ISO text; a date as until takes its whole day)."""
    if since:
        conds.append(f"{col} >= ?")
        params.append(str(since))
    if until:
        conds.append(f"{col} < ?")
        params.append(str(until) + ("~" if len(str(until)) == 10 else ""))  # '~' sorts after any time of that day
    return conds, params


def search_recordings(store, since=None, until=None, agent=None, queue=None, caller=None, disposition=None,
                      limit=100):
    """Return recordings (newest first) with their call's caller, queue, agent and wrap-up code; since/until
    are ISO dates or times (until inclusive of its day), the others exact matches (caller: a prefix)."""
    conds, params = _period("r.created", since, until, ["r.appliance = ?"], [store.appliance])
    for col, value in (("c.agent", agent), ("c.queue", queue), ("c.wrapup_code", disposition)):
        if value:
            conds.append(f"{col} = ?")
            params.append(str(value))
    if caller:
        conds.append("c.caller LIKE ?")
        params.append(str(caller).replace("%", "").replace("_", "") + "%")
    sql = ("SELECT r.id, r.created, r.seconds, r.call_id, r.run, c.caller, c.caller_name, c.queue, c.agent, "
           "c.wrapup_code, c.wrapup_notes FROM recordings r LEFT JOIN cdr c ON c.appliance = r.appliance "
           "AND c.call_id = r.call_id AND c.run = r.run WHERE " + " AND ".join(conds) +
           f" ORDER BY r.id DESC LIMIT {int(limit)}")
    names = ("id", "created", "seconds", "call", "run", "caller", "caller_name", "queue", "agent", "wrapup_code",
             "wrapup_notes")
    return [dict(zip(names, row)) for row in _fetch(store, sql, params)]


def recording_path(store, rec_id):
    """Return (path, call id, run, agent) of a recording id, or None."""
    rows = _fetch(store, "SELECT r.path, r.call_id, r.run, c.agent FROM recordings r LEFT JOIN cdr c ON "
                         "c.appliance = r.appliance AND c.call_id = r.call_id AND c.run = r.run "
                         "WHERE r.appliance = ? AND r.id = ?", (store.appliance, int(rec_id)))
    return tuple(rows[0]) if rows else None


def score(criteria, scores):
    """Return (total 0..100, fatal) of per-criterion scores (name -> 0..5) on the criteria; ValueError names
    a missing, unknown or out-of-range score."""
    if not criteria:
        raise ValueError("no quality criteria are configured ([[quality.criterion]])")
    names = {c.name for c in criteria}
    unknown = set(scores) - names
    if unknown:
        raise ValueError(f"unknown criterion {sorted(unknown)[0]!r}")
    weight = total = 0.0
    fatal = False
    for c in criteria:
        s = scores.get(c.name)
        if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s <= SCORE_MAX:
            raise ValueError(f"{c.name}: a score is a whole number 0..{SCORE_MAX}")
        weight += c.weight
        total += c.weight * s / SCORE_MAX
        fatal = fatal or (c.fatal and s == 0)
    return (0.0 if fatal else round(100.0 * total / weight, 1)), fatal


def save_check(store, criteria, rec_id, supervisor, scores, comments=""):
    """Score the recording rec_id; store the check; return its row."""
    found = recording_path(store, rec_id)
    if found is None:
        raise LookupError(f"no recording {rec_id}")
    _, call_id, run, agent = found
    total, fatal = score(criteria, scores)
    row = {"run": run, "call_id": call_id, "recording": int(rec_id), "agent": agent or "", "supervisor": supervisor,
           "created": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"), "scores": dict(scores),
           "total": total, "fatal": int(fatal), "comments": str(comments or "")[:4000]}
    store.add("quality", row)
    return row


def report(store, since=None, until=None):
    """Return quality checks per agent in [since, until] (ISO dates): agent, checks, mean total, fatal count."""
    conds, params = _period("created", since, until, ["appliance = ?"], [store.appliance])
    sql = ("SELECT agent, COUNT(*), AVG(total), SUM(fatal) FROM quality WHERE " + " AND ".join(conds) +
           " GROUP BY agent ORDER BY agent")
    return [{"agent": a, "checks": n, "mean": round(m, 1), "fatal": int(f or 0)} for a, n, m, f in
            _fetch(store, sql, params)]
