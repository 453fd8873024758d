"""Runs: one row per start of a centre writing to the database, and the recovery of the runs before it.

Call ids restart at C1 on every start, so every CDR, queue-log and recording row carries its run's id
(``runs.id``). A run is ``running`` until it closes cleanly (``stopped``). A run still ``running`` when
the next one starts on the same appliance died (kill -9, power loss): ``begin_run`` closes it first,
in one transaction:

- each call it had in progress (its ``open_calls`` rows; a call's row goes in its CDR's transaction)
  gets a CDR with disposition ``INTERRUPTED`` and outcome ``interrupted``, ended at the run's last flush;
- each agent its queue log leaves logged in gets a LOGOUT line (reason ``interrupted``) at that time, so
  agent reports stop counting their login there; the new run starts with every agent logged out of the
  old one (the ACD is built afresh from the configuration);
- the run is marked ``interrupted``.

The recordings those calls left in progress are finished by ``run`` right after (``engine.recording.recover``);
``link_recordings`` then gives each its ``recordings`` row and adds its path to its call's INTERRUPTED CDR, in
one transaction.
"""
import datetime as _dt
import os

INTERRUPTED = "INTERRUPTED"  # the CDR disposition (and, lower case, the outcome) of a call a dead run held


def _now_iso():
    return _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="milliseconds")


def begin_run(store, pid=None, started=None):
    """Recover the runs of this appliance that died, then record a new running one; return
    {"run": its id, "recovered": [what recover() closed, per run]}."""
    recovered = recover(store)
    started = started or _now_iso()
    store.add("runs", {"started": started, "last_seen": started, "state": "running",
                       "pid": os.getpid() if pid is None else pid, "data": {}})
    (row,) = store.select("runs", "appliance = ?", (store.appliance,), order="id DESC", limit=1)
    return {"run": row["id"], "recovered": recovered}


def recover(store):
    """Close every run of this appliance left running (its process died); return one summary dict per run:
    {"run", "calls": interrupted call ids, "agents": agents logged out}."""
    out = []
    for run in store.select("runs", "appliance = ? AND state = ?", (store.appliance, "running")):
        rid, seen = run["id"], run["last_seen"] or run["started"]
        open_calls = store.select("open_calls", "appliance = ? AND run = ?", (store.appliance, rid))
        done = {r["call_id"] for r in store.select("cdr", "appliance = ? AND run = ?", (store.appliance, rid))}
        qlog = store.select("queue_log", "appliance = ? AND run = ?", (store.appliance, rid))
        last_time = max((r["time"] for r in qlog if r["time"] is not None), default=0.0)
        logged_in = {}
        for r in qlog:
            if r["event"] == "LOGIN":
                logged_in[r["agent"]] = True
            elif r["event"] == "LOGOUT":
                logged_in.pop(r["agent"], None)
        calls = [r for r in open_calls if r["call_id"] not in done]
        with store.transaction():
            store.add_many("cdr", [interrupted_cdr(r, rid, seen) for r in calls])
            store.add_many("queue_log", [{"time": last_time, "iso": seen, "call_id": "-", "queue": "-", "agent": a,
                                          "event": "LOGOUT", "data": {"reason": "interrupted"}, "run": rid}
                                         for a in logged_in])
            store.delete("open_calls", "run = ?", (rid,))
            store.update("runs", {"state": "interrupted", "stopped": seen,
                                  "data": {"interrupted_calls": len(calls), "agents_logged_out": len(logged_in)}},
                         "id = ?", (rid,))
        out.append({"run": rid, "calls": [r["call_id"] for r in calls], "agents": sorted(logged_in)})
    return out


def interrupted_cdr(open_row, run, ended_iso):
    """Return the cdr row that closes a call a dead run had in progress (its end: the run's last flush)."""
    return {"call_id": open_row["call_id"], "start_time": open_row["start_time"], "start_s": open_row["start_s"],
            "end_time": ended_iso, "caller": open_row["caller"] or "", "called": open_row["called"] or "",
            "channels": open_row["channels"] or "", "direction": open_row["direction"] or "",
            "billsec": 0.0, "disposition": INTERRUPTED, "outcome": INTERRUPTED.lower(), "vars": {},
            "recordings": [], "run": run}


def link_recordings(store, recovered, found):
    """Record the finished recordings of the calls recovered runs left up: found holds (path, call id, leg id,
    seconds) per recording; each whose call is an INTERRUPTED CDR of a run in recovered (the newest such run when
    a call id is in several) gets a recordings row and its path in that CDR. Return the rows added."""
    # only the interrupted calls: a call whose CDR was written had its recording rows written with it
    run_of = {}
    for r in sorted(recovered, key=lambda r: r["run"]):
        for call_id in r["calls"]:
            run_of[call_id] = r["run"]
    known = {row["path"] for run in set(run_of.values())
             for row in store.select("recordings", "appliance = ? AND run = ?", (store.appliance, run))}
    rows = [{"call_id": call_id, "leg_id": leg_id, "path": path, "seconds": seconds, "run": run_of[call_id],
             "created": _now_iso(), "data": {"recovered": True}}
            for path, call_id, leg_id, seconds in found if call_id in run_of and path not in known]
    if not rows:
        return []
    cdrs = {}
    for row in rows:
        key = (row["run"], row["call_id"])
        if key not in cdrs:
            (cdrs[key],) = store.select("cdr", "appliance = ? AND run = ? AND call_id = ? AND disposition = ?",
                                        (store.appliance, *key, INTERRUPTED))
        cdrs[key]["recordings"].append(row["path"])
    with store.transaction():
        store.add_many("recordings", rows)
        for (run, call_id), cdr in cdrs.items():
            store.update("cdr", {"recordings": sorted(cdr["recordings"])}, "id = ?", (cdr["id"],))
    return rows


def end_run(store, run, stopped=None):
    """Mark a run closed cleanly."""
    stopped = stopped or _now_iso()
    store.update("runs", {"state": "stopped", "stopped": stopped, "last_seen": stopped}, "id = ?", (run,))
