"""The CTI hub with 500 agent desktops and 20 wallboards connected over real WebSockets (and WSS), logged in
with passwords, during a minute of a busy centre in real time.

The server's process holds the centre (500 simulated agents at FXS phones, PRI callers at 1,800 an hour),
the hub and the aiohttp server; the people (cti_hub_people.py) run in two other processes, each
connection from its own 127.0.0.x source address (20 per address), all logging in at once. The engine
ticks paced at 20 ms, as on a board. Measured per tick: the engine tick (the yardstick, pytest-benchmark's
rounds), the CPU time of CtiHub.poll on the engine's thread and of the server's thread over the same tick;
the fan-out latency from the poll that handed a frame over to the last of its clients' receipt (clients
note time.monotonic() on arrival, the same clock across processes); the server process's RSS per
connection.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_cti_hub.py --benchmark-only -s
"""
import bisect
import json
import os
import queue
import subprocess
import sys
import threading
import time

import pytest

from pycallcenter.cti import serve
from pycallcenter.cti.auth import Accounts, User, hash_password
from pycallcenter.tls import self_signed, server_context
from pycallcenter.wallboard import live

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from cti_hub_people import frame_key  # noqa: E402

AGENTS, WALLBOARDS = 500, 20
PER_SOURCE = 20  # connections per 127.0.0.x address (the per-address cap is 32)
PROCESSES = 2  # client processes
TICKS = 50 * 60  # the measured stretch: one minute of board time, paced
TICK = 0.02
PASSWORD = "bench-password-of-some-length"
PEOPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "cti_hub_people.py")


def _rss():
    """Return this process's resident set size in bytes."""
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _pct(samples, scale=1e6, unit="us"):
    """Return 'p50 / p99 / p99.9 / max' of samples (seconds) in unit."""
    s = sorted(samples)
    if not s:
        return "-"
    pick = [s[min(len(s) - 1, int(q * len(s)))] * scale for q in (0.5, 0.99, 0.999)] + [s[-1] * scale]
    return " / ".join(f"{v:,.0f}" for v in pick) + f" {unit}"


class People:
    """The client processes: start them, wait until everyone is in, stop them and read the arrivals."""

    def __init__(self, url, users, folder, cafile=None):
        self.procs, self.outs, self.lines = [], [], queue.Queue()
        for k in range(PROCESSES):
            out = os.path.join(folder, f"arrivals-{k}.json")
            spec = {"url": url, "password": PASSWORD, "cafile": cafile, "out": out,
                    "users": [u for i, u in enumerate(users) if (i // PER_SOURCE) % PROCESSES == k]}
            p = subprocess.Popen([sys.executable, PEOPLE, json.dumps(spec)], stdin=subprocess.PIPE,
                                 stdout=subprocess.PIPE, text=True)
            threading.Thread(target=self._read, args=(p,), daemon=True).start()
            self.procs.append(p)
            self.outs.append(out)

    def _read(self, proc):
        for line in proc.stdout:
            self.lines.put(line.split())

    def wait(self, word, tick, limit=300.0):
        """Call tick() (the engine keeps time) until every process printed word; return their lines."""
        got, end = [], time.monotonic() + limit
        while len(got) < PROCESSES:
            assert time.monotonic() < end, f"the client processes did not say {word!r}: {got}"
            tick()
            try:
                while True:
                    line = self.lines.get_nowait()
                    if line and line[0] == word:
                        got.append(line)
            except queue.Empty:
                pass
        return got

    def stop(self, tick):
        """Ask the processes to stop; return the arrivals of every person: name -> [[t, key...], ...]."""
        for p in self.procs:
            p.stdin.write("stop\n")
            p.stdin.flush()
        self.wait("done", tick)
        arrivals = {}
        for p, out in zip(self.procs, self.outs):
            p.wait(30)
            with open(out) as fh:
                arrivals.update(json.load(fh))
        return arrivals


def _latencies(emissions, names, arrivals):
    """Return (kind -> fan-out latencies in seconds, frames never seen): for each frame handed over by a
    poll, the time from that poll to the last of its recipients' arrival."""
    index = {}
    for name, rows in arrivals.items():
        for t, *key in rows:
            index.setdefault((name, json.dumps(key)), []).append(t)
    for times in index.values():
        times.sort()
    groups, parsed = {}, {}
    for t0, batch in emissions:
        for conn, frame in batch:
            if conn not in names:
                continue
            if isinstance(frame, str):
                if id(frame) not in parsed:
                    parsed[id(frame)] = (frame, frame_key(json.loads(frame)))  # the text is kept alive here
                key = parsed[id(frame)][1]
            else:
                key = frame_key(frame)
            if key is not None:
                groups.setdefault((t0, json.dumps(key)), set()).add(names[conn])
    out, lost = {}, 0
    for (t0, key), who in groups.items():
        worst = 0.0
        for name in who:
            times = index.get((name, key), [])
            i = bisect.bisect_left(times, t0)
            if i == len(times):
                lost += 1
                continue
            worst = max(worst, times[i] - t0)
        kind = json.loads(key)[0]
        kind = kind if kind in ("queue_stats", "wallboard") else "agent and call events"
        out.setdefault(kind, []).append(worst)
    return out, lost


@pytest.mark.parametrize("scheme", ["ws", "wss"])
def test_hub_with_500_agents_and_20_wallboards_over_real_sockets(benchmark, tmp_path, scheme):
    c, sim = live.build(agents=AGENTS, calls_per_hour=1800, seed=3, hours=0.3, data=str(tmp_path / "centre"))
    binding = c.binding
    eng = binding.engine
    for _ in range(TICKS):  # a minute of traffic first (as fast as it goes), so calls are in progress
        sim.tick()
    stored = hash_password(PASSWORD)  # the default cost: every login is a real scrypt check on the server
    users = [User(n, "agent", stored) for n in binding.acd.agents]
    users += [User(f"sup{i + 1}", "supervisor", stored) for i in range(WALLBOARDS)]
    ssl, cafile = None, None
    if scheme == "wss":
        cafile, key = self_signed(str(tmp_path / "tls"))
        ssl = server_context(cafile, key)
    rss_alone = _rss()
    server = serve(binding, accounts=Accounts(users), ssl=ssl)
    rss_served = _rss()
    people = [{"name": u.name, "role": u.role, "source": f"127.0.0.{2 + i // PER_SOURCE}"}
              for i, u in enumerate(users)]
    next_tick = [time.monotonic()]

    def pace():
        """Sleep until the next 20 ms boundary, as a board's audio reads would."""
        next_tick[0] += TICK
        delay = next_tick[0] - time.monotonic()
        if delay > 0:
            time.sleep(delay)
        else:
            next_tick[0] = time.monotonic()

    def paced_tick():
        pace()
        sim.tick()

    server_clock = time.pthread_getcpuclockid(server._thread.ident)
    cpu0 = time.clock_gettime(server_clock)
    t_login = time.monotonic()
    crowd = People(f"{scheme}://127.0.0.1:{server.port}/ws", people, str(tmp_path), cafile)
    ready = crowd.wait("ready", paced_tick)
    login_s = time.monotonic() - t_login
    login_cpu = time.clock_gettime(server_clock) - cpu0
    in_ok = sum(int(r[1]) for r in ready)
    for _ in range(100):  # two seconds for the greetings to go out
        paced_tick()
    rss_in = _rss()
    hub = server.hub
    assert in_ok == len(users) and len(hub.sessions) == len(users), (ready, len(hub.sessions))
    names = {conn: name for conn, (_, name) in hub.sessions.items()}

    poll_cpu, server_cpu, emissions, current = [], [], [], [0.0]
    deliver, handed, queued, written = hub.deliver, server._deliver, [], []
    t0_of = {}

    def kept(batch):
        emissions.append((current[0], batch))
        t0_of[id(batch)] = current[0]
        deliver(batch)

    def handing(batch):  # on the server's thread: the batch's frames go to the connections' queues
        t0 = t0_of.get(id(batch))
        if t0 is None:
            handed(batch)
            return
        queued.append(time.monotonic() - t0)
        handed(batch)
        # the writers this batch woke run before a callback queued after them: each writes its frame to its
        # transport in that step (aiohttp awaits a drain only past the transport's high-water mark)
        server.loop.call_soon(lambda: written.append(time.monotonic() - t0))

    def timed(now):
        current[0] = time.monotonic()
        c0 = time.thread_time()
        hub.poll(now)
        poll_cpu.append(time.thread_time() - c0)

    last = [time.clock_gettime(server_clock)]

    def setup():
        pace()
        now = time.clock_gettime(server_clock)
        server_cpu.append(now - last[0])
        last[0] = now

    i = eng.tickers.index(hub.poll)
    eng.tickers[i], hub.deliver, server._deliver = timed, kept, handing
    offered = sum(q.today.get("offered", 0) for q in binding.acd.queues.values())
    p0 = time.process_time()
    try:
        next_tick[0] = time.monotonic()
        benchmark.pedantic(sim.tick, setup=setup, rounds=TICKS, iterations=1)
    finally:
        eng.tickers[i], hub.deliver, server._deliver = hub.poll, deliver, handed
    process_cpu = time.process_time() - p0
    offered = sum(q.today.get("offered", 0) for q in binding.acd.queues.values()) - offered
    rss_after = _rss()
    arrivals = crowd.stop(paced_tick)
    server.stop()
    sim.close()

    server_cpu = server_cpu[1:]  # the first sample covers the time before the stretch
    per_tick = [a + b for a, b in zip(poll_cpu, server_cpu)]  # server_cpu[j] spans round j
    lat, lost = _latencies(emissions, names, arrivals)
    frames = sum(len(b) for _, b in emissions)
    conns = len(users)
    print(f"\n{scheme}: {AGENTS} agents + {WALLBOARDS} wallboards from {len(set(p['source'] for p in people))} "
          f"addresses in {PROCESSES} client processes; {conns} password logins in {login_s:.1f} s "
          f"(server thread CPU {login_cpu:.2f} s, scrypt on the auth threads besides)")
    print(f"stretch: {len(poll_cpu)} paced ticks, {offered} calls offered, {frames} frames out in "
          f"{len(emissions)} batches; process CPU {process_cpu / len(poll_cpu) * 1e3:.2f} ms a tick "
          f"(engine, simulated people, hub, server)")
    print(f"engine tick (yardstick) p50/p99/p99.9/max: {_pct(benchmark.stats.stats.data)}")
    print(f"CtiHub.poll CPU a tick: {_pct(poll_cpu)}; mean {sum(poll_cpu) / len(poll_cpu) * 1e6:,.0f} us")
    print(f"server thread CPU a tick: {_pct(server_cpu)}; mean {sum(server_cpu) / len(server_cpu) * 1e6:,.0f} us")
    print(f"hub + server CPU a tick: {_pct(per_tick)}; mean {sum(per_tick) / len(per_tick) * 1e6:,.0f} us")
    print(f"poll to the server thread queueing the batch: {_pct(queued, 1e3, 'ms')}")
    print(f"poll to the batch's frames written to the sockets (server side): {_pct(written, 1e3, 'ms')}")
    for kind, v in sorted(lat.items()):
        print(f"fan-out latency, {kind} ({len(v)} frames): p50/p99/p99.9/max {_pct(v, 1e3, 'ms')}")
    print(f"frames handed over and never seen by a client: {lost}")
    print(f"RSS: centre {rss_alone / 2**20:.1f} MB, server started {rss_served / 2**20:.1f} MB, "
          f"{conns} logged in {rss_in / 2**20:.1f} MB ({(rss_in - rss_served) / conns / 1024:.1f} KB a connection), "
          f"after the stretch {rss_after / 2**20:.1f} MB ({(rss_after - rss_served) / conns / 1024:.1f} KB a connection)")
