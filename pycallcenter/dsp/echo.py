"""Line echo canceller for many channels (ITU-T G.168), native kernel.

``EchoCanceller(channels, tail_ms=64, **params).process(far, near)`` takes one tick of int16 audio,
(channels, samples) or 1-D for one channel: ``far`` is what was sent on each channel, ``near`` what came
back; it returns ``near`` with the echo of ``far`` removed, same shape, sample-aligned. State (the echo path,
detectors, counters) carries across ticks of any size.

Design (specified by the numpy twin ``pycallcenter.dsp.reference.echo``, which gives the same output to within
rounding on the same input): a background IPNLMS filter that adapts, a foreground filter that makes the output
and takes the background's taps only when they have proved better; Geigel double-talk detection freezing
adaptation; a non-linear processor with comfort noise at the near end's background level; divergence protection
(the output falls back to the input when the filter makes it louder, and restarts); a G.164/G.165 tone disabler
(2100 Hz with phase reversals, V.21 fax flags); once converged, a steady state that stops adapting while the
foreground holds, and an active window: the background adapts only over the taps around the echo it found.

Parameters (keyword, defaults in brackets):
    tail_ms [64]        echo tail covered: 16, 32, 64 or 128 ms (pure delay + dispersion must fit)
    mu [0.5]            IPNLMS step, (0, 1]
    alpha [0.0]         IPNLMS proportionality, [-1, 1): -1 is NLMS, towards 1 PNLMS
    geigel_db [6.0]     hybrid loss the Geigel double-talk detector assumes
    hangover_ms [30]    double-talk hold
    nlp [True]          non-linear processor
    nlp_db [12.0]       the NLP acts when the linear output is this far under the near input
    cng [True]          comfort noise while the NLP acts (else silence)
    tone_disable [True] disable on 2100 Hz with phase reversals and on V.21
    sleep_after_s [1.0] cancelling without finding echo before the channel sleeps (0: never)
    probe_every_s [30]  far-end activity while asleep before it looks for echo again
    settle [True]       freeze adaptation while the foreground filter holds its figure, watching every block
                        (a quarter of the work per sample; any slip resumes adaptation at the block's end)
    window [True]       once the echo is found, adapt only the taps around it (a bare delay and a few ms of
                        dispersion in a 64 ms tail: a fifth of the taps); any slip gives the whole tail back
    place [True]        with window, tails of 64 ms and more: place the window before the first copy from a
                        bulk-delay estimate (the far and near energy envelopes correlated over the tail), the
                        background held until then for at most 112 ms of far-end activity (a call's first ticks
                        cost a third); still unsure then, the whole tail adapts and first replays what the hold
                        recorded, so the loud start of speech is learnt. False: the whole tail from the start
"""
import numpy as np

from pycallcenter._native import echo as _native
from pycallcenter.dsp._validate import as_batch, unbatch
from pycallcenter.dsp.reference import echo as ref

__all__ = ["EchoCanceller", "EchoCounters", "DEFAULTS", "STATES", "TAILS_MS"]

EchoCounters = ref.EchoCounters
DEFAULTS = ref.DEFAULTS
STATES = ref.STATES
TAILS_MS = ref.TAILS_MS


def kernel_params(tail_ms, **params):
    """Return the dict of numbers the native kernel is built from (the twin's constants, params applied)."""
    p = ref.check_params(tail_ms, **params)
    f32 = ref._f32
    return {
        "taps": tail_ms * ref.FS // 1000,
        "mu": f32(p["mu"]), "alpha": f32(p["alpha"]), "geigel": f32(10.0 ** (-p["geigel_db"] / 20.0)),
        "hangover": int(round(p["hangover_ms"] * ref.FS / 1000)), "nlp_ratio": f32(10.0 ** (-p["nlp_db"] / 10.0)),
        "nlp_far": ref.nlp_far(p, tail_ms * ref.FS // 1000),
        "nlp": bool(p["nlp"]), "cng": bool(p["cng"]), "tone_disable": bool(p["tone_disable"]),
        "settle": bool(p["settle"]), "window": bool(p["window"]), "place": bool(p["place"]), "window_floor": ref.WINDOW_FLOOR, "settle_erle": ref.SETTLE_ERLE, "settle_noise": ref.SETTLE_NOISE,
        "settle_gain": ref.SETTLE_GAIN,
        "leave_erle": ref.LEAVE_ERLE, "leave_noise": ref.LEAVE_NOISE,
        "sleep_after": ref.sleep_samples(p)[0], "probe_every": ref.sleep_samples(p)[1],
        "hp_pole": ref.HP_POLE, "short_a": ref.SHORT, "noise_a": ref.NOISE_SMOOTH, "long_a": ref.LONG,
        "delta": ref.DELTA, "copy_ratio": ref.COPY_RATIO, "copy_gain": ref.COPY_GAIN, "dt_mu": ref.DT_MU, "guard_ratio": ref.GUARD_RATIO, "guard_a": ref.GUARD_SMOOTH, "bypass_ratio": ref.BYPASS_RATIO,
        "bg_reset_ratio": ref.BG_RESET_RATIO, "block_floor": ref.BLOCK_FLOOR, "above_noise": ref.ABOVE_NOISE, "tone_purity": ref.TONE_PURITY,
        "tone_level": ref.TONE_LEVEL, "quiet_level": ref.QUIET_LEVEL, "reversal_cos": ref.REVERSAL_COS,
        "noise_bias": ref.NOISE_BIAS, "noise_start": ref.NOISE_START, "converged_erle": ref.CONVERGED_ERLE,
        "far_active": float(ref.FAR_ACTIVE * (tail_ms * ref.FS // 1000)), "far_sample": float(ref.FAR_ACTIVE),
        "cos": ref.COS.tolist(), "sin": ref.SIN.tolist(),
    }


def _channel(channel, channels):
    if isinstance(channel, bool) or not isinstance(channel, (int, np.integer)):
        raise TypeError(f"channel must be an int, got {type(channel).__name__}")
    if not 0 <= channel < channels:
        raise ValueError(f"channel {channel} out of range 0..{channels - 1}")
    return int(channel)


class EchoCanceller:
    """Echo cancellers for N channels; ``process(far, near)`` returns near with the echo of far removed."""

    def __init__(self, channels, tail_ms=64, **params):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
            raise TypeError(f"channels must be an int, got {type(channels).__name__}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels, self.tail_ms = int(channels), tail_ms
        self.params = {**DEFAULTS, **params}
        self._k = _native.Kernel(self.channels, kernel_params(tail_ms, **params))
        self._enabled = np.ones(self.channels, bool)

    def process(self, far, near, rows=None):
        """Return the int16 output for one tick; with ``rows`` only those rows are cancelled (others pass)."""
        x, was_1d = as_batch(far, np.int16, "far", channels=self.channels)
        y, _ = as_batch(near, np.int16, "near", channels=self.channels)
        if x.shape != y.shape:
            raise ValueError(f"far and near differ in shape: {x.shape} vs {y.shape}")
        out = y.copy()
        if rows is not None:
            rows = np.ascontiguousarray(rows, dtype=np.int32)
        self._k.process(x, y, out, rows)
        return unbatch(out, was_1d)

    def process_into(self, far, near, out, rows):
        """Cancel echo on the listed rows only, from int16 (channels, samples) C-ordered far and near into out
        (which may be near itself: each sample is read before it is written); the other rows of out are left
        alone. The fast path for the engine: no copies, only the kernel's shape and range checks."""
        self._k.process(far, near, out, rows)

    def reset(self, channel):
        """Forget one channel's echo path, detectors and counters (a new call); enabled stays as it was."""
        self._k.reset(_channel(channel, self.channels))

    def enable(self, channel):
        """Switch one channel's canceller on."""
        c = _channel(channel, self.channels)
        self._k.set_enabled(c, True)
        self._enabled[c] = True

    def disable(self, channel):
        """Switch one channel's canceller off: its near input passes unchanged."""
        c = _channel(channel, self.channels)
        self._k.set_enabled(c, False)
        self._enabled[c] = False

    def enabled(self, channel):
        """Return True when the channel's canceller is switched on (a tone may still hold it off)."""
        return bool(self._enabled[_channel(channel, self.channels)])

    def counters(self):
        """Return EchoCounters for every channel: ERL and ERLE in dB over far-end single talk, state, resets."""
        c = self.channels
        l_x, l_y, l_e = np.zeros(c, np.float32), np.zeros(c, np.float32), np.zeros(c, np.float32)
        state, resets, settled = np.zeros(c, np.int8), np.zeros(c, np.int64), np.zeros(c, np.int8)
        self._k.counters(l_x, l_y, l_e, state, resets, settled)
        state[~self._enabled] = ref.DISABLED  # switched off and not run since: say so at once
        return ref.counters_from(l_x, l_y, l_e, state, resets, settled & self._enabled)

    def windows(self):
        """Return (lo, hi) int32 arrays: the taps [lo, hi) each channel's background filter adapts (0, taps: all)."""
        lo, hi = np.zeros(self.channels, np.int32), np.zeros(self.channels, np.int32)
        self._k.windows(lo, hi)
        return lo, hi

    def taps(self, channel):
        """Return copies of one channel's (foreground, background) filter taps (float32)."""
        wf, wb = np.zeros(self._k.taps, np.float32), np.zeros(self._k.taps, np.float32)
        self._k.taps_of(_channel(channel, self.channels), wf, wb)
        return wf, wb
