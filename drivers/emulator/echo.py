"""Hybrid echo on emulated lines: what the board sends on a channel comes back, attenuated and smeared, in what
it receives, as the 2-wire/4-wire hybrid of an analog line or of the PSTN beyond a digital span returns it.

The echo path is a synthetic G.168-style hybrid (Annex D models are measured responses; these are made the same
way): a pure delay, then a band-limited (300-3400 Hz) dispersive response of damped resonances with a direct
part, scaled so that white noise loses ``erl_db``. Configured per channel in the board TOML::

    [[emulator.echo]]
    channels = "1-23"       # which channels' lines return echo
    erl = 12                # echo return loss, dB (6..60)
    delay = 4               # pure delay, ms (0..100)
    dispersion = 6          # length of the dispersive part, ms (1..30)
    seed = 0                # picks the resonances (each channel adds its number)

No entry, no echo: the emulator's lines are echo-free unless asked.
"""
from __future__ import annotations

import numpy as np

from . import media

FS = 8000
LIMITS = {"erl": (6.0, 60.0), "delay": (0.0, 100.0), "dispersion": (1.0, 30.0)}
DEFAULTS = {"erl": 12.0, "delay": 4.0, "dispersion": 6.0, "seed": 0}


def _bandpass(n=31):
    """Return a linear-phase 300-3400 Hz FIR (windowed sinc): the channel a hybrid's response sits in."""
    t = np.arange(n) - (n - 1) / 2
    lo, hi = 300.0 / FS, 3400.0 / FS
    h = 2 * hi * np.sinc(2 * hi * t) - 2 * lo * np.sinc(2 * lo * t)
    return h * np.hamming(n)


def hybrid_response(erl_db, delay_ms, dispersion_ms, seed=0):
    """Return a hybrid echo path impulse response (float64): pure delay, then band-limited dispersive response."""
    rng = np.random.default_rng(seed)
    n = max(int(dispersion_ms * FS / 1000), 8)
    t = np.arange(n)
    h = np.zeros(n)
    for _ in range(3):
        f = rng.uniform(300.0, 2500.0)
        tau = rng.uniform(0.15, 0.35) * n
        h += rng.uniform(0.3, 1.0) * np.exp(-t / tau) * np.cos(2 * np.pi * f * t / FS + rng.uniform(0, 2 * np.pi))
    h[0] += rng.choice((-1.0, 1.0)) * 1.5  # the direct (resistive) part of the mismatch
    h = np.convolve(h, _bandpass())
    h *= 10.0 ** (-erl_db / 20.0) / np.sqrt(np.sum(h**2))
    return np.concatenate([np.zeros(int(delay_ms * FS / 1000)), h])


class HybridEcho:
    """The echo paths of some rows; ``apply(T, R)`` adds each row's echo of this tick's T into its R."""

    def __init__(self):
        self.paths: dict = {}  # row -> (impulse response, line law)
        self._sent: dict = {}  # row -> the last len(h) - 1 linear samples sent

    def __bool__(self):
        return bool(self.paths)

    def set(self, row, law, h):
        """Give a row an echo path h (None removes it)."""
        if h is None:
            self.paths.pop(row, None)
            self._sent.pop(row, None)
            return
        self.paths[row] = (np.asarray(h, np.float64), law)
        self._sent[row] = np.zeros(len(h) - 1)

    def apply(self, T, R):
        """Add to every echoing row of R (received codes) the echo of the same row of T (sent codes)."""
        for row, (h, law) in self.paths.items():
            sent = np.concatenate([self._sent[row], media.decode(T[row], law)])
            echo = np.convolve(sent, h, mode="valid")
            self._sent[row] = sent[len(sent) - len(h) + 1:]
            R[row] = media.encode(np.rint(media.decode(R[row], law) + echo), law)
