"""Gateway calls per core: N calls up through the composition root's gateway route, E1 PRI (emulated PSTN)
on one side, SIP on the other, G.711 in 20 ms packets, timed tick by tick in CPU seconds of the ticking thread
(``time.thread_time``: what a tick costs this core, whatever else the shared machine runs) and in wall time
(what a paced tick would see, other jobs included), with the load average printed beside them.

Each call is set up for real: the network side sends SETUP, the route dials the SIP trunk, a far-end user
agent answers at once with an SDP pointing at one echoing RTP socket, the PRI gets CONNECT. Then the
centre's whole tick is timed with every call up (the emulated span's audio, the D-channels, the SIP
socket, every packet row's receive and send, the bridges, DTMF detection on every row); the SIP far end
and the RTP echo run between ticks, untimed (on a real box they are other machines).

The yardstick, in the same run, is the same number of calls through the same gateway route between PRI
spans (TDM to TDM, no packets): what the SIP side adds to a gateway call. Asterisk's published anchor is
about 100 calls per GHz without transcoding. 1,020 calls take 34 emulated E1 spans (68 for the yardstick).

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_sip_gateway.py --benchmark-only -s
"""
import os
import resource
import socket
import tempfile
import time

import numpy as np
import pytest

from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.isdn import call as q
from pycallcenter.sip import ua as U

TICKS = 500  # 10 s of calls up
WARM = 25


def _board(spans):
    """Return board TOML for E1 PRI spans 1..spans, each with a network far end named net1, net2, ..."""
    out = ['[board]\nname = "bench"\nlaw = "alaw"\nblocksize = 160\ntonezones = ["etsi"]\n']
    for s in range(1, spans + 1):
        base = 31 * (s - 1)
        out.append(f'[[span]]\nspan = {s}\nkind = "e1"\nframing = "ccs"\ncoding = "hdb3"\ncrc4 = true\n'
                   f'[[channels]]\nsignalling = "bchan"\nchannels = "{base + 1}-{base + 15},{base + 17}-{base + 31}"\n'
                   f'[[channels]]\nsignalling = "dchan"\nchannels = "{base + 16}"\n')
    out.append("[emulator]\nseed = 1\n")
    out += [f'[[emulator.cable]]\nkind = "network"\nspan = {s}\nname = "net{s}"\n' for s in range(1, spans + 1)]
    return "\n".join(out)


class NetSide:
    """The network side of one PRI span (our Q.931 stack), answering every SETUP it receives."""

    def __init__(self, far):
        self.iface = q.Interface(network=True)
        self.events = list(self.iface.start(0.0))
        far.handler = self._tick

    def _tick(self, far, now):
        s = now / 8000
        for frame in far.read_frames():
            for ev in self.iface.receive(frame, s):
                self.events.append(ev)
                if isinstance(ev, q.IncomingCall):
                    self.events += self.iface.answer(ev.call, s)
        deadline = self.iface.next_deadline()
        if deadline is not None and deadline <= s:
            self.events += self.iface.handle_timer(s)
        for frame in self.iface.pop_frames():
            far.write_frame(frame)


class SipFarEnd:
    """A user agent answering every INVITE at once, its SDP naming one socket that echoes all RTP."""

    def __init__(self):
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.echo = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.echo.bind(("127.0.0.1", 0))
        self.echo.setblocking(False)
        self.echo.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4 << 20)
        self.ua = U.UserAgent(self.sock.getsockname(), user="far", rtp_port=self.echo.getsockname()[1])
        self.answered = 0

    def pump(self, now):
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                break
            self._run(self.ua.receive(data, addr, now))
        deadline = self.ua.next_deadline()
        if deadline is not None and deadline <= now:
            self._run(self.ua.handle_timer(now))
        while True:
            try:
                data, addr = self.echo.recvfrom(2048)
            except BlockingIOError:
                break
            self.echo.sendto(data, addr)

    def _run(self, outputs):
        for item in outputs:
            if isinstance(item, U.Send):
                self.sock.sendto(item.data, item.addr)
            elif isinstance(item, U.CallConfirmed):
                self.answered += 1

    def close(self):
        self.sock.close()
        self.echo.close()


def _centre(spans_in, spans_out, sip, folder):
    """Return a Centre whose gateway routes take calls to 2XXX from spans 1..spans_in either to the SIP far
    end (sip given) or out on spans spans_in+1.. (one route per out span, by the called number's hundreds)."""
    lines = [_board(spans_in + spans_out), "[centre]", f'data = "{folder}/data"', f'prompts = "{folder}"',
             'tone_plan = "etsi"', "station_features = false", "[fax]", "detect = false"]
    if sip is not None:
        lines += ["[sip]", 'listen = "127.0.0.1"', "port = 0", f"channels = {30 * spans_in}",
                  "rtp_ports = [40000, 49999]", "[[sip.trunk]]", 'name = "far"', 'host = "127.0.0.1"',
                  f"port = {sip.sock.getsockname()[1]}", "[[route]]", 'called = "_2XXX"', 'to = "sip:far"']
    else:
        for i in range(spans_out):
            lines += ["[[route]]", f'called = "_2{i}XX"', f'to = "pri{spans_in + 1 + i}"']
    text = "\n".join(lines) + "\n"
    board_text, settings = load_text(text, file=f"{folder}/bench.toml")
    centre = Centre(board_text, settings)
    return centre


def _gateway_tick_times(calls, use_sip, ticks=TICKS):
    """Return each centre tick's (thread CPU seconds, wall seconds) with `calls` gateway calls up (PRI -> SIP, or
    PRI -> PRI)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(soft, 4 * calls + 200)), hard))
    spans = (calls + 29) // 30
    far = SipFarEnd() if use_sip else None
    folder = tempfile.mkdtemp(prefix="bench-gw-")
    centre = _centre(spans, 0 if use_sip else spans, far, folder)
    try:
        emu = centre.board.emulator
        nets = [NetSide(emu.far_ends[f"net{s}"]) for s in range(1, (1 if use_sip else 2) * spans + 1)]

        def tick():
            w0, t0 = time.perf_counter(), time.thread_time()
            centre.tick()
            spent = time.thread_time() - t0, time.perf_counter() - w0
            if far is not None:
                far.pump(centre.engine.now / 8000)
            return spent

        for _ in range(50):  # the D-channels come up
            tick()
        now = centre.engine.now / 8000
        for i in range(calls):
            span, slot = divmod(i, 30)
            called = f"2{i // 30 if not use_sip else 0}{i % 100:02d}"
            nets[span].iface.setup(now, called=called, calling=f"20255{i:05d}",
                                   channel=slot + 1 if slot < 15 else slot + 2)
        for _ in range(400 + calls):
            tick()
            gateway = centre.gateway
            if gateway is not None and len(gateway.pairs) == calls:
                break
        assert len(centre.gateway.pairs) == calls, f"only {len(centre.gateway.pairs)} of {calls} calls connected"
        times = np.array([tick() for _ in range(ticks + WARM)])[WARM:].T
        if use_sip:
            rows = [s.row for s in centre.sip.sessions.values()]
            assert all(centre.engine.packet.stats(r)["packets_in"] >= ticks for r in rows), "no echo came back"
        return times
    finally:
        centre.close(grace=2.0, publish=False)
        if far is not None:
            far.close()


def _report(name, calls, times):
    cpu, wall = times
    p50, p99, p999 = np.percentile(cpu, [50, 99, 99.9]) * 1000
    w50, w99, w999 = np.percentile(wall, [50, 99, 99.9]) * 1000
    print(f"\n{name}, {calls} calls: CPU per tick p50 {p50:.2f} ms, p99 {p99:.2f} ms, p99.9 {p999:.2f} ms "
          f"(20 ms budget: {'met' if p999 < 20 else 'MISSED'}); about {calls * 20 / p999:.0f} calls/core at p99.9; "
          f"wall p50 {w50:.2f} ms, p99 {w99:.2f} ms, p99.9 {w999:.2f} ms")
    return p50


@pytest.mark.parametrize("calls", [30, 90, 300, 600, 1020])
def test_gateway_calls_tick(benchmark, calls):
    load = os.getloadavg()[0]
    tdm = _report("PRI -> PRI gateway (yardstick)", calls, _gateway_tick_times(calls, use_sip=False))
    times = benchmark.pedantic(_gateway_tick_times, args=(calls, True), rounds=1, iterations=1)
    ours = _report("PRI -> SIP gateway", calls, times)
    print(f"PRI -> SIP tick / PRI -> PRI tick at p50: {ours / tdm:.2f}x; load average {load:.1f} -> "
          f"{os.getloadavg()[0]:.1f}")
