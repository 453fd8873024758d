"""One CDR per call whatever the registration, its outcome column, and databases made before the
column existed getting it."""
import os
import sqlite3
import sys

import pytest

from pycallcenter.engine.call import Call, Leg
from pycallcenter.storage import SqliteStore, open_store, schema
from pycallcenter.storage.cdr import CdrWriter, Clock, cdr_row
from pycallcenter.storage.outcome import OUTCOMES, Trail, outcome

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import analog_engine  # noqa: E402
from test_storage import _phone_call, emptied_pg, pg_dsn  # noqa: E402,F401  (pg_dsn: the PostgreSQL fixture)


def test_a_writer_registered_twice_writes_each_call_once(tmp_path):
    eng, far = analog_engine()
    store = open_store(tmp_path)
    writer = CdrWriter(store, eng)
    eng.listeners.append(writer)  # what apps/demo.py did: the writer already registers itself
    call = _phone_call(eng, far, tmp_path, record=False)
    assert [r["call_id"] for r in store.cdrs()] == [call.id] and writer.written == 1


def test_a_second_writer_on_one_engine_is_refused(tmp_path):
    eng, _ = analog_engine()
    CdrWriter(open_store(tmp_path), eng)
    with pytest.raises(ValueError, match="already has a CdrWriter"):
        CdrWriter(open_store(tmp_path / "other"), eng)


def _linger_op(leg):
    """Return an op a call's script leaves behind: it waits on the call's ended leg (``other``), so the
    engine does not count it as left behind, and it never finishes by itself."""
    from pycallcenter.engine.scheduler import Op

    op = Op()
    op.other = leg
    return op


def _lingering_call(eng, far, writer):
    """alice calls; the script sets a variable, leaves a task of the call waiting, hangs up; return the call."""
    ended = []
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, c: ended.append(c)})())

    async def linger(leg):
        await _linger_op(leg)

    async def script(ivr):
        await ivr.answer()
        eng.scheduler.spawn(linger(ivr.leg), f"{ivr.id}:linger", eng.now)
        ivr.set("menu", "1")
        await ivr.hangup()

    eng.router = lambda leg: script
    far["alice"].off_hook()
    eng.run(seconds=3, until=lambda: ended)
    assert ended
    return ended[0]


def test_closing_the_engine_writes_the_cdrs_still_waiting_for_their_scripts(tmp_path):
    eng, far = analog_engine()
    store = open_store(tmp_path)
    writer = CdrWriter(store, eng)
    call = _lingering_call(eng, far, writer)
    eng.run(seconds=1)
    assert writer.written == 0 and store.cdrs() == []  # a task of the call still runs
    assert not [line for line in eng.leaks() if "cdr:" in line]  # the writer's wait is no leak
    eng.close()
    rows = store.cdrs()
    assert [r["call_id"] for r in rows] == [call.id] and rows[0]["vars"] == {"menu": "1"}


def test_a_lingering_script_holds_the_cdr_back_for_settle_seconds_only(tmp_path):
    eng, far = analog_engine()
    store = open_store(tmp_path)
    writer = CdrWriter(store, eng, settle=1.0)
    call = _lingering_call(eng, far, writer)
    eng.run(seconds=0.9)
    assert store.cdrs() == []
    eng.run(seconds=0.2)
    assert [r["call_id"] for r in store.cdrs()] == [call.id] and writer.written == 1
    eng.close()
    assert writer.written == 1


def test_the_clock_takes_the_engines_epoch(tmp_path):
    eng, _ = analog_engine()
    eng.epoch = 1_000_000_000.0
    writer = CdrWriter(open_store(tmp_path), eng)
    assert writer.clock.iso(1.5) == "2001-09-09T01:46:41.500+00:00"


def _call(direction="in", answered=(8000,), cause=16, vars=None):
    legs = [Leg(f"L{i}", None, None, i + 1, i, direction if i == 0 else "out", "pri", cause=cause, answered_at=a)
            for i, a in enumerate(answered or (None,))]
    return Call("C1", legs=legs, vars=dict(vars or {}), started=0, ended=80000)


def _trail(*events):
    t = Trail()
    for e in events:
        t.feed(e[0], e[1], "sales", e[2] if len(e) > 2 else "-", e[3] if len(e) > 3 else {})
    return t


def test_outcomes_follow_scripts_then_the_queue_log_then_the_call():
    answered_by_agent = _trail(("ENTER", 10.0), ("CONNECT", 14.0, "ann", {"wait": 4.0}),
                               ("COMPLETE", 70.0, "ann", {"talk": 50.0, "hold": 6.0}))
    abandoned = _trail(("ENTER", 10.0), ("ABANDON", 40.0, "-", {"wait": 30.0}))
    timed_out = _trail(("ENTER", 10.0), ("EXITWITHTIMEOUT", 250.0, "-", {"wait": 240.0}))
    assert outcome(_call(vars={"outcome": "sale"}), answered_by_agent) == "sale"  # a script's word wins
    assert outcome(_call(answered=(8000, 9000)), answered_by_agent) == "agent"
    assert outcome(_call(), abandoned) == "abandoned"
    assert outcome(_call(vars={"voicemail_id": 7}), timed_out) == "voicemail"
    assert outcome(_call(), timed_out) == "left_queue"
    assert outcome(_call(), _trail(("ENTER", 10.0), ("CALLBACK", 20.0))) == "callback"
    assert outcome(_call(vars={"fax_received": 1})) == "fax_received"
    assert outcome(_call(vars={"fax_sent": 0})) == "fax_failed"
    assert outcome(_call(answered=(8000, 16000))) == "transferred"
    assert outcome(_call()) == "ivr_only"
    assert outcome(_call(direction="out")) == "outbound"
    assert outcome(_call(answered=(), cause=17)) == "busy"
    assert outcome(_call(answered=(), cause=21)) == "refused"
    assert outcome(_call(answered=(), cause=34)) == "failed"
    row = cdr_row(_call(answered=(8000, 9000)), Clock(epoch=0), answered_by_agent)
    assert (row["outcome"], row["queue"], row["agent"], row["queue_wait"], row["talk"], row["hold"]) == (
        "agent", "sales", "ann", 4.0, 50.0, 6.0) and row["queue_result"] == "answered"
    assert row["queued_time"] == "1970-01-01T00:00:10.000+00:00"
    row = cdr_row(_call(), Clock(epoch=0), abandoned)
    assert (row["outcome"], row["agent"], row["queue_wait"], row["talk"]) == ("abandoned", None, 30.0, None)
    # a script's own outcome (set before queueing) leaves the queue facts alone: reports count those
    row = cdr_row(_call(vars={"outcome": "sales_lead"}), Clock(epoch=0), abandoned)
    assert (row["outcome"], row["queue_result"]) == ("sales_lead", "abandoned")
    assert cdr_row(_call(), Clock(epoch=0), timed_out)["queue_result"] == "left"
    assert cdr_row(_call(), Clock(epoch=0))["queue_result"] is None
    assert set(OUTCOMES) >= {"agent", "abandoned", "voicemail", "fax_received", "fax_sent", "callback", "ivr_only"}


OLD_CDR = ("id INTEGER PRIMARY KEY AUTOINCREMENT, appliance TEXT, call_id TEXT, start_time TEXT, answer_time TEXT, "
           "end_time TEXT, start_s REAL, answer_s REAL, end_s REAL, caller TEXT, caller_name TEXT, called TEXT, "
           "channels TEXT, tech TEXT, direction TEXT, duration REAL, billsec REAL, cause INTEGER, disposition TEXT, "
           "queue TEXT, agent TEXT, vars TEXT, recordings TEXT")


def test_a_database_made_before_the_outcome_column_gets_it(tmp_path):
    path = tmp_path / "old.db"
    with sqlite3.connect(path) as db:
        db.execute(f"CREATE TABLE cdr ({OLD_CDR})")
        db.execute("INSERT INTO cdr (call_id, start_s, vars) VALUES ('C1', 1.0, '{}')")
    store = SqliteStore(path)
    cols = {r[1] for r in store.conn.execute("PRAGMA table_info(cdr)")}
    assert set(schema.columns("cdr")) <= cols
    store.add("cdr", {"call_id": "C2", "start_s": 2.0, "outcome": "agent", "queue_wait": 3.5})
    rows = store.cdrs()
    assert [(r["call_id"], r["outcome"], r["queue_wait"]) for r in rows] == [("C1", None, None), ("C2", "agent", 3.5)]
    store.close()
    SqliteStore(path).close()  # opening it again finds nothing to add


def test_postgres_database_made_before_the_outcome_column_gets_it(pg_dsn):
    s = emptied_pg(pg_dsn)
    s._execute("DROP TABLE cdr")
    s._execute(f"CREATE TABLE cdr ({OLD_CDR.replace('INTEGER PRIMARY KEY AUTOINCREMENT', 'BIGSERIAL PRIMARY KEY')})")
    s.conn.commit()
    s.close()
    s = open_store(pg_dsn)
    s.add("cdr", {"call_id": "C9", "outcome": "voicemail"})
    assert [r["outcome"] for r in s.cdrs()] == ["voicemail"]
    s.close()
