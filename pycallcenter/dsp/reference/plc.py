"""Packet-loss concealment after ITU-T G.711 Appendix I, in numpy: the readable twin of _native/plc.pyx.

The signal is handled in 10 ms sub-frames of 80 samples. A received sub-frame goes into a history
of the last 48.75 ms (390 samples); the output runs 3.75 ms (30 samples, a quarter of the longest
pitch period) behind the input, so that when a loss starts, the tail that has not been played yet
can still be blended into the synthetic signal. On a lost sub-frame:

* first lost 10 ms: the pitch period (5-15 ms) is found by normalised cross-correlation of the last
  20 ms with the history (coarse search on every other sample, then the neighbours at full rate);
  the last quarter period of history is cross-faded with the quarter period one pitch earlier so
  that the last period loops smoothly, and that period is repeated;
* second and third lost 10 ms: the repeated stretch grows to 2, then 3 periods (a single repeated
  period buzzes), cross-faded over a quarter period where the longer stretch takes over;
* from the second lost 10 ms the output fades by 20 % per 10 ms, reaching silence after 60 ms;
* the first received sub-frame after a loss is cross-faded with the continued synthetic signal
  over a quarter period plus 4 ms per extra lost 10 ms (at most 10 ms).

All arithmetic is integer (Q15 weights, arithmetic shifts) except the pitch choice, which compares
exact integer correlations with the same few IEEE double operations in both, so this twin and the
native kernel give the same samples bit for bit.
"""
import numpy as np

from pycallcenter.dsp._validate import as_batch, unbatch

FRAME = 80  # 10 ms sub-frame: Appendix I's unit for pitch growth, fades and merge lengths
PITCH_MIN = 40  # 5 ms (200 Hz)
PITCH_MAX = 120  # 15 ms (66.7 Hz)
DELAY = PITCH_MAX // 4  # 30 samples (3.75 ms): the longest quarter-period cross-fade at the loss start
HISTORY = 3 * PITCH_MAX + DELAY  # 390: three longest periods plus the cross-fade before them
CORR_LEN = 160  # 20 ms of recent signal matched against the history
CORR_MIN_POWER = 250  # energy floor of the decimated match window, so near-silence does not pick noise
END_OLA_STEP = 32  # the merge at the first good frame grows 4 ms per extra lost 10 ms
FADE_SAMPLES = 5 * FRAME  # the gain falls from 1 to 0 over 50 ms, starting 10 ms into the loss
MAX_PERIODS = 3


def cross_fade(a, b):
    """Return int16 of a fading out into b (same length n): weights (i+1)/(n+1) in Q15, rounded."""
    n = a.size
    w = (np.arange(1, n + 1, dtype=np.int64) << 15) // (n + 1)
    return ((a.astype(np.int64) * (32768 - w) + b.astype(np.int64) * w + 16384) >> 15).astype(np.int16)


def attenuate(x, n0):
    """Return int16 x scaled by the loss fade: sample k gets gain 1 - (n0 + k) / 400, floored at 0."""
    n = np.minimum(n0 + np.arange(x.size, dtype=np.int64), FADE_SAMPLES)
    g = ((FADE_SAMPLES - n) << 15) // FADE_SAMPLES
    return ((x.astype(np.int64) * g + 16384) >> 15).astype(np.int16)


def _better(c, e, best):
    """Return True when correlation c over energy e beats best = (c, e): c / sqrt(e) larger, compared as
    c |c| / e in doubles without a root or a division (the kernel does the same three multiplications)."""
    if best is None:
        return True
    bc, be = float(best[0]), float(best[1])
    c, e = float(c), float(e)
    return c * abs(c) * be > bc * abs(bc) * e


def find_pitch(hist):
    """Return the pitch period (samples, 40-120) that best predicts the last 20 ms of hist (390 int16)."""
    h = hist.astype(np.int64)
    end = HISTORY - CORR_LEN
    ref = h[end:]
    best_p, best = PITCH_MIN, None
    for p in range(PITCH_MIN, PITCH_MAX + 1, 2):
        seg = h[end - p:HISTORY - p]
        c, e = int(np.dot(ref[::2], seg[::2])), max(int(np.dot(seg[::2], seg[::2])), CORR_MIN_POWER)
        if _better(c, e, best):
            best_p, best = p, (c, e)
    coarse, best = best_p, None
    for p in range(max(coarse - 1, PITCH_MIN), min(coarse + 1, PITCH_MAX) + 1):
        seg = h[end - p:HISTORY - p]
        c, e = int(np.dot(ref, seg)), max(int(np.dot(seg, seg)), 2 * CORR_MIN_POWER)
        if _better(c, e, best):
            best_p, best = p, (c, e)
    return best_p


class ChannelState:
    """One channel's concealment state: history, erasure count and the looped pitch buffer."""

    def __init__(self):
        self.hist = np.zeros(HISTORY, np.int16)
        self.erased = 0  # lost sub-frames in the current loss (capped once the output is silent)
        self.pitch = PITCH_MIN
        self.overlap = PITCH_MIN // 4
        self.buf = np.zeros(HISTORY, np.int16)  # history frozen (tail smoothed) when the loss began
        self.blen = 0  # samples of buf being looped: 1, 2 or 3 pitch periods
        self.offset = 0  # position inside the looped stretch

    def synth(self, n):
        """Return the next n int16 samples of the looped stretch buf[-blen:]."""
        idx = HISTORY - self.blen + (self.offset + np.arange(n)) % self.blen
        self.offset = (self.offset + n) % self.blen
        return self.buf[idx]

    def push(self, frame):
        """Append an 80-sample frame to the history; return the 80 samples now due for output."""
        self.hist = np.concatenate([self.hist[FRAME:], frame])
        return self.hist[HISTORY - FRAME - DELAY:HISTORY - DELAY].copy()

    def received(self, frame):
        """Return the output for a received 80-sample frame, merging it into any loss just ended."""
        frame = frame.copy()
        if self.erased:
            olen = min(self.overlap + (self.erased - 1) * END_OLA_STEP, FRAME)
            tail = attenuate(self.synth(olen), FRAME * (self.erased - 1))
            frame[:olen] = cross_fade(tail, frame[:olen])
            self.erased = 0
        return self.push(frame)

    def lost(self):
        """Return the output for a lost 80-sample frame (concealment)."""
        e = self.erased
        if e == 0:
            self.pitch = find_pitch(self.hist)
            self.overlap = self.pitch // 4
            self.buf = self.hist.copy()
            ov, p = self.overlap, self.pitch
            # The tail (not yet played) fades into the signal one period earlier, so the loop closes smoothly.
            self.buf[HISTORY - ov:] = cross_fade(self.hist[HISTORY - ov:], self.hist[HISTORY - p - ov:HISTORY - p])
            self.hist[HISTORY - ov:] = self.buf[HISTORY - ov:]
            self.blen, self.offset = p, 0
            out = self.synth(FRAME)
        elif e < MAX_PERIODS:
            start = self.offset
            tail = self.synth(self.overlap)  # the old loop carries on and fades out under the longer one
            self.offset = start % self.pitch  # same phase, one period further back
            self.blen += self.pitch
            out = self.synth(FRAME)
            out[:self.overlap] = cross_fade(tail, out[:self.overlap])
            out = attenuate(out, FRAME * (e - 1))
        elif FRAME * (e - 1) < FADE_SAMPLES:
            out = attenuate(self.synth(FRAME), FRAME * (e - 1))
        else:
            out = np.zeros(FRAME, np.int16)
        self.erased = min(e + 1, FADE_SAMPLES // FRAME + 2)
        return self.push(out)


def lost_frames(lost, channels, samples):
    """Return the (channels, samples // 80) uint8 loss mask for a block from a per-row or per-frame mask.

    lost is a bool array of shape (channels,) (one packet per row per block) or (channels, k) (k packets per
    row, each samples // k long, a multiple of 10 ms). Raises ValueError naming what does not fit.
    """
    if samples % FRAME:
        raise ValueError(f"samples: block length {samples} is not a multiple of {FRAME} (10 ms)")
    m = np.asarray(lost)
    if m.dtype != np.bool_:
        raise TypeError(f"lost: expected a bool mask, got dtype {m.dtype}")
    if m.ndim == 0:
        m = m.reshape(1, 1)
    elif m.ndim == 1:
        m = m.reshape(-1, 1) if channels != 1 or m.size == 1 else m.reshape(1, -1)
    if m.ndim != 2 or m.shape[0] != channels:
        raise ValueError(f"lost: expected shape ({channels},) or ({channels}, frames), got {np.shape(lost)}")
    k = m.shape[1]
    if k == 0 or samples % k or (samples // k) % FRAME:
        raise ValueError(f"lost: {k} frames per row do not split {samples} samples into multiples of {FRAME}")
    return np.ascontiguousarray(np.repeat(m, samples // k // FRAME, axis=1), dtype=np.uint8)


class PacketLossConcealer:
    """G.711 Appendix I concealment for N channels; output is DELAY samples behind the input."""

    delay = DELAY

    def __init__(self, channels):
        if channels < 1:
            raise ValueError("channels must be >= 1")
        self.channels = channels
        self._init_state()

    def _init_state(self):
        self._state = [ChannelState() for _ in range(self.channels)]

    def reset(self, channel):
        """Forget one channel's history (a new call on that row); returns None."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        self._state[channel] = ChannelState()

    def process(self, block, lost):
        """Return the concealed int16 block (same shape), DELAY samples late; lost marks rows/frames lost.

        Samples of lost frames in block are ignored. block is (channels, samples) or 1-D for one channel,
        samples a multiple of 80; lost is a bool mask (see lost_frames).
        """
        x, was_1d = as_batch(block, np.int16, "block", channels=self.channels)
        mask = lost_frames(lost, self.channels, x.shape[1])
        out = np.empty_like(x)
        self._run(x, mask, out)
        return unbatch(out, was_1d)

    def _run(self, x, mask, out):
        for c, st in enumerate(self._state):
            for f in range(mask.shape[1]):
                sl = slice(f * FRAME, (f + 1) * FRAME)
                out[c, sl] = st.lost() if mask[c, f] else st.received(x[c, sl])
