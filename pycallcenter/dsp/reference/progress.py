"""Numpy twin of the call-progress detector: the readable specification the native kernel must match.

Audio is cut into 20 ms frames (160 samples). Each frame is least-squares fitted, for every
"tone class" (a set of 1-3 frequencies: the plan's tones, the SIT segments, 1100 Hz CNG, 2100 Hz CED),
by cos/sin pairs at those frequencies (int16 Q14 basis, exact int64 correlations, then a fixed order of
double operations that the native kernel repeats). A frame gets a symbol:

* a class index when that class explains >= MIN_FIT of the frame energy, every component carries
  >= MIN_SHARE of the fitted energy and the frame is louder than TONE_FLOOR (the best class wins);
* QUIET below SILENCE_FLOOR, VOICE for other frames above VOICE_FLOOR, LOW for the rest.

A per-channel state machine then measures on/off runs of the current class (bridging a single
non-tone frame, e.g. a CED phase reversal), matches the last few durations against each cadence of
that class within max(TOL_MS, TOL_PCT %), recognises SIT as three adjacent segments of the SIT
families (with the North American code from segment frequencies and durations), continuous tones
by their length (a stutter dial tone by its bursts), CNG by one 0.5 s burst, silence after SILENCE_MS
of quiet (held off while a cadence's off-period may still end), and voice after VOICE_MS of loud
non-tone frames.
"""
from typing import NamedTuple

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp import toneplans as tp
from pycallcenter.dsp._validate import as_batch

FRAME = 160
FRAME_MS = FRAME * 1000 // SAMPLE_RATE
MAX_CLASS_FREQS = 3
HIST = 8

KINDS = ("dial_tone", "busy", "ringback", "congestion", "sit", "fax_cng", "fax_ced", "silence", "voice")
K_DIAL, K_BUSY, K_RINGBACK, K_CONGESTION, K_SIT, K_CNG, K_CED, K_SILENCE, K_VOICE = range(len(KINDS))
SIT_DETAILS = tuple(name for name, _a, _b in tp.NA_SIT_CODES.values()) + ("itu", "unknown")
DIAL_DETAILS = ("", "stutter")  # stutter: the plan's stutter (message-waiting) dial tone
SIT_ITU = SIT_DETAILS.index("itu")
SIT_UNKNOWN = SIT_DETAILS.index("unknown")

# Roles of the single-frequency SIT classes.
R_NONE, R_LOW1, R_HIGH1, R_LOW2, R_HIGH2, R_THIRD, R_ITU1, R_ITU2, R_ITU3 = range(9)
SIT_ROLE_FREQS = {R_LOW1: tp.SIT_LOW1, R_HIGH1: tp.SIT_HIGH1, R_LOW2: tp.SIT_LOW2, R_HIGH2: tp.SIT_HIGH2,
                  R_THIRD: tp.SIT_THIRD, R_ITU1: tp.ITU_SIT[0], R_ITU2: tp.ITU_SIT[1], R_ITU3: tp.ITU_SIT[2]}
CNG_HZ, CNG_ON_MS, CED_HZ = 1100.0, 500, 2100.0

# Symbols of non-tone frames.
S_VOICE, S_QUIET, S_LOW = -1, -2, -3

# Parameters (int64 vector handed to the kernel), by index.
P_NAMES = ("n_freqs", "n_classes", "n_patterns", "tone_floor", "silence_floor", "voice_floor",
           "silence_frames", "voice_frames", "voice_reset_frames", "max_off_frames", "tol_ms", "tol_pct",
           "cng_class", "ced_class", "ced_frames", "sit_min_frames", "sit_max_frames", "sit_long_frames",
           "sit_max_gap", "tone_reset_frames")
P = {name: i for i, name in enumerate(P_NAMES)}

# Per-channel state (int64 row), by index; the last 2*HIST+3*3 entries are the duration history and SIT ring.
ST_NAMES = ("frame", "cls", "in_on", "run_len", "off_len", "glitch", "gap_before", "last_emit",
            "quiet_run", "tone_gap", "silence_done", "voice_count", "voice_done", "hist_n", "seg_n")
ST = {name: i for i, name in enumerate(ST_NAMES)}
ST_HIST = len(ST_NAMES)  # HIST durations (ms), then HIST on-flags
ST_SEG = ST_HIST + 2 * HIST  # 3 x (class, length, gap)
ST_SIZE = ST_SEG + 9


def dbm0_frame_energy(level_dbm0):
    """Return the int64 energy (sum of squares) of one frame of a sine at level_dbm0."""
    a = tp.amplitude(level_dbm0)
    return int(round(a * a / 2.0 * FRAME))


class ProgressEvent(NamedTuple):
    """One detection: channel, kind (see KINDS), absolute sample at which it was decided, detail."""

    channel: int
    kind: str
    sample: int
    detail: str


class DetectorConfig:
    """The numbers both implementations share: basis, classes with their Gram inverses, cadences, limits."""

    def __init__(self, plan="us", min_fit=0.75, min_share=0.1, tone_floor_dbm0=-45.0, silence_floor_dbm0=-55.0,
                 voice_floor_dbm0=-42.0, silence_ms=1000, voice_ms=300, tol_ms=60, tol_pct=12):
        self.plan = tp.get_plan(plan)
        for name, v in (("min_fit", min_fit), ("min_share", min_share)):
            if not isinstance(v, (int, float)) or not 0.0 < v < 1.0:
                raise ValueError(f"{name} must be in (0, 1), got {v!r}")
        for name, v in (("silence_ms", silence_ms), ("voice_ms", voice_ms), ("tol_ms", tol_ms), ("tol_pct", tol_pct)):
            if isinstance(v, bool) or not isinstance(v, int) or v <= 0:
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if not silence_floor_dbm0 < tone_floor_dbm0 or not silence_floor_dbm0 < voice_floor_dbm0:
            raise ValueError("silence floor must lie below the tone and voice floors")
        self.min_fit, self.min_share = float(min_fit), float(min_share)
        classes, self.roles, self.patterns, self.continuous = [], [], [], {}

        def class_of(freqs):
            key = tuple(sorted(float(f) for f in freqs))
            if key not in classes:
                classes.append(key)
                self.roles.append(R_NONE)
            return classes.index(key)

        plan_kinds = (("dial", K_DIAL), ("busy", K_BUSY), ("congestion", K_CONGESTION), ("ringback", K_RINGBACK))
        tone_classes = {}
        for name, spec in self.plan.tones.items():
            if not name.startswith("sit") and len(spec.carriers) <= MAX_CLASS_FREQS:
                tone_classes[name] = class_of(spec.carriers)
        max_off = 3000  # CNG's off-period
        for name, kind in plan_kinds:
            spec = self.plan.tone(name)
            if spec.continuous:
                continue
            flat = spec.on_off()
            max_off = max(max_off, max(flat[1::2]))
            period = sum(flat)
            confirm = len(flat) if len(flat) >= 4 else (4 if period < 2000 else 2)
            self.patterns.append((tone_classes[name], kind, flat, confirm, 0))
        stutter = self.plan.tones.get("stutter_dial")
        if stutter and len(stutter.steps) >= 2 and stutter.steps[0].components and not stutter.steps[1].components:
            flat = (stutter.steps[0].ms, stutter.steps[1].ms)
            self.patterns.append((tone_classes["stutter_dial"], K_DIAL, flat, 4, DIAL_DETAILS.index("stutter")))
        dial_cls = tone_classes["dial"]
        longest_on = max([max(p[2][0::2]) for p in self.patterns if p[0] == dial_cls] + [500])
        self.continuous[dial_cls] = (K_DIAL, max(1000, longest_on + 500) // FRAME_MS)
        for role, f in SIT_ROLE_FREQS.items():
            self.roles[class_of([f])] = role
        self.cng_class = class_of([CNG_HZ])
        self.ced_class = class_of([CED_HZ])
        self.classes = classes
        self.freqs = sorted({f for c in classes for f in c})
        n = np.arange(FRAME)
        basis = []
        for f in self.freqs:
            w = 2.0 * np.pi * f / SAMPLE_RATE
            basis += [np.rint(16384.0 * np.cos(w * n)), np.rint(16384.0 * np.sin(w * n))]
        self.basis = np.array(basis, dtype=np.int16)
        K = len(classes)
        self.cls_nf = np.array([len(c) for c in classes], np.int32)
        self.cls_cols = np.zeros((K, 2 * MAX_CLASS_FREQS), np.int32)
        self.cls_ginv = np.zeros((K, 2 * MAX_CLASS_FREQS, 2 * MAX_CLASS_FREQS), np.float64)
        b64 = self.basis.astype(np.float64)
        for k, c in enumerate(classes):
            cols = []
            for f in c:
                i = self.freqs.index(f)
                cols += [2 * i, 2 * i + 1]
            m = len(cols)
            self.cls_cols[k, :m] = cols
            g = b64[cols] @ b64[cols].T
            self.cls_ginv[k, :m, :m] = np.linalg.inv(g)
        self.cls_role = np.array(self.roles, np.int32)
        npat = len(self.patterns)
        self.pat_cls = np.array([p[0] for p in self.patterns], np.int32).reshape(npat)
        self.pat_kind = np.array([p[1] for p in self.patterns], np.int32).reshape(npat)
        self.pat_len = np.array([len(p[2]) for p in self.patterns], np.int32).reshape(npat)
        self.pat_confirm = np.array([p[3] for p in self.patterns], np.int32).reshape(npat)
        self.pat_detail = np.array([p[4] for p in self.patterns], np.int32).reshape(npat)
        self.pat_ms = np.zeros((npat, HIST), np.int32)
        for i, p in enumerate(self.patterns):
            self.pat_ms[i, :len(p[2])] = [int(round(v)) for v in p[2]]
        self.cont_frames = np.zeros(K, np.int32)
        self.cont_kind = np.zeros(K, np.int32)
        for k, (kind, frames) in self.continuous.items():
            self.cont_kind[k], self.cont_frames[k] = kind, frames
        self.sit_table = np.full(16, SIT_UNKNOWN, np.int32)
        for i, (h1, l1), (h2, l2) in ((i, v[1], v[2]) for i, v in enumerate(tp.NA_SIT_CODES.values())):
            self.sit_table[(h1 << 3) | (l1 << 2) | (h2 << 1) | l2] = i
        tol = max(tol_ms, max_off * tol_pct // 100)
        params = {
            "n_freqs": len(self.freqs), "n_classes": K, "n_patterns": npat,
            "tone_floor": dbm0_frame_energy(tone_floor_dbm0), "silence_floor": dbm0_frame_energy(silence_floor_dbm0),
            "voice_floor": dbm0_frame_energy(voice_floor_dbm0),
            "silence_frames": max(1, silence_ms // FRAME_MS), "voice_frames": max(1, voice_ms // FRAME_MS),
            "voice_reset_frames": 25, "max_off_frames": (max_off + tol) // FRAME_MS + 1,
            "tol_ms": tol_ms, "tol_pct": tol_pct, "cng_class": self.cng_class, "ced_class": self.ced_class,
            "ced_frames": 500 // FRAME_MS, "sit_min_frames": 160 // FRAME_MS, "sit_max_frames": 500 // FRAME_MS,
            "sit_long_frames": 16, "sit_max_gap": 3, "tone_reset_frames": 5,
        }
        self.params = np.array([params[n] for n in P_NAMES], np.int64)
        self.fparams = np.array([self.min_fit, self.min_share], np.float64)

    def p(self, name):
        """Return the integer parameter called name."""
        return int(self.params[P[name]])


def frame_symbols(cfg, frames):
    """Return int64 symbols (channels,) for one frame per channel (int16 channels x 160)."""
    x = frames.astype(np.int64)
    energy = (x * x).sum(axis=1)
    b = (x @ cfg.basis.astype(np.int64).T).astype(np.float64)
    e = energy.astype(np.float64)
    best = np.full(x.shape[0], -1, np.int64)
    best_fit = np.zeros(x.shape[0], np.float64)
    for k in range(len(cfg.classes)):
        m = 2 * int(cfg.cls_nf[k])
        cols = cfg.cls_cols[k, :m]
        bb = [b[:, c] for c in cols]
        a = []
        for i in range(m):
            acc = np.zeros(x.shape[0], np.float64)
            for j in range(m):
                acc = acc + cfg.cls_ginv[k, i, j] * bb[j]
            a.append(acc)
        fitted = np.zeros(x.shape[0], np.float64)
        for i in range(m):
            fitted = fitted + a[i] * bb[i]
        ok = fitted >= cfg.min_fit * e
        for i in range(0, m, 2):
            share = a[i] * bb[i] + a[i + 1] * bb[i + 1]
            ok &= share >= cfg.min_share * fitted
        better = ok & (fitted > best_fit)
        best = np.where(better, k, best)
        best_fit = np.where(better, fitted, best_fit)
    tone_ok = energy >= cfg.p("tone_floor")
    sym = np.where(energy >= cfg.p("voice_floor"), S_VOICE, S_LOW)
    sym = np.where(tone_ok & (best >= 0), best, sym)
    sym = np.where(energy < cfg.p("silence_floor"), S_QUIET, sym)
    return sym


def within(obs_ms, pat_ms, cfg):
    """Return True when an observed duration matches a nominal one within the tolerance."""
    tol = max(cfg.p("tol_ms"), pat_ms * cfg.p("tol_pct") // 100)
    return abs(obs_ms - pat_ms) <= tol


class _Channel:
    """Cadence state of one channel (the twin keeps it as plain attributes)."""

    def __init__(self):
        self.frame = 0
        self.cls = -1
        self.in_on = False
        self.run_len = self.off_len = self.glitch = self.gap_before = 0
        self.last_emit = -1
        self.quiet_run = 0
        self.tone_gap = 1 << 30
        self.silence_done = False
        self.voice_count = 0
        self.voice_done = False
        self.hist = []  # (ms, is_on), newest last, at most HIST
        self.segs = []  # (class, frames, gap), newest last, at most 3


class ReferenceMachine:
    """Cadence state machines for N channels, one frame at a time."""

    def __init__(self, cfg, channels):
        self.cfg = cfg
        self.ch = [_Channel() for _ in range(channels)]

    def _emit(self, s, events, kind, detail=0):
        code = kind * 32 + detail
        if code != s.last_emit:
            s.last_emit = code
            s.voice_done = False
            events.append((kind, (s.frame + 1) * FRAME, detail))

    def _push(self, s, ms, on, events):
        s.hist.append((ms, on))
        if len(s.hist) > HIST:
            s.hist.pop(0)
        cfg = self.cfg
        for p in range(len(cfg.pat_cls)):
            if cfg.pat_cls[p] != s.cls:
                continue
            n, k = int(cfg.pat_len[p]), int(cfg.pat_confirm[p])
            if len(s.hist) < k:
                continue
            recent = s.hist[-k:]
            for start in range(0 if recent[0][1] else 1, n, 2):
                if all(within(recent[i][0], int(cfg.pat_ms[p, (start + i) % n]), cfg) for i in range(k)):
                    self._emit(s, events, int(cfg.pat_kind[p]), int(cfg.pat_detail[p]))
                    return

    def _on_ended(self, s, events):
        cfg = self.cfg
        self._push(s, s.run_len * FRAME_MS, True, events)
        if s.cls == cfg.p("cng_class") and within(s.run_len * FRAME_MS, CNG_ON_MS, cfg):
            self._emit(s, events, K_CNG)
        s.segs.append((s.cls, s.run_len, s.gap_before))
        if len(s.segs) > 3:
            s.segs.pop(0)
        if len(s.segs) == 3:
            roles = [int(cfg.cls_role[c]) for c, _n, _g in s.segs]
            lens = [n for _c, n, _g in s.segs]
            gaps_ok = s.segs[1][2] <= cfg.p("sit_max_gap") and s.segs[2][2] <= cfg.p("sit_max_gap")
            lens_ok = all(cfg.p("sit_min_frames") <= n <= cfg.p("sit_max_frames") for n in lens)
            if gaps_ok and lens_ok:
                detail = -1
                if roles == [R_ITU1, R_ITU2, R_ITU3]:
                    detail = SIT_ITU
                elif roles[0] in (R_LOW1, R_HIGH1) and roles[1] in (R_LOW2, R_HIGH2) and roles[2] == R_THIRD:
                    long_ = cfg.p("sit_long_frames")
                    idx = ((roles[0] == R_HIGH1) << 3) | ((lens[0] >= long_) << 2) \
                        | ((roles[1] == R_HIGH2) << 1) | int(lens[1] >= long_)
                    detail = int(cfg.sit_table[idx])
                if detail >= 0:
                    self._emit(s, events, K_SIT, detail)

    def _not_on(self, s, sym, events):
        cfg = self.cfg
        if sym >= 0 and sym == s.cls:
            self._push(s, s.off_len * FRAME_MS, False, events)
            s.gap_before = s.off_len
            s.in_on, s.run_len = True, 1
        elif sym >= 0:
            s.gap_before = s.off_len if s.cls >= 0 else 1 << 20
            s.cls, s.hist = sym, []
            s.in_on, s.run_len = True, 1
        else:
            s.off_len += 1
            if s.cls >= 0 and s.off_len > cfg.p("max_off_frames"):
                s.cls, s.hist, s.last_emit = -1, [], -1

    def _tone(self, s, sym, events):
        cfg = self.cfg
        if s.in_on:
            if sym == s.cls:
                s.run_len += 1 + s.glitch
                s.glitch = 0
            elif s.glitch == 0 and sym < 0:
                s.glitch = 1
                return
            else:
                self._on_ended(s, events)
                s.in_on, s.off_len, s.glitch = False, s.glitch, 0
                self._not_on(s, sym, events)
        else:
            self._not_on(s, sym, events)
        if s.in_on:
            if s.run_len >= cfg.p("tone_reset_frames"):
                s.voice_count = 0
            want = int(cfg.cont_frames[s.cls])
            kind = int(cfg.cont_kind[s.cls])
            # A stutter dial tone that turns steady stays reported as stutter.
            if want and s.run_len >= want and not (s.last_emit >= 0 and s.last_emit // 32 == kind):
                self._emit(s, events, kind)
            if s.cls == cfg.p("ced_class") and s.run_len >= cfg.p("ced_frames"):
                self._emit(s, events, K_CED)

    def step(self, c, sym, events):
        """Advance channel c by one frame with symbol sym, appending (kind, sample, detail) to events."""
        cfg = self.cfg
        s = self.ch[c]
        self._tone(s, sym, events)
        s.tone_gap = 0 if sym >= 0 else min(s.tone_gap + 1, 1 << 30)
        if sym == S_QUIET:
            s.quiet_run += 1
            if s.quiet_run >= cfg.p("voice_reset_frames"):
                s.voice_count = 0
            if (not s.silence_done and s.quiet_run >= cfg.p("silence_frames")
                    and s.tone_gap >= cfg.p("max_off_frames")):
                s.silence_done, s.voice_done = True, False
                s.last_emit = -1
                events.append((K_SILENCE, (s.frame + 1) * FRAME, 0))
        else:
            s.quiet_run = 0
            s.silence_done = False
        if sym == S_VOICE:
            s.voice_count += 1
            if s.voice_count >= cfg.p("voice_frames") and not s.voice_done:
                s.voice_done = True
                s.last_emit = -1
                events.append((K_VOICE, (s.frame + 1) * FRAME, 0))
        s.frame += 1

    def run(self, frames):
        """Return raw events (channel, kind, sample, detail) for int16 (channels x k*160) audio."""
        out = []
        for f in range(frames.shape[1] // FRAME):
            syms = frame_symbols(self.cfg, frames[:, f * FRAME:(f + 1) * FRAME])
            for c in range(frames.shape[0]):
                ev = []
                self.step(c, int(syms[c]), ev)
                out += [(c, k, smp, d) for k, smp, d in ev]
        return out


class CallProgressDetector:
    """Call-progress detection on N channels; ``process(tick)`` returns a list of ProgressEvent."""

    def __init__(self, channels, plan="us", **options):
        if isinstance(channels, bool) or not isinstance(channels, (int, np.integer)):
            raise TypeError(f"channels must be an int, got {type(channels).__name__}")
        if channels < 1:
            raise ValueError(f"channels must be >= 1, got {channels}")
        self.channels = int(channels)
        self.config = DetectorConfig(plan, **options)
        self._buf = np.zeros((self.channels, FRAME), np.int16)
        self._fill = 0
        self._init_state()

    def _init_state(self):
        self._machine = ReferenceMachine(self.config, self.channels)

    def _run(self, frames):
        return self._machine.run(frames)

    def process(self, block):
        """Feed one tick (int16, channels x n or 1-D for one channel); return the events it completed."""
        x, _was_1d = as_batch(block, np.int16, "block", channels=self.channels)
        if self._fill:
            x = np.concatenate([self._buf[:, :self._fill], x], axis=1)
        whole = (x.shape[1] // FRAME) * FRAME
        rest = x.shape[1] - whole
        self._buf[:, :rest] = x[:, whole:]
        self._fill = rest
        if not whole:
            return []
        raw = self._run(np.ascontiguousarray(x[:, :whole]))
        raw.sort(key=lambda e: (e[2], e[0]))
        names = {K_SIT: SIT_DETAILS, K_DIAL: DIAL_DETAILS}
        return [ProgressEvent(int(c), KINDS[k], int(smp), names[k][d] if k in names else "") for c, k, smp, d in raw]
