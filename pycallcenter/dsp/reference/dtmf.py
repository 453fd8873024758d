"""DTMF receiver, numpy reference twin: the readable specification the native kernel must match event for event.

Signal path (all arithmetic float32, in exactly this order, so the C kernel can reproduce it bit for bit; where
``fma`` is written, a*b + c is rounded once, as a fused multiply-add instruction does, see ``fma32``):

1. int16 -> float32, then decimation to 4 kHz by a 15-tap half-band FIR (passband to 1700 Hz within +-0.45 dB,
   -26 dB from 2300 Hz): the highest digit tone is 1633 Hz, so every later stage runs at half the rate. Its taps
   after the first are fused multiply-adds (one rounding each instead of two: cheaper in the kernel, and a
   relative difference of about 1e-7 in the low band, which no threshold sees).
   Decimated sample m is computed when input sample t = 2m+1 arrives and stands for input time t-7.
   The high band (2-4 kHz) is kept as the input minus the low band at the same instants: it counts in the
   block's energy, so harmonics above 2 kHz lower the tones' share like any other component.
   Optional dial-tone filter: two IIR notches (zeros on the unit circle at 350 and 440 Hz, poles at radius 0.98)
   in series, so a dial tone 10 dB above the digits neither leaks into the tone bins nor spoils the purity test.
2. Hann-windowed blocks of N=52 decimated samples (13 ms) with a hop of H=26 (half-block overlap); block k covers
   decimated samples [kH, kH+N). Each block runs 8 Goertzel filters (4 row, 4 column frequencies) and sums its
   windowed energy T of both bands (the notched low band and the high band).
3. Per block: the strongest row r and column c (first maximum wins a tie); the block is a *candidate* for digit
   (r, c) when both tone energies reach a lenient level (10 dB under the strict one, since partly covered
   edge blocks are weaker), the twist is within limits and purity = (Er + Ec) * K / T >= 0.35, K normalising a
   clean full-block tone pair to 1. A partly covered block of a clean tone has purity ~= the covered fraction
   (0.5 when the tone fills exactly half of the block).
   Frequency: the phase advance of each chosen bin between consecutive blocks, minus the nominal w0*H, is
   (w - w0)*H, so |deviation| <= freq_tolerance is a test on the rotated cross product (no atan, no sqrt).
4. Consecutive candidate blocks of one digit form a run. The run confirms a digit (``begin`` event) once
   - at least ``strong_blocks`` (3) of its blocks have purity >= min_purity (0.8; clean full blocks of real
     digits score about 0.9-1 even at 15 dB S/N with 1.5% deviation and twist, speech rarely passes 0.75),
     and its best min(Er, Ec) >= the strict level,
   - at least ``on_blocks`` (5) blocks have purity >= half the run's best (tone covers >= half the block),
     which means >= 5*52 input samples of tone: 40 ms tones always qualify, 23 ms tones never do,
   - at least two pairs of near-full consecutive blocks (purity >= 0.75 of the best) exist and every such pair
     passes the frequency test (one failing pair kills the run),
   - the run's mean phase advance of each tone, summed over those pairs, is within ``run_freq_tolerance`` (1.6%):
     averaging makes the estimate precise enough to sit just above Q.24's 1.5% (talk-off: two notes 1.6-3.5% off
     a pair, or a note and its own second harmonic, which no DTMF pair within 2.1% can be),
   - each tone's share of the band, corrected by the window's gain at that mean offset (a cubic in 1 - cos of the
     phase offset), gives a corrected purity that reaches ``tone_purity`` (0.93) in ``strong_blocks`` blocks and
     averages ``run_purity`` (0.9) over the near-full blocks (talk-off: a third tone, harmonics, chords).
5. A confirmed digit ends after ``off_blocks`` (4) consecutive blocks that are not candidates for it, so an
   interruption of 10 ms or less (at most 2 such blocks) is bridged. Start = centre of the first counted block
   minus half a hop, end (exclusive) = centre of the last counted block plus half a hop, in input samples
   (block k's centre is input sample 52k + 46): within about +-30 samples of truth.

6. Rest: a channel whose last ``rest_ms`` of blocks (40 ms: 6 blocks) each held at most the energy of a sine of
   peak ``rest_peak`` (64, about -51 dBm0: far below any tone the receiver may take, -45 dBm0 and up, and above
   quiet line noise), and that has no run or digit in progress, goes to rest at the end of a tick: its signal state
   (decimator, notches, filters, block energies, previous bins) returns to zero. While it rests, a tick whose
   samples all stay within +-``rest_peak`` is taken as silence (zeros into the filters, the state held at zero, no
   block a candidate); the first tick with a louder sample wakes it, from zero state, and its count of quiet blocks
   starts again. The effect is limited to signals that stay that weak for 40 ms; what it saves is all the work for
   idle channels (a native kernel skips whole groups of them, and the test costs awake channels nothing).

Events are ``DtmfEvent(channel, digit, kind, start, end)`` with kind 'begin' (end None) or 'end', ordered by the
block that produced them, then by channel. Sample numbers count from the detector's creation.
"""
import functools
from typing import NamedTuple, Optional

import numpy as np

SAMPLE_RATE = 8000
N = 52  # block, decimated samples
H = 26  # hop, decimated samples
HOP_IN = 2 * H  # hop in input samples
RATE = SAMPLE_RATE // 2  # after decimation
# half-band decimator taps at odd offsets 1, 3, 5, 7 from the centre (centre 0.5; even offsets are zero)
HALFBAND = (0.315567, -0.097728, 0.05059, -0.042211)
FIR_LEN = 15
ROWS = (697.0, 770.0, 852.0, 941.0)
COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DIGITS = "123A456B789C*0#D"
DIALTONE = (350.0, 440.0)
NOTCH_RADIUS = 0.98
HISTORY = 16
DENORMAL_GUARD = np.float32(1e-10)
# 0 dBm0 is 3.14 dB below the G.711 full-scale sine (peak 32768)
DBM0_PEAK = 32768.0 * 10.0 ** (-3.14 / 20.0)
F32 = np.float32


def fma32(a, b, c):
    """Return float32 a*b + c rounded once (the result of a fused multiply-add instruction), for float32 inputs.

    In float64 the product is exact (24 + 24 bits) and the sum is rounded; TwoSum gives that rounding's error, and
    rounding the sum to odd (a last bit of 1 when inexact) makes the final rounding to float32 the correct one
    (53 >= 2 * 24 + 2), with no double-rounding error."""
    a, b, c = (np.asarray(v, np.float64) for v in (a, b, c))
    p = a * b
    s = p + c
    v = s - p
    err = (p - (s - v)) + (c - v)
    fix = (err != 0) & ((s.view(np.int64) & 1) == 0)
    if fix.any():
        s = np.where(fix, np.nextafter(s, np.where(err > 0, np.inf, -np.inf)), s)
    return s.astype(F32)

DEFAULTS = dict(
    min_level_dbm0=-42.0,
    twist_db=10.0,
    reverse_twist_db=6.0,
    freq_tolerance=0.025,
    run_freq_tolerance=0.016,
    min_purity=0.8,
    tone_purity=0.93,
    run_purity=0.9,
    strong_blocks=3,
    candidate_purity=0.35,
    on_blocks=5,
    off_blocks=4,
    dialtone_filter=True,
    rest_peak=64,
    rest_ms=40.0,
)


class DtmfEvent(NamedTuple):
    """One detector event: kind 'begin' (end is None) or 'end'; start/end are sample numbers (end exclusive)."""

    channel: int
    digit: str
    kind: str
    start: int
    end: Optional[int]


@functools.lru_cache(maxsize=None)
def _gain_poly():
    """Return the cubic in u = 1 - cos(phase offset per hop) giving 1 / (window gain) for a tone off its bin.

    A tone off its bin by d bins shifts phase by pi*d per hop (H = N/2); the fit is within 0.1% up to 0.54 bins
    (2.5% at 1633 Hz).
    """
    win = _window().astype(np.float64)
    theta = np.linspace(0.0, 1.7, 200)
    n = np.arange(N)
    resp = np.abs(np.exp(-1j * np.outer(theta / N * 2.0, n)) @ win) ** 2
    resp /= float(np.sum(win, dtype=np.float64)) ** 2
    return np.polyfit(1.0 - np.cos(theta), 1.0 / resp, 3).astype(F32)  # computed once: a least-squares fit


def _window():
    """Return the float32 Hann window of one block."""
    return (0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(N) + 0.5) / N)).astype(F32)


def make_tables(**params):
    """Return the dict of float32 tables and thresholds both implementations use, from the parameters."""
    p = dict(DEFAULTS)
    unknown = set(params) - set(p)
    if unknown:
        raise TypeError(f"unknown DTMF parameters: {sorted(unknown)}")
    p.update(params)
    if not 0.0 < p["run_freq_tolerance"] <= p["freq_tolerance"] < 0.1:
        raise ValueError("need 0 < run_freq_tolerance <= freq_tolerance < 0.1")
    if not 0.0 < p["candidate_purity"] <= p["min_purity"] <= 1.0:
        raise ValueError("need 0 < candidate_purity <= min_purity <= 1")
    if not 0.0 < p["run_purity"] <= p["tone_purity"] <= 1.5:
        raise ValueError("need 0 < run_purity <= tone_purity <= 1.5")
    if not (-1 <= int(p["rest_peak"]) <= 32767 and 0 < p["rest_ms"] <= 1500):
        raise ValueError("need -1 <= rest_peak <= 32767 (-1: never rest) and 0 < rest_ms <= 1500")
    if not (1 <= int(p["on_blocks"]) <= 12 and 1 <= int(p["off_blocks"]) <= 64 and 1 <= int(p["strong_blocks"]) <= 12):
        raise ValueError("on_blocks and strong_blocks must be 1..12 and off_blocks 1..64")
    freqs = np.array(ROWS + COLS)
    omega = 2.0 * np.pi * freqs / RATE
    win = 0.5 - 0.5 * np.cos(2.0 * np.pi * (np.arange(N) + 0.5) / N)
    win32 = _window()
    amp = DBM0_PEAK * 10.0 ** (p["min_level_dbm0"] / 20.0)
    level = (amp * float(np.sum(win32, dtype=np.float64)) / 2.0) ** 2
    cos_tol = np.cos(2.0 * np.pi * p["freq_tolerance"] * freqs * H / RATE)
    cos_run = np.cos(2.0 * np.pi * p["run_freq_tolerance"] * freqs * H / RATE)
    nw = 2.0 * np.pi * np.array(DIALTONE) / RATE
    return dict(
        halfband=np.array(HALFBAND, dtype=F32),
        window=win32,
        coef=(2.0 * np.cos(omega)).astype(F32),
        cosw=np.cos(omega).astype(F32),
        sinw=np.sin(omega).astype(F32),
        cosh=np.cos(omega * H).astype(F32),
        sinh=np.sin(omega * H).astype(F32),
        costol=(cos_tol * np.abs(cos_tol)).astype(F32),
        costol_run=(cos_run * np.abs(cos_run)).astype(F32),
        gain_poly=_gain_poly(),
        tone_purity=F32(p["tone_purity"]),
        run_purity=F32(p["run_purity"]),
        notch_a=(2.0 * np.cos(nw)).astype(F32),
        notch_b1=(2.0 * NOTCH_RADIUS * np.cos(nw)).astype(F32),
        notch_b2=np.full(2, NOTCH_RADIUS**2, dtype=F32),
        norm=F32(2.0 * np.sum(win**2) / np.sum(win) ** 2),
        level=F32(level),
        cand_level=F32(level * 0.1),
        twist=F32(10.0 ** (p["twist_db"] / 10.0)),
        rtwist=F32(10.0 ** (p["reverse_twist_db"] / 10.0)),
        min_purity=F32(p["min_purity"]),
        cand_purity=F32(p["candidate_purity"]),
        on_blocks=int(p["on_blocks"]),
        strong_blocks=int(p["strong_blocks"]),
        off_blocks=int(p["off_blocks"]),
        dialtone=bool(p["dialtone_filter"]),
        rest_peak=int(p["rest_peak"]),
        # a block's energy (both bands) for a sine of peak rest_peak: sum(w^2) * peak^2 / 2
        rest_energy=F32(float(np.sum(win32.astype(np.float64) ** 2)) * int(p["rest_peak"]) ** 2 / 2.0
                        if p["rest_peak"] >= 0 else -1.0),  # no block has negative energy: never rest
        rest_blocks=max(1, int(round(p["rest_ms"] * SAMPLE_RATE / 1000 / HOP_IN))),
    )


class _Chan:
    """Per-channel decision state (the run tracker and the confirmed-digit tracker)."""

    def __init__(self):
        self.run_d = -1
        self.run_first = 0
        self.run_dead = False
        self.hist = []  # (purity, freq_ok, level) per block of the run, at most HISTORY
        self.on_d = -1
        self.on_start = 0
        self.on_end = 0
        self.on_max = F32(0)
        self.on_off = 0


def _run_gains(tb, hist, d, lim):
    """Return (row gain, column gain) undoing the window's loss at the run's mean frequency offset, or None.

    None when the mean phase advance of a tone over the run's near-full block pairs is out of run tolerance.
    """
    gains = []
    for j, idx in ((3, d // 4), (5, 4 + d % 4)):  # hist columns of the row's and the column's rotated products
        zr, zi = F32(0), F32(0)
        for i in range(1, len(hist)):
            if hist[i][0] >= lim and hist[i - 1][0] >= lim:
                zr = zr + hist[i][j]
                zi = zi + hist[i][j + 1]
        m = zr * zr + zi * zi
        if not (m > 0 and zr * abs(zr) >= tb["costol_run"][idx] * m):
            return None
        u = F32(1) - zr / np.sqrt(m)  # 1 - cos(phase offset per hop)
        g = tb["gain_poly"]
        gains.append(((g[0] * u + g[1]) * u + g[2]) * u + g[3])
    return gains


def decide(st, tb, k, d, pur, fok, lvl, z, channel, out):
    """Advance one channel's decision state by block k's verdict; append DtmfEvents to out."""
    half, near = F32(0.5), F32(0.75)
    centre = k * HOP_IN + HOP_IN - 6
    if st.on_d >= 0:
        if d == st.on_d:
            st.on_off = 0
            if pur > st.on_max:
                st.on_max = pur
            if pur >= half * st.on_max:
                st.on_end = centre + H
        else:
            st.on_off += 1
            if st.on_off >= tb["off_blocks"]:
                out.append(DtmfEvent(channel, DIGITS[st.on_d], "end", st.on_start, st.on_end))
                st.on_d = -1
    if d < 0:
        st.run_d, st.hist, st.run_dead = -1, [], False
    elif st.hist and d == st.run_d:
        if len(st.hist) == HISTORY:
            st.hist.pop(0)
            st.run_first += 1
        st.hist.append((pur, fok, lvl, *z))
    else:
        st.run_d, st.run_first, st.run_dead = d, k, False
        st.hist = [(pur, False, lvl, F32(0), F32(0), F32(0), F32(0), z[4], z[5])]
    if st.on_d >= 0 or not st.hist or st.run_dead:
        return
    pm = max(h[0] for h in st.hist)
    lm = max(h[2] for h in st.hist)
    strong = sum(1 for h in st.hist if h[0] >= tb["min_purity"])
    if strong < tb["strong_blocks"] or lm < tb["level"]:
        return
    counted = [i for i, h in enumerate(st.hist) if h[0] >= half * pm]
    if len(counted) < tb["on_blocks"]:
        return
    lim = near * pm
    pairs = 0
    for i in range(1, len(st.hist)):
        if st.hist[i][0] >= lim and st.hist[i - 1][0] >= lim:
            if not st.hist[i][1]:
                st.run_dead = True
                return
            pairs += 1
    if pairs < 2:
        return
    gains = _run_gains(tb, st.hist, st.run_d, lim)
    if gains is None:
        return
    # the two tones' share of the band, corrected for the frequency offset: enough blocks reach tone_purity and
    # the near-full blocks' mean reaches run_purity
    pure, total, full = 0, F32(0), 0
    for h in st.hist:
        share = h[7] * gains[0] + h[8] * gains[1]
        pure += share >= tb["tone_purity"]
        if h[0] >= lim:
            total = total + share
            full += 1
    if pure < tb["strong_blocks"] or total < tb["run_purity"] * F32(full):
        return
    st.on_d = st.run_d
    st.on_start = (st.run_first + counted[0]) * HOP_IN + HOP_IN - 6 - H
    st.on_end = (st.run_first + counted[-1]) * HOP_IN + HOP_IN - 6 + H
    st.on_max = pm
    st.on_off = 0
    out.append(DtmfEvent(channel, DIGITS[st.on_d], "begin", st.on_start, None))


def block_features(tb, s1, s2, energy, prev):
    """Return per-channel (digit or -1, purity, freq_ok, level) and the new complex bins, for completed blocks.

    s1, s2: (channels, 8) Goertzel states; energy: (channels,) windowed energy; prev: (re, im) of the previous block.
    """
    re = s1 - s2 * tb["cosw"]
    im = s2 * tb["sinw"]
    e = re * re + im * im
    ch = np.arange(s1.shape[0])
    r = np.argmax(e[:, :4], axis=1)
    c = np.argmax(e[:, 4:], axis=1) + 4
    er, ec = e[ch, r], e[ch, c]
    ok = (er >= tb["cand_level"]) & (ec >= tb["cand_level"]) & (er <= tb["twist"] * ec) & (ec <= tb["rtwist"] * er)
    tot = (er + ec) * tb["norm"]
    safe = np.where(energy > 0, energy, F32(1))
    pur = np.where(energy > 0, tot / safe, F32(0)).astype(F32)
    share_r = np.where(energy > 0, (er * tb["norm"]) / safe, F32(0)).astype(F32)  # each tone's share alone
    share_c = np.where(energy > 0, (ec * tb["norm"]) / safe, F32(0)).astype(F32)
    ok &= pur >= tb["cand_purity"]
    d = np.where(ok, r * 4 + (c - 4), -1)
    fok = np.ones(s1.shape[0], dtype=bool)
    pre, pim = prev
    z = []
    for idx in (r, c):
        a_re, a_im = re[ch, idx], im[ch, idx]
        b_re, b_im = pre[ch, idx], pim[ch, idx]
        pr = a_re * b_re + a_im * b_im
        pi = a_im * b_re - a_re * b_im
        zr = pr * tb["cosh"][idx] + pi * tb["sinh"][idx]
        zi = pi * tb["cosh"][idx] - pr * tb["sinh"][idx]
        m = zr * zr + zi * zi
        fok &= (m > 0) & (zr * np.abs(zr) >= tb["costol"][idx] * m)
        z += [zr, zi]
    return d, pur, fok, np.minimum(er, ec), z + [share_r, share_c], (re, im)


class DtmfDetector:
    """Reference DTMF detector for N channels; ``process(block)`` takes one tick and returns DtmfEvents."""

    def __init__(self, channels, **params):
        if int(channels) < 1:
            raise ValueError("channels must be >= 1")
        self.channels = int(channels)
        self.tb = make_tables(**params)
        self.t = 0  # decimated samples
        self.t_in = 0  # input samples
        self._zero_all()

    def _zero_all(self):
        c = self.channels
        self.hist = np.zeros((c, FIR_LEN), F32)  # last 15 input samples, newest last
        self.nx = np.zeros((4, 2, c), F32)  # x1, x2, y1, y2 per notch
        self.s1 = np.zeros((c, 2, 8), F32)
        self.s2 = np.zeros((c, 2, 8), F32)
        self.en = np.zeros((c, 2), F32)
        self.enh = np.zeros((c, 2), F32)
        self.prev = (np.zeros((c, 8), F32), np.zeros((c, 8), F32))
        self.st = [_Chan() for _ in range(c)]
        self.calm = np.zeros(c, np.int64)  # blocks since the last one above rest_energy
        self.rest = np.zeros(c, bool)

    def _zero_signal(self, m):
        """Set the signal state of the channels m (an index or a mask) to zero; the decision state is kept."""
        self.hist[m] = 0
        self.nx[:, :, m] = 0
        self.s1[m] = 0
        self.s2[m] = 0
        self.en[m] = 0
        self.enh[m] = 0
        self.prev[0][m] = 0
        self.prev[1][m] = 0

    def reset(self, channel):
        """Forget channel's signal and digit state (a new call); sample numbering continues."""
        if not 0 <= channel < self.channels:
            raise ValueError(f"channel {channel} out of range")
        self._zero_signal(channel)
        self.st[channel] = _Chan()
        self.calm[channel] = 0
        self.rest[channel] = False

    def _notch(self, x):
        tb = self.tb
        for j in range(2):
            x1, x2, y1, y2 = self.nx[0, j], self.nx[1, j], self.nx[2, j], self.nx[3, j]
            u = x + x2
            u = fma32(-tb["notch_a"][j], x1, u)
            u = fma32(-tb["notch_b2"][j], y2, u)
            y = fma32(tb["notch_b1"][j], y1, u)
            self.nx[1, j], self.nx[0, j] = x1, x
            self.nx[3, j], self.nx[2, j] = y1, y
            x = y
        return x

    def _decimate(self):
        h, hb = self.hist, self.tb["halfband"]
        acc = None
        for j in range(4):  # taps at t-6/t-8, t-4/t-10, t-2/t-12, t/t-14 (newest is column 14)
            a = h[:, 8 + 2 * j] + h[:, 6 - 2 * j]  # exact: a sum of two int16 samples
            acc = hb[j] * a if acc is None else fma32(hb[j], a, acc)
        lp = acc + F32(0.5) * h[:, 7]  # the product is exact, so this is also fma32(0.5, h[:, 7], acc)
        return lp, h[:, 7] - lp  # the high band (2-4 kHz) is what the half-band filter took away

    def process(self, block):
        """Return the list of DtmfEvents produced by one (channels, samples) or 1-D int16 block."""
        x = np.asarray(block)
        if x.ndim == 1:
            x = x.reshape(1, -1)
        tb, out = self.tb, []
        if x.shape[1] == 0:
            return out
        still = (np.abs(x.astype(np.int32)) <= tb["rest_peak"]).all(axis=1)
        gated = self.rest & still  # resting and staying within the bound: silence
        self.calm[self.rest & ~still] = 0  # woken
        x = np.where(gated[:, None], F32(0), x.astype(F32))
        win, coef = tb["window"], tb["coef"]
        for n in range(x.shape[1]):
            self.hist[:, :-1] = self.hist[:, 1:]
            self.hist[:, -1] = x[:, n]
            self.t_in += 1
            if self.t_in % 2:  # input sample t = t_in - 1 is even: no decimated output
                continue
            y, hi = self._decimate()
            # the guard keeps the notches' decay out of subnormal floats (slow on x86); far below one int16 step
            y = self._notch(y + DENORMAL_GUARD) if tb["dialtone"] else y
            k1, ph = divmod(self.t, H)
            p1 = k1 & 1
            wy = np.empty((self.channels, 2), F32)
            wy[:, p1] = win[ph] * y
            wy[:, 1 - p1] = win[ph + H] * y
            wh = np.empty((self.channels, 2), F32)
            wh[:, p1] = win[ph] * hi
            wh[:, 1 - p1] = win[ph + H] * hi
            # purity is a share of the whole 0-4 kHz band, not of the decimated one; the two bands' energies are
            # summed apart (two short chains in the kernel) and added when the block completes
            self.en = fma32(wy, wy, self.en)
            self.enh = fma32(wh, wh, self.enh)
            t = wy[:, :, None] - self.s2  # this order keeps the native loop-carried chain short
            s = fma32(coef, self.s1, t)
            self.s2, self.s1 = self.s1, s
            self.t += 1
            if ph == H - 1:
                p0 = 1 - p1
                if k1 >= 1:
                    energy = self.en[:, p0] + self.enh[:, p0]
                    self.calm = np.where(energy <= tb["rest_energy"], self.calm + 1, 0)
                    d, pur, fok, lvl, z, self.prev = block_features(tb, self.s1[:, p0], self.s2[:, p0], energy, self.prev)
                    for c in range(self.channels):
                        if not gated[c]:  # (a resting channel has nothing in progress)
                            decide(self.st[c], tb, k1 - 1, int(d[c]), pur[c], bool(fok[c]), lvl[c],
                                   tuple(v[c] for v in z), c, out)
                self.s1[:, p0] = 0
                self.s2[:, p0] = 0
                self.en[:, p0] = 0
                self.enh[:, p0] = 0
        # a channel with rest_blocks quiet blocks and nothing in progress goes to rest
        idle = np.array([st.on_d < 0 and not st.hist for st in self.st])
        self.rest = gated | ((self.calm >= tb["rest_blocks"]) & idle)
        self._zero_signal(self.rest)
        return out
