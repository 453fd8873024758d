"""A wideband SIP phone for the G.722 tests: the SIP engine rig's Phone offering and taking G.722 only, with
the G722 package at 16 kHz (as desk phones run it, not the engine's 8 kHz mode). It says 16 kHz audio and
keeps what it hears at 16 kHz."""
import numpy as np

from engine_sip_rig import FRAME, Phone
from pycallcenter.media import rtp
from pycallcenter.sip import sdp as S

WIDE = 16000


def wide_tone(freq, seconds, amp=8000):
    """Return a sine tone as int16 samples at 16 kHz."""
    t = np.arange(int(seconds * WIDE)) / WIDE
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def power_at(samples, freq, rate=WIDE):
    """Return the power of one frequency in samples at rate (one DFT bin by Goertzel's sum)."""
    t = np.arange(samples.size) / rate
    return abs(np.dot(samples.astype(np.float64), np.exp(-2j * np.pi * freq * t))) ** 2


class G722Phone(Phone):
    """Phone (engine_sip_rig) with codecs = G722 (payload type 9) and telephone-event only."""

    def __init__(self, *args, codecs=("G722",), **kw):
        from G722 import G722

        super().__init__(*args, **kw)
        self.ua.codecs = S.codecs_named(list(codecs))
        self._enc, self._dec = G722(WIDE, 64000), G722(WIDE, 64000)
        self._wide = np.zeros(0, np.int16)
        self.heard_wide = []  # int16 arrays at 16 kHz, one per G.722 packet received
        self.payload_types = set()  # of every RTP packet received

    def say_wide(self, samples):
        """Queue int16 samples at 16 kHz to send as G.722."""
        self._wide = np.concatenate([self._wide, np.asarray(samples, np.int16)])

    def pump(self, now):
        """Take the G.722 packets waiting (the rig's pump then finds only what is left), then pump."""
        kept = []
        while True:
            try:
                data, addr = self.rtp.recvfrom(2048)
            except BlockingIOError:
                break
            try:
                p = rtp.parse_rtp(data)
            except Exception:  # noqa: BLE001 - RTCP on the same port in this simple peer
                continue
            self.payload_types.add(p.payload_type)
            if p.payload_type == 9:
                assert len(p.payload) == FRAME  # 20 ms of 64 kbit/s G.722 (RFC 3551 4.5.2: clock 8000)
                self.heard_wide.append(np.frombuffer(self._dec.decode(p.payload), np.int16))
            else:
                kept.append((data, addr))
        for data, addr in kept:  # events and the rest go back through a socket pair of our own: the rig reads them
            self.rtp.sendto(data, self.rtp.getsockname())
        super().pump(now)

    def _send_frame(self):
        if self._digits:
            return super()._send_frame()
        chunk = self._wide[:2 * FRAME]
        self._wide = self._wide[2 * FRAME:]
        if chunk.size < 2 * FRAME:
            chunk = np.concatenate([chunk, np.zeros(2 * FRAME - chunk.size, np.int16)])
        packet = rtp.build_rtp(9, self._seq, self._ts, self._ssrc, self._enc.encode(chunk))
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF  # 160 per 20 ms although G.722 samples at 16 kHz
        self.rtp.sendto(packet, self.remote_rtp)

    def wide_audio(self):
        """Return everything heard so far at 16 kHz."""
        return np.concatenate(self.heard_wide) if self.heard_wide else np.zeros(0, np.int16)
