"""Nothing lost: traffic on the emulated PRI span writes CDRs and queue-log rows; the process is killed
with SIGKILL mid-traffic; every call it had reported complete is in the database, which opens cleanly.

Run as a script (``python tests/test_storage_crash.py DB``) this file is the traffic generator: it
prints each call id after that call's CDR is committed, flushing stdout.
"""
import os
import signal
import subprocess
import sys
import threading

import pytest

from pycallcenter.storage import SqliteStore, open_store

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
from test_storage import emptied_pg, pg_dsn  # noqa: E402,F401  (the throwaway PostgreSQL server fixture)


def traffic(db, seconds=None):
    """Run PSTN callers into a one-queue ACD with two instant-answer agents; print each completed call."""
    sys.path.insert(0, HERE)
    from engine_rig import PRI

    from pycallcenter.acd.core import Acd
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.engine.engine import Engine
    from pycallcenter.sim.pstn import Caller, PstnSimulator
    from pycallcenter.storage import open_store
    from pycallcenter.storage.cdr import CdrWriter

    board = open_board(parse_config(PRI.format(seed=3)))
    pstn = PstnSimulator(board)
    eng = Engine(board, tone_plan="etsi", keep_log=False)
    eng.auto_trunks()
    acd = Acd()
    acd.add_queue("sales", wrapup=0.0)
    for name in ("ann", "bob", "cyd"):
        acd.add_agent(name, queues={"sales": 0})
        acd.login(name, 0.0)

    class Binding:  # the smallest ACD binding: agents answer at once; the caller's hang-up ends it
        def apply(self, decisions, now):
            for d in decisions:
                if d.kind == "offer":
                    call = eng.calls.get(d.call)
                    if call is not None:
                        call.agent = d.agent
                    self.apply(acd.answer(d.agent, d.call, now), now)

        def on_call_ended(self, call):
            if call.id in acd.calls:
                self.apply(acd.hangup(call.id, eng.now / 8000), eng.now / 8000)

    binding = Binding()
    eng.listeners.append(binding)
    store = open_store(db)

    def done(call_id):
        print(call_id, flush=True)

    CdrWriter(store, eng, acd=acd, on_written=done)

    async def script(ivr):
        await ivr.answer()
        call = eng.calls[ivr.id]
        call.queue = "sales"
        binding.apply(acd.enter(call.id, "sales", eng.now / 8000, caller=ivr.caller), eng.now / 8000)
        await ivr.wait(0.3)
        await ivr.hangup()

    eng.router = lambda leg: script
    for i in range(1500):
        pstn.add(Caller(f"20255{i:05d}", "5000", arrival=0.5 + 0.1 * i, patience=1000, talk=1000))
    ticks = None if seconds is None else int(seconds * 50)
    n = 0
    while ticks is None or n < ticks:
        eng.tick()
        n += 1


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sigkill_mid_traffic_loses_no_completed_call(tmp_path, request, backend):
    if backend == "sqlite":
        db = str(tmp_path / "cc.db")
    else:
        db = request.getfixturevalue("pg_dsn")
        emptied_pg(db).close()
    proc = subprocess.Popen([sys.executable, __file__, db], stdout=subprocess.PIPE, text=True)
    printed = []
    watchdog = threading.Timer(120, proc.kill)  # a hung generator must not hang the suite
    watchdog.start()
    try:
        for line in proc.stdout:
            printed.append(line.strip())
            if len(printed) >= 40:
                break
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        watchdog.cancel()
    assert proc.returncode == -signal.SIGKILL
    assert len(printed) >= 40, "the traffic generator stopped before 40 calls completed"
    store = open_store(db)  # opens cleanly after the kill
    if isinstance(store, SqliteStore):
        assert store.integrity() == "ok"
    cdrs = {r["call_id"]: r for r in store.cdrs()}
    missing = [c for c in printed if c not in cdrs]
    assert not missing, f"completed calls without a CDR: {missing}"
    events = {}
    for r in store.queue_log():
        events.setdefault(r["call_id"], []).append(r["event"])
    for c in printed:
        assert cdrs[c]["disposition"] == "ANSWERED" and cdrs[c]["queue"] == "sales" and cdrs[c]["agent"]
        assert events.get(c, [])[:3] == ["ENTER", "OFFER", "CONNECT"] and "COMPLETE" in events[c], (c, events.get(c))
    store.close()


if __name__ == "__main__":
    traffic(sys.argv[1], float(sys.argv[2]) if len(sys.argv) > 2 else None)
