"""Audio between an aiortc peer connection and an in-process packet row (PacketMedia.open_local's LocalPort).

Outward (engine -> browser): ``RowTrack`` is the track we send; aiortc's sender pulls a frame every 20 ms,
paced by this track's own clock, and gets the row's G.711 decoded to 8 kHz PCM (aiortc resamples for Opus),
or silence when no call is on the phone. The engine and this clock both run in real time, so the queue
between them holds a frame or two; if it ever holds more (clock drift) the oldest go, bounding the delay.

Inward (browser -> engine): ``pump`` reads the browser's frames, resamples them to 8 kHz mono with PyAV,
cuts 20 ms blocks, encodes them with the row's law and appends them as RTP to the row's inbound queue; the
engine's jitter buffer does the rest. DTMF from the page's pad replaces the microphone by the digit's
tones for 100 ms (aiortc has no RFC 4733), so the engine's detector and the far end both hear it.
"""
import asyncio
import fractions
import secrets
import time

import av
import numpy as np
from aiortc.mediastreams import MediaStreamError, MediaStreamTrack

from pycallcenter.dsp import g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.media import rtp

RATE = 8000
FRAME = 160  # 20 ms at 8 kHz: the engine's tick and our packet time
MAX_QUEUED = 3  # frames waiting for the browser beyond this are dropped (real-time clocks drift a little)
DIGIT_MS = 100  # a pad digit's tone length; then a gap of the same length
_TIME_BASE = fractions.Fraction(1, RATE)


class Line:
    """What one browser phone's audio is connected to: a row's LocalPort and law, or nothing between calls.
    The engine thread sets ``port``; the aiortc thread reads it (one attribute: no lock needed)."""

    def __init__(self):
        self.port = None
        self.law = "ulaw"
        self.tones = np.zeros(0, np.int16)  # pad digits still to send in place of the microphone
        self.ssrc = secrets.randbits(32)
        self.seq = secrets.randbits(16)
        self.ts = secrets.randbits(32)

    def digit(self, digit):
        """Queue a DTMF digit to replace the microphone's audio for DIGIT_MS."""
        tone = dtmf_signal(digit, on_ms=DIGIT_MS, off_ms=DIGIT_MS)
        self.tones = np.concatenate([self.tones, tone])


class RowTrack(MediaStreamTrack):
    """The audio we send to the browser: the row's outbound G.711, paced at 20 ms."""

    kind = "audio"

    def __init__(self, line):
        super().__init__()
        self.line = line
        self._start = None
        self._pts = 0

    async def recv(self):
        """Return the next 20 ms AudioFrame (8 kHz mono s16): the row's audio, or silence."""
        if self.readyState != "live":
            raise MediaStreamError
        if self._start is None:
            self._start = time.monotonic()
        else:
            self._pts += FRAME
            await asyncio.sleep(max(0.0, self._start + self._pts / RATE - time.monotonic()))
        pcm = self._take()
        frame = av.AudioFrame.from_ndarray(pcm.reshape(1, -1), format="s16", layout="mono")
        frame.sample_rate, frame.pts, frame.time_base = RATE, self._pts, _TIME_BASE
        return frame

    def _take(self):
        port = self.line.port
        if port is not None:
            out = port.outbound
            while len(out) > MAX_QUEUED:
                out.popleft()
            while out:
                packet = out.popleft()
                if (packet[1] & 0x7F) in (rtp.PT_PCMU, rtp.PT_PCMA) and len(packet) == 12 + FRAME:
                    codes = np.frombuffer(packet, np.uint8, offset=12)
                    return (g711.alaw_decode if packet[1] & 0x7F == rtp.PT_PCMA else g711.ulaw_decode)(codes)
        return np.zeros(FRAME, np.int16)


async def pump(track, line):
    """Feed the browser's audio into the line's row until the track ends; return the frames read."""
    resampler = av.AudioResampler(format="s16", layout="mono", rate=RATE)
    pending = np.zeros(0, np.int16)
    frames = 0
    while True:
        try:
            frame = await track.recv()
        except MediaStreamError:
            return frames
        frames += 1
        parts = [f.to_ndarray().reshape(-1) for f in resampler.resample(frame)]
        pending = np.concatenate([pending, *parts]) if parts else pending
        while pending.size >= FRAME:
            block, pending = pending[:FRAME], pending[FRAME:]
            _push(line, block)


def _push(line, block):
    """Send one 20 ms block to the row (the pad's tones in its place while a digit lasts)."""
    if line.tones.size:
        n = min(FRAME, line.tones.size)
        block = block.copy()
        block[:n] = line.tones[:n]
        block[n:] = 0
        line.tones = line.tones[n:]
    port = line.port
    line.seq = (line.seq + 1) & 0xFFFF
    line.ts = (line.ts + FRAME) & 0xFFFFFFFF
    if port is None:
        return
    law = line.law
    codes = (g711.alaw_encode if law == "alaw" else g711.ulaw_encode)(block)
    pt = rtp.PT_PCMA if law == "alaw" else rtp.PT_PCMU
    port.inbound.append(rtp.build_rtp(pt, line.seq, line.ts, line.ssrc, np.asarray(codes, np.uint8).tobytes()))
