"""Browser phones as engine legs, with an aiortc peer standing in for the browser (the headless Chromium test
is tests/test_webrtc_browser.py): registration, ringing, answer, audio both ways through the packet row,
pad digits, click-to-dial, hang-ups from either side and a page that vanishes mid-call."""
import asyncio
import fractions
import json
import threading
import time

import av
import numpy as np
import pytest
from aiortc import RTCPeerConnection, RTCSessionDescription
from aiortc.mediastreams import MediaStreamTrack

from pycallcenter.engine import call as C
from pycallcenter.engine.webrtc import WebRtcPhones
from pycallcenter.webrtc.phones import PhoneServer
from test_packet_media import engine, peak_hz, tone


class ToneTrack(MediaStreamTrack):
    """A microphone playing one tone, 20 ms frames at 48 kHz (as a browser's would be)."""

    kind = "audio"

    def __init__(self, freq):
        super().__init__()
        self.freq, self.n, self.start = freq, 0, None

    async def recv(self):
        if self.start is None:
            self.start = time.monotonic()
        else:
            await asyncio.sleep(max(0.0, self.start + self.n / 48000 - time.monotonic()))
        t = np.arange(self.n, self.n + 960)
        pcm = (6000 * np.sin(2 * np.pi * self.freq * t / 48000)).astype(np.int16)
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = 48000, self.n, fractions.Fraction(1, 48000)
        self.n += 960
        return frame


class FakePage:
    """A browser phone's page: a peer connection with a tone microphone and the "phone" data channel."""

    def __init__(self, server, name, freq=1000):
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self.thread.start()
        self.messages, self.heard = [], []
        self.server, self.name, self.freq = server, name, freq
        self.call(self._connect())

    def call(self, coro, timeout=20):
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    async def _connect(self):
        self.pc = RTCPeerConnection()
        self.pc.addTrack(ToneTrack(self.freq))
        self.channel = self.pc.createDataChannel("phone")
        opened = asyncio.Event()
        self.channel.on("open", opened.set)
        self.channel.on("message", lambda m: self.messages.append(json.loads(m)))

        @self.pc.on("track")
        def on_track(track):
            asyncio.ensure_future(self._listen(track))

        await self.pc.setLocalDescription(await self.pc.createOffer())
        answer = await asyncio.wrap_future(self.server.offer(self.name, self.pc.localDescription.sdp))
        await self.pc.setRemoteDescription(RTCSessionDescription(sdp=answer, type="answer"))
        await asyncio.wait_for(opened.wait(), 15)

    async def _listen(self, track):
        resampler = av.AudioResampler(format="s16", layout="mono", rate=8000)
        while True:
            try:
                frame = await track.recv()
            except Exception:  # noqa: BLE001 - the track ended
                return
            for f in resampler.resample(frame):
                self.heard.append(f.to_ndarray().reshape(-1))

    async def _cancel_rest(self):
        rest = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for task in rest:
            task.cancel()
        await asyncio.gather(*rest, return_exceptions=True)

    def send(self, **msg):
        self.loop.call_soon_threadsafe(self.channel.send, json.dumps(msg))

    def close(self):
        self.call(self.pc.close())
        self.call(self._cancel_rest())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(5)


class DialTrunk:
    """A trunk that takes any number and never answers (a far end that rings), on packet rows."""

    tech = name = "out"

    def __init__(self, engine):
        self.engine = engine

    def on_tick(self, now):
        pass

    def idle_line(self):
        return self.engine.packet.allocate()[0]

    def originate(self, leg, number, now):
        leg.state = C.DIALING

    def hangup(self, leg, cause):
        self.engine.packet.release(leg.row)
        self.engine.leg_ended(leg, cause, self.engine.now)


def paced(eng, seconds=None, until=None):
    """Tick the engine in real time (the browser's audio is real time) until `until()` or `seconds` pass."""
    start = time.monotonic()
    n = 0
    while True:
        n += 1
        eng.tick()
        if until is not None and until():
            return True
        if seconds is not None and time.monotonic() - start >= seconds:
            return until is None
        time.sleep(max(0.0, start + n * 0.02 - time.monotonic()))


@pytest.fixture
def rig(request):
    eng = engine(packet_rows=4)
    server = PhoneServer(codecs=getattr(request, "param", ("pcmu",)))
    phones = eng.add(WebRtcPhones(eng, server, ring_seconds=5, dial_trunk="out"))
    eng.add(DialTrunk(eng))
    pages = []
    yield eng, phones, pages
    for p in pages:
        p.close()
    eng.shutdown()
    server.close()


@pytest.mark.parametrize("rig", [("pcmu",), ("opus",)], ids=["pcmu", "opus"], indirect=True)
def test_a_call_rings_the_page_is_answered_and_audio_flows_both_ways(rig):
    eng, phones, pages = rig
    pages.append(page := FakePage(phones.server, "agent1", freq=1000))
    assert paced(eng, 5, until=lambda: "agent1" in phones.phones)
    leg = eng.originate("webrtc/agent1", caller="5551234")
    assert leg.state == C.ALERTING
    assert paced(eng, 5, until=lambda: any(m["event"] == "ring" for m in page.messages))
    ring = next(m for m in page.messages if m["event"] == "ring")
    assert ring["caller"] == "5551234" and ring["leg"] == leg.id
    for junk in ("not json", "[1, 2]", '{"cmd": "format_disk"}', '{"cmd": "dtmf", "digit": "x"}',
                 '{"cmd": "dial", "number": 5}', '{"cmd": "dtmf", "digit": [1]}',
                 '{"cmd": "answer", "pad": "' + "x" * 2000 + '"}'):
        page.loop.call_soon_threadsafe(page.channel.send, junk)  # a page's garbage is dropped, one by one
    paced(eng, 0.5)
    assert leg.state == C.ALERTING and "agent1" in phones.phones
    assert phones.server.phones["agent1"].dropped == 7
    page.send(cmd="answer")
    assert paced(eng, 5, until=lambda: leg.state == C.ANSWERED)
    eng.media.play(leg.row, [tone(600, 4.0)])
    heard_by_engine = []
    start = len(page.heard)
    end = time.monotonic() + 3
    while time.monotonic() < end:
        paced(eng, 0.2)
        heard_by_engine.append(eng.media.rx[leg.row].copy())
    assert abs(peak_hz(np.concatenate(heard_by_engine[-5:])) - 1000) < 25
    assert abs(peak_hz(np.concatenate(page.heard[start:])[-4000:]) - 600) < 25
    assert phones.server.phones["agent1"].codec == phones.server.codecs[0]
    page.send(cmd="dtmf", digit="7")
    assert paced(eng, 3, until=lambda: "7" in leg.digits)
    page.send(cmd="hangup")
    assert paced(eng, 3, until=lambda: not leg.active)
    assert leg.cause == C.NORMAL_CLEARING and eng.packet.leaks() == [] and not eng.packet.is_open(leg.row)


def test_an_absent_or_busy_phone_and_an_unanswered_ring(rig):
    eng, phones, pages = rig
    leg = eng.originate("webrtc/nobody")
    assert not leg.active and leg.cause == 20  # subscriber absent
    pages.append(FakePage(phones.server, "agent2"))
    assert paced(eng, 5, until=lambda: "agent2" in phones.phones)
    first = eng.originate("webrtc/agent2")
    second = eng.originate("webrtc/agent2")
    assert second.cause == C.USER_BUSY and first.state == C.ALERTING
    assert paced(eng, 7, until=lambda: not first.active)
    assert first.cause == C.NO_ANSWER and eng.packet.leaks() == []


def test_a_page_that_goes_away_mid_call_ends_the_leg_and_frees_the_row(rig):
    eng, phones, pages = rig
    page = FakePage(phones.server, "agent3")
    assert paced(eng, 5, until=lambda: "agent3" in phones.phones)
    leg = eng.originate("webrtc/agent3")
    page.send(cmd="answer")
    assert paced(eng, 5, until=lambda: leg.state == C.ANSWERED)
    page.close()
    assert paced(eng, 10, until=lambda: not leg.active)
    assert "agent3" not in phones.phones and eng.packet.leaks() == [] and eng.leaks() == []
    assert phones.stats["gone_in_call"] == 1


def test_click_to_dial_goes_out_through_a_trunk_and_a_far_hang_up_ends_both(rig):
    eng, phones, pages = rig
    pages.append(page := FakePage(phones.server, "agent4"))
    assert paced(eng, 5, until=lambda: "agent4" in phones.phones)
    page.send(cmd="dial", number="5550100")
    assert paced(eng, 5, until=lambda: phones.phones["agent4"].leg is not None)
    mine = phones.phones["agent4"].leg
    out = [leg for leg in mine.call.legs if leg is not mine]
    assert mine.caller == "agent4" and len(out) == 1 and out[0].called == "5550100"
    eng.leg_answered(out[0], eng.now)  # the far end picks up: the page is told
    assert paced(eng, 3, until=lambda: {"event": "answered"} in page.messages)
    out[0].hangup()
    assert paced(eng, 3, until=lambda: not mine.active)
    assert paced(eng, 3, until=lambda: any(m["event"] == "hangup" for m in page.messages))
    for _ in range(200):  # a flood: the page's budget (20 at once, 10 a second) drops the rest
        page.send(cmd="hangup")
    assert paced(eng, 1, until=lambda: phones.server.phones["agent4"].dropped >= 170)
    paced(eng, 2.5)  # the budget refills
    page.send(cmd="dial", number="no such target!")
    assert paced(eng, 3, until=lambda: any(m["event"] == "refused" for m in page.messages))
    phones.may_dial = lambda user, number: "premium-rate numbers are blocked" if number.startswith("0900") else None
    page.send(cmd="dial", number="0900123")
    assert paced(eng, 3, until=lambda: {"event": "refused", "why": "premium-rate numbers are blocked"} in page.messages)
    assert phones.phones["agent4"].leg is None
