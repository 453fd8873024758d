"""The soak's SIP media at an 80 ms tick: N calls of 20 ms G.711 packets both ways (four per call per tick), the
centre's packet rows against a far end that keeps all its streams on one socket, as the simulated SIP carrier
does. Two paths, run one after the other in the same process:

- **kernels** (now): the centre's rows on the native receive and send paths (``drain``/``accept``/``playout``
  and ``send_rows``, four packets per row per call), the far end sending every call's tick with one
  ``send_rows`` call from its one socket and reading the centre's packets with ``recv_many`` (recvmmsg);
- **per packet** (the old path, the yardstick): the centre's rows in Python (the jitter buffer's push and pop
  per packet, ``_send_frame`` per packet), the far end building each packet with ``rtp.build_rtp`` and
  sending and reading it with ``sendto``/``recvfrom``, as ``SipCarrier`` did.

Every packet is a real UDP datagram through loopback both ways in both paths. Timed per tick in CPU seconds of
the thread (``time.thread_time``): the centre's ``receive`` + ``transmit``, and the far end's send + read; the
kernel's share (``getrusage`` system time) is printed beside them, the load average too.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_rtp_frames.py --benchmark-only -s
"""
import os
import resource
import socket
import time

import numpy as np
import pytest

from pycallcenter.media import rtp, rtp_batch
from pycallcenter.media.endpoint import PacketMedia

BLOCK = 640  # the soak's tick: 80 ms
FRAME = 160  # 20 ms packets
TICKS = 400
WARM = 25
_ports = [31000]


class FarEnd:
    """N calls' far ends on one UDP socket: a tick of silence for every call, and the centre's packets counted."""

    def __init__(self, n):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 22)
        self.a = rtp_batch.SendArrays(n, FRAME)
        self.codes = np.full((n, BLOCK), 0xFF, np.uint8)
        self.box = rtp_batch.Inbox()
        self.remotes = []
        self.received = 0

    def connect(self, remotes):
        self.remotes = list(remotes)
        for i, (host, port) in enumerate(self.remotes):
            self.a.tx[i] = (1, self.sock.fileno(), rtp_batch.ipv4(host), port, 0, 1, 0, 0, 0x5000 + i, 0, 0, 0)

    def tick_kernels(self):
        rtp_batch.send_rows(self.codes, self.a)
        while True:
            n = rtp_batch.recv_many(self.sock, self.box)
            self.received += int((self.box.rec_len[:n] >= 12).sum())
            if n < self.box.arena.shape[0]:
                return

    def tick_per_packet(self):
        tx = self.a.tx
        payload = bytes(self.codes[0, :FRAME])
        for i, remote in enumerate(self.remotes):
            for _ in range(BLOCK // FRAME):
                seq, ts = int(tx[i, rtp_batch.TX_SEQ]), int(tx[i, rtp_batch.TX_TS])
                self.sock.sendto(rtp.build_rtp(0, seq, ts, 0x5000 + i, payload), remote)
                tx[i, rtp_batch.TX_SEQ], tx[i, rtp_batch.TX_TS] = (seq + 1) & 0xFFFF, (ts + FRAME) & 0xFFFFFFFF
        while True:
            try:
                data, _ = self.sock.recvfrom(2048)
            except BlockingIOError:
                return
            self.received += len(data) >= 12

    def close(self):
        self.sock.close()


def _run(calls, kernels, ticks=TICKS):
    """Return per-tick CPU seconds (centre, far end), the system share and the native rows at the end."""
    lo = _ports[0]
    _ports[0] += 2 * calls + 2
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < 4 * calls + 200:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 4 * calls + 200), hard))
    pm = PacketMedia(0, list(range(1, calls + 1)), BLOCK, ports=(lo, lo + 2 * calls + 1))
    pm.native_receive = pm.native_send = kernels
    far = FarEnd(calls)
    try:
        locals_ = []
        for _ in range(calls):
            _, row = pm.allocate()
            locals_.append(pm.open(row, remote=far.sock.getsockname(), payload_type=0, law="ulaw"))
        far.connect(locals_)
        block = (np.random.default_rng(1).standard_normal((calls, BLOCK)) * 2000).astype(np.int16)
        centre, far_cpu = np.empty(ticks + WARM), np.empty(ticks + WARM)
        system = 0.0
        for k in range(ticks + WARM):
            u0 = resource.getrusage(resource.RUSAGE_THREAD)
            t0 = time.thread_time()
            far.tick_kernels() if kernels else far.tick_per_packet()
            t1 = time.thread_time()
            pm.receive(BLOCK * (k + 1))
            pm.transmit(block, BLOCK * (k + 1))
            t2 = time.thread_time()
            u1 = resource.getrusage(resource.RUSAGE_THREAD)
            far_cpu[k], centre[k] = t1 - t0, t2 - t1
            if k >= WARM:
                system += u1.ru_stime - u0.ru_stime
        native = sum(r.native and r.tx_native for r in pm._open)
        stats = [pm.stats(r) for r in range(calls)]
        assert all(s["packets_in"] >= 4 * ticks for s in stats), "the far end's packets did not arrive"
        assert far.received >= 4 * calls * ticks, "the centre's packets did not arrive"
        return centre[WARM:], far_cpu[WARM:], system / ticks, native
    finally:
        pm.shutdown()
        far.close()


@pytest.mark.parametrize("calls", [100, 400])
def test_sip_media_at_80ms_ticks(benchmark, calls):
    load = os.getloadavg()[0]
    old = _run(calls, kernels=False)
    new = benchmark.pedantic(_run, args=(calls, True), rounds=1, iterations=1)
    packets = 2 * 4 * calls  # per tick, both ways
    for name, (centre, far, system, native) in (("per packet (old path)", old), ("kernels", new)):
        c50, f50 = np.median(centre) * 1000, np.median(far) * 1000
        print(f"\n{name}, {calls} calls at 80 ms ticks ({native} rows native both ways): CPU per tick p50 centre "
              f"{c50:.2f} ms + far end {f50:.2f} ms = {(c50 + f50) * 1000 / packets:.2f} us per packet end "
              f"(system {system * 1e6 / packets:.2f} us of it); p99 centre {np.percentile(centre, 99) * 1000:.2f} ms")
    ratio = (np.median(old[0]) + np.median(old[1])) / (np.median(new[0]) + np.median(new[1]))
    print(f"old / kernels at p50: {ratio:.2f}x; load average {load:.1f} -> {os.getloadavg()[0]:.1f}")
