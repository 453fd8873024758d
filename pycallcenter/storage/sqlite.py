"""SQLite backend: one file in the data folder, WAL journal.

A committed transaction is in the WAL file before commit returns, so a process killed with SIGKILL
loses nothing it committed (with synchronous=NORMAL); synchronous=FULL also survives power loss at
the cost of an fsync per commit (``durable=True``).
"""
import os
import sqlite3
import threading

from pycallcenter.storage.base import Store

# Page cache per connection, KiB. SQLite's default (2,000 KiB) is reached only once the database outgrows it,
# hours into a centre's run, and showed as slow RSS growth in the day-long soak; the centre writes appended
# rows and reads little, so the index pages it misses come back from the OS's file cache
# (bench/bench_storage_cache.py, docs/reliability.md "Memory").
CACHE_KIB = 512
# Seconds between the WAL checkpoints of a writer that keeps them off its own thread (checkpoint_in_background).
# SQLite checkpoints on the connection whose commit takes the WAL past 1,000 pages: that commit then copies the
# pages into the database and syncs both files, 10-26 ms of the engine thread blocked in a 20 ms tick on a
# busy disk (a paced centre's slowest ticks by the wall clock, docs/reliability.md "Paced in real time").
CHECKPOINT_EVERY = 2.0


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
        self.checkpoints = 0  # done by the background thread
        self.last_checkpoint = None  # its last answer: (busy, frames in the WAL, frames copied into the database)
        self._checkpointer = self._stop = None

    def checkpoint_in_background(self, every=CHECKPOINT_EVERY):
        """Turn this connection's automatic checkpoints off and checkpoint the WAL every `every` seconds on a
        thread of its own, with its own connection (PASSIVE: never waits for the writer, which keeps writing;
        SQLite releases the GIL while it copies and syncs); return None. Whole transactions and their
        durability are as before: only who copies the WAL into the database, and when, changes."""
        if self.path == ":memory:" or self._checkpointer is not None:
            return
        self.conn.execute("PRAGMA wal_autocheckpoint = 0")
        self._stop = threading.Event()
        conn = sqlite3.connect(self.path, timeout=1.0, check_same_thread=False)
        conn.execute(f"PRAGMA synchronous={self.conn.execute('PRAGMA synchronous').fetchone()[0]}")
        self._checkpointer = threading.Thread(target=self._checkpoint_loop, args=(conn, every),
                                              name="sqlite-checkpoint", daemon=True)
        self._checkpointer.start()

    def _checkpoint_loop(self, conn, every):
        try:
            while not self._stop.wait(every):
                try:
                    self.last_checkpoint = tuple(conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone())
                except sqlite3.Error:  # busy, or the disk: the next round tries again, the WAL only grows meanwhile
                    continue
                self.checkpoints += 1
        finally:
            conn.close()

    def limit_waits(self, seconds):
        """Wait at most seconds for another connection's lock (the tick loop's writer keeps a backlog)."""
        self.conn.execute(f"PRAGMA busy_timeout = {int(seconds * 1000)}")

    def close(self):
        """Stop the background checkpoints (if any), then close the connection (SQLite checkpoints the WAL
        into the database as its last connection closes)."""
        if self._checkpointer is not None:
            self._stop.set()
            self._checkpointer.join()
            self._checkpointer = None
        super().close()

    def integrity(self):
        """Return SQLite's integrity_check answer ('ok' when the file is sound)."""
        return self.conn.execute("PRAGMA integrity_check").fetchone()[0]
