"""G.722 (ITU-T G.722 at 64 kbit/s, RTP payload type 9) for packet rows, through the G722 package.

The G722 package (sippy/libg722: public domain, bit-exact to the ITU test vectors) is the optional ``g722``
extra. It has an 8 kHz linear mode: the encoder takes 8 kHz samples as the lower sub-band and codes an
empty upper band, and the decoder gives the lower sub-band back at 8 kHz. The engine runs at 8 kHz, so a
G.722 row costs no resampling, and a wideband terminal decodes our stream as ordinary G.722 (its upper
band silent). What a wideband phone sends above 4 kHz is not heard by an 8 kHz engine.

One G.722 byte stands for two 16 kHz samples, so a packet holds as many bytes as 8 kHz samples (160 for
20 ms) and the RTP clock stays 8000 Hz (RFC 3551 4.5.2): the jitter buffer, the native receive and send
paths and RFC 4733 treat a G.722 row's payload exactly as a G.711 row's. Only the codec differs: G.711 is
one batched call per law over every row, G.722 keeps an ADPCM state per row and runs a call per row.
"""
import numpy as np

try:
    from G722 import G722 as _Codec
except ImportError:  # the g722 extra is not installed: G.722 is neither offered nor accepted
    _Codec = None

AVAILABLE = _Codec is not None
PAYLOAD_TYPE = 9
BIT_RATE = 64000  # the only rate RTP carries (RFC 3551 4.5.2)
RATE = 8000  # the linear side: the engine's rate
FRAME = 80  # 10 ms: the unit a row's frames are audio, lost or noise in (the PLC's frame)
SILENCE_CODE = 0xFA  # what the encoder sends for a silent input: fills slots that are never decoded
MISSING = "G.722 needs the G722 package: install the g722 extra (pip install 'pycallcenter[g722]')"


def codec():
    """Return a new G.722 encoder or decoder state in the 8 kHz mode (each object is one direction)."""
    if _Codec is None:
        raise RuntimeError(MISSING)
    return _Codec(RATE, BIT_RATE)


class G722Rows:
    """The ADPCM states of the packet rows that carry G.722: one encoder and one decoder per row index,
    fresh whenever a row starts carrying G.722 (a new call or a re-INVITE that changes the codec)."""

    def __init__(self):
        self._enc = {}
        self._dec = {}
        self._sent = {}  # index -> (decoder of what we sent, last payload, its samples): comfort-noise levels
        self.rows = []  # the indices, in order

    def __bool__(self):
        return bool(self._enc)

    def set(self, index, on):
        """Make row index carry G.722 with a fresh state (on), or forget its state (off)."""
        self._enc.pop(index, None)
        self._dec.pop(index, None)
        self._sent.pop(index, None)
        if on:
            self._enc[index], self._dec[index] = codec(), codec()
        self.rows = sorted(self._enc)

    def restart(self, index):
        """Give row index a fresh decoder when it carries G.722: the far end started a new stream (a new SSRC),
        or the row resumes from hold, during which its decoder was not fed (the far end's encoder has moved on
        or restarted, so the old state would only add a glitch)."""
        if index in self._dec:
            self._dec[index] = codec()

    def decode(self, codes, kinds, pcm, skip=()):
        """Decode every G.722 row of codes (uint8 rows x samples) into pcm (int16), frame by frame where kinds
        (rows x frames) says _AUDIO (0); other frames (lost, noise, an event's slot) are left at zero for the
        concealment and comfort noise that follow, and never reach the decoder, whose state waits for the
        next real audio. Rows in skip (on hold: they play nothing) are zeroed and not decoded."""
        for i in self.rows:
            out = pcm[i]
            if i in skip:
                out[:] = 0
                continue
            dec = self._dec[i]
            k = kinds[i]
            if not k.any():  # the usual case: the whole tick is audio
                out[:] = np.frombuffer(dec.decode(codes[i].tobytes()), np.int16)
                continue
            out[:] = 0
            start = None
            for f in range(k.size + 1):
                audio = f < k.size and k[f] == 0
                if audio and start is None:
                    start = f
                elif not audio and start is not None:
                    lo, hi = start * FRAME, f * FRAME
                    out[lo:hi] = np.frombuffer(dec.decode(codes[i, lo:hi].tobytes()), np.int16)
                    start = None

    def encode(self, tx, codes):
        """Encode every G.722 row of tx (int16 rows x samples) into codes (uint8), replacing the G.711 codes."""
        for i in self.rows:
            codes[i] = np.frombuffer(self._enc[i].encode(np.ascontiguousarray(tx[i])), np.uint8)

    def sent(self, index, payload):
        """Return the samples a far end decodes from payload, the row's next sent packet (kept in step with
        our encoder by a decoder of its own; asking twice for the same packet decodes it once)."""
        dec, last, samples = self._sent.get(index, (None, None, None))
        if dec is None:
            dec = codec()
        elif payload is last:
            return samples
        samples = np.frombuffer(dec.decode(bytes(payload)), np.int16)
        self._sent[index] = (dec, payload, samples)
        return samples
