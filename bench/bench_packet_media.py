"""Packet rows per core: the engine's whole tick with N RTP rows, each playing a prompt to a loopback peer that
echoes every packet back (G.711 mu-law, 20 ms packets, RTCP on), timed tick by tick in CPU seconds.

The timed part is ``Engine.tick()``: draining the sockets, jitter buffers, batched PLC and G.711 decode, DTMF
detection on every row, mixing, encoding, packetising and sending. The echoing peer runs between ticks,
untimed (on a real box it is the far end, not us). The yardstick, measured in the same run, is the least
Python can do for N RTP streams per tick: one selector poll, then recvfrom and sendto of every packet, no media
at all. Asterisk's published anchor is about 100 calls per GHz without transcoding.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_packet_media.py --benchmark-only -s
"""
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


def _packet_tick_times(rows, ticks=TICKS):
    """Return each engine tick's CPU seconds with `rows` RTP rows talking to an echoing peer."""
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
        times = np.empty(ticks + WARM)
        kernel = 0.0
        for t in range(ticks + WARM):
            u0 = resource.getrusage(resource.RUSAGE_SELF)
            t0 = time.process_time()
            eng.tick()
            times[t] = time.process_time() - t0
            u1 = resource.getrusage(resource.RUSAGE_SELF)
            if t >= WARM:
                kernel += u1.ru_stime - u0.ru_stime
            peer.echo()
        stats = [eng.packet.stats(r) for r in opened]
        assert all(s["packets_in"] >= ticks for s in stats), "the echo did not come back"
        print(f"\n{rows} rows: {kernel / ticks * 1000:.2f} ms of each tick (mean) in the kernel, the rest in user space")
        return times[WARM:]
    finally:
        for row in opened:
            eng.packet.release(row)
        peer.close()
        eng.shutdown()


def _socket_floor_times(rows, ticks=TICKS):
    """Return each tick's CPU seconds of the bare minimum: poll, then receive and send one packet per stream."""
    _raise_fd_limit(rows)
    ours, peer = EchoPeer(rows), EchoPeer(rows)
    packet = bytes(172)
    try:
        targets = [s.getsockname() for s in peer.socks]
        times = np.empty(ticks + WARM)
        for t in range(ticks + WARM):
            t0 = time.process_time()
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
            times[t] = time.process_time() - t0
            peer.echo()
        return times[WARM:]
    finally:
        ours.close()
        peer.close()


def _report(name, rows, times):
    p50, p99, p999 = np.percentile(times, [50, 99, 99.9]) * 1000
    print(f"\n{name}, {rows} rows: tick p50 {p50:.2f} ms, p99 {p99:.2f} ms, p99.9 {p999:.2f} ms "
          f"(20 ms budget: {'met' if p999 < 20 else 'MISSED'}); {rows * 20 / p50:.0f} rows/core at p50")
    return p50


@pytest.mark.parametrize("rows", [100, 500, 600, 700, 1000])
def test_packet_rows_tick(benchmark, rows):
    floor = _report("socket floor (yardstick)", rows, _socket_floor_times(rows))
    times = benchmark.pedantic(_packet_tick_times, args=(rows,), rounds=1, iterations=1)
    ours = _report("packet media engine tick", rows, times)
    print(f"engine tick / socket floor at p50: {ours / floor:.1f}x")
