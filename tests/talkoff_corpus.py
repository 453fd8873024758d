"""Talk-off corpus made on this machine, seeded and deterministic, as 8 kHz int16, cached under build/talkoff/.

Materials (each a function of (seconds, seed)):
- ``speech``: espeak-ng reading licence texts in many voices and languages, with line noise;
- ``sung``: sung vowels, both espeak-ng drawn-out syllables and a source-filter singer (glottal pulse harmonics
  through vowel formants, vibrato) on equal-tempered pitches;
- ``music``: instrument music, chords of 2-5 equal-tempered notes (plucked, piano, bowed, organ, flute,
  clarinet, brass and sine-pad partial models with decays, inharmonicity and vibrato) with a melody on top;
- ``adversarial``: chords whose notes or harmonics sit near a DTMF row and column pair (0-4% off, over a range of
  tunings), the hardest material for a DTMF receiver;
- ``radio``: music and speech mixed, as radio and on-hold music with an announcer give;
- ``noise``: white, pink and babble-like noise and clicks;
- ``music_like``: the older synthetic set (harmonic chords, sweeps, vibrato notes).
"""
import glob
import itertools
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
# voices for sung syllables: high female and child-like pitches put voice harmonics in the DTMF bands
SINGERS = (
    ("it+f4", 99), ("en-us+f2", 90), ("de+f3", 85), ("fr+f5", 95), ("es+f1", 80), ("ru+m3", 40),
    ("pt+f4", 99), ("en-gb+m1", 60), ("sv+f2", 88), ("ja+f3", 92), ("hu+m2", 50), ("la+f1", 75),
)
SYLLABLES = "laa loo lee maa moo nee noo haa yaa doo daa lii"
# vowel formants (F1, F2, F3) in Hz for a, e, i, o, u (sung, roughly soprano-to-tenor averages)
FORMANTS = ((800, 1150, 2900), (400, 1600, 2700), (300, 2300, 3000), (450, 800, 2830), (325, 700, 2530))
ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)


def have_tools():
    """Return None when espeak-ng and sox are installed, else the reason they are not usable."""
    missing = [t for t in ("espeak-ng", "sox") if shutil.which(t) is None]
    return f"missing {', '.join(missing)}" if missing else None


def _cached(name, seconds, seed, make):
    """Return material `name` from the cache, making and storing it first when absent."""
    os.makedirs(CACHE, exist_ok=True)
    path = os.path.join(CACHE, f"{name}_{int(seconds)}_{seed}.npy")
    if os.path.exists(path):
        return np.load(path)
    y = make(seconds, np.random.default_rng(seed))
    y = to_int16(y[: int(seconds * FS)]) if y.dtype != np.int16 else y[: int(seconds * FS)]
    tmp = path + f".{os.getpid()}.npy"
    np.save(tmp, y)
    os.replace(tmp, path)  # several test processes may build the same material at once
    return y


def _until(seconds, piece):
    """Return pieces from piece() joined until they hold at least `seconds` of audio."""
    out, total = [], 0
    while total < seconds * FS:
        out.append(piece())
        total += out[-1].size
    return np.concatenate(out)


def _text():
    parts = []
    for name in TEXTS:
        for path in glob.glob(f"/usr/share/common-licenses/{name}"):
            with open(path, encoding="utf-8", errors="replace") as fh:
                parts.append(fh.read())
    return " ".join(" ".join(parts).split())


def _espeak(args, text):
    """Return espeak-ng's rendering of text at 8 kHz as float samples."""
    wav = os.path.join(CACHE, f"piece_{os.getpid()}.wav")
    p1 = subprocess.run(["espeak-ng", *args, "--stdout", text], capture_output=True, check=True)
    subprocess.run(["sox", "-q", "-t", "wav", "-", "-r", str(FS), "-b", "16", "-c", "1", wav], input=p1.stdout,
                   check=True)
    x = read_audio(wav).astype(np.float64)
    os.remove(wav)
    return x


def _at_level(x, dbm0):
    """Return x scaled so its active (non-silent) part is at dbm0."""
    loud = np.abs(x) > 0.003 * (np.max(np.abs(x)) + 1e-9)
    act = np.sqrt(np.mean(x[loud] ** 2)) if np.any(loud) else 1.0
    return x * (peak(dbm0) / np.sqrt(2) / (act + 1e-12))


def _make_speech(seconds, rng):
    text, chunk, turn = _text(), 2400, itertools.count()
    start = int(rng.integers(0, 1000))

    def piece():
        i = next(turn)
        voice, wpm, pitch = VOICES[i % len(VOICES)]
        pos = (start + i * chunk) % len(text)
        x = _at_level(_espeak(["-v", voice, "-s", str(wpm), "-p", str(pitch)], text[pos:pos + chunk]),
                      rng.uniform(-25, -8))
        return to_int16(x + white_noise(x.size, rng.uniform(-60, -35), rng))  # line noise

    return _until(seconds, piece)


def speech(seconds, seed=0):
    """Return about `seconds` of espeak-ng speech (int16, 8 kHz), voices and languages taking turns."""
    return _cached("speech", seconds, seed, _make_speech)


# ---- instruments: each returns (partial frequency ratios, amplitudes, decay rates 1/s, vibrato depth, attack s)


def _pluck(k, f0, rng):
    pos = rng.uniform(0.08, 0.3)  # plucking point: partials with a node there are missing
    amp = np.abs(np.sin(np.pi * k * pos)) / k
    return k.astype(float), amp, rng.uniform(1.0, 4.0) * (1 + 0.4 * k**1.3), 0.0, 0.003


def _piano(k, f0, rng):
    b = rng.uniform(0.5e-4, 4e-4)  # string stiffness: partials stretched sharp
    amp = k ** -rng.uniform(0.6, 1.2) * (1 + 0.3 * rng.random(k.size))
    return k * np.sqrt(1 + b * k * k), amp, rng.uniform(0.8, 3.0) * k**0.6, 0.0, 0.004


def _bowed(k, f0, rng):
    amp = (1.0 / k) * (1 + 0.6 * rng.random(k.size))  # sawtooth-like with a body resonance ripple
    return k.astype(float), amp, np.full(k.size, rng.uniform(0.0, 0.6)), rng.uniform(0.003, 0.012), 0.06


def _organ(k, f0, rng):
    amp = np.where(np.isin(k, (1, 2, 3, 4, 6, 8)), rng.uniform(0.05, 1.0, k.size), 0.0)
    amp[0] = 1.0
    return k.astype(float), amp, np.zeros(k.size), 0.0, 0.02


def _flute(k, f0, rng):
    amp = np.exp(-(k - 1) * rng.uniform(1.2, 3.0))  # nearly a sine: the hardest for a DTMF receiver
    return k.astype(float), amp, np.full(k.size, rng.uniform(0.0, 0.4)), rng.uniform(0.0, 0.008), 0.04


def _clarinet(k, f0, rng):
    amp = np.where(k % 2 == 1, 1.0 / k, 0.08 / k)
    return k.astype(float), amp, np.full(k.size, rng.uniform(0.0, 0.5)), rng.uniform(0.0, 0.004), 0.03


def _brass(k, f0, rng):
    peak_k = rng.uniform(2, 5)
    amp = np.exp(-((k - peak_k) ** 2) / (2 * 2.5**2))
    return k.astype(float), amp, np.full(k.size, rng.uniform(0.0, 0.8)), rng.uniform(0.0, 0.006), 0.05


def _sine_pad(k, f0, rng):
    amp = np.where(k == 1, 1.0, np.where(k == 2, rng.uniform(0.0, 0.15), 0.0))
    return k.astype(float), amp, np.full(k.size, rng.uniform(0.0, 1.0)), rng.uniform(0.0, 0.003), 0.08


INSTRUMENTS = {"pluck": _pluck, "piano": _piano, "bowed": _bowed, "organ": _organ, "flute": _flute,
               "clarinet": _clarinet, "brass": _brass, "sine_pad": _sine_pad}


def note(f0, n, instrument, rng):
    """Return n samples of one note of `instrument` at fundamental f0 (partials up to 3.9 kHz, unit peak)."""
    k = np.arange(1, max(2, int(3900 // f0)) + 1)
    ratio, amp, decay, depth, attack = INSTRUMENTS[instrument](k, f0, rng)
    keep = (ratio * f0 < 3900) & (amp > 1e-3)
    ratio, amp, decay = ratio[keep], amp[keep], np.broadcast_to(decay, k.shape)[keep]
    t = np.arange(n) / FS
    vib = np.ones(n)
    if depth > 0:
        vib += depth * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t + rng.uniform(0, 6.3)) * np.minimum(1, t / 0.2)
    base = 2 * np.pi * f0 * np.cumsum(vib) / FS
    x = np.zeros(n)
    for r, a, d in zip(ratio, amp, decay):
        x += a * np.exp(-d * t) * np.sin(r * base + rng.uniform(0, 6.3))
    env = np.minimum(1.0, t / attack) * np.minimum(1.0, (t[::-1] + 1 / FS) / 0.01)  # attack; 10 ms release
    x *= env
    return x / (np.max(np.abs(x)) + 1e-12)


def _tuning(rng):
    return rng.uniform(430.0, 450.0)  # A4: orchestras, old recordings and detuned radio all differ


def _pitch(midi, a4):
    return a4 * 2.0 ** ((midi - 69) / 12.0)


CHORDS = ((0, 4, 7), (0, 3, 7), (0, 4, 7, 10), (0, 3, 7, 10), (0, 4, 7, 11), (0, 5, 7), (0, 7), (0, 2, 7),
          (0, 4, 7, 14), (0, 3, 6, 9), (0, 1, 5), (0, 4, 8))


def _chord_notes(rng):
    root = int(rng.integers(36, 80))
    shape = CHORDS[rng.integers(0, len(CHORDS))]
    notes = [root + i + 12 * int(rng.integers(0, 2) * (j > 0)) for j, i in enumerate(shape)]
    return notes[: int(rng.integers(2, 6))]


def _mix_notes(pitches, n, rng, instrument=None, spread=0.0):
    """Return the sum of notes at `pitches` (Hz), each with its own start offset up to `spread` seconds."""
    x = np.zeros(n)
    for f in pitches:
        if not 60 <= f < 3800:
            continue
        off = int(rng.uniform(0, spread) * FS)
        inst = instrument or list(INSTRUMENTS)[rng.integers(0, len(INSTRUMENTS))]
        x[off:] += note(f, n - off, inst, rng) * rng.uniform(0.4, 1.0)
    return x


def _make_music(seconds, rng):
    def piece():
        n = int(rng.uniform(0.4, 3.0) * FS)
        a4 = _tuning(rng)
        inst = list(INSTRUMENTS)[rng.integers(0, len(INSTRUMENTS))]
        x = _mix_notes([_pitch(m, a4) for m in _chord_notes(rng)], n, rng, inst, spread=rng.uniform(0, 0.08))
        if rng.random() < 0.6:  # a melody over the chord: short notes of another instrument
            pos, lead = 0, list(INSTRUMENTS)[rng.integers(0, len(INSTRUMENTS))]
            base = int(rng.integers(60, 88))
            while pos < n:
                m = int(rng.uniform(0.08, 0.5) * FS)
                f = _pitch(base + int(rng.choice((0, 2, 4, 5, 7, 9, 11, 12))), a4)
                x[pos:pos + m] += note(f, min(m, n - pos), lead, rng) * rng.uniform(0.5, 1.2)
                pos += m
        return _at_level(x, rng.uniform(-25, -8)) + white_noise(n, rng.uniform(-60, -45), rng)

    return _until(seconds, piece)


def music(seconds, seed=2):
    """Return `seconds` of instrument music: chords of 2-5 equal-tempered notes with a melody, many timbres."""
    return _cached("music", seconds, seed, _make_music)


def _near(f, a4, harmonic=1):
    """Return the equal-tempered pitch whose `harmonic`-th partial is nearest f."""
    m = np.round(69 + 12 * np.log2(f / harmonic / a4))
    return _pitch(m, a4)


def _make_adversarial(seconds, rng):
    def piece():
        n = int(rng.uniform(0.3, 2.5) * FS)
        r, c = ROWS[rng.integers(0, 4)], COLS[rng.integers(0, 4)]
        a4 = _tuning(rng)
        style = rng.integers(0, 3)
        if style == 0:  # the notes themselves near the row and column tones
            pitches = [_near(r, a4), _near(c, a4)]
        elif style == 1:  # harmonics of lower notes land on the row and column tones (F4's 2nd is 698.5 Hz)
            pitches = [_near(r, a4, int(rng.integers(2, 5))), _near(c, a4, int(rng.integers(2, 6)))]
        else:  # free detuning 0-4% (glissandi, vibrato, tape speed)
            pitches = [r * (1 + rng.uniform(-0.04, 0.04)), c * (1 + rng.uniform(-0.04, 0.04))]
        extra = int(rng.integers(0, 4))
        pitches += [_pitch(int(rng.integers(48, 90)), a4) for _ in range(extra)]
        x = _mix_notes(pitches, n, rng, spread=rng.uniform(0, 0.05))
        return _at_level(x, rng.uniform(-25, -6)) + white_noise(n, rng.uniform(-60, -40), rng)

    return _until(seconds, piece)


def adversarial(seconds, seed=3):
    """Return `seconds` of chords chosen near DTMF row/column pairs (notes or their harmonics), many timbres."""
    return _cached("adversarial", seconds, seed, _make_adversarial)


def _formant_voice(f0, n, vowel, rng):
    """Return a sung vowel: glottal harmonics of f0 (with vibrato) shaped by the vowel's three formants."""
    t = np.arange(n) / FS
    vib = 1 + rng.uniform(0.005, 0.02) * np.sin(2 * np.pi * rng.uniform(4.5, 6.5) * t) * np.minimum(1, t / 0.3)
    base = 2 * np.pi * f0 * np.cumsum(vib) / FS
    x = np.zeros(n)
    for k in range(1, int(3800 // f0) + 1):
        fk = k * f0
        gain = sum(1.0 / (1 + ((fk - fm) / (60 + 0.06 * fm)) ** 2) for fm in FORMANTS[vowel]) / k**0.5
        x += gain * np.sin(k * base + rng.uniform(0, 6.3))
    env = np.minimum(1, t / 0.05) * np.minimum(1, (t[::-1] + 1 / FS) / 0.05)
    return x * env


def _make_sung(seconds, rng):
    turn = itertools.count()

    def piece():
        i = next(turn)
        if i % 2 == 0:  # espeak-ng, drawn-out syllables
            voice, pitch = SINGERS[(i // 2) % len(SINGERS)]
            words = " ".join(rng.permutation(SYLLABLES.split())[:6])
            x = _espeak(["-v", voice, "-s", "80", "-p", str(pitch), "-g", "2"], words)
        else:  # source-filter singer on scale pitches from bass to soprano
            a4 = _tuning(rng)
            x = np.concatenate([_formant_voice(_pitch(int(rng.integers(40, 86)), a4), int(rng.uniform(0.2, 1.5) * FS),
                                               int(rng.integers(0, 5)), rng) for _ in range(int(rng.integers(2, 6)))])
        return _at_level(x, rng.uniform(-25, -8)) + white_noise(x.size, rng.uniform(-60, -40), rng)

    return _until(seconds, piece)


def sung(seconds, seed=4):
    """Return `seconds` of sung vowels (espeak-ng voices and a formant singer), 8 kHz int16."""
    return _cached("sung", seconds, seed, _make_sung)


def _make_radio(seconds, rng):
    a = music(seconds, seed=int(rng.integers(100, 1000))).astype(float)
    b = speech(seconds, seed=int(rng.integers(100, 1000))).astype(float)
    n = min(a.size, b.size)
    duck = 10 ** (rng.uniform(-15, 0, n // FS + 1) / 20).repeat(FS)[:n]  # music ducked under the announcer
    return a[:n] * duck + b[:n]


def radio(seconds, seed=5):
    """Return `seconds` of music and speech mixed (radio, on-hold music with announcements)."""
    return _cached("radio", seconds, seed, _make_radio)


def _make_noise(seconds, rng):
    def piece():
        n = int(rng.uniform(1, 5) * FS)
        w = rng.normal(0, 1, n)
        kind = rng.integers(0, 3)
        if kind == 1:  # pink-ish: running sum with leak
            w = np.convolve(w, 0.98 ** np.arange(200), mode="same")
        elif kind == 2:  # babble-like: noise with a syllable-rate envelope and random resonances
            for fc in rng.uniform(300, 3000, 3):
                w = w + np.convolve(w, np.cos(2 * np.pi * fc * np.arange(40) / FS) * np.hanning(40), mode="same")
            w = w * (0.3 + np.abs(np.sin(2 * np.pi * rng.uniform(2, 6) * np.arange(n) / FS)))
        w[rng.integers(0, n, int(rng.integers(0, 8)))] += rng.normal(0, 20, 1).item()  # clicks
        return _at_level(w, rng.uniform(-35, -5))

    return _until(seconds, piece)


def noise(seconds, seed=6):
    """Return `seconds` of white, pink and babble-like noise with clicks at -35 to -5 dBm0."""
    return _cached("noise", seconds, seed, _make_noise)


def music_like(seconds, seed=1):
    """Return `seconds` of the older music-like signal: harmonic chords, glides and sweeps."""
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


# material name -> (maker, minutes in the full `make talkoff` run)
MATERIALS = {
    "speech": (speech, 30), "sung": (sung, 10), "music": (music, 30), "adversarial": (adversarial, 20),
    "radio": (radio, 10), "noise": (noise, 5), "music_like": (music_like, 15),
}


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


def judge(x2d, channel, digit, start, end):
    """Return 'genuine', 'gray' or 'false' for a detection of `digit` on x2d[channel, start:end].

    genuine: a DTMF signal by Q.24's own definition, which a receiver must accept. Over the whole detection or over
    its first 60 ms (the part a receiver decides on: a chord whose other notes enter later is a DTMF signal until
    they do), the two strongest spectral peaks lie within 1.5% of the digit's nominal frequencies and hold >= 80%
    of the power of the full 0-4 kHz band (a chord can hold two nearly pure notes that close: F5 = 698.5 Hz is
    0.2% from 697).
    gray: the same but with a peak 1.5-3.5% off, the band where Q.24 leaves the receiver free.
    false: anything else.
    """
    start = max(0, start)
    first = min(end, start + 480)
    tol = min(_pair_offset(x2d[channel, start:end], digit), _pair_offset(x2d[channel, start:first], digit))
    return "genuine" if tol <= 0.015 else "gray" if tol < 0.035 else "false"


def _pair_offset(seg, digit):
    """Return the larger relative offset of seg's two strongest peaks near the digit's tones, or 1.0 when those two
    peaks hold less than 80% of seg's power (or seg is too short to tell)."""
    from pycallcenter.dsp.reference.dtmf import DIGITS

    seg = seg.astype(np.float64)
    if seg.size < 256:
        return 1.0
    spec = np.abs(np.fft.rfft(seg * np.hanning(seg.size), 16 * seg.size)) ** 2
    f = np.fft.rfftfreq(16 * seg.size, 1 / FS)
    i = DIGITS.index(digit)
    share, worst = 0.0, 0.0
    for nominal in (ROWS[i // 4], COLS[i % 4]):
        band = (f > nominal * 0.95) & (f < nominal * 1.05)
        k = np.flatnonzero(band)[np.argmax(spec[band])]
        worst = max(worst, abs(f[k] / nominal - 1))
        share += spec[max(0, k - 40): k + 41].sum()
    return worst if share >= 0.8 * spec.sum() else 1.0


def verdicts(x2d, spans):
    """Return {'genuine': n, 'gray': n, 'false': n} over detections given as (channel, digit, start, end)."""
    out = {"genuine": 0, "gray": 0, "false": 0}
    for c, d, s, e in spans:
        out[judge(x2d, c, d, s, e)] += 1
    return out


def ours(x2d, detector_factory, tick=160):
    """Return the verdicts on the digits our detector reports on (channels, samples) talk-off audio."""
    return verdicts(x2d, [(e.channel, e.digit, e.start, e.end) for e in detections(x2d, detector_factory, tick)])


def spandsp_verdicts(x2d, spandsp, tick=160):
    """Return the verdicts on the digits spandsp reports on the same audio, judged the same way."""
    rx = spandsp.DtmfReceiver(x2d.shape[0])
    for i in range(0, x2d.shape[1], tick):
        rx.process(np.ascontiguousarray(x2d[:, i:i + tick]))
    return verdicts(x2d, [(c, d, s, e) for c in range(x2d.shape[0]) for d, s, e in rx.digit_spans(c)])
