"""The desktop's storage on both backends (SQLite and PostgreSQL, as tests/test_storage.py runs them):
customer records, contact history with wrap-ups, wrap-ups into the CDR of the right run, recordings
search joined with the CDR, quality checks and their report per agent and period."""
from pycallcenter.apps.settings import QualityCriterion
from pycallcenter.storage import quality
from pycallcenter.storage.customers import Customers
from test_storage import pg_dsn, store  # noqa: F401 - the two backends' fixtures

CRITERIA = (QualityCriterion("greeting", 1.0), QualityCriterion("identification", 3.0, True))


def test_records_wrapups_recordings_and_checks(store):  # noqa: F811
    customers = Customers(store, run=2)
    assert customers.get("2025550100") is None
    customers.save("2025550100", name="Ada", notes="VIP", data={"tier": 1}, by="agent1")
    customers.save("2025550100", notes="VIP; mornings", by="agent2")
    rec = customers.get("2025550100")
    assert (rec["name"], rec["notes"], rec["data"], rec["updated_by"]) == ("Ada", "VIP; mornings", {"tier": 1}, "agent2")
    # call ids restart every run: the wrap-up goes to this run's C1 only
    for run, day in ((1, "2026-01-04"), (2, "2026-01-05")):
        store.add("cdr", {"call_id": "C1", "run": run, "caller": "2025550100", "agent": "agent1", "queue": "sales",
                          "start_time": f"{day}T10:00:00"})
        store.add("recordings", {"call_id": "C1", "run": run, "path": f"/rec/{run}.wav", "seconds": 5.0,
                                 "created": f"{day}T10:01:00"})
    assert not customers.wrapup("C2", "agent1", "sale", "no such call yet")
    assert customers.wrapup("C1", "agent1", "complaint", "late")
    calls = customers.history("2025550100")["calls"]
    assert [(c["run"], c["wrapup_code"]) for c in calls] == [(2, "complaint"), (1, None)]
    found = quality.search_recordings(store, disposition="complaint")
    assert [(r["run"], r["caller"], r["agent"]) for r in found] == [(2, "2025550100", "agent1")]
    assert [r["run"] for r in quality.search_recordings(store, until="2026-01-04")] == [1]
    assert [r["run"] for r in quality.search_recordings(store, caller="2025")] == [2, 1]
    ids = {r["run"]: r["id"] for r in quality.search_recordings(store)}
    assert quality.recording_path(store, ids[2]) == ("/rec/2.wav", "C1", 2, "agent1")
    quality.save_check(store, CRITERIA, ids[2], "boss", {"greeting": 5, "identification": 3})
    quality.save_check(store, CRITERIA, ids[1], "boss", {"greeting": 5, "identification": 0})
    report = quality.report(store)
    assert [(r["agent"], r["checks"], r["mean"], r["fatal"]) for r in report] == [("agent1", 2, 35.0, 1)]
    assert quality.report(store, since="2099-01-01") == []
