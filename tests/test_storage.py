"""The Store on SQLite and on a real PostgreSQL server (Debian's postgresql package, started here in a
temporary folder; the PostgreSQL cases skip, saying why, when the server or psycopg is not installed)."""
import glob
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile

import pytest

from pycallcenter.errors import ConfigError
from pycallcenter.storage import SqliteStore, is_dsn, open_store, schema
from pycallcenter.storage.adapters import fax_logger, index_voicemail, voicemail_indexer
from pycallcenter.engine.call import Call, Leg
from pycallcenter.storage.cdr import CdrWriter, Clock, cdr_row, disposition, recording_call

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import analog_engine  # noqa: E402


def _pg_bin():
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"))
    return os.path.dirname(found[-1]) if found else None


@pytest.fixture(scope="module")
def pg_dsn():
    """Start a throwaway PostgreSQL server on a Unix socket; yield its DSN; stop it."""
    pytest.importorskip("psycopg", reason="psycopg is not installed (pip install 'psycopg[binary]'): PostgreSQL tests skipped")
    bindir = _pg_bin()
    if bindir is None:
        pytest.skip("PostgreSQL server not installed (apt-get install postgresql): PostgreSQL tests skipped")
    # not under pytest's tmp folder: that is private to us, and the server runs as another user when we are
    # root; also keeps the socket path short
    root = tempfile.mkdtemp(prefix="pycc-pg-")
    run_as = []
    if os.geteuid() == 0:  # initdb refuses to run as root: use the package's postgres account
        if shutil.which("runuser") is None:
            pytest.skip("running as root without runuser: cannot start PostgreSQL")
        run_as = ["runuser", "-u", "postgres", "--"]
        os.chmod(root, 0o777)
    data, sock = os.path.join(root, "data"), root
    # a throwaway server: no fsync (-N, fsync=off) keeps start-up quick; Unix socket only, no TCP port
    subprocess.run(run_as + [f"{bindir}/initdb", "-N", "-D", data, "-A", "trust", "-U", "postgres"], check=True,
                   capture_output=True)
    subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-w", "-l", os.path.join(root, "log"),
                             "-o", f"-k {sock} -c listen_addresses='' -p 54329 -c fsync=off", "start"], check=True, capture_output=True)
    try:
        yield f"host={sock} port=54329 user=postgres dbname=postgres"
    finally:
        subprocess.run(run_as + [f"{bindir}/pg_ctl", "-D", data, "-m", "immediate", "-W", "stop"], capture_output=True)
        shutil.rmtree(root, ignore_errors=True)


def emptied_pg(dsn, appliance="local"):
    """Return a Store on the shared test server with every table emptied."""
    s = open_store(dsn, appliance=appliance)
    for table in schema.TABLES:
        s._execute(f"DELETE FROM {table}")
    s.conn.commit()
    return s


@pytest.fixture(params=["sqlite", "postgres"])
def store(request, tmp_path):
    if request.param == "sqlite":
        s = open_store(tmp_path)
    else:
        s = emptied_pg(request.getfixturevalue("pg_dsn"), appliance="box1")
    yield s
    s.close()


def test_folder_opens_wal_sqlite(tmp_path):
    s = open_store(tmp_path / "data")
    assert s.path == str(tmp_path / "data" / "pycallcenter.db")
    assert s.conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert s.integrity() == "ok"


def test_dsn_detection():
    assert is_dsn("postgresql://u@h/db") and is_dsn("host=/tmp dbname=x")
    assert not is_dsn("/var/lib/pycallcenter") and not is_dsn("data")


def test_missing_psycopg_is_a_clear_config_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "psycopg", None)
    with pytest.raises(ConfigError, match="psycopg"):
        open_store("postgresql://nobody@localhost/none")


def test_rows_round_trip_with_json(store):
    store.add("cdr", {"call_id": "C1", "start_s": 10.0, "vars": {"account": "42", "lang": "en"}, "recordings": ["a.wav"]})
    store.add("cdr", {"call_id": "C2", "start_s": 20.0, "vars": {}})
    rows = store.cdrs(start=15)
    assert [r["call_id"] for r in rows] == ["C2"]
    assert store.cdrs()[0]["vars"] == {"account": "42", "lang": "en"}
    assert store.cdrs()[0]["appliance"] == store.appliance
    with pytest.raises(ValueError, match="unknown column"):
        store.add("cdr", {"call_id": "C3", "colour": "red"})
    with pytest.raises(ValueError, match="unknown table"):
        store.add("cdrs", {"call_id": "C3"})


def test_transaction_is_all_or_nothing(store):
    with pytest.raises(RuntimeError):
        with store.transaction():
            store.add("cdr", {"call_id": "C1"})
            store.add("queue_log", {"call_id": "C1", "event": "ENTER", "time": 1.0})
            raise RuntimeError("crash between the two")
    assert store.count("cdr") == 0 and store.count("queue_log") == 0
    with store.transaction():
        store.add("cdr", {"call_id": "C1"})
        store.add("queue_log", {"call_id": "C1", "event": "ENTER", "time": 1.0})
    assert store.count("cdr") == 1 and store.count("queue_log") == 1


def test_live_status_is_replaced_per_appliance(store):
    store.put_status({"calls": 1}, updated="t1")
    store.put_status({"calls": 3}, updated="t2")
    assert store.live_status() == {store.appliance: {"calls": 3, "_updated": "t2"}}


def test_fax_and_voicemail_adapters(store):
    fax_logger(store)({"call": "C7", "caller": "555", "called": "600", "ok": True, "pages": 2, "remote_ident": "+1 555",
                       "tiff": "/fax/x.tif", "code": 0, "text": "OK"})
    index_voicemail(store, 200, "msg0001", "/vm/200/msg0001.wav", caller="555", seconds=12.5, call_id="C8")
    fax = store.select("fax_log")[0]
    assert (fax["call_id"], fax["ok"], fax["pages"], fax["path"], fax["data"]["text"]) == ("C7", 1, 2, "/fax/x.tif", "OK")
    vm = store.select("voicemail_index")[0]
    assert (vm["mailbox"], vm["seconds"], vm["folder"], vm["heard"]) == ("200", 12.5, "INBOX", 0)


def test_voicemail_messages_are_indexed_through_on_message(store, tmp_path):
    from pycallcenter.apps.voicemail import Voicemail

    vm = Voicemail(str(tmp_path / "vm"))
    vm.on_message = voicemail_indexer(store)
    vm.add_mailbox("200", "1234")
    msg_id = vm.add_message("200", "5551234", str(tmp_path / "vm" / "m.wav"), 4.5, "2026-03-02T09:00:00")
    row = store.select("voicemail_index")[0]
    assert (row["mailbox"], row["message_id"], row["caller"], row["seconds"], row["folder"], row["created"]) == (
        "200", str(msg_id), "5551234", 4.5, "new", "2026-03-02T09:00:00")


def _phone_call(eng, far, tmp_path, record=True):
    """alice picks up, the script answers, records, sets a variable and hangs up; return the ended Call."""
    ended = []

    async def script(ivr):
        await ivr.answer()
        ivr.set("account", "1234")
        eng.calls[ivr.id].queue = "support"
        if record:
            rec = ivr.start_recording()
            await ivr.wait(0.5)
            ivr.stop_recording(rec)
        await ivr.wait(0.2)
        await ivr.hangup()
        ivr.set("after", "hangup")  # what a script concludes after the line dropped is in the CDR

    eng.router = lambda leg: script
    eng.recordings_dir = str(tmp_path / "rec")
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, c: ended.append(c)})())
    far["alice"].off_hook()
    eng.run(seconds=3, until=lambda: ended)
    assert ended, "the call did not end"
    eng.run(seconds=0.1)  # the CDR goes out on the tick after the script finished
    return ended[0]


def test_cdr_writer_writes_one_row_per_ended_call(store, tmp_path):
    eng, far = analog_engine()
    CdrWriter(store, eng, epoch=1_700_000_000.0)
    call = _phone_call(eng, far, tmp_path)
    rows = store.cdrs()
    assert len(rows) == 1
    r = rows[0]
    assert r["call_id"] == call.id and r["tech"] == "fxs" and r["channels"] == "1" and r["direction"] == "in"
    assert r["disposition"] == "ANSWERED" and r["cause"] == 16 and r["queue"] == "support"
    assert r["vars"] == {"account": "1234", "after": "hangup"} and r["outcome"] == "ivr_only"
    assert r["trunk"] == call.caller_leg.adapter.name
    assert r["start_s"] <= r["answer_s"] < r["end_s"]
    assert r["duration"] == pytest.approx(r["end_s"] - r["start_s"], abs=1e-3)
    assert r["billsec"] == pytest.approx(r["end_s"] - r["answer_s"], abs=1e-3) and r["billsec"] >= 0.7
    assert r["start_time"].startswith("2023-11-14T22:13:2") and r["start_time"].endswith("+00:00")
    assert len(r["recordings"]) == 1 and os.path.exists(r["recordings"][0])
    recs = store.select("recordings")
    assert [x["path"] for x in recs] == r["recordings"]
    assert recs[0]["call_id"] == call.id and recs[0]["queue"] == "support" and recs[0]["seconds"] >= 0.4


def test_dispositions_follow_answers_and_causes():
    def call(cause, answered=None):
        return Call("C1", legs=[Leg("L1", None, None, 1, 0, "in", "pri", cause=cause, answered_at=answered)])

    assert disposition(call(16, answered=800)) == "ANSWERED"
    assert disposition(call(17)) == "BUSY"
    assert disposition(call(19)) == "NO ANSWER"
    assert disposition(call(21)) == "REJECTED"
    assert disposition(call(34)) == "FAILED"
    row = cdr_row(Call("C1", legs=call(34).legs, started=8000, ended=24000), Clock(epoch=0))
    assert (row["duration"], row["billsec"], row["answer_s"], row["end_time"]) == (2.0, 0.0, None, "1970-01-01T00:00:03.000+00:00")


def test_recording_file_names_give_call_and_leg():
    assert recording_call("/r/2024/01/01/20240101-000000_sales_ann_C12_L30.wav") == ("C12", "L30")
    assert recording_call("/r/mine.wav") == (None, None)


def test_a_failing_database_does_not_stop_calls_and_rows_follow_later(tmp_path):
    eng, far = analog_engine()
    s = SqliteStore(tmp_path / "x.db")
    written = []
    writer = CdrWriter(s, eng, on_written=written.append)
    real_add_many = s.add_many
    s.add_many = lambda *a: (_ for _ in ()).throw(sqlite3.OperationalError("database is locked"))
    call = _phone_call(eng, far, tmp_path, record=False)  # the call ends normally though the write fails
    assert writer.backlog == 1 and writer.failures == 1 and "locked" in writer.last_error and written == []
    assert any(" store_error " in line for line in eng.log_lines)
    s.add_many = real_add_many
    assert writer.flush() is True and writer.backlog == 0
    assert [r["call_id"] for r in s.cdrs()] == [call.id] and written == [call.id]


def test_postgres_reconnects_after_its_connection_is_killed(pg_dsn, tmp_path):
    s = emptied_pg(pg_dsn)
    eng, far = analog_engine()
    writer = CdrWriter(s, eng)
    killer = open_store(pg_dsn)
    killer._fetch("SELECT pg_terminate_backend(%s)", (s.conn.info.backend_pid,))
    killer.close()
    call = _phone_call(eng, far, tmp_path, record=False)
    assert writer.failures == 1 and writer.backlog == 1  # the write on the dead connection failed
    assert writer.flush() and s.reconnects == 1
    assert [r["call_id"] for r in s.cdrs()] == [call.id]
    s.close()
