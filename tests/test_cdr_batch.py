"""The CDR writer commits the calls that end in one tick in one transaction (a commit was 1-3 ms of the tick
at 32 spans, one per call), still whole calls only: each call's CDR with its queue-log and recording rows,
and a database that fails keeps them all for the next try."""
import os
import sqlite3
import sys

from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import CdrWriter

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import analog_engine  # noqa: E402


class _Commits:
    """Wraps a store's commit: the number of CDR rows in each transaction it commits."""

    def __init__(self, store):
        self.cdrs = []
        commit = store._commit

        def counted():
            self.cdrs.append(sum(len(values) for stmt, values in store._batch if stmt.startswith("INSERT INTO cdr ")))
            return commit()

        store._commit = counted


def _two_calls_ending_together(eng, far):
    """alice and bob call in, their scripts answer and wait; both hang up at once; return {call id: end tick}."""
    ended = {}
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, c: ended.__setitem__(c.id, eng.now)})())

    async def script(ivr):
        await ivr.answer()
        await ivr.wait(60)

    eng.router = lambda leg: script
    far["alice"].off_hook()
    far["bob"].off_hook()
    eng.run(seconds=1.5)
    assert len(eng.calls) == 2, "both calls are up"
    far["alice"].on_hook()
    far["bob"].on_hook()
    eng.run(seconds=3, until=lambda: len(ended) == 2)
    return ended


def test_calls_ending_in_one_tick_are_committed_in_one_transaction(tmp_path):
    eng, far = analog_engine()
    store = open_store(tmp_path)
    writer = CdrWriter(store, eng)
    commits = _Commits(store)
    ended = _two_calls_ending_together(eng, far)
    assert len(set(ended.values())) == 1, ended  # the same tick
    eng.run(seconds=0.1)
    assert sorted(r["call_id"] for r in store.cdrs()) == sorted(ended) and writer.written == 2
    assert [n for n in commits.cdrs if n] == [2]
    eng.close()


def test_a_failed_commit_keeps_every_call_of_it_for_the_next(tmp_path):
    eng, far = analog_engine()
    store = open_store(tmp_path)
    written = []
    writer = CdrWriter(store, eng, on_written=written.append)
    real = store.add_many
    store.add_many = lambda *a: (_ for _ in ()).throw(sqlite3.OperationalError("database is locked"))
    ended = _two_calls_ending_together(eng, far)
    eng.run(seconds=0.1)
    assert store.cdrs() == [] and writer.backlog == 2 and written == []  # nothing of either call went
    store.add_many = real
    assert writer.flush() is True and writer.backlog == 0
    assert sorted(r["call_id"] for r in store.cdrs()) == sorted(written) == sorted(ended)
    eng.close()


def test_the_wait_for_a_lingering_script_is_woken_not_polled_every_tick(tmp_path, monkeypatch):
    from pycallcenter.storage import cdr
    from test_storage_cdr import _lingering_call

    polls = []
    poll = cdr._Settle.poll
    monkeypatch.setattr(cdr._Settle, "poll", lambda self, now: (polls.append(now), poll(self, now))[1])
    eng, far = analog_engine()
    store = open_store(tmp_path)
    writer = CdrWriter(store, eng, settle=1.0)
    call = _lingering_call(eng, far, writer)
    eng.run(seconds=0.5)
    assert store.cdrs() == [] and len(polls) <= 3  # its start, the pass after the call's end: then nothing
    eng.run(seconds=0.6)  # the settle deadline wakes it
    assert [r["call_id"] for r in store.cdrs()] == [call.id] and len(polls) <= 4
    eng.close()
