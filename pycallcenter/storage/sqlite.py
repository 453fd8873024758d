"""SQLite backend: one file in the data folder, WAL journal.

A committed transaction is in the WAL file before commit returns, so a process killed with SIGKILL
loses nothing it committed (with synchronous=NORMAL); synchronous=FULL also survives power loss at
the cost of an fsync per commit (``durable=True``).
"""
import os
import sqlite3

from pycallcenter.storage.base import Store

# Page cache per connection, KiB. SQLite's default (2,000 KiB) is reached only once the database outgrows it,
# hours into a centre's run, and showed as slow RSS growth in the day-long soak; the centre writes appended
# rows and reads little, so the index pages it misses come back from the OS's file cache
# (bench/bench_storage_cache.py, docs/reliability.md "Memory").
CACHE_KIB = 512


class SqliteStore(Store):
    """A Store on an SQLite file (``:memory:`` works too, for tests)."""

    dialect = "sqlite"
    placeholder = "?"

    def __init__(self, path, appliance="local", durable=False, timeout=10.0, cache_kib=CACHE_KIB):
        self.path = os.fspath(path)
        if self.path != ":memory:":
            os.makedirs(os.path.dirname(os.path.abspath(self.path)), exist_ok=True)
        conn = sqlite3.connect(self.path, timeout=timeout, isolation_level="DEFERRED", check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute(f"PRAGMA synchronous={'FULL' if durable else 'NORMAL'}")
        if cache_kib is not None:  # None: SQLite's default
            conn.execute(f"PRAGMA cache_size = -{int(cache_kib)}")
        super().__init__(conn, appliance)

    def limit_waits(self, seconds):
        """Wait at most seconds for another connection's lock (the tick loop's writer keeps a backlog)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def integrity(self):
        """Return SQLite's integrity_check answer ('ok' when the file is sound)."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]
