"""The centre's SQLite store checkpoints its WAL on a thread of its own (SqliteStore.checkpoint_in_background):
the writing connection never checkpoints (a commit that took the WAL past 1,000 pages used to copy and sync it
inside a tick), the database file still receives the pages, and close() stops the thread."""
import json
import os
import sys
import time

from pycallcenter.apps.centre import Centre
from pycallcenter.storage.sqlite import SqliteStore

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from test_ops_cli import _centre_files  # noqa: E402


def _write(store, n):
    for i in range(n):
        store.put_status(json.dumps({"pad": "x" * 20_000, "i": i}), updated=f"2026-12-07T10:00:{i % 60:02d}")


def _wait(predicate, seconds=20.0):
    end = time.monotonic() + seconds
    while not predicate() and time.monotonic() < end:
        time.sleep(0.02)
    return predicate()


def test_the_wal_is_checkpointed_by_the_background_thread_not_by_the_writer(tmp_path):
    path = str(tmp_path / "c.db")
    store = SqliteStore(path)
    try:
        store.checkpoint_in_background(every=3600.0)  # started, but not due: the writer alone
        assert store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
        size = os.path.getsize(path)
        _write(store, 400)  # ~8 MB through the WAL: past 1,000 pages, where the writer would checkpoint itself
        assert os.path.getsize(path) == size and os.path.getsize(path + "-wal") > 4_000_000
    finally:
        store.close()
    assert store._checkpointer is None  # stopped and joined on close
    again = SqliteStore(path)
    try:
        again.checkpoint_in_background(every=0.05)
        _write(again, 400)
        # the thread's checkpoints copied the WAL's frames into the database
        assert _wait(lambda: again.last_checkpoint is not None and again.last_checkpoint[2] > 0)
        thread = again._checkpointer
        assert thread.is_alive() and thread.name == "sqlite-checkpoint"
    finally:
        again.close()
    assert not thread.is_alive()
    row = SqliteStore(path)
    try:
        assert [s["i"] for s in row.live_status().values()] == [399]  # the last status row, whole
    finally:
        row.close()


def test_the_centre_checkpoints_its_database_in_the_background(tmp_path):
    c = Centre.from_file(_centre_files(tmp_path))
    thread = c.store._checkpointer
    try:
        assert thread.is_alive() and c.store.conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    finally:
        c.close()
    assert not thread.is_alive()
