"""CDR writes into a database that already holds a day of calls, with SQLite's default page cache (about 2 MB
per connection) against the centre's smaller one (storage/sqlite.py CACHE_KIB). A day's database outgrows any
cache, so what a smaller cache costs is re-reading index pages from the OS's file cache; what it saves is
memory that otherwise grows for hours (docs/reliability.md, "Memory"). Yardstick: the same writes with the
default cache, in the same run.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_storage_cache.py --benchmark-only
     --benchmark-columns=min,mean,max
"""
import random
import shutil

import pytest

from pycallcenter.engine.call import Call, Leg
from pycallcenter.journal import Journal
from pycallcenter.storage import SqliteStore
from pycallcenter.storage.cdr import CdrWriter
from pycallcenter.storage.sqlite import CACHE_KIB

DAY = 15_000  # calls in the day soak's database
N = 300  # calls written per round


class _Engine:  # what CdrWriter reads from an engine
    now = 0

    def __init__(self):
        self.listeners, self.recordings, self.calls = [], Journal("recordings"), {}


def _calls(first, count, rng):
    """Calls with distinct callers, as the soak's (the caller index takes random inserts)."""
    return [Call(f"C{first + i}", legs=[Leg(f"L{first + i}", None, None, 1, 0, "in", "pri",
                                            caller=f"20255{rng.randrange(10000, 99999)}", called="5000", cause=16,
                                            answered_at=8000)],
                 started=0, ended=80000, vars={"menu": "1"}) for i in range(count)]


@pytest.fixture(scope="module")
def day_db(tmp_path_factory):
    path = tmp_path_factory.mktemp("day") / "day.db"
    store = SqliteStore(path)
    writer = CdrWriter(store, _Engine())
    for c in _calls(1, DAY, random.Random(1)):
        writer.on_call_ended(c)
    store.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    store.close()
    return path


@pytest.mark.parametrize("cache_kib", [None, CACHE_KIB], ids=["default-2MB", f"centre-{CACHE_KIB}KiB"])
def test_cdr_writes_on_a_day_database(benchmark, tmp_path, day_db, cache_kib):
    path = tmp_path / "cdr.db"
    shutil.copy(day_db, path)
    store = SqliteStore(path, cache_kib=cache_kib)
    writer = CdrWriter(store, _Engine())
    rng = random.Random(2)
    first = iter(range(DAY + 1, 10 * DAY, N))
    benchmark.pedantic(lambda calls: [writer.on_call_ended(c) for c in calls],
                       setup=lambda: ((_calls(next(first), N, rng),), {}), rounds=8, iterations=1)
    assert writer.written == 8 * N
    used = store.conn.execute("PRAGMA cache_size").fetchone()[0]
    assert used == (-cache_kib if cache_kib else -2000)
    store.close()
