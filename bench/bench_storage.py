"""CDR writes: one committed transaction per ended call, as CdrWriter does it, on SQLite WAL with
synchronous=NORMAL (survives a killed process) and FULL (survives power loss). Yardstick: a bare
sqlite3 INSERT + commit of the same row width on the same kind of file."""
import sqlite3

import pytest

from pycallcenter.engine.call import Call, Leg
from pycallcenter.journal import Journal
from pycallcenter.storage import SqliteStore
from pycallcenter.storage.cdr import CdrWriter

N = 200


class _Engine:  # what CdrWriter reads from an engine
    now = 0

    def __init__(self):
        self.listeners, self.recordings, self.calls = [], Journal("recordings"), {}


def _calls(batch=0):
    return [Call(f"C{batch}-{i}", legs=[Leg(f"L{i}", None, None, 1, 0, "in", "pri", caller="2025550100", called="5000",
                                    cause=16, answered_at=8000)], started=0, ended=80000, vars={"menu": "1"})
            for i in range(N)]


@pytest.mark.parametrize("durable", [False, True], ids=["NORMAL", "FULL"])
def test_cdr_commits(benchmark, tmp_path, durable):
    writer = CdrWriter(SqliteStore(tmp_path / "cdr.db", durable=durable), _Engine())
    batches = iter(range(3))  # new call ids each round: the writer writes a call's CDR once only
    benchmark.pedantic(lambda calls: [writer.on_call_ended(c) for c in calls],
                       setup=lambda: ((_calls(next(batches)),), {}), rounds=3, iterations=1)
    assert writer.written == 3 * N


@pytest.mark.parametrize("sync", ["NORMAL", "FULL"])
def test_yardstick_bare_sqlite(benchmark, tmp_path, sync):
    conn = sqlite3.connect(tmp_path / "bare.db")
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute(f"PRAGMA synchronous={sync}")
    conn.execute("CREATE TABLE t (" + ", ".join(f"c{i} TEXT" for i in range(22)) + ")")
    row = tuple("x" * 8 for _ in range(22))

    def run():
        for _ in range(N):
            conn.execute("INSERT INTO t VALUES (" + ",".join("?" * 22) + ")", row)
            conn.commit()

    benchmark.pedantic(run, rounds=3, iterations=1)
