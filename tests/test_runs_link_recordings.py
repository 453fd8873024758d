"""Recordings a dead run left in progress, once finished, get their recordings rows and are listed in
their calls' INTERRUPTED CDRs (storage.runs.link_recordings); other files are left alone."""
from pycallcenter.storage import open_store
from pycallcenter.storage.runs import begin_run, link_recordings


def _open_call(store, run, call_id):
    store.add("open_calls", {"run": run, "call_id": call_id, "start_time": "2026-01-01T00:00:00.000+00:00",
                             "start_s": 1.0, "caller": "100", "called": "200", "channels": "1", "direction": "in"})


def test_only_the_interrupted_calls_recordings_are_linked_once(tmp_path):
    store = open_store(str(tmp_path / "db.sqlite"), appliance="a")
    dead = begin_run(store)["run"]
    _open_call(store, dead, "C1")
    _open_call(store, dead, "C2")
    recovered = begin_run(store)["recovered"]
    assert [r["calls"] for r in recovered] == [["C1", "C2"]]
    found = [("/r/x_C1_L1.wav", "C1", "L1", 3.5), ("/r/x_C1_L2.wav", "C1", "L2", 2.0),
             ("/r/x_C9_L1.wav", "C9", "L1", 1.0), ("/r/odd.wav", None, None, None)]
    rows = link_recordings(store, recovered, found)
    assert sorted(r["path"] for r in rows) == ["/r/x_C1_L1.wav", "/r/x_C1_L2.wav"]
    cdr = {r["call_id"]: r for r in store.select("cdr", "run = ?", (dead,))}
    assert cdr["C1"]["recordings"] == ["/r/x_C1_L1.wav", "/r/x_C1_L2.wav"]
    assert cdr["C2"]["recordings"] == []
    recs = store.select("recordings", "run = ?", (dead,))
    assert [(r["call_id"], r["leg_id"], r["seconds"]) for r in recs] == [("C1", "L1", 3.5), ("C1", "L2", 2.0)]
    assert link_recordings(store, recovered, found) == []  # a second pass adds nothing
    assert len(store.select("recordings", "run = ?", (dead,))) == 2
