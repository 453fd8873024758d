"""Browser phone legs per core: N WebRTC legs in calls at once, each on an in-process packet row, with the
engine paced in real time (20 ms ticks) for WINDOW seconds.

The browsers are N aiortc peer connections in a second process (their CPU is not ours: on a real box they
are the agents' PCs). Our process holds the engine and the aiortc thread of ``PhoneServer``: ICE consent,
DTLS-SRTP, G.711 (PCMU) encode and decode, 20 ms frames both ways, the row's jitter buffer, PLC and DTMF
detection. Measured: the engine thread's CPU per tick (``time.thread_time``; its p99.9 against the 20 ms
budget says whether every tick is met) and the whole process's CPU over the window (getrusage), which
gives CPU seconds per leg per second of audio, so legs per core. The yardstick, measured in the same run,
is the same N legs as plain RTP rows (UDP sockets, an echoing peer between ticks, untimed): what a SIP leg
costs the engine.

Run: .venv/bin/python -m pytest -p no:cacheprovider bench/bench_webrtc.py --benchmark-only -s
"""
import asyncio
import multiprocessing
import resource
import sys
import time

import numpy as np
import pytest

from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.webrtc import WebRtcPhones
from pycallcenter.webrtc.phones import PhoneServer

sys.path.insert(0, __file__.rsplit("/", 2)[0] + "/tests")
sys.path.insert(0, __file__.rsplit("/", 1)[0])
from bench_packet_media import EchoPeer  # noqa: E402
from engine_rig import ANALOG  # noqa: E402

WINDOW = 10.0  # seconds of calls measured
TICK = 0.02


def _pages(n, conn):
    """The browsers (in their own process): n peer connections that send silence and answer every ring."""
    import json

    from aiortc import RTCPeerConnection, RTCSessionDescription
    from aiortc.mediastreams import AudioStreamTrack

    async def main():
        pcs = []
        for i in range(n):
            pc = RTCPeerConnection()
            pc.addTrack(AudioStreamTrack())
            channel = pc.createDataChannel("phone")

            def on_message(m, channel=channel):
                if json.loads(m).get("event") == "ring":
                    channel.send(json.dumps({"cmd": "answer"}))

            channel.on("message", on_message)
            pc.on("track", lambda track: asyncio.ensure_future(_drain(track)))
            await pc.setLocalDescription(await pc.createOffer())
            conn.send((f"agent{i}", pc.localDescription.sdp))
            answer = await asyncio.get_running_loop().run_in_executor(None, conn.recv)
            await pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
            pcs.append(pc)
        conn.send(("ready", None))
        await asyncio.get_running_loop().run_in_executor(None, conn.recv)  # the parent says stop
        for pc in pcs:
            await pc.close()

    async def _drain(track):
        while True:
            try:
                await track.recv()
            except Exception:  # noqa: BLE001 - the track ended
                return

    asyncio.run(main())


def _engine(rows):
    board = open_board(parse_config(ANALOG.format(seed=1)))
    return Engine(board, packet_rows=rows, rtp_ports=(36000, 37999), keep_log=False)


def _paced(eng, seconds, between=None):
    """Tick in real time for `seconds`; return (engine thread CPU per tick, process CPU seconds used)."""
    times = []
    u0 = resource.getrusage(resource.RUSAGE_SELF)
    start = time.monotonic()
    n = 0
    while time.monotonic() - start < seconds:
        t0 = time.thread_time()
        eng.tick()
        times.append(time.thread_time() - t0)
        if between is not None:
            between()
        n += 1
        time.sleep(max(0.0, start + n * TICK - time.monotonic()))
    u1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (u1.ru_utime - u0.ru_utime) + (u1.ru_stime - u0.ru_stime)
    return np.array(times), cpu


def _webrtc_legs(n):
    eng = _engine(n)
    server = PhoneServer(codecs=("pcmu",))
    phones = eng.add(WebRtcPhones(eng, server))
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_pages, args=(n, child), daemon=True)
    proc.start()
    try:
        while True:
            name, sdp = parent.recv()
            if name == "ready":
                break
            parent.send(server.offer(name, sdp).result(30))
        _paced(eng, 1.0)
        assert len(phones.phones) == n, f"{len(phones.phones)} of {n} phones registered"
        legs = [eng.originate(f"webrtc/agent{i}") for i in range(n)]
        _paced(eng, 3.0)
        assert all(leg.state == C.ANSWERED for leg in legs), "not every page answered"
        for leg in legs:
            eng.media.play(leg.row, [np.zeros(8000, np.int16)], loop=True)
        times, cpu = _paced(eng, WINDOW)
        heard = [eng.packet.stats(leg.row)["packets_in"] for leg in legs]
        assert min(heard) > WINDOW / TICK * 0.8, f"a leg heard only {min(heard)} packets"
        for leg in legs:
            leg.hangup()
        _paced(eng, 0.5)
        return times, cpu
    finally:
        parent.send("stop")
        proc.join(20)
        eng.shutdown()
        server.close()


def _rtp_legs(n):
    eng = _engine(n)
    peer = EchoPeer(n)
    rows = []
    try:
        for i in range(n):
            channel, row = eng.packet.allocate()
            eng.packet.open(row, remote=peer.socks[i].getsockname(), payload_type=0, law="ulaw")
            eng.media.play(row, [np.zeros(8000, np.int16)], loop=True)
            rows.append(row)
        return _paced(eng, WINDOW, between=peer.echo)
    finally:
        for row in rows:
            eng.packet.release(row)
        peer.close()
        eng.shutdown()


def _report(name, n, times, cpu):
    p50, p999 = np.percentile(times, [50, 99.9]) * 1000
    per_leg = cpu / WINDOW / n  # CPU seconds per second of audio, per leg
    print(f"\n{name}, {n} legs: engine tick p50 {p50:.2f} ms, p99.9 {p999:.2f} ms "
          f"(20 ms budget: {'met' if p999 < 20 else 'MISSED'}); process CPU {cpu / WINDOW * 100:.0f}% of a core "
          f"= {per_leg * 1000:.1f} ms per leg per second -> about {1 / per_leg:.0f} legs per core")
    return per_leg


@pytest.mark.parametrize("legs", [10, 20])
def test_webrtc_legs_per_core(benchmark, legs):
    rtp = _report("plain RTP rows (yardstick)", legs, *_rtp_legs(legs))
    times, cpu = benchmark.pedantic(_webrtc_legs, args=(legs,), rounds=1, iterations=1)
    ours = _report("WebRTC legs (aiortc + in-process rows)", legs, times, cpu)
    benchmark.extra_info.update({"legs": legs, "cpu_ms_per_leg_second": round(ours * 1000, 2),
                                 "rtp_cpu_ms_per_leg_second": round(rtp * 1000, 2)})
    print(f"WebRTC leg / RTP leg CPU: {ours / rtp:.1f}x")
