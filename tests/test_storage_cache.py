"""The centre's SQLite connection keeps its page cache at CACHE_KIB: SQLite's default (about 2 MB a connection)
fills only as the database outgrows it, hours into a run, which the day-long soak saw as RSS growth."""
import ctypes

import _sqlite3

from pycallcenter.storage import SqliteStore
from pycallcenter.storage.sqlite import CACHE_KIB

_lib = ctypes.CDLL(_sqlite3.__file__)  # the sqlite3_* symbols of the library Python's module links
_lib.sqlite3_memory_used.restype = ctypes.c_int64


def _cache_growth(path, **options):
    """Return the bytes SQLite holds more after writing and re-reading about 6 MB of queue-log rows."""
    store = SqliteStore(path, **options)
    before = _lib.sqlite3_memory_used()
    for batch in range(6):
        with store.transaction():
            store.add_many("queue_log", [{"time": float(i), "call_id": f"C{batch}-{i}", "queue": "sales",
                                          "agent": "-", "event": "ENTERQUEUE", "data": {"pad": "x" * 400}}
                                         for i in range(2000)])
    store.conn.execute("SELECT count(*), sum(length(data)) FROM queue_log").fetchone()
    grown = _lib.sqlite3_memory_used() - before
    store.close()
    return grown


def test_the_store_keeps_its_page_cache_bounded(tmp_path):
    store = SqliteStore(tmp_path / "a.db")
    assert store.conn.execute("PRAGMA cache_size").fetchone()[0] == -CACHE_KIB
    store.close()
    bounded = _cache_growth(tmp_path / "b.db")  # the centre's
    default = _cache_growth(tmp_path / "c.db", cache_kib=None)  # SQLite's own bound: about 2 MB
    assert bounded < 2**20, bounded
    assert default > 1.5 * 2**20, default
