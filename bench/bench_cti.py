"""CTI benchmarks on a live centre of 500 simulated agents: one wallboard push (snapshot, queue statistics
to every session, the view to every wallboard); the wallboard view alone; a WebSocket round trip of a
command over loopback in ticks (the engine runs commands at tick boundaries); the message check (size,
nesting depth, then json.loads) against bare json.loads (the yardstick); one password check. The hub's
cost per tick with 500 agents and 20 wallboards connected over real sockets is bench_cti_hub.py.

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


AGENTS, WALLBOARDS = 500, 20


@pytest.fixture(scope="module")
def centre(tmp_path_factory):
    """A live centre of 500 simulated agents, each logged in as a CTI session, and 20 wallboard sessions
    (supervisors on the wall screen) over real WebSockets, after a minute of calls so events flow."""
    c, sim = live.build(agents=AGENTS, calls_per_hour=1800, seed=3, hours=0.3,
                        data=str(tmp_path_factory.mktemp("cti")))
    binding = c.binding
    tokens = {f"tok-{n}": {"role": "agent", "name": n} for n in binding.acd.agents}
    tokens["tok-sup"] = {"role": "supervisor", "name": "sup"}
    n = AGENTS + WALLBOARDS
    server = serve(binding, tokens, rate=1e6, burst=1e6, limits=Limits(max_per_source=100))
    # the agents' sessions enter the hub as the server hands over an authenticated connection (conn ids
    # the server does not know, so their frames are routed by the hub and then dropped, not serialised):
    # these benchmarks time the hub's own work; bench_cti_hub.py connects all 520 over real sockets
    for k, name in enumerate(binding.acd.agents):
        server.hub.inbox.put(("auth", -1 - k, ("agent", name, 0, "bench")))
    clients = []
    for _ in range(WALLBOARDS):
        clients.append(CtiClient("127.0.0.1", server.port))
        clients[-1].send({"cmd": "auth", "token": "tok-sup", "id": 0})
        clients[-1].send({"cmd": "wallboard", "id": "wb"})
    for _ in range(50 * 60):  # a minute of traffic so calls are in progress
        sim.tick()
        if _ % 50 == 0:
            for c_ in clients:
                c_.receive()
    for c_ in clients:
        c_.receive()
    assert len(server.hub.sessions) == n and len(server.hub.wallboards) == WALLBOARDS
    yield sim, server, clients
    for c_ in clients:
        c_.close()
    server.stop()
    sim.close()


def test_wallboard_push(benchmark, centre):
    """One push tick: snapshot, queue statistics to every session, the wallboard view to the 20 wallboards."""
    sim, server, clients = centre
    hub, eng = server.hub, server.hub.engine
    sent = []

    def push():
        hub._next_snapshot = 0.0
        hub._queues = None  # queue statistics change on a push tick in a busy centre
        hub.poll(eng.now)

    deliver, hub.deliver = hub.deliver, sent.append
    try:
        benchmark.pedantic(push, rounds=200, iterations=1)
    finally:
        hub.deliver = deliver
    print(f"\none push: {len(sent[-1])} frames")


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
