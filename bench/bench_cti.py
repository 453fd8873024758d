"""CTI benchmarks: what the CTI hub adds to every engine tick on a live 24-agent centre with 50 connected
sessions (the yardstick: one engine tick of the same centre), and a WebSocket round trip of a command
over loopback in ticks (the engine runs commands at tick boundaries).

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_cti.py --benchmark-only -s
"""
import pytest

from pycallcenter.cti import serve
from pycallcenter.cti.client import CtiClient
from pycallcenter.wallboard import live


@pytest.fixture(scope="module")
def centre():
    eng, pool, pstn, binding = live.build(agents=24, calls_per_hour=600, seed=3, hours=0.2)
    tokens = {f"tok-{n}": {"role": "agent", "name": n} for n in binding.acd.agents}
    tokens["tok-sup"] = {"role": "supervisor", "name": "sup"}
    server = serve(binding, tokens, rate=1e6, burst=1e6)
    clients = []
    for i in range(50):
        c = CtiClient("127.0.0.1", server.port)
        c.send({"cmd": "auth", "token": "tok-sup" if i % 10 == 0 else f"tok-agent{i % 24 + 1}", "id": 0})
        clients.append(c)
    for _ in range(50 * 60):  # a minute of traffic so calls are in progress
        eng.tick()
        pool.tick(eng.now)
    for c in clients:
        c.receive()
    yield eng, pool, server, clients
    for c in clients:
        c.close()
    server.stop()
    eng.close()


def test_engine_tick_yardstick(benchmark, centre):
    eng, pool, server, clients = centre

    def tick():
        eng.tick()
        pool.tick(eng.now)

    benchmark.pedantic(tick, rounds=200, iterations=1)


def test_hub_poll_per_tick(benchmark, centre):
    eng, pool, server, clients = centre
    benchmark.pedantic(server.hub.poll, args=(eng.now,), rounds=2000, iterations=1)


def test_command_round_trip_in_ticks(centre):
    eng, pool, server, clients = centre
    c = clients[1]
    ticks = []
    for i in range(50):
        c.receive()
        c.send({"cmd": "ping", "id": f"p{i}"})
        n = 0
        while True:
            eng.tick()
            pool.tick(eng.now)
            n += 1
            if any(f.get("id") == f"p{i}" for f in c.receive(wait=0.001)):
                break
        ticks.append(n)
    ticks.sort()
    print(f"\nping round trip over loopback: median {ticks[len(ticks) // 2]} ticks, max {ticks[-1]} ticks")
