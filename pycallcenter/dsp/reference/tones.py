"""Numpy twin of the tone generator: the readable specification the native kernel must match bit for bit.

Each channel plays a compiled ToneSpec: a list of steps (exact sample counts, 0 = forever), each a sum
of up to MAX_COMPONENTS sinusoids. Every sinusoid is a 32-bit phase accumulator; its sample is the
Q15 sine table (4096 entries, linear interpolation on 16 fractional bits) times a Q16 amplitude, the
sum rounded (+2^30, >> 31) and clipped to int16. Phases run on across ticks and steps, so a tone
is phase-continuous whatever the tick size.
"""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp import toneplans as tp

TAB_SIZE = 4096
SINE = np.floor(32767.0 * np.sin(2.0 * np.pi * np.arange(TAB_SIZE + 1) / TAB_SIZE) + 0.5).astype(np.int64)
MASK32 = np.uint64(0xFFFFFFFF)


def _synth(phase, inc, amp, m):
    """Return (int16[m] samples, new phases) for sinusoids with uint32 phases, increments and Q16 amplitudes."""
    acc = np.zeros(m, np.int64)
    new = phase.copy()
    steps = np.arange(m, dtype=np.uint64)
    for k in range(len(inc)):
        ph = (np.uint64(phase[k]) + np.uint64(inc[k]) * steps) & MASK32
        idx = (ph >> np.uint64(20)).astype(np.int64)
        frac = ((ph >> np.uint64(4)) & np.uint64(0xFFFF)).astype(np.int64)
        a0 = SINE[idx]
        s = a0 + (((SINE[idx + 1] - a0) * frac) >> 16)
        acc += s * np.int64(amp[k])
        new[k] = (int(phase[k]) + int(inc[k]) * m) & 0xFFFFFFFF
    out = np.clip((acc + (1 << 30)) >> 31, -32768, 32767).astype(np.int16)
    return out, new


class ToneGenerator:
    """Cadenced tones on N channels; ``process(n)`` returns the next n samples as int16 (channels x n)."""

    def __init__(self, channels, plan="us"):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
            raise TypeError(f"channels must be an int, got {type(channels).__name__}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels = int(channels)
        self.plan = tp.get_plan("us" if plan is None else plan)
        S, C = tp.MAX_STEPS, tp.MAX_COMPONENTS
        self._step_len = np.zeros((channels, S), np.int64)
        self._n_comp = np.zeros((channels, S), np.int32)
        self._inc = np.zeros((channels, S, C), np.uint32)
        self._amp = np.zeros((channels, S, C), np.int64)
        self._n_steps = np.zeros(channels, np.int32)
        self._loop_to = np.full(channels, -1, np.int32)
        self._cur = np.full(channels, -1, np.int32)
        self._pos = np.zeros(channels, np.int64)
        self._phase = np.zeros((channels, C), np.uint32)

    def _channel(self, channel):
        if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
            raise TypeError(f"channel must be an int, got {type(channel).__name__}")
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} outside 0..{self.channels - 1}")
        return int(channel)

    def start(self, channel, tone, plan=None, level_offset_db=0.0):
        """Start tone (a name in the plan, or a ToneSpec) on channel from its first step; return the spec."""
        c = self._channel(channel)
        if isinstance(tone, str):
            spec = (tp.get_plan(plan) if plan is not None else self.plan).tone(tone)
        elif isinstance(tone, tp.ToneSpec):
            spec = tone
        else:
            raise TypeError(f"tone must be a name or a ToneSpec, got {type(tone).__name__}")
        if not np.isfinite(level_offset_db):
            raise ValueError("level_offset_db must be finite")
        step_len, n_comp, inc, amp, loop_to = tp.compile_spec(spec, level_offset_db)
        n = len(step_len)
        self._step_len[c] = 0
        self._n_comp[c] = 0
        self._inc[c] = 0
        self._amp[c] = 0
        self._step_len[c, :n] = step_len
        self._n_comp[c, :n] = n_comp
        self._inc[c, :n] = inc
        self._amp[c, :n] = amp
        self._n_steps[c] = n
        self._loop_to[c] = loop_to
        self._cur[c] = 0
        self._pos[c] = 0
        self._phase[c] = 0
        return spec

    def stop(self, channel):
        """Silence channel at once."""
        c = self._channel(channel)
        self._cur[c] = -1
        self._pos[c] = 0

    def active(self, channel):
        """Return True while channel still has a tone to play (a tone ending in endless silence counts as done)."""
        c = self._channel(channel)
        st = self._cur[c]
        if st < 0:
            return False
        return not (self._step_len[c, st] == 0 and self._n_comp[c, st] == 0)

    def process(self, n_samples, out=None):
        """Return the next n_samples of every channel as int16 (channels x n_samples), written into out if given."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
            raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        shape = (self.channels, int(n_samples))
        if out is None:
            out = np.empty(shape, np.int16)
        elif not isinstance(out, np.ndarray) or out.dtype != np.int16:
            raise TypeError("out: expected an int16 numpy array")
        elif out.shape != shape or not out.flags.c_contiguous or not out.flags.writeable:
            raise ValueError(f"out: expected a writeable C-contiguous array of shape {shape}")
        self._render(out)
        return out

    def process_rows(self, rows, n_samples):
        """Return the next n_samples of the listed channels only, as int16 (len(rows) x n_samples); the other
        channels do not advance (a silent channel would only render zeros)."""
        if isinstance(n_samples, bool) or not isinstance(n_samples, (int, np.integer)):
            raise TypeError(f"n_samples must be an int, got {type(n_samples).__name__}")
        if n_samples < 1:
            raise ValueError(f"n_samples must be >= 1, got {n_samples}")
        rows = np.ascontiguousarray(rows, np.intp)
        if rows.ndim != 1 or (rows.size and not (0 <= rows.min() and rows.max() < self.channels)):
            raise ValueError(f"rows must be channels in 0..{self.channels - 1}")
        out = np.empty((rows.size, int(n_samples)), np.int16)
        self._render_rows(out, rows)
        return out

    def _render(self, out):
        for c in range(self.channels):
            self._render_channel(c, out[c])

    def _render_rows(self, out, rows):
        for i, c in enumerate(rows.tolist()):
            self._render_channel(c, out[i])

    def _render_channel(self, c, row):
        n = row.shape[0]
        t = 0
        while t < n:
            st = int(self._cur[c])
            if st < 0:
                row[t:] = 0
                break
            L = int(self._step_len[c, st])
            m = n - t if L == 0 else min(n - t, L - int(self._pos[c]))
            nc = int(self._n_comp[c, st])
            if nc == 0:
                row[t:t + m] = 0
            else:
                row[t:t + m], self._phase[c, :nc] = _synth(
                    self._phase[c, :nc], self._inc[c, st, :nc], self._amp[c, st, :nc], m)
            t += m
            self._pos[c] += m
            if L and self._pos[c] == L:
                self._pos[c] = 0
                st += 1
                if st == self._n_steps[c]:
                    st = int(self._loop_to[c])
                self._cur[c] = st


def _seconds_to_samples(seconds):
    if isinstance(seconds, bool) or not isinstance(seconds, (int, float, np.integer, np.floating)):
        raise TypeError(f"seconds must be a number, got {type(seconds).__name__}")
    if not np.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"seconds must be positive, got {seconds}")
    return max(1, int(round(seconds * SAMPLE_RATE)))


def generate_with(cls, plan, tone, seconds, level_offset_db=0.0):
    """Return int16 samples of tone (a name in plan, or a ToneSpec; plan may then be None) for seconds."""
    gen = cls(1, plan)
    gen.start(0, tone, level_offset_db=level_offset_db)
    return gen.process(_seconds_to_samples(seconds))[0]


def dtmf_with(cls, digits, level_dbm0=-10.0, twist_db=0.0, on_ms=50.0, off_ms=50.0):
    """Return int16 samples of digits (each on_ms tone then off_ms gap), rendered by generator class cls."""
    if not isinstance(digits, str):
        raise TypeError(f"digits must be a str, got {type(digits).__name__}")
    per = (tp.MAX_STEPS - 1) // 2
    parts = []
    for i in range(0, max(1, len(digits)), per):
        spec = tp.dtmf_spec(digits[i:i + per], level_dbm0, twist_db, on_ms, off_ms)
        n = int(sum(tp.compile_spec(spec)[0]))
        gen = cls(1)
        gen.start(0, spec)
        parts.append(gen.process(n)[0])
    return np.concatenate(parts)


def generate(plan, tone, seconds, level_offset_db=0.0):
    """Return int16 samples of the plan's tone for seconds (numpy twin)."""
    return generate_with(ToneGenerator, plan, tone, seconds, level_offset_db)


def dtmf_signal(digits, level_dbm0=-10.0, twist_db=0.0, on_ms=50.0, off_ms=50.0):
    """Return int16 samples of DTMF digits (numpy twin)."""
    return dtmf_with(ToneGenerator, digits, level_dbm0, twist_db, on_ms, off_ms)
