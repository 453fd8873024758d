"""CTI benchmarks: what the CTI hub adds to every engine tick on a live 24-agent centre with 50 connected
sessions, 10 of them wallboards (the yardstick: one engine tick of the same centre); a WebSocket round
trip of a command over loopback in ticks (the engine runs commands at tick boundaries); the message check
(size, nesting depth, then json.loads) against bare json.loads (the yardstick); one password check.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_cti.py --benchmark-only -s
"""
import json

import pytest

from pycallcenter.cti import protocol as P
from pycallcenter.cti import serve
from pycallcenter.cti.auth import check_password, hash_password
from pycallcenter.cti.client import CtiClient
from pycallcenter.cti.config import Limits
from pycallcenter.wallboard import live

MESSAGE = json.dumps({"cmd": "transfer", "id": 17, "target": "agent7", "attended": True,
                      "data": {"account": "4711", "menu": ["2", "1"], "notes": "caller wants a callback"}})


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    c, sim = live.build(agents=24, calls_per_hour=600, seed=3, hours=0.2, data=str(tmp_path_factory.mktemp("cti")))
    binding = c.binding
    tokens = {f"tok-{n}": {"role": "agent", "name": n} for n in binding.acd.agents}
    tokens["tok-sup"] = {"role": "supervisor", "name": "sup"}
    server = serve(binding, tokens, rate=1e6, burst=1e6, limits=Limits(max_per_source=100))
    clients = []
    for i in range(50):
        c_ = CtiClient("127.0.0.1", server.port)
        c_.send({"cmd": "auth", "token": "tok-sup" if i % 10 == 0 else f"tok-agent{i % 24 + 1}", "id": 0})
        if i % 5 == 0:
            c_.send({"cmd": "wallboard", "id": "wb"})
        clients.append(c_)
    for _ in range(50 * 60):  # a minute of traffic so calls are in progress
        sim.tick()
    for c_ in clients:
        c_.receive()
    assert len(server.hub.sessions) == 50 and len(server.hub.wallboards) == 10
    yield sim, server, clients
    for c_ in clients:
        c_.close()
    server.stop()
    sim.close()


def test_engine_tick_yardstick(benchmark, centre):
    sim, server, clients = centre
    benchmark.pedantic(sim.tick, rounds=200, iterations=1)


def test_hub_poll_per_tick(benchmark, centre):
    sim, server, clients = centre
    eng = server.hub.engine
    benchmark.pedantic(server.hub.poll, args=(eng.now,), rounds=2000, iterations=1)


def test_wallboard_view(benchmark, centre):
    """The view pushed once a board second to the wallboards (computed once for all of them)."""
    sim, server, clients = centre
    benchmark(server.hub.backend.wallboard)


def test_command_round_trip_in_ticks(centre):
    sim, server, clients = centre
    c = clients[1]
    ticks = []
    for i in range(50):
        c.receive()
        c.send({"cmd": "ping", "id": f"p{i}"})
        n = 0
        while True:
            sim.tick()
            n += 1
            if any(f.get("id") == f"p{i}" for f in c.receive(wait=0.001)):
                break
        ticks.append(n)
    ticks.sort()
    print(f"\nping round trip over loopback: median {ticks[len(ticks) // 2]} ticks, max {ticks[-1]} ticks")


def test_json_loads_yardstick(benchmark):
    benchmark(json.loads, MESSAGE)


def test_message_check_and_parse(benchmark):
    benchmark(P.parse, MESSAGE)


def test_password_check(benchmark):
    stored = hash_password("a-password-of-some-length")
    benchmark.pedantic(check_password, args=("a-password-of-some-length", stored), rounds=20, iterations=1)
