"""A small centre on the emulator (the demo's composition, a few busy minutes): its database gives the
same day's figures recomputed from the CDR table as from the queue log, the same as the demo's own
report; every call has exactly one CDR, and the CDRs' outcomes agree with the queue log."""
import collections

import pytest

from pycallcenter.apps import demo
from pycallcenter.storage import open_store
from pycallcenter.storage.report import agent_rows, group_rows, interval_rows

FIGURES = ("offered", "answered", "abandoned", "answered_in_sl", "service_level", "asa", "aht")


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    data = tmp_path_factory.mktemp("centre")
    # 3 phones (2 ACD agents and the operator) for ~10 calls a minute: callers wait, some give up
    settings = demo.DemoSettings(seed=7, hours=0.05, agents=3, calls_per_hour=600, talk_mean=40, patience_mean=15,
                                 fax_share=0.15, data_dir=str(data), drain_seconds=400)
    report = demo.run(settings, progress=False)
    store = open_store(data)
    yield report, store
    store.close()


def test_the_day_from_the_cdrs_equals_the_day_from_the_queue_log(centre):
    report, store = centre
    source, (from_log,) = interval_rows(store, interval=86400.0, source="queue_log")
    source2, (from_cdrs,) = interval_rows(store, interval=86400.0, source="cdr")
    assert (source, source2) == ("queue_log", "cdr")
    assert from_log["offered"] >= 5 and from_log["answered"] >= 2 and from_log["abandoned"] >= 1
    for k in FIGURES:
        assert from_cdrs[k] == pytest.approx(from_log[k], abs=1e-6), k
    total = report["acd"]["total"]  # the demo's report, from its in-memory queue log
    for k in ("offered", "answered", "abandoned"):
        assert total[k] == from_log[k], k
    for k in ("service_level", "asa", "aht"):
        assert total[k] == pytest.approx(from_log[k], abs=1e-3), k


def test_one_cdr_per_call_with_outcomes_that_agree_with_the_queue_log(centre):
    report, store = centre
    cdrs = store.cdrs()
    ids = [r["call_id"] for r in cdrs]
    assert len(ids) == len(set(ids)) == report["callers"]["offered"] - report["callers"]["refused_no_channel"]
    last = {}
    for e in store.queue_log():
        if e["call_id"] != "-" and e["event"] in ("ENTER", "CONNECT", "ABANDON", "EXITWITHTIMEOUT", "EXITEMPTY"):
            last[e["call_id"]] = e["event"]
    outcomes = collections.Counter(r["outcome"] for r in cdrs)
    for r in cdrs:
        event = last.get(r["call_id"])
        if event == "CONNECT":
            assert r["outcome"] == "agent" and r["agent"] and r["queue"] in ("sales", "support"), r
            assert r["queue_result"] == "answered", r
        elif event == "ABANDON":
            assert r["outcome"] == "abandoned" and r["queue_result"] == "abandoned" and r["queue_wait"] > 0, r
        elif event is None:
            assert r["queued_time"] is None and r["outcome"] not in ("agent", "abandoned"), r
    assert outcomes["agent"] >= 2 and outcomes["abandoned"] >= 1
    assert outcomes["fax_received"] == report["fax"]["inbox"] >= 1  # the fax machines' calls, received
    assert set(outcomes) <= {"agent", "abandoned", "left_queue", "voicemail", "fax_received", "fax_failed",
                             "transferred", "ivr_only", "callback", "no_answer"}
    assert {r["trunk"] for r in cdrs} == {"pri1"}


def test_grouped_and_agent_reports_add_up(centre):
    report, store = centre
    by_queue = group_rows(store, "queue")
    queued = [g for g in by_queue if g["group"] != "-"]
    assert sum(g["offered"] for g in queued) == report["acd"]["total"]["offered"]
    assert sum(g["calls"] for g in by_queue) == store.count("cdr")
    by_menu = {g["group"]: g for g in group_rows(store, "var:menu")}
    assert by_menu["1"]["offered"] + by_menu["2"]["offered"] == report["acd"]["total"]["offered"]  # 1, 2: the queues
    agents = {r["agent"]: r for r in agent_rows(store)}
    assert set(agents) == {"agent1", "agent2"}
    assert sum(r["calls"] for r in agents.values()) == report["acd"]["total"]["answered"]
    for r in agents.values():
        assert r["login"] == pytest.approx(r["handling"] + r["available"] + r["paused"])
        assert r["handling"] >= r["talk"] + r["hold"] - 1e-6 and 0 <= (r["occupancy"] or 0) <= 1
