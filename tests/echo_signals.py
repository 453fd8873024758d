"""Echo-canceller test signals in the spirit of ITU-T G.168: hybrid echo paths, far-end sources, measurements.

- Hybrid echo paths are the board emulator's (G.168 Annex D style, not its tables): a band-limited
  (300-3400 Hz) dispersive response made of damped resonances, delayed by a pure delay, scaled to an ERL.
- Far-end sources: a composite source signal (CSS: voiced pulses through formants, then pseudo-noise, then a
  pause, repeated with the sign inverted), and espeak-ng speech resampled to 8 kHz by sox (cached in build/echo).
- Measurements: ERLE over the samples where echo is present, convergence time, double-talk SNR.
"""
import os
import shutil
import subprocess

import numpy as np

from pycallcenter.drivers.emulator.echo import hybrid_response
from pycallcenter.dsp.audio import read_audio
from pycallcenter.dsp.reference.echo import DBM0_PEAK

FS = 8000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "echo")

# (name, pure delay ms, dispersion ms): from a short, tight hybrid to one whose echo ends near a 64 ms tail.
PATHS = (("tight", 1.0, 3.0), ("medium", 8.0, 6.0), ("dispersive", 16.0, 12.0), ("late", 40.0, 8.0),
         ("end_of_tail", 52.0, 8.0))


def rms(dbm0):
    """Return the int16-scale rms of a signal at dbm0 (power of a sine at that level)."""
    return DBM0_PEAK / np.sqrt(2.0) * 10.0 ** (dbm0 / 20.0)


def level_db(x):
    """Return the power of x in dBm0 (-inf for silence)."""
    p = np.mean(np.asarray(x, np.float64) ** 2)
    return 10 * np.log10(p / rms(0) ** 2) if p > 0 else -np.inf


def hybrid(delay_ms, dispersion_ms, erl_db, seed=0):
    """Return a hybrid echo path impulse response: the emulator's model (drivers/emulator/echo.py)."""
    return hybrid_response(erl_db, delay_ms, dispersion_ms, seed)


def echo_of(far, h):
    """Return the echo (float64) of far through path h, same length as far."""
    return np.convolve(np.asarray(far, np.float64), h)[: len(far)]


def to_int16(x):
    """Return float samples rounded and clipped to int16."""
    return np.clip(np.rint(x), -32768, 32767).astype(np.int16)


def _resonate(x, freq, bw):
    r = np.exp(-np.pi * bw / FS)
    a1, a2 = 2 * r * np.cos(2 * np.pi * freq / FS), -r * r
    y = np.zeros_like(x)
    y1 = y2 = 0.0
    for i in range(len(x)):
        y[i] = x[i] + a1 * y1 + a2 * y2
        y2, y1 = y1, y[i]
    return y


def css(seconds, level=-15.0, seed=0):
    """Return a composite source signal (float64) at an active level in dBm0: voiced, noise, pause, inverted."""
    rng = np.random.default_rng(seed)
    voiced_n, noise_n, pause_n = int(0.04862 * FS), int(0.2 * FS), int(0.10138 * FS)
    pitch = int(FS / 130)
    pulses = np.zeros(voiced_n)
    pulses[::pitch] = 1.0
    voiced = _resonate(_resonate(pulses, 700, 130), 1220, 150) + 0.5 * _resonate(pulses, 2600, 250)
    noise = rng.normal(0, 1, noise_n)
    noise = np.convolve(noise, [1.0, 0.6, 0.25], mode="same")  # a gentle downward tilt
    voiced *= rms(level) / np.sqrt(np.mean(voiced**2))
    noise *= rms(level) / np.sqrt(np.mean(noise**2))
    period = np.concatenate([voiced, noise, np.zeros(pause_n)])
    period = np.concatenate([period, -period])
    return np.resize(period, int(seconds * FS))


def have_speech_tools():
    """Return None when espeak-ng and sox are installed, else what is missing."""
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    return f"missing {', '.join(missing)}" if missing else None


SENTENCES = (
    "The quick brown fox jumps over the lazy dog while the operator checks the line for echo.",
    "Please hold the line, your call is important to us and will be answered in turn.",
    "Seven hundred and forty two calls were offered this morning, and most of them were answered quickly.",
    "An echo canceller removes the talker's own voice coming back from the far hybrid of the circuit.",
)
VOICES = (("en-us", 165, 45), ("en-gb+f3", 155, 70), ("en-us+m3", 175, 35), ("en-gb+f4", 160, 80))


def speech(seconds, level=-18.0, seed=0):
    """Return `seconds` of espeak-ng speech (float64, 8 kHz) at an active level in dBm0, sentences in turn."""
    os.makedirs(CACHE, exist_ok=True)
    pieces, total, i = [], 0, seed
    while total < seconds * FS:
        voice, wpm, pitch = VOICES[i % len(VOICES)]
        path = os.path.join(CACHE, f"s{i % len(SENTENCES)}_{voice.replace('+', '_')}.npy")
        if not os.path.exists(path):
            wav = path[:-4] + ".wav"
            p = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout",
                                SENTENCES[i % len(SENTENCES)]], capture_output=True, check=True)
            subprocess.run(["sox", "-q", "-t", "wav", "-", "-r", str(FS), "-b", "16", "-c", "1", wav],
                           input=p.stdout, check=True)
            np.save(path, read_audio(wav))
            os.unlink(wav)
        x = np.load(path).astype(np.float64)
        active = np.abs(x) > 0.01 * np.abs(x).max()
        x *= rms(level) / np.sqrt(np.mean(x[active] ** 2))
        pieces.append(x)
        total += len(x)
        i += 1
    return np.concatenate(pieces)[: int(seconds * FS)]


def noise(n, dbm0, seed=0):
    """Return white Gaussian noise at dbm0 (float64)."""
    return np.random.default_rng(seed + 1000).normal(0, rms(dbm0), n)


def css_through_hybrids(channels, n, path_of, seed):
    """Return (far, near) float64 (channels, n): CSS from a random point per channel, its echo through
    path_of(channel, rng) plus -70 dBm0 idle noise (the benchmarks' many-channel scene)."""
    rng = np.random.default_rng(seed)
    base = css(4.0)
    far = np.empty((channels, n))
    near = np.empty((channels, n))
    for c in range(channels):
        start = int(rng.integers(0, base.size - n))
        far[c] = base[start:start + n]
        near[c] = echo_of(far[c], path_of(c, rng)) + noise(n, -70, seed=c)
    return far, near


def windows(x, ms=100):
    """Return x cut into (count, window) rows of `ms` milliseconds (the tail that does not fill one is dropped)."""
    w = int(ms * FS / 1000)
    k = len(x) // w
    return np.asarray(x[: k * w], np.float64).reshape(k, w)


def erle_db(echo, out, start=0, stop=None, floor_dbm0=-50.0):
    """Return 10 log10(echo power / output power) over the 100 ms windows in [start, stop) s where echo is present."""
    a, b = int(start * FS), None if stop is None else int(stop * FS)
    e, o = windows(echo[a:b]), windows(out[a:b])
    on = np.mean(e**2, axis=1) > rms(floor_dbm0) ** 2
    return 10 * np.log10(np.sum(e[on] ** 2) / max(np.sum(o[on] ** 2), 1e-9))


def convergence_s(echo, out, target_db=20.0, floor_dbm0=-50.0):
    """Return the time (s) from which every 100 ms window with echo present has ERLE >= target (inf if never)."""
    e, o = windows(echo), windows(out)
    on = np.mean(e**2, axis=1) > rms(floor_dbm0) ** 2
    gain = np.maximum(np.sum(e**2, axis=1), 1e-9) / np.maximum(np.sum(o**2, axis=1), 1e-9)
    ok = ~on | (10 * np.log10(gain) >= target_db)
    bad = np.nonzero(~ok)[0]
    if len(bad) == 0:
        return 0.0
    return (bad[-1] + 1) * 0.1 if bad[-1] + 1 < len(ok) else float("inf")


def snr_db(clean, out):
    """Return 10 log10(clean power / power of (out - clean)) over the samples where clean is present."""
    c, o = windows(clean), windows(out)
    on = np.mean(c**2, axis=1) > rms(-45.0) ** 2
    return 10 * np.log10(np.sum(c[on] ** 2) / max(np.sum((o[on] - c[on]) ** 2), 1e-9))


def resample_to(x, rate):
    """Return int16 x (8 kHz) at another rate, for files written at other rates."""
    from pycallcenter.dsp.audio import resample

    return to_int16(resample(np.asarray(x, np.float64), FS, rate)) if rate != FS else x
