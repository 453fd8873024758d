"""Synthetic DTMF test signals made with numpy: exact frequencies, levels (dBm0), durations, twist, noise."""
import numpy as np

from pycallcenter.dsp.reference.dtmf import COLS, DBM0_PEAK, DIGITS, ROWS

FS = 8000


def peak(dbm0):
    """Return the int16-scale peak amplitude of a sine at dbm0."""
    return DBM0_PEAK * 10.0 ** (dbm0 / 20.0)


def freqs(digit):
    """Return the nominal (row, column) frequencies of a digit."""
    i = DIGITS.index(digit)
    return ROWS[i // 4], COLS[i % 4]


def tone_pair(digit, ms, level=-10.0, twist_db=0.0, row_dev=0.0, col_dev=0.0, rng=None):
    """Return float samples of one digit: row tone at `level` dBm0, column tone twist_db lower (negative: louder)."""
    r, c = freqs(digit)
    n = int(round(ms * FS / 1000))
    t = np.arange(n) / FS
    ph = (0.0, 0.0) if rng is None else rng.uniform(0, 2 * np.pi, 2)
    return peak(level) * np.sin(2 * np.pi * r * (1 + row_dev) * t + ph[0]) + peak(level - twist_db) * np.sin(
        2 * np.pi * c * (1 + col_dev) * t + ph[1]
    )


def sequence(digits, on_ms=50, off_ms=50, lead_ms=30, rng=None, **kw):
    """Return (float samples, [(digit, start, end)]) for digits separated by silence."""
    parts, truth, pos = [np.zeros(int(lead_ms * FS / 1000))], [], int(lead_ms * FS / 1000)
    for d in digits:
        x = tone_pair(d, on_ms, rng=rng, **kw)
        truth.append((d, pos, pos + x.size))
        parts += [x, np.zeros(int(off_ms * FS / 1000))]
        pos += x.size + parts[-1].size
    parts.append(np.zeros(800))
    return np.concatenate(parts), truth


def white_noise(n, dbm0, rng):
    """Return white Gaussian noise of total power dbm0 (0-4 kHz)."""
    return rng.normal(0.0, peak(dbm0) / np.sqrt(2.0), n)


def dial_tone(n, level):
    """Return 350 + 440 Hz dial tone, each component at `level` dBm0."""
    t = np.arange(n) / FS
    return peak(level) * (np.sin(2 * np.pi * 350 * t) + np.sin(2 * np.pi * 440 * t + 0.7))


def to_int16(x):
    """Return float samples rounded and clipped to int16."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def detect(detector, x, tick=160):
    """Feed samples (1-D or channels x samples int16) tick by tick; return all events."""
    x = np.atleast_2d(x)
    events = []
    for i in range(0, x.shape[1], tick):
        events += detector.process(np.ascontiguousarray(x[:, i:i + tick]))
    return events


def digits_of(events, channel=0):
    """Return the completed digits of a channel as a string."""
    return "".join(e.digit for e in events if e.kind == "end" and e.channel == channel)
