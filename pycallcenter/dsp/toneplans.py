"""National tone plans as data: call-progress tones, SIT variants and the ringing cadence.

Frequencies, cadences and nominal levels follow ITU-T E.180 (and its supplement listing national
tones), ITU-T Q.35 for the international SIT, Telcordia/ANSI practice for North America (including the
eight coded SIT variants) and the national specifications for the other plans. Levels are per
frequency component, in dBm0. ``get_plan(name)`` accepts aliases ("na" -> "us", "eu" -> "etsi").
"""
from dataclasses import dataclass, field

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE

# 0 dBm0 is a sine 3.14 dB below a full-scale G.711 sine (peak 32768).
DBM0_PEAK = 32768.0 * 10.0 ** (-3.14 / 20.0)

MAX_STEPS = 64  # cadence steps one generator channel holds
MAX_COMPONENTS = 6  # sinusoids sounding at once (an AM tone is 3)


@dataclass(frozen=True)
class Component:
    """One sinusoid; ``mod_freq``/``mod_depth`` make it an AM tone (carrier * (1 + m cos))."""

    freq: float
    level_dbm0: float
    mod_freq: float = 0.0
    mod_depth: float = 0.0


@dataclass(frozen=True)
class Step:
    """One stretch of a cadence: the components sounding (none = silence) for ``ms`` (0 = forever)."""

    ms: float
    components: tuple = ()


@dataclass(frozen=True)
class ToneSpec:
    """A tone: steps played in order; after the last one, play resumes at step ``loop_to`` (-1: stop)."""

    name: str
    steps: tuple
    loop_to: int = 0

    def __post_init__(self):
        if not self.steps:
            raise ValueError(f"tone {self.name!r}: no steps")
        if len(self.steps) > MAX_STEPS:
            raise ValueError(f"tone {self.name!r}: {len(self.steps)} steps, at most {MAX_STEPS}")
        if not -1 <= self.loop_to < len(self.steps):
            raise ValueError(f"tone {self.name!r}: loop_to {self.loop_to} outside the steps")
        for st in self.steps:
            if st.ms < 0 or not np.isfinite(st.ms):
                raise ValueError(f"tone {self.name!r}: step duration {st.ms!r} ms")
            n = sum(3 if c.mod_freq else 1 for c in st.components)
            if n > MAX_COMPONENTS:
                raise ValueError(f"tone {self.name!r}: {n} sinusoids in one step, at most {MAX_COMPONENTS}")
            for c in st.components:
                if not 0 < c.freq < SAMPLE_RATE / 2 or not np.isfinite(c.level_dbm0) or c.level_dbm0 > 6:
                    raise ValueError(f"tone {self.name!r}: bad component {c}")
                if c.mod_freq and not (0 < c.mod_freq < c.freq and 0 < c.mod_depth <= 1):
                    raise ValueError(f"tone {self.name!r}: bad modulation {c}")

    @property
    def continuous(self):
        """True when the tone sounds without a break (one endless step)."""
        return len(self.steps) == 1 and self.steps[0].ms == 0 and bool(self.steps[0].components)

    @property
    def carriers(self):
        """Return the sorted carrier frequencies the tone uses (AM sidebands left out)."""
        return tuple(sorted({c.freq for st in self.steps for c in st.components}))

    def on_off(self):
        """Return the repeating cadence as a flat tuple of alternating on/off durations in ms."""
        out = []
        steps = self.steps[self.loop_to:] if self.loop_to >= 0 else self.steps
        for st in steps:
            on = bool(st.components)
            if out and (len(out) % 2 == 1) == on:
                out[-1] += st.ms
            elif not out and not on:
                continue
            else:
                out.append(st.ms)
        return tuple(out)


@dataclass(frozen=True)
class TonePlan:
    """A country's tones by name and its ringing-signal cadence (a list of (on_ms, off_ms))."""

    name: str
    description: str
    tones: dict
    ring_cadence: tuple
    aliases: tuple = field(default=())

    def tone(self, name):
        """Return the ToneSpec called name (or one of its aliases) in this plan."""
        key = TONE_ALIASES.get(name, name)
        if key not in self.tones:
            raise ValueError(f"plan {self.name!r} has no tone {name!r}; it has {', '.join(sorted(self.tones))}")
        return self.tones[key]


def _comps(freqs, level):
    return tuple(Component(float(f), float(level)) for f in freqs)


def cadenced(name, freqs, level, cadence=(), once=False):
    """Return a ToneSpec of freqs at level (dBm0 each) with cadence [(on, off), ...]; () = continuous."""
    comps = _comps(freqs, level)
    if not cadence:
        return ToneSpec(name, (Step(0, comps),))
    steps = []
    for on, off in cadence:
        steps.append(Step(on, comps))
        if off:
            steps.append(Step(off, ()))
    if once:
        steps.append(Step(0, ()))
        return ToneSpec(name, tuple(steps), loop_to=len(steps) - 1)
    return ToneSpec(name, tuple(steps))


def stutter(name, freqs, level, on, off, count):
    """Return a stutter dial tone: count bursts of on/off ms, then steady tone."""
    comps = _comps(freqs, level)
    steps = []
    for _ in range(count):
        steps += [Step(on, comps), Step(off, ())]
    steps.append(Step(0, comps))
    return ToneSpec(name, tuple(steps), loop_to=len(steps) - 1)


def repeating_stutter(name, freqs, level, on, off):
    """Return a special dial tone that keeps its short interruptions (the ETSI form)."""
    return cadenced(name, freqs, level, [(on, off)])


# North American SIT segments (Telcordia): first/second segment low or high frequency, short or long.
SIT_LOW1, SIT_HIGH1, SIT_LOW2, SIT_HIGH2, SIT_THIRD = 913.8, 985.2, 1370.6, 1428.5, 1776.7
SIT_SHORT_MS, SIT_LONG_MS = 274, 380
# ITU-T Q.35 SIT: 950 / 1400 / 1800 Hz, 330 ms each, up to 30 ms between, then 1 s silence.
ITU_SIT = (950.0, 1400.0, 1800.0)

# code -> (name, (seg1 high?, seg1 long?), (seg2 high?, seg2 long?))
NA_SIT_CODES = {
    "IC": ("intercept", (False, False), (False, False)),
    "VC": ("vacant_code", (True, True), (False, False)),
    "RO": ("reorder", (False, False), (True, True)),
    "RO'": ("reorder_interlata", (True, False), (False, True)),
    "NC": ("no_circuit", (True, True), (True, True)),
    "NC'": ("no_circuit_intralata", (False, True), (False, True)),
    "IO": ("ineffective_other", (False, True), (False, False)),
    "R1": ("reserved", (True, False), (True, False)),
}


def na_sit(code, level=-24.0):
    """Return the North American SIT with the given code (IC, VC, RO, RO', NC, NC', IO, R1), played once."""
    name, (h1, l1), (h2, l2) = NA_SIT_CODES[code]
    f1 = SIT_HIGH1 if h1 else SIT_LOW1
    f2 = SIT_HIGH2 if h2 else SIT_LOW2
    d1 = SIT_LONG_MS if l1 else SIT_SHORT_MS
    d2 = SIT_LONG_MS if l2 else SIT_SHORT_MS
    steps = (
        Step(d1, _comps([f1], level)),
        Step(d2, _comps([f2], level)),
        Step(SIT_LONG_MS, _comps([SIT_THIRD], level)),
        Step(0, ()),
    )
    return ToneSpec(f"sit_{name}", steps, loop_to=3)


def itu_sit(level):
    """Return the ITU-T Q.35 SIT: three 330 ms segments 30 ms apart, then 1 s silence, repeated."""
    steps = []
    for f in ITU_SIT:
        steps += [Step(330, _comps([f], level)), Step(30, ())]
    steps[-1] = Step(1000, ())
    return ToneSpec("sit", tuple(steps))


def _plan(name, description, ring, aliases=(), **tones):
    named = {}
    for key, spec in tones.items():
        named[key] = ToneSpec(key, spec.steps, spec.loop_to)
    return TonePlan(name, description, named, tuple(ring), tuple(aliases))


def _na_sits():
    out = {"sit": na_sit("IC")}
    for code, (name, _a, _b) in NA_SIT_CODES.items():
        out[f"sit_{name}"] = na_sit(code)
    return out


PLANS = {}


def _register(plan):
    PLANS[plan.name] = plan
    return plan


_register(_plan(
    "us", "North America (ANSI T1.401 / Telcordia precise tones)", [(2000, 4000)], ("na", "ca", "nanp"),
    dial=cadenced("dial", [350, 440], -13),
    busy=cadenced("busy", [480, 620], -24, [(500, 500)]),
    ringback=cadenced("ringback", [440, 480], -19, [(2000, 4000)]),
    congestion=cadenced("congestion", [480, 620], -24, [(250, 250)]),
    call_waiting=cadenced("call_waiting", [440], -13, [(300, 9700)]),
    stutter_dial=stutter("stutter_dial", [350, 440], -13, 100, 100, 10),
    **_na_sits(),
))
_register(_plan(
    "etsi", "ETSI/CEPT Europe (425 Hz, E.180 recommended cadences)", [(1000, 4000)], ("eu", "cept"),
    dial=cadenced("dial", [425], -10),
    busy=cadenced("busy", [425], -10, [(500, 500)]),
    ringback=cadenced("ringback", [425], -10, [(1000, 4000)]),
    congestion=cadenced("congestion", [425], -10, [(250, 250)]),
    call_waiting=cadenced("call_waiting", [425], -10, [(200, 200), (200, 4400)]),
    stutter_dial=repeating_stutter("stutter_dial", [425], -10, 400, 40),
    sit=itu_sit(-24),
))
_register(_plan(
    "cn", "China (GB 3380 / YD/T: 450 Hz)", [(1000, 4000)], ("china", "zh"),
    dial=cadenced("dial", [450], -10),
    busy=cadenced("busy", [450], -10, [(350, 350)]),
    ringback=cadenced("ringback", [450], -10, [(1000, 4000)]),
    congestion=cadenced("congestion", [450], -10, [(700, 700)]),
    call_waiting=cadenced("call_waiting", [450], -10, [(400, 4000)]),
    stutter_dial=repeating_stutter("stutter_dial", [450], -10, 400, 40),
    sit=itu_sit(-24),
))
_register(_plan(
    "uk", "United Kingdom (BT SIN 350)", [(400, 200), (400, 2000)], ("gb",),
    dial=cadenced("dial", [350, 440], -13),
    busy=cadenced("busy", [400], -13, [(375, 375)]),
    ringback=cadenced("ringback", [400, 450], -13, [(400, 200), (400, 2000)]),
    congestion=cadenced("congestion", [400], -13, [(400, 350), (225, 525)]),
    call_waiting=cadenced("call_waiting", [400], -13, [(100, 3000)]),
    stutter_dial=repeating_stutter("stutter_dial", [350, 440], -13, 750, 750),  # BT special dial tone
    sit=itu_sit(-24),
))
_register(_plan(
    "de", "Germany (Deutsche Telekom 1TR110: 425 Hz)", [(1000, 4000)], (),
    dial=cadenced("dial", [425], -10),
    busy=cadenced("busy", [425], -10, [(480, 480)]),
    ringback=cadenced("ringback", [425], -10, [(1000, 4000)]),
    congestion=cadenced("congestion", [425], -10, [(240, 240)]),
    call_waiting=cadenced("call_waiting", [425], -10, [(200, 200), (200, 5000)]),
    stutter_dial=repeating_stutter("stutter_dial", [425], -10, 400, 40),
    sit=itu_sit(-24),
))
_register(_plan(
    "fr", "France (440 Hz)", [(1500, 3500)], (),
    dial=cadenced("dial", [440], -10),
    busy=cadenced("busy", [440], -10, [(500, 500)]),
    ringback=cadenced("ringback", [440], -10, [(1500, 3500)]),
    congestion=cadenced("congestion", [440], -10, [(250, 250)]),
    call_waiting=cadenced("call_waiting", [440], -10, [(300, 10000)]),
    stutter_dial=repeating_stutter("stutter_dial", [440], -10, 400, 40),
    sit=itu_sit(-24),
))
_register(TonePlan(
    "jp", "Japan (NTT: 400 Hz; ringback 400 Hz amplitude-modulated at 16 Hz)",
    {
        "dial": cadenced("dial", [400], -10),
        "busy": cadenced("busy", [400], -10, [(500, 500)]),
        "ringback": ToneSpec("ringback", (Step(1000, (Component(400.0, -10.0, 16.0, 0.8),)), Step(2000, ()))),
        # Japan signals congestion with the busy tone; the detector reports it as busy.
        "congestion": cadenced("congestion", [400], -10, [(500, 500)]),
        "call_waiting": cadenced("call_waiting", [400], -10, [(100, 100), (100, 3000)]),
        "stutter_dial": stutter("stutter_dial", [400], -10, 250, 250, 4),
        "sit": itu_sit(-24),
    },
    ((1000, 2000),),
))

PLAN_ALIASES = {alias: p.name for p in PLANS.values() for alias in p.aliases}
TONE_ALIASES = {"reorder": "congestion", "dialtone": "dial", "ring": "ringback", "ringing": "ringback",
                "mwi": "stutter_dial", "stutter": "stutter_dial", "callwaiting": "call_waiting"}
REQUIRED_TONES = ("dial", "busy", "ringback", "congestion", "call_waiting", "sit", "stutter_dial")


def get_plan(name):
    """Return the TonePlan called name or one of its aliases (case-insensitive)."""
    if isinstance(name, TonePlan):
        return name
    if not isinstance(name, str):
        raise TypeError(f"plan name must be a str, got {type(name).__name__}")
    key = name.lower()
    key = PLAN_ALIASES.get(key, key)
    if key not in PLANS:
        raise ValueError(f"unknown tone plan {name!r}; known: {', '.join(sorted(PLANS))}")
    return PLANS[key]


def plan_names():
    """Return the names of the built-in tone plans."""
    return sorted(PLANS)


def amplitude(level_dbm0):
    """Return the peak amplitude (full scale 32768) of a sine at level_dbm0."""
    return DBM0_PEAK * 10.0 ** (level_dbm0 / 20.0)


def compile_spec(spec, level_offset_db=0.0):
    """Return (step_len int64[S], n_comp int32[S], inc uint32[S,C], amp int64[S,C], loop_to) for the generator.

    Durations become exact sample counts (ms * 8); each AM component expands into its carrier and
    two sidebands; amplitudes are Q16 sample units; increments are 32-bit phase steps per sample.
    """
    if not isinstance(spec, ToneSpec):
        raise TypeError(f"expected a ToneSpec, got {type(spec).__name__}")
    n = len(spec.steps)
    step_len = np.zeros(n, np.int64)
    n_comp = np.zeros(n, np.int32)
    inc = np.zeros((n, MAX_COMPONENTS), np.uint32)
    amp = np.zeros((n, MAX_COMPONENTS), np.int64)
    for i, st in enumerate(spec.steps):
        step_len[i] = int(round(st.ms * SAMPLE_RATE / 1000.0))
        if st.ms and step_len[i] == 0:
            step_len[i] = 1
        sines = []
        for c in st.components:
            a = amplitude(c.level_dbm0 + level_offset_db)
            if c.mod_freq:
                side = a * c.mod_depth / 2  # carrier * (1 + m cos) = carrier + two sidebands of m/2
                sines += [(c.freq, a), (c.freq - c.mod_freq, side), (c.freq + c.mod_freq, side)]
            else:
                sines.append((c.freq, a))
        n_comp[i] = len(sines)
        for k, (f, a) in enumerate(sines):
            inc[i, k] = int(round(f * 2.0**32 / SAMPLE_RATE)) & 0xFFFFFFFF
            amp[i, k] = int(round(a * 65536.0))
    return step_len, n_comp, inc, amp, spec.loop_to


DTMF_ROWS = (697.0, 770.0, 852.0, 941.0)
DTMF_COLS = (1209.0, 1336.0, 1477.0, 1633.0)
DTMF_KEYS = ("123A", "456B", "789C", "*0#D")


def dtmf_freqs(digit):
    """Return the (low, high) frequencies of a DTMF digit."""
    d = digit.upper()
    for r, row in enumerate(DTMF_KEYS):
        if d in row:
            return DTMF_ROWS[r], DTMF_COLS[row.index(d)]
    raise ValueError(f"not a DTMF digit: {digit!r}")


def dtmf_spec(digits, level_dbm0=-10.0, twist_db=0.0, on_ms=50.0, off_ms=50.0):
    """Return a ToneSpec playing digits once (twist = high-group minus low-group level, dB)."""
    if not isinstance(digits, str):
        raise TypeError(f"digits must be a str, got {type(digits).__name__}")
    if not digits:
        raise ValueError("no digits")
    if on_ms <= 0 or off_ms < 0:
        raise ValueError(f"bad DTMF timing on={on_ms} off={off_ms}")
    steps = []
    for d in digits:
        lo, hi = dtmf_freqs(d)
        steps.append(Step(on_ms, (Component(lo, level_dbm0), Component(hi, level_dbm0 + twist_db))))
        if off_ms:
            steps.append(Step(off_ms, ()))
    steps.append(Step(0, ()))
    return ToneSpec(f"dtmf {digits}", tuple(steps), loop_to=len(steps) - 1)
