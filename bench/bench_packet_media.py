"""Packet rows per core: the engine's whole tick with N RTP rows, each playing a prompt to a loopback peer that
echoes every packet back (G.711 mu-law, 20 ms packets, RTCP on), timed tick by tick in CPU seconds.

The timed part is ``Engine.tick()``: draining the sockets, jitter buffers, batched PLC and G.711 decode, DTMF
detection on every row, mixing, encoding, packetising and sending. The echoing peer runs between ticks,
untimed (on a real box it is the far end, not us). The yardstick, measured in the same run, is the least
Python can do for N RTP streams per tick: one selector poll, then recvfrom and sendto of every packet, no media
at all. Asterisk's published anchor is about 100 calls per GHz without transcoding.

Each tick is timed twice: in CPU time of the ticking thread (``time.thread_time``, what the tick costs this
core whatever else the shared machine runs) and in wall time (what a paced tick would see, other jobs
included). The load average is printed beside them. The engine tick's CPU time is also split into the packet
media's receive and transmit and the rest of the engine.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_packet_media.py --benchmark-only -s
"""
import os
import resource
import selectors
import socket
import sys
import time

import numpy as np
import pytest

from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine.engine import Engine

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests")
from engine_rig import ANALOG  # noqa: E402

TICKS = 500  # 10 s of calls
WARM = 25


class EchoPeer:
    """N UDP sockets that send every datagram they receive back to where it came from."""

    def __init__(self, n):
        self.socks = []
        self.sel = selectors.DefaultSelector()
        for _ in range(n):
            s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            s.bind(("127.0.0.1", 0))
            s.setblocking(False)
            self.socks.append(s)
            self.sel.register(s, selectors.EVENT_READ)

    def echo(self):
        for key, _ in self.sel.select(0):
            s = key.fileobj
            while True:
                try:
                    data, src = s.recvfrom(2048)
                except BlockingIOError:
                    break
                s.sendto(data, src)

    def close(self):
        self.sel.close()
        for s in self.socks:
            s.close()


def _raise_fd_limit(n):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * n + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * n + 200), hard))


class _PartTimer:
    """Wraps a bound method, adding its thread CPU time to `spent[k]` for the tick k being timed."""

    def __init__(self, method, spent):
        self.method, self.spent, self.tick = method, spent, 0

    def __call__(self, *args):
        t0 = time.thread_time()
        try:
            return self.method(*args)
        finally:
            self.spent[self.tick] += time.thread_time() - t0


def _packet_tick_times(rows, ticks=TICKS):
    """Return each engine tick's (thread CPU seconds, wall seconds) with `rows` RTP rows talking to an echoing
    peer, and print the split into receive, transmit and the rest."""
    _raise_fd_limit(rows)
    board = open_board(parse_config(ANALOG.format(seed=1)))
    eng = Engine(board, packet_rows=rows, rtp_ports=(30000, 30000 + 2 * rows + 1), keep_log=False)
    peer = EchoPeer(rows)
    rng = np.random.default_rng(1)
    prompt = (rng.standard_normal(8000 * 30) * 2000).astype(np.int16)
    opened = []
    try:
        for i in range(rows):
            channel, row = eng.packet.allocate()
            eng.packet.open(row, remote=peer.socks[i].getsockname(), payload_type=0, law="ulaw")
            eng.media.play(row, [prompt[i * 37 % 8000:]], loop=True)
            opened.append(row)
        times, wall = np.empty(ticks + WARM), np.empty(ticks + WARM)
        receive, transmit = np.zeros(ticks + WARM), np.zeros(ticks + WARM)
        parts = [_PartTimer(eng.packet.receive, receive), _PartTimer(eng.packet.transmit, transmit)]
        eng.packet.receive, eng.packet.transmit = parts
        kernel = 0.0
        for t in range(ticks + WARM):
            parts[0].tick = parts[1].tick = t
            u0 = resource.getrusage(resource.RUSAGE_THREAD)
            w0, t0 = time.perf_counter(), time.thread_time()
            eng.tick()
            times[t], wall[t] = time.thread_time() - t0, time.perf_counter() - w0
            u1 = resource.getrusage(resource.RUSAGE_THREAD)
            if t >= WARM:
                kernel += u1.ru_stime - u0.ru_stime
            peer.echo()
        del eng.packet.receive, eng.packet.transmit
        stats = [eng.packet.stats(r) for r in opened]
        assert all(s["packets_in"] >= ticks for s in stats), "the echo did not come back"
        native = sum(r.native for r in eng.packet._open)
        rx, tx = np.median(receive[WARM:]) * 1000, np.median(transmit[WARM:]) * 1000
        rest = np.median((times - receive - transmit)[WARM:]) * 1000
        print(f"\n{rows} rows ({native} on the native receive path at the end): {kernel / ticks * 1000:.2f} ms of "
              f"each tick (mean) in the kernel; p50 receive {rx:.2f} ms, transmit {tx:.2f} ms, rest {rest:.2f} ms")
        return times[WARM:], wall[WARM:]
    finally:
        for row in opened:
            eng.packet.release(row)
        peer.close()
        eng.shutdown()


def _socket_floor_times(rows, ticks=TICKS):
    """Return each tick's thread CPU seconds of the bare minimum: poll, then receive and send one packet per
    stream."""
    _raise_fd_limit(rows)
    ours, peer = EchoPeer(rows), EchoPeer(rows)
    packet = bytes(172)
    try:
        targets = [s.getsockname() for s in peer.socks]
        times = np.empty(ticks + WARM)
        for t in range(ticks + WARM):
            t0 = time.thread_time()
            ready = ours.sel.select(0)
            while ready:  # one recvfrom per readable socket per round, as PacketMedia reads
                for key, _ in ready:
                    try:
                        key.fileobj.recvfrom(2048)
                    except BlockingIOError:
                        pass
                ready = ours.sel.select(0)
            for s, target in zip(ours.socks, targets):
                s.sendto(packet, target)
            times[t] = time.thread_time() - t0
            peer.echo()
        return times[WARM:]
    finally:
        ours.close()
        peer.close()


def _report(name, rows, times, wall=None):
    p50, p99, p999 = np.percentile(times, [50, 99, 99.9]) * 1000
    line = (f"\n{name}, {rows} rows: CPU per tick p50 {p50:.2f} ms, p99 {p99:.2f} ms, p99.9 {p999:.2f} ms "
            f"(20 ms budget: {'met' if p999 < 20 else 'MISSED'}); {rows * 20 / p50:.0f} rows/core at p50")
    if wall is not None:
        w50, w99, w999 = np.percentile(wall, [50, 99, 99.9]) * 1000
        line += f"; wall p50 {w50:.2f} ms, p99 {w99:.2f} ms, p99.9 {w999:.2f} ms"
    print(line)
    return p50


@pytest.mark.parametrize("rows", [100, 500, 600, 700, 1000])
def test_packet_rows_tick(benchmark, rows):
    load = os.getloadavg()[0]
    floor = _report("socket floor (yardstick)", rows, _socket_floor_times(rows))
    times, wall = benchmark.pedantic(_packet_tick_times, args=(rows,), rounds=1, iterations=1)
    ours = _report("packet media engine tick", rows, times, wall)
    print(f"engine tick / socket floor at p50: {ours / floor:.1f}x; "
          f"load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
