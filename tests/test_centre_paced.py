"""What keeps a paced centre's ticks short: the status publication spread over the ticks after it starts
(one step after each: the snapshot, the echo cancellers' rows, the pending rows, the JSON, the file and
the row), one JSON encoding for the status file and the live_status row, the built centre's heap frozen
out of the cyclic collector's full walks at its first tick, and the collector run between paced ticks only,
what is due when it fits the slack (pycallcenter.heap)."""
import gc
import json
import os
import sys
import weakref

from pycallcenter import heap
from pycallcenter.apps import centre as centre_module
from pycallcenter.apps.centre import Centre

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ops_cli import _centre_files  # noqa: E402


def test_the_loop_publishes_one_step_after_each_tick_and_finishes_a_publication_it_started(tmp_path, monkeypatch):
    c = Centre.from_file(_centre_files(tmp_path))
    order = []
    tick, snapshot, write = c.tick, centre_module.snapshot, centre_module._write_text
    monkeypatch.setattr(c, "tick", lambda: (order.append("tick"), tick())[1])
    taken = []
    monkeypatch.setattr(centre_module, "snapshot", lambda *a, **k: (order.append("snapshot"),
                                                                   taken.append(snapshot(*a, **k)))[1] or taken[-1])
    monkeypatch.setattr(centre_module, "_write_text", lambda *a: (order.append("file"), write(*a))[1])
    status = tmp_path / "data" / "status.json"
    try:
        c.loop(seconds=c.tick_seconds, fast=True)  # one tick: the publication it starts is finished all the same
        assert order == ["tick", "snapshot", "file"]
        assert json.loads(status.read_text())["state"] == "running"
        order.clear()
        c.loop(seconds=20 * c.tick_seconds, fast=True, every=10.5 * c.tick_seconds)
        # a publication after the 1st and the 11th tick; its file goes out four ticks after its snapshot
        first = order.index("snapshot")
        assert order[:first] == ["tick"] and order[first:first + 8] == ["snapshot", "tick", "tick", "tick", "tick",
                                                                        "file", "tick", "tick"]
        assert order.count("snapshot") == order.count("file") == 2 and order.count("tick") == 20
        assert order[:order.index("snapshot", first + 1)].count("tick") == 11
        # the file and the database's row are one encoding of the snapshot taken on the 11th tick
        row = c.store.conn.execute("SELECT status FROM live_status").fetchone()[0]
        assert row == status.read_text() and json.loads(row)["board_seconds"] == taken[-1]["board_seconds"]
        assert "echo" in json.loads(row) and "echo" in c.latest["snap"]  # the cancellers' rows, added a tick later
        assert taken[-1]["board_seconds"] < c.engine.now / 8000
    finally:
        c.close()


def test_publish_alone_writes_everything_before_it_returns(tmp_path):
    c = Centre.from_file(_centre_files(tmp_path))
    try:
        c.tick()
        snap = c.publish("starting")
        on_disk = json.loads((tmp_path / "data" / "status.json").read_text())
        assert snap["state"] == on_disk["state"] == "starting" and "store" in on_disk and "echo" in snap
        assert json.loads(c.store.conn.execute("SELECT status FROM live_status").fetchone()[0]) == on_disk
    finally:
        c.close()


def test_the_first_tick_freezes_the_built_centre_out_of_full_collections(tmp_path, monkeypatch):
    monkeypatch.setattr(heap, "_frozen", False)
    gc.unfreeze()
    thresholds = gc.get_threshold()
    gc.set_threshold(700, 10, 10)
    c = Centre.from_file(_centre_files(tmp_path))
    try:
        assert gc.get_freeze_count() == 0
        c.tick()
        frozen = gc.get_freeze_count()
        assert frozen > 10_000 and heap._frozen  # the centre, its board and engine: never garbage
        assert gc.get_threshold() == heap.THRESHOLDS != (700, 10, 10)  # fewer promotions, fewer full walks
        c.tick()
        assert gc.get_freeze_count() == frozen  # once per process
        assert heap.freeze_heap() is False
    finally:
        c.close()
        gc.unfreeze()
        gc.set_threshold(*thresholds)


def test_freezing_the_heap_frees_cyclic_garbage_first_unless_told_not_to(monkeypatch):
    class Node:
        pass

    thresholds = gc.get_threshold()
    for collect in (True, False):
        monkeypatch.setattr(heap, "_frozen", False)
        gc.unfreeze()
        gc.collect()
        a, b = Node(), Node()
        a.other, b.other = b, a  # a cycle: only the collector frees it
        gone = weakref.ref(a)
        del a, b
        assert heap.freeze_heap(collect=collect) is True
        assert (gone() is None) is collect  # freed, or kept for good (once) where a collection is the pause
        gc.unfreeze()
    gc.collect()
    gc.set_threshold(*thresholds)


def test_a_paced_loop_runs_with_a_short_switch_interval_and_gives_pythons_back(tmp_path, monkeypatch):
    c = Centre.from_file(_centre_files(tmp_path))
    default = sys.getswitchinterval()
    seen, order = [], []
    tick = c.tick
    monkeypatch.setattr(c, "tick", lambda: (seen.append(sys.getswitchinterval()), order.append("tick"), tick())[2])
    write = centre_module._write_text
    monkeypatch.setattr(centre_module, "_write_text", lambda *a: (order.append("file"), write(*a))[1])
    clock = centre_module.time.monotonic  # read by the loop before its wait for the next tick
    monkeypatch.setattr(centre_module.time, "monotonic", lambda: (order.append("wait"), clock())[1])
    try:
        assert centre_module.PACED_SWITCH < default
        c.loop(seconds=6 * c.tick_seconds, fast=True)
        assert set(seen) == {default}  # as fast as the CPU allows: Python's own
        seen.clear()
        order.clear()
        c.loop(seconds=6 * c.tick_seconds)  # paced: another thread waits at most PACED_SWITCH for the engine's GIL
        assert set(seen) == {centre_module.PACED_SWITCH} and sys.getswitchinterval() == default and not c.realtime
        # the publication's steps run in the tick's slack, before the wait for the next tick
        at = order.index("file")
        assert order[at - 1:at + 2] == ["tick", "file", "wait"]
        c.realtime = True  # a driver that paces the ticks itself (the soak) says so: the same interval
        assert sys.getswitchinterval() == centre_module.PACED_SWITCH
    finally:
        c.close()
    assert sys.getswitchinterval() == default and not c.realtime


def test_the_middle_generation_due_is_collected_in_a_ticks_slack_when_it_fits(monkeypatch):
    gc.collect()
    assert heap.collect_in_slack(1.0) is None  # not due: nothing runs
    while gc.get_count()[1] < gc.get_threshold()[1]:
        gc.collect(0)  # each young collection brings the middle one closer
    monkeypatch.setattr(heap, "_took", {1: 0.010 / gc.get_threshold()[1], 2: 0.100})
    assert heap.collect_in_slack(0.012) is None  # due, but the last one took longer than this slack allows
    assert heap.collect_in_slack(0.020) == 1 and gc.get_count()[1] == 0
    assert 0 < heap._took[1] < 0.5 / gc.get_threshold()[1]  # per young collection it gathered


def test_between_ticks_the_collector_runs_only_what_is_due_and_fits_and_an_overdue_one_anyway(monkeypatch):
    monkeypatch.setattr(heap, "_took", {1: 0.001, 2: 0.100})  # a middle one: 1 ms per young one it gathers
    thresholds = gc.get_threshold()
    collected = []
    monkeypatch.setattr(heap.gc, "collect", lambda gen=2: collected.append(gen))
    gc.set_threshold(700, 10, 10)
    try:
        with heap.between_ticks():
            assert not gc.isenabled()
            counts = {"now": (0, 0, 0)}
            monkeypatch.setattr(heap.gc, "get_count", lambda: counts["now"])
            assert heap.collect_in_slack(0.0) is None and collected == []  # nothing due
            counts["now"] = (701, 3, 0)
            assert heap.collect_in_slack(0.0) == 0  # a young one runs with no slack at all: about 1 ms
            counts["now"] = (701, 10, 0)  # the middle one is due: it waits for a slack it fits in...
            assert heap.collect_in_slack(0.012) == 0 and heap.collect_in_slack(0.0) == 0
            counts["now"] = (5, 12, 0)
            assert heap.collect_in_slack(0.017) is None
            assert heap.collect_in_slack(0.019) == 1  # ...1.5 times 12 young ones' worth of its last wall time
            counts["now"] = (5, 20, 0)  # ...or until it is overdue by its threshold again (a host with no slack)
            assert heap.collect_in_slack(0.0) == 1
            counts["now"] = (5, 10, 10)  # a full one is due after its threshold of middle ones
            assert heap.collect_in_slack(0.1) is None and heap.collect_in_slack(0.2) == 2
            assert collected == [0, 0, 0, 1, 1, 2]
        assert gc.isenabled()
    finally:
        gc.set_threshold(*thresholds)


def test_a_paced_loop_collects_between_ticks_only_and_offers_the_collector_each_ticks_slack(tmp_path, monkeypatch):
    c = Centre.from_file(_centre_files(tmp_path))
    offered, enabled = [], []
    tick = c.tick
    monkeypatch.setattr(c, "tick", lambda: (enabled.append(gc.isenabled()), tick())[1])
    monkeypatch.setattr(centre_module, "collect_in_slack", lambda slack: offered.append(slack))
    try:
        c.loop(seconds=5 * c.tick_seconds, fast=True)
        assert offered == [] and set(enabled) == {True}  # as fast as the CPU allows, the collector comes when due
        enabled.clear()
        c.loop(seconds=5 * c.tick_seconds)
        assert len(offered) == 5 and all(0 <= s <= c.tick_seconds for s in offered)
        assert set(enabled) == {False} and gc.isenabled()  # paced: off in the ticks, on again after
    finally:
        c.close()
