"""Talk-off corpus made on this machine: espeak-ng speech (several voices and languages, long texts) mixed with
noise, and music-like signals (harmonic chords, sweeps), as 8 kHz int16, cached under build/talkoff/."""
import glob
import os
import shutil
import subprocess

import numpy as np

from dtmf_signals import peak, to_int16, white_noise
from pycallcenter.dsp.audio import read_audio

FS = 8000
ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CACHE = os.path.join(ROOT, "build", "talkoff")
TEXTS = ("GPL-3", "GFDL-1.3", "LGPL-2.1", "MPL-2.0", "Apache-2.0", "Artistic", "GPL-2")
# (voice+variant, words per minute, pitch 0-99): male, female, child-like, several languages reading the texts
VOICES = (
    ("en-us", 175, 50), ("en-gb+f3", 160, 70), ("de+m3", 150, 40), ("fr+f2", 170, 80), ("es+m1", 185, 30),
    ("it+f4", 165, 90), ("pt+m7", 155, 45), ("nl+f1", 175, 65), ("pl+m2", 160, 25), ("sv+f5", 170, 99),
    ("en-us+klatt", 180, 60), ("fi+m4", 150, 55), ("cs+f3", 165, 75), ("en-gb-x-rp+m6", 140, 35),
)


def have_tools():
    """Return None when espeak-ng and sox are installed, else the reason they are not usable."""
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    return f"missing {', '.join(missing)}" if missing else None


def _text():
    parts = []
    for name in TEXTS:
        for path in glob.glob(f"/usr/share/common-licenses/{name}"):
            with open(path, encoding="utf-8", errors="replace") as fh:
                parts.append(fh.read())
    return " ".join(" ".join(parts).split())


def speech(seconds, seed=0):
    """Return about `seconds` of espeak-ng speech (int16, 8 kHz), voices and languages taking turns."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"speech_{int(seconds)}_{seed}.npy")
    if os.path.exists(path):
        return np.load(path)
    text, rng = _text(), np.random.default_rng(seed)
    chunk, pos, out, total, i = 2400, int(rng.integers(0, 1000)), [], 0, 0
    while total < seconds * FS:
        voice, wpm, pitch = VOICES[i % len(VOICES)]
        piece = text[pos % len(text): pos % len(text) + chunk]
        pos += chunk
        i += 1
        wav = os.path.join(CACHE, "piece.wav")
        p1 = subprocess.run(["espeak-ng", "-v", voice, "-s", str(wpm), "-p", str(pitch), "--stdout", piece],
                            capture_output=True, check=True)
        subprocess.run(["sox", "-q", "-t", "wav", "-", "-r", str(FS), "-b", "16", "-c", "1", wav],
                       input=p1.stdout, check=True)
        x = read_audio(wav).astype(np.float64)
        act = np.sqrt(np.mean(x[np.abs(x) > 100] ** 2)) if np.any(np.abs(x) > 100) else 1.0
        level = rng.uniform(-25, -8)  # active speech level, dBm0
        x = x * (peak(level) / np.sqrt(2) / act)
        x = x + white_noise(x.size, rng.uniform(-60, -35), rng)  # line noise
        out.append(to_int16(x))
        total += x.size
    y = np.concatenate(out)[: int(seconds * FS)]
    np.save(path, y)
    return y


def music(seconds, seed=1):
    """Return `seconds` of music-like signal: harmonic chords of equal-tempered notes, glides and sweeps."""
    rng = np.random.default_rng(seed)
    out, total = [], 0
    while total < seconds * FS:
        kind = rng.integers(0, 3)
        n = int(rng.uniform(0.15, 1.2) * FS)
        t = np.arange(n) / FS
        x = np.zeros(n)
        if kind == 0:  # chord: 2-4 notes, 1/k harmonics, attack/decay envelope
            for _ in range(rng.integers(2, 5)):
                f0 = 440.0 * 2 ** ((rng.integers(-24, 28)) / 12)
                for k in range(1, int(rng.integers(1, 7)) + 1):
                    if f0 * k < 3800:
                        x += np.sin(2 * np.pi * f0 * k * t + rng.uniform(0, 6.3)) / k
            x *= np.exp(-t * rng.uniform(0.5, 6)) * np.minimum(1, t * 200)
        elif kind == 1:  # linear sweep
            f1, f2 = rng.uniform(200, 3400, 2)
            x = np.sin(2 * np.pi * (f1 * t + (f2 - f1) * t * t / (2 * t[-1])))
        else:  # vibrato melody note with two partials
            f0 = rng.uniform(250, 1700)
            ph = 2 * np.pi * np.cumsum(f0 * (1 + 0.01 * np.sin(2 * np.pi * 5.5 * t))) / FS
            x = np.sin(ph) + rng.uniform(0, 1) * np.sin(2 * ph)
        x = x / (np.sqrt(np.mean(x**2)) + 1e-9) * peak(rng.uniform(-25, -8)) / np.sqrt(2)
        out.append(x + white_noise(n, -50, rng))
        total += n
    return to_int16(np.concatenate(out)[: int(seconds * FS)])


def as_channels(x, seconds_per_channel=60):
    """Return x cut into (channels, samples) rows of equal length (the tail dropped)."""
    n = seconds_per_channel * FS
    rows = max(1, x.size // n)
    return np.ascontiguousarray(x[: rows * n].reshape(rows, n)) if x.size >= n else x.reshape(1, -1)


def detections(x2d, detector_factory, tick=160):
    """Return the completed digits ours reports on (channels, samples) talk-off audio."""
    det = detector_factory(x2d.shape[0])
    out = []
    for i in range(0, x2d.shape[1], tick):
        out += [e for e in det.process(np.ascontiguousarray(x2d[:, i:i + tick])) if e.kind == "end"]
    return out


def is_genuine_dtmf(x2d, event):
    """Return True when the audio under a detection really is a DTMF pair by Q.24's own definition.

    A chord can hold two notes within 1.5% of a row and a column frequency (F5 = 698.5 Hz is 0.2% from 697):
    a receiver must accept that. Genuine: the two strongest spectral peaks over the digit lie within 1.5% of
    its nominal frequencies and hold >= 80% of the power.
    """
    from pycallcenter.dsp.reference.dtmf import COLS, DIGITS, ROWS

    seg = x2d[event.channel, event.start:event.end].astype(np.float64)
    if seg.size < 256:
        return False
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size), 16 * seg.size)) ** 2
    f = np.fft.rfftfreq(16 * seg.size, 1 / FS)
    i = DIGITS.index(event.digit)
    share = 0.0
    for nominal in (ROWS[i // 4], COLS[i % 4]):
        band = (f > nominal * 0.95) & (f < nominal * 1.05)
        k = np.flatnonzero(band)[np.argmax(spec[band])]
        if abs(f[k] / nominal - 1) > 0.015:
            return False
        share += spec[max(0, k - 40): k + 41].sum()
    return share >= 0.8 * spec.sum()


def count_false(x2d, detector_factory, tick=160):
    """Return (false digits, genuine DTMF pairs detected) of ours on (channels, samples) talk-off audio."""
    ev = detections(x2d, detector_factory, tick)
    genuine = sum(1 for e in ev if is_genuine_dtmf(x2d, e))
    return len(ev) - genuine, genuine


def count_false_spandsp(x2d, spandsp, tick=160):
    """Return the number of digits spandsp reports on the same audio."""
    rx = spandsp.DtmfReceiver(x2d.shape[0])
    for i in range(0, x2d.shape[1], tick):
        rx.process(np.ascontiguousarray(x2d[:, i:i + tick]))
    return sum(len(rx.digits(c)) for c in range(x2d.shape[0]))
