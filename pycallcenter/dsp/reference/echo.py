"""Numpy twin of the line echo canceller kernel (_native/echo.pyx + _native/src/echo.c): the readable specification.

One canceller per channel; every step below runs for all channels at once, one sample at a time, in float32 (as
the kernel does). ``far`` is what we transmitted on the channel, ``near`` what came back; the output is ``near``
with the echo of ``far`` removed, sample-aligned.

Per sample, per channel:

1. Near input through a DC blocker (one pole at 0.996). The far sample enters the history window of N = tail
   taps (newest first), its square enters the squared history, and the window energy E (exact: integers in
   float64) is kept by adding the new square and removing the one leaving.
2. Two FIR filters over the window: the *background* filter adapts, the *foreground* filter makes the output and
   only takes the background's taps when they have proved better (below). Errors ef, eb = near - estimate.
3. Geigel double-talk detector on what the foreground filter leaves: near talk if ``|ef| > geigel * max|far|``
   over the tail (the maximum is kept over 32-sample blocks), held for ``hangover`` samples. It freezes
   adaptation. Before convergence ef is the near input, as in the classic detector; once the foreground
   cancels the echo, loud echo peaks of a low-loss (6 dB) dispersive hybrid no longer pass for near speech.
4. IPNLMS adaptation of the background filter when the far end is active (E / N above -50 dBm0), without double
   talk and without a tone disable: ``wb += mu * eb * (g * x) / (x . (g * x) + delta)`` with the proportionate
   gains ``g_k = (1 - a) / 2N + (1 + a) |wb_k| / (2 |wb|_1 + eps)`` refreshed every 16 samples. Sparse hybrids
   (a short dispersive response after a pure delay) converge much faster than with plain NLMS.
5. Every 64 samples (a *block*) of far-end single talk the block energies of ef, eb and the near input decide:
   - copy background to foreground when eb is 1.5 dB under ef and 3 dB under the input in three blocks running,
     the input standing 6 dB out of the background (in silence a filter can look better by chance)
     (convergence, path change);
   - *bypass* (output = near input) once ef is 1.8 dB louder than the input in a block with the far end active
     (double talk or not: an echo-path change looks like double talk to Geigel): the foreground has diverged;
     it ends when ef is no louder than the input again (bypass and restarts only judge blocks whose input is
     6 dB over the background noise: in noise alone a filter cannot do better than the input);
   - a background 6 dB louder than the input in four blocks is restarted from the foreground (or from zero
     when the foreground is in bypass as well); a bypass lasting 50 blocks (0.4 s) restarts both from zero.
6. Non-linear processor: when the far end is active, there is no double talk, and the short-term power of the
   linear output is ``nlp_db`` under the near input's, or ``nlp_db`` + 6 dB under the weakest echo the far
   end's power over the tail could make (a ``geigel_db`` hybrid: a -15 dBm0 prompt leaves near signals down to
   -39 dBm0 alone, so DTMF over a prompt survives), so what is left is residual echo, not near speech, the
   output is replaced by comfort noise at the near end's background level, estimated from the linear output
   (what is left once the echo is gone): the minimum of its 16 ms power, or of the background filter's error's
   when smaller, over the last 1.6 s (minimum statistics: speech and echo always leave gaps within that time; the
   background's error counts because before the first copy the linear output is the echo itself, and a level
   learnt from it would keep every block from standing 6 dB over the noise, so no copy would come), times 1.25 for the bias of a minimum, and never above the
   near input's short-term power (so the comfort noise cannot make the output louder than the input). The power tracker
   starts from zero, so the first 32 ms do not count; until a minimum exists the comfort noise is silence. The noise is white, from a per-channel xorshift32.
7. Tone disabler (G.164/G.165): 40-sample blocks of both directions are correlated with 2100 Hz, 1650 Hz and
   1850 Hz. A 2100 Hz tone (purity >= 0.7, level >= -31 dBm0) held for 100 ms that then reverses its phase
   (G.165 ANS with phase reversals; plain 2100 Hz of a fax CED does not disable), or V.21 channel 2 (fax flags,
   1650/1850 Hz) for 100 ms, disables the canceller: output = near input, no adaptation. It re-enables after
   250 ms with both directions under -36 dBm0.

8. Idle without echo: a call whose foreground filter has not taken anything after ``sleep_after_s`` of
   cancelling has no echo worth the work (a digital or four-wire far end, or nothing sent yet). The channel then
   sleeps: its input passes unchanged and it only counts far-end samples over -50 dBm0 (a compare a sample
   instead of four passes over the tail). It wakes at once on such a sample if the far end had never been
   active before (nothing was sent, so nothing could be found), else after ``probe_every_s`` of them (less a
   per-channel share of up to half of it, so channels that went to sleep together look again in different
   ticks instead of all paying a second of full-tail work in the same ones), and looks
   again for ``sleep_after_s``; history, Geigel maxima, DC blocker, block, tone and double-talk state start
   from zero (the history refills in one tail).

9. Steady state (``settle``): once the foreground filter has held, for 8 blocks running of far-end single talk
   loud enough to judge, 30 dB of echo reduction or a linear output within 3 dB of the near end's background,
   with no copy among them, the channel *settles*: the background filter stops adapting (its gains are not
   refreshed; its error is taken as the foreground's, so no copy is made), and each sample costs one pass over the
   tail instead of four. Every block still judges the foreground: a block with the far end active throughout and
   loud enough to judge whose linear output falls under 24 dB of reduction and stands 9 dB over the background (a
   path change, double talk, a drift), a bypass, or a tone or switch disabling the canceller ends the steady state
   at that block's end, and adaptation resumes from where the background stood.

10. Active window (``window``): once the foreground has taken taps and held, for 2 judged blocks running, 24 dB of
   reduction or a linear output within 3 dB of the background, the background filter adapts only where the echo
   is: from 2 ms before the first to 4 ms after the last of its taps within 40 dB of its largest (rounded out to
   32 taps), when that is at most half the tail; it is taken again after every 2 such blocks (it narrows as the
   taps outside the echo settle, or widens where the echo grows). Its taps outside are set to zero, its gains there to zero and
   the IPNLMS gains inside are those of a filter of the window's length, so each sample costs the window instead
   of the tail (a bare delay and a few ms of dispersion in a 64 ms tail: a fifth). Echo under -40 dB of the
   largest tap, left out, is under the 30 dB a converged canceller must reach. Like the steady state, every
   block judges the foreground: a block that slips (as in step 9), a bypass, a restart, or a tone or switch
   disabling the canceller gives the whole tail back at that block's end, so an echo path that moves outside
   the window is found as before. The foreground filter stays the whole tail.

11. Placed window (``place``, on by default, with ``window``, tails of 64 ms and more): before the first copy, the echo path's
   bulk delay is estimated from the far and near energy envelopes (sums of squares over 8 samples) by their
   correlation coefficient at every lag of the tail (one lag per 8 samples, only envelope steps with the far end
   active and the canceller running count, from the step the far envelope first fills the tail: before that,
   lags not yet filled read zeros, which correlate with the echo's own silent start at every lag). Until an
   estimate is sure, the background does not adapt for a tail and 48 steps' worth of far-end activity (it would
   adapt over the whole tail, the dearest work of a call, while the echo of the first far samples may not even
   have come back): its output is zero and its gains stand. Once 48 steps have counted (a decision on fewer, or
   on lags not yet seen, picks wrong lags on speech and CSS), at every block's end, the lag with the largest
   correlation decides when its coefficient is 0.4 or more and 0.25 over every lag more than 8 steps from it
   (speech's envelope correlates over tens of ms, so many wrong lags stand at 0.6-0.9): the background then
   adapts only over the taps from 4 ms before that lag to 12 ms after its step (rounded out to 32 taps: 20-24
   ms), at most half the tail. The hold ends there or after its activity; still unsure then, the estimate stops
   and the whole tail adapts as before (a window placed later would throw away what the whole tail has learnt
   outside it: on the speech sweep that cost up to 1.2 s of convergence), and first learns what the hold let
   pass: from the far end's first activity the hold records up to 1024 samples (far, near, and whether each
   sample would have adapted the background and at which step: far end active, canceller running, double talk),
   and once the hold ends unsure they are replayed through the background oldest first, as they would have
   adapted it live (the same update over the current window, the gains refreshed every 16 replayed samples, the
   near end through its own DC blocker started where the record began), ``REPLAY_RATE`` recorded samples per
   live sample of each call, before that call's live samples (the loud start of speech is where a whole-tail
   filter learns most: without the replay 2 of the soak sweep's 48 speech hybrids took 1.3-1.5 s to 20 dB, at one
   or two replayed samples per live one still one took 1.5 s, at three, four or eight none). A placed window is
   not replayed to:
   it converges as fast as the whole tail without it, and the replay would cost its first ticks more than the
   hold saved. The record is dropped on a restart or sleep, and what is left of a replay when the channel
   settles. The placed
   window holds until step 10 takes one from the taps (the foreground holding 24 dB: step 10's slip rule would
   give a window back on the first copy's blocks, which are still short of that). It gives the whole tail back,
   and none is placed again until the next call or look, after 16 judged blocks running in which neither filter
   takes 3 dB off the input (the estimate was wrong), after 32 judged blocks from the first copy short of step
   10's 24 dB (part of the echo outside the window), or on a bypass, a restart, or the canceller disabled.

Counters (per channel, over far-end single talk, 0.5 s time constant, started again at the first copy: before it
the linear output is the echo itself): ERL = far / near input power, ERLE = near input / linear output power (the
foreground filter's attenuation, before the NLP), and the state.
"""
import numpy as np

FS = 8000
DBM0_PEAK = 32768.0 * 10.0 ** (-3.14 / 20.0)


def dbm0_power(dbm0):
    """Return the mean square (int16 scale) of a sine at dbm0."""
    return DBM0_PEAK**2 / 2.0 * 10.0 ** (dbm0 / 10.0)


TAILS_MS = (16, 32, 64, 128)
DEFAULTS = {
    "mu": 0.5,  # IPNLMS step
    "alpha": 0.0,  # IPNLMS proportionality (-1 = NLMS, towards 1 = PNLMS); 0 converges on speech within 1 s
    "geigel_db": 6.0,  # hybrid loss the Geigel detector assumes (G.168 hybrids: ERL >= 6 dB)
    "hangover_ms": 30.0,
    "nlp": True,
    "nlp_db": 12.0,  # linear output this far under the near input -> residual echo -> NLP
    "cng": True,
    "tone_disable": True,
    "sleep_after_s": 1.0,  # cancelling without finding echo before sleeping (0: never sleep)
    "probe_every_s": 30.0,  # far-end activity while asleep before looking again
    "settle": True,  # freeze adaptation while the foreground holds its figure (step 9)
    "window": True,  # adapt only around the echo once it is found (step 10)
    # place the window early from a bulk-delay estimate (step 11; needs window); unsure at the end of the hold, the
    # hold's record is replayed (without it the hold lost the loud start of speech: 2 of the soak sweep's 48 speech
    # hybrids took 1.3-1.5 s to 20 dB)
    "place": True,
}

# Fixed structure (the kernel has the same numbers in echo.h; test_echo_twin checks them).
HP_POLE = np.float32(0.996)
GAIN_EVERY = 16
MAX_BLOCK = 32
BLOCK = 64
TONE_BLOCK = 40
SHORT = np.float32(1.0 / 32.0)  # short-term power smoothing (4 ms)
NOISE_SMOOTH = np.float32(1.0 / 128.0)  # linear output power for the background tracker (16 ms)
LONG = np.float32(1.0 / 4000.0)  # counters (0.5 s)
NOISE_SUB = 1600  # background = minimum of the linear output's power over 8 stretches of 0.2 s
NOISE_SUBS = 8
NOISE_WARMUP = 256
NOISE_BIAS = np.float32(1.25)  # a minimum of a fluctuating power sits about 1 dB under its mean
NOISE_START = np.float32(32768.0 * 32768.0)  # 'no minimum yet': no comfort noise until one is measured
FAR_ACTIVE = dbm0_power(-50.0)
DELTA = np.float32(dbm0_power(-60.0))
GUARD_RATIO = np.float32(4.0)
GUARD_SMOOTH = np.float32(1.0 / 8.0)  # 1 ms powers for the guard: it must act within a few samples
DT_MU = np.float32(0.125)  # background step during double talk, as a share of mu
COPY_RATIO = np.float32(10.0 ** (-1.5 / 10.0))
COPY_GAIN = np.float32(0.5)  # and the background itself takes 3 dB off the input
COPY_BLOCKS = 3  # in this many blocks running
BYPASS_RATIO = np.float32(10.0 ** (1.8 / 10.0))
BG_RESET_RATIO = np.float32(4.0)
BLOCK_FLOOR = np.float32(dbm0_power(-55.0) * BLOCK)
ABOVE_NOISE = np.float32(4.0 * BLOCK)  # block decisions need the input 6 dB over the background
BYPASS_RESET_BLOCKS = 50
TONE_PURITY = np.float32(0.7)
TONE_LEVEL = np.float32(dbm0_power(-31.0) * TONE_BLOCK)
QUIET_LEVEL = np.float32(dbm0_power(-36.0) * TONE_BLOCK)
TONE_HOLD_BLOCKS = 20  # 100 ms of 2100 Hz before a phase reversal counts
V21_BLOCKS = 20  # 100 ms of V.21 flags
RELEASE_BLOCKS = 50  # 250 ms quiet
SETTLE_BLOCKS = 32  # blocks (judged ones; others hold the count) of a foreground holding its figure before the channel settles
SETTLE_ERLE = np.float32(10.0 ** (30.0 / 10.0))  # settle: 30 dB of reduction ...
SETTLE_NOISE = np.float32(2.0 * BLOCK)  # ... or the linear output within 3 dB of the background
SETTLE_GAIN = np.float32(10.0 ** (-0.5 / 10.0))  # and the background no longer gaining 0.5 dB on it (all 8)
LEAVE_ERLE = np.float32(10.0 ** (24.0 / 10.0))  # leave: under 24 dB of reduction ...
LEAVE_NOISE = np.float32(8.0 * BLOCK)  # ... and 9 dB over the background
REVERSAL_COS = np.float32(-0.5)  # phase moved by more than 120 degrees beyond the drift
WINDOW_BLOCKS = 2  # judged blocks of a foreground holding 24 dB (LEAVE_ERLE) or near the background (SETTLE_NOISE)
# (8 until calls starting together showed both filters over the whole tail for those 8 blocks, the dearest ticks:
# at 2 every G.168 test and the soak sweep give the same figures)
WINDOW_FLOOR = np.float32(10.0 ** (-40.0 / 20.0))  # taps within 40 dB of the largest are the echo's
WINDOW_BEFORE = 16  # taps (2 ms) kept before the first of them ...
WINDOW_AFTER = 32  # ... and after the last (4 ms: a dispersive tail decays there)
WINDOW_ROUND = 32  # window edges on multiples of 32 taps (the kernel's loops)
ENV_STEP = 8  # samples per step of the energy envelopes the bulk delay is estimated from (step 11)
PLACE_MIN_TAPS = 512  # tails this long or longer place a window: the placed window is up to 30 ms
PLACE_STEPS = 48  # counted envelope steps before a decision (counting starts once the far envelope fills the tail:
# before that the lags not yet filled read zeros, which correlate with the echo's own silent start at every lag)
PLACE_R2 = 0.16  # the largest correlation coefficient must reach 0.4 (squared; a dispersive echo's envelope is
# a smoothed copy of the far end's, so its coefficient at any one lag is low) ...
PLACE_MARGIN = 0.25  # ... and stand this far over every lag more than PLACE_APART steps from it (speech's
PLACE_APART = 8  # envelope correlates over tens of ms: its coefficients are 0.6-0.9 at many wrong lags)
PLACE_BEFORE = 32  # taps (4 ms) before the estimated lag (the envelope's peak lies 1-4 ms into the echo) ...
PLACE_AFTER = 96  # ... and after its step (12 ms: the dispersive part of a hybrid follows its bulk delay)
PLACE_MISS = 16  # judged blocks running without either filter taking 3 dB off before the tail is given back ...
PLACE_SHORT = 32  # ... or, after the first copy, judged blocks short of step 10's 24 dB
RECORD = 1024  # samples of the hold recorded from the far end's first activity, replayed when the hold ends unsure
REPLAY_RATE = 3  # recorded samples replayed per live sample (at 1 or 2 the speech sweep still had a hybrid at 1.5 s;
# 3 spreads an 896-sample hold over two ticks)

# States, as reported per channel.
STATES = ("idle", "converging", "converged", "double_talk", "bypass", "tone_disabled", "disabled", "no_echo")
IDLE, CONVERGING, CONVERGED, DOUBLE_TALK, BYPASS, TONE_DISABLED, DISABLED, NO_ECHO = range(8)
CONVERGED_ERLE = np.float32(10.0 ** (20.0 / 10.0))  # long-term ERLE (linear) counted as converged

# Correlator tables: 2100 Hz repeats every 80 samples, 1650 and 1850 Hz every 160; one 160-entry table each.
_T = np.arange(160)
TONE_FREQS = (2100.0, 1650.0, 1850.0)
COS = np.array([np.cos(2 * np.pi * f * _T / FS) for f in TONE_FREQS], dtype=np.float32)
SIN = np.array([-np.sin(2 * np.pi * f * _T / FS) for f in TONE_FREQS], dtype=np.float32)


class EchoCounters:
    """Per-channel figures: ``erl_db``, ``erle_db`` (nan until measured), ``state`` names, ``resets``, ``settled``
    (the steady state of step 9: adaptation frozen, the foreground watched)."""

    __slots__ = ("erl_db", "erle_db", "state", "resets", "settled")

    def __init__(self, erl_db, erle_db, state, resets, settled):
        self.erl_db, self.erle_db, self.state, self.resets = erl_db, erle_db, state, resets
        self.settled = settled

    def row(self, channel):
        """Return one channel's figures as a dict (dB rounded to 0.1, None when not measured yet)."""
        erl, erle = float(self.erl_db[channel]), float(self.erle_db[channel])
        return {"erl_db": None if np.isnan(erl) else round(erl, 1), "erle_db": None if np.isnan(erle) else round(erle, 1),
                "state": self.state[channel], "resets": int(self.resets[channel]), "settled": bool(self.settled[channel])}


def counters_from(l_x, l_y, l_e, state, resets, settled):
    """Return EchoCounters from long-term powers (far, near, linear output), state codes, reset counts and
    steady-state flags."""
    l_x, l_y, l_e = (np.asarray(v, np.float64) for v in (l_x, l_y, l_e))
    with np.errstate(divide="ignore", invalid="ignore"):
        erl = np.where((l_x > 0) & (l_y > 0), 10 * np.log10(l_x / l_y), np.nan)
        erle = np.where((l_y > 0) & (l_e > 0), 10 * np.log10(l_y / l_e), np.nan)
    return EchoCounters(erl, erle, [STATES[s] for s in state], resets, np.asarray(settled, bool))


def check_params(tail_ms, **params):
    """Return the full parameter dict (defaults filled in); raise ValueError naming a bad one."""
    unknown = set(params) - set(DEFAULTS)
    if unknown:
        raise ValueError(f"unknown echo canceller parameter(s): {', '.join(sorted(unknown))}")
    p = {**DEFAULTS, **params}
    if tail_ms not in TAILS_MS:
        raise ValueError(f"tail_ms must be one of {TAILS_MS}, got {tail_ms!r}")
    if not 0.0 < p["mu"] <= 1.0:
        raise ValueError(f"mu must be in (0, 1], got {p['mu']}")
    if not -1.0 <= p["alpha"] < 1.0:
        raise ValueError(f"alpha must be in [-1, 1), got {p['alpha']}")
    if not 0.0 <= p["geigel_db"] <= 30.0:
        raise ValueError(f"geigel_db must be in [0, 30], got {p['geigel_db']}")
    if not 0.0 <= p["hangover_ms"] <= 500.0:
        raise ValueError(f"hangover_ms must be in [0, 500], got {p['hangover_ms']}")
    if not 3.0 <= p["nlp_db"] <= 40.0:
        raise ValueError(f"nlp_db must be in [3, 40], got {p['nlp_db']}")
    if not (p["sleep_after_s"] == 0 or 0.1 <= p["sleep_after_s"] <= 60.0):
        raise ValueError(f"sleep_after_s must be 0 or in [0.1, 60], got {p['sleep_after_s']}")
    if not 0.1 <= p["probe_every_s"] <= 3600.0:
        raise ValueError(f"probe_every_s must be in [0.1, 3600], got {p['probe_every_s']}")
    return p


def sleep_samples(p):
    """Return (samples cancelling without echo before sleeping (0: never), far-active samples asleep before waking)."""
    return int(round(p["sleep_after_s"] * FS)), int(round(p["probe_every_s"] * FS))


def nlp_far(p, taps):
    """Return the factor on the far window energy under which the linear output counts as residual echo."""
    return _f32(10.0 ** (-(p["nlp_db"] + p["geigel_db"] + 6.0) / 10.0) / taps)


def _f32(v):
    return np.float32(v)


def window_of(w):
    """Return (lo, hi): the taps of w the echo is in (step 10), edges on multiples of WINDOW_ROUND."""
    a = np.abs(w)
    big = np.nonzero(a >= WINDOW_FLOOR * a.max())[0] if a.max() > 0 else np.arange(w.size)
    lo = max(0, int(big[0]) - WINDOW_BEFORE) // WINDOW_ROUND * WINDOW_ROUND
    hi = min(w.size, -(-(int(big[-1]) + 1 + WINDOW_AFTER) // WINDOW_ROUND) * WINDOW_ROUND)
    return lo, hi


class EchoCanceller:
    """Twin of the native canceller for N channels: ``process(far, near)`` -> int16 output, same shape."""

    def __init__(self, channels, tail_ms=64, **params):
        p = check_params(tail_ms, **params)
        self.channels, self.tail_ms, self.params = int(channels), tail_ms, p
        self.ntaps = n = tail_ms * FS // 1000
        self.mu, self.alpha = _f32(p["mu"]), _f32(p["alpha"])
        self.geigel = _f32(10.0 ** (-p["geigel_db"] / 20.0))
        self.hangover = int(round(p["hangover_ms"] * FS / 1000))
        self.nlp_ratio = _f32(10.0 ** (-p["nlp_db"] / 10.0))
        self.nlp_far = nlp_far(p, n)
        self.nlp, self.cng, self.tone_disable = bool(p["nlp"]), bool(p["cng"]), bool(p["tone_disable"])
        self.settle, self.window = bool(p["settle"]), bool(p["window"])
        self.place = self.window and bool(p["place"]) and n >= PLACE_MIN_TAPS
        self.lags = n // ENV_STEP
        self.sleep_after, self.probe_every = sleep_samples(p)
        self.rings = (n + MAX_BLOCK - 1) // MAX_BLOCK
        c = self.channels
        self.enabled = np.ones(c, bool)
        self.resets = np.zeros(c, np.int64)
        self.seed = np.arange(1, c + 1, dtype=np.uint32) * np.uint32(0x9E3779B9) | np.uint32(1)
        # a sleep starts its count of far-end activity from a per-channel share of up to half of probe_every, so
        # channels that went to sleep together (calls started together) do not all look again in the same tick
        self.stagger = np.array([(ch * 2654435761 % 2**32) * (self.probe_every // 2) >> 32 for ch in range(c)], np.int64)
        for ch in range(c):
            self.reset(ch)

    def reset(self, channel):
        """Forget one channel's echo path, detectors and counters (a new call)."""
        n, ch = self.ntaps, channel
        if not hasattr(self, "x"):
            c = self.channels
            z = lambda *shape, dt=np.float32: np.zeros((c,) + shape, dt)  # noqa: E731
            self.x, self.x2, self.wf, self.wb, self.g = z(n), z(n), z(n), z(n), z(n)
            self.energy = z(dt=np.int64)
            self.ring = z(self.rings, dt=np.int32)
            self.ring_max, self.cur_max, self.ring_pos = z(dt=np.int32), z(dt=np.int32), z(dt=np.int32)
            self.count, self.dt_hang = z(dt=np.int64), z(dt=np.int32)
            self.y_prev, self.hp = z(dt=np.int32), z()
            self.blk_y, self.blk_f, self.blk_b, self.blk_n, self.blk_far = z(), z(), z(), z(dt=np.int32), z(dt=np.int32)
            self.copy_run, self.div_run, self.bgdiv_run, self.bypass_run = (z(dt=np.int32) for _ in range(4))
            self.bypass = z(dt=bool)
            self.s_y, self.s_e, self.s_n, self.s_nb, self.noise = z(), z(), z(), z(), z()
            self.g_y, self.g_e = z(), z()
            self.l_x, self.l_y, self.l_e = z(), z(), z()
            self.nlp_on = z(dt=bool)
            self.noise_ring, self.noise_cur = z(NOISE_SUBS), z()
            self.rng = z(dt=np.uint32)
            self.tacc = z(2, 3, 2)  # direction (far, near) x frequency x (re, im)
            self.tpow = z(2)
            self.hist = z(2, 4, 2)  # last 4 blocks' 2100 Hz correlations per direction, newest first
            self.tone_run, self.tone_miss, self.v21_run = z(2, dt=np.int32), z(2, dt=np.int32), z(2, dt=np.int32)
            self.quiet_run = z(dt=np.int32)
            self.disabled_by_tone = z(dt=bool)
            self.state = z(dt=np.int8)
            self.dormant, self.fg_used = z(dt=bool), z(dt=bool)
            self.awake_run, self.far_run, self.heard_far = z(dt=np.int64), z(dt=np.int64), z(dt=bool)
            self.settled, self.settle_run = z(dt=bool), z(dt=np.int32)
            self.run_f, self.run_b = z(), z()  # both filters' error energies over the settle run's blocks
            self.lo, self.hi, self.win_run = z(dt=np.int32), z(dt=np.int32), z(dt=np.int32)  # step 10
            # step 11: estimating, holding the background, the hold's far-end samples, a placed window, its misses
            self.est, self.hold, self.placed = z(dt=bool), z(dt=bool), z(dt=bool)
            self.hold_run, self.place_miss, self.place_short, self.est_n, self.env_n, self.env_seen = (
                z(dt=np.int32) for _ in range(6))
            self.env_x, self.env_y = z(dt=np.int64), z(dt=np.int64)  # this step's sums of squares
            self.env = z(self.lags, dt=np.float64)  # far envelope, newest step first
            self.sxy, self.sx, self.sxx = (z(self.lags, dt=np.float64) for _ in range(3))  # per lag
            self.sy, self.syy = z(dt=np.float64), z(dt=np.float64)
            # the hold's record: far (taps - 1 samples of history, then RECORD samples), near, adaptation flags (1:
            # adapt, 2: double talk); samples recorded, replayed and to replay; the replay's DC blocker
            self.rfar, self.rnear = z(n + RECORD, dt=np.int16), z(RECORD, dt=np.int16)
            self.rflag = z(RECORD, dt=np.uint8)
            self.rec_n, self.rp_at, self.rp_todo = z(dt=np.int32), z(dt=np.int32), z(dt=np.int32)
            self.rp_hp, self.rp_prev = z(), z(dt=np.int32)
        for arr in (self.x, self.x2, self.wf, self.wb, self.tacc, self.tpow, self.hist):
            arr[ch] = 0
        self.g[ch] = 1.0 / n
        for arr in (self.energy, self.ring, self.ring_max, self.cur_max, self.ring_pos, self.count, self.dt_hang,
                    self.y_prev, self.hp, self.blk_y, self.blk_f, self.blk_b, self.blk_n, self.blk_far, self.copy_run,
                    self.div_run, self.bgdiv_run, self.bypass_run, self.bypass, self.s_y, self.s_e, self.s_n, self.s_nb, self.g_y, self.g_e,
                    self.l_x, self.l_y, self.l_e, self.noise, self.nlp_on, self.tone_run, self.tone_miss, self.v21_run, self.quiet_run,
                    self.disabled_by_tone, self.state, self.dormant, self.fg_used, self.awake_run, self.far_run, self.heard_far,
                    self.settled, self.settle_run, self.run_f, self.run_b, self.lo, self.win_run):
            arr[ch] = 0
        self.hi[ch] = n
        self._start_estimate(ch)
        self.rng[ch] = self.seed[ch]
        self.noise_cur[ch] = self.noise_ring[ch] = NOISE_START

    def enable(self, channel):
        """Switch one channel's canceller on."""
        self.enabled[channel] = True

    def disable(self, channel):
        """Switch one channel's canceller off: its near input passes unchanged."""
        self.enabled[channel] = False

    def counters(self):
        """Return EchoCounters for every channel: ERL and ERLE in dB over far-end single talk, state, resets."""
        return counters_from(self.l_x, self.l_y, self.l_e, self.state, self.resets, self.settled & self.enabled)

    def windows(self):
        """Return (lo, hi) int32 arrays: the taps [lo, hi) each channel's background filter adapts (step 10)."""
        return self.lo.copy(), self.hi.copy()

    def taps(self, channel):
        """Return copies of one channel's (foreground, background) filter taps (float32)."""
        return self.wf[channel].copy(), self.wb[channel].copy()

    # --- one sample for every channel -------------------------------------------------------------------------

    def process(self, far, near):
        """Return the int16 (channels, samples) output for int16 far (sent) and near (received) blocks."""
        out = np.empty(near.shape, np.int16)
        for ch in np.nonzero(self.rp_at < self.rp_todo)[0]:  # 11. the hold's record, a share each call
            if self.settled[ch] or self.dormant[ch]:  # the background stands still, or starts afresh
                self.rp_todo[ch] = self.rp_at[ch]
            else:
                self._replay(ch, near.shape[1] * REPLAY_RATE)
        for i in range(near.shape[1]):
            out[:, i] = self._sample(far[:, i], near[:, i])
        return out

    def _sample(self, far_i, near_i):
        n = self.ntaps
        awake = ~self.dormant  # a sleeping channel only keeps its history, energy, Geigel maxima and DC blocker
        xs = far_i.astype(np.float32)
        yi = near_i.astype(np.int32)
        # 1. DC blocker, history, window energy, Geigel maximum
        self.hp = np.where(awake, HP_POLE * (self.hp + (yi - self.y_prev).astype(np.float32)), self.hp)
        self.y_prev = np.where(awake, yi, self.y_prev)
        y = self.hp
        leaving = self.x[:, -1].astype(np.int64)
        self.energy += np.where(awake, far_i.astype(np.int64) ** 2 - leaving**2, 0)
        self.x[awake, 1:] = self.x[awake, :-1]
        self.x[awake, 0] = xs[awake]
        self.x2[awake, 1:] = self.x2[awake, :-1]
        self.x2[awake, 0] = xs[awake] * xs[awake]
        ax = np.abs(far_i.astype(np.int32))
        self.cur_max = np.where(awake, np.maximum(self.cur_max, ax), self.cur_max)
        geigel_max = np.maximum(self.ring_max, self.cur_max)
        far_active = self.energy > FAR_ACTIVE * n
        active = self.enabled & ~self.disabled_by_tone
        # 11. the envelopes of the bulk-delay estimate, and the background held for a tail of far-end activity
        self._envelope_step(far_i, near_i, far_active & active & awake)
        self.hold_run += (self.hold & awake & active & far_active).astype(np.int32)
        unsure = self.hold & (self.hold_run > (self.lags + PLACE_STEPS) * ENV_STEP)
        self.hold &= ~unsure
        # unsure at the hold's end: the whole tail adapts from now on, and first learns what the hold recorded
        self.rp_todo[unsure], self.rp_at[unsure] = self.rec_n[unsure], 0
        hold = self.hold.copy()
        # the record starts at the far end's first activity, with the history the window holds then
        rec = hold & (self.rec_n < RECORD) & ((self.rec_n > 0) | (far_active & active))
        for ch in np.nonzero(rec & (self.rec_n == 0))[0]:
            self.rfar[ch, 1:n] = self.x[ch, 1:][::-1]
            self.rp_hp[ch], self.rp_prev[ch] = y[ch], yi[ch]
        # 2. both filters
        yf = np.einsum("ij,ij->i", self.wf, self.x)
        yb = np.where(hold, _f32(0.0), np.einsum("ij,ij->i", self.wb, self.x))
        settled = self.settled.copy()  # 9. steady state: the background stands still, its error is the foreground's
        yb = np.where(settled, yf, yb)
        ef, eb = y - yf, y - yb
        # 3. Geigel
        talk = np.minimum(np.abs(ef), np.abs(eb)) > self.geigel * geigel_max.astype(np.float32)
        # settled, a loud residual (a path change or near speech) ends the steady state at once (9); the next sample
        # judges talk on both filters again
        left = settled & talk
        self.settled &= ~left
        self.settle_run[left] = SETTLE_BLOCKS - 1  # one good block settles it again
        self.run_f[left] = self.run_b[left] = 0
        talk &= ~settled
        self.dt_hang = np.where(awake, np.where(talk, self.hangover, np.maximum(self.dt_hang - 1, 0)), self.dt_hang)
        dt = self.dt_hang > 0
        if rec.any():
            rows, at = np.nonzero(rec)[0], self.rec_n[rec]
            self.rfar[rows, n + at] = far_i[rows]
            self.rnear[rows, at] = near_i[rows]
            self.rflag[rows, at] = ((active & far_active).astype(np.uint8) | (dt.astype(np.uint8) << 1))[rows]
            self.rec_n[rows] += 1
        # 4. IPNLMS
        gains_due = ((self.count % GAIN_EVERY) == 0) & awake & ~settled & ~hold
        if gains_due.any():
            self._gains(gains_due)
        adapt = active & far_active & awake & ~settled & ~hold
        if adapt.any():
            den = np.einsum("ij,ij->i", self.g[adapt], self.x2[adapt]) + DELTA
            mu = np.where(dt, self.mu * DT_MU, self.mu)[adapt]
            step = (mu * eb[adapt]) / den
            self.wb[adapt] += step[:, None] * (self.g[adapt] * self.x[adapt])
        # 5. block accounting
        single = far_active & ~dt & awake
        zero = _f32(0.0)
        self.blk_y += np.where(awake, y * y, zero)
        self.blk_f += np.where(awake, ef * ef, zero)
        self.blk_b += np.where(awake, eb * eb, zero)
        self.blk_n += single.astype(np.int32)
        self.blk_far += (far_active & awake).astype(np.int32)
        lin = np.where(self.bypass, y, ef)
        # 6. short-term powers, background noise, NLP, comfort noise
        self.s_y = np.where(awake, self.s_y + (y * y - self.s_y) * SHORT, self.s_y)
        self.s_e = np.where(awake, self.s_e + (lin * lin - self.s_e) * SHORT, self.s_e)
        self.s_n = np.where(awake, self.s_n + (lin * lin - self.s_n) * NOISE_SMOOTH, self.s_n)
        # the background's error power holds while the background stands still (9)
        self.s_nb = np.where(awake & ~settled, self.s_nb + (eb * eb - self.s_nb) * NOISE_SMOOTH, self.s_nb)
        warm = awake & (self.count >= NOISE_WARMUP)
        # the background filter's error counts as well: until the first copy the linear output is the echo itself,
        # and a background learnt from it would keep every block 'not over the noise', so no copy would ever come
        self.noise_cur = np.where(warm, np.minimum(self.noise_cur, np.minimum(self.s_n, self.s_nb)), self.noise_cur)
        nmin = np.minimum(self.noise_ring.min(axis=1), self.noise_cur)
        self.noise = np.where(awake, np.where(nmin >= NOISE_START, _f32(0.0), NOISE_BIAS * nmin), self.noise)
        quiet = (self.s_e < self.nlp_ratio * self.s_y) | (self.s_e < self.nlp_far * self.energy.astype(np.float32))
        self.nlp_on = active & far_active & ~dt & ~self.bypass & quiet & awake
        r = self.rng.copy()
        r ^= r << np.uint32(13)
        r ^= r >> np.uint32(17)
        r ^= r << np.uint32(5)
        self.rng = np.where(awake, r, self.rng)
        uniform = r.view(np.int32).astype(np.float32) * _f32(1.0 / 2147483648.0)
        level = np.minimum(self.noise, self.s_y)  # never louder than what came in
        comfort = uniform * np.sqrt(_f32(3.0) * level) if self.cng else np.zeros_like(uniform)
        # a linear output 6 dB over the input and over the background (old taps putting echo into silence after
        # a path change, before the block decisions see it) gives way to the input at once
        self.g_y = np.where(awake, self.g_y + (y * y - self.g_y) * GUARD_SMOOTH, self.g_y)
        self.g_e = np.where(awake, self.g_e + (lin * lin - self.g_e) * GUARD_SMOOTH, self.g_e)
        guard = (self.g_e > GUARD_RATIO * self.g_y) & (self.g_e > GUARD_RATIO * self.noise)
        v = np.where(self.nlp_on & self.nlp, comfort, np.where(guard, y, lin))
        # counters over far-end single talk
        self.l_x = np.where(single, self.l_x + (xs * xs - self.l_x) * LONG, self.l_x)
        self.l_y = np.where(single, self.l_y + (y * y - self.l_y) * LONG, self.l_y)
        self.l_e = np.where(single, self.l_e + (ef * ef - self.l_e) * LONG, self.l_e)
        out = np.where(active & awake, np.clip(np.rint(v), -32768, 32767), near_i).astype(np.int16)
        self._tone_step(xs, yi.astype(np.float32), awake)
        self.count += 1
        # block ends (each channel on its own count)
        ends = ((self.count % MAX_BLOCK) == 0) & awake
        if ends.any():
            self._geigel_block(ends)
        ends = ((self.count % BLOCK) == 0) & awake
        if ends.any():
            self._block(ends)
        far_on = far_i.astype(np.int64) ** 2 > FAR_ACTIVE  # asleep, far activity is judged sample by sample
        self.far_run += (far_on & ~awake).astype(np.int64)
        due = (self.far_run >= self.probe_every) | (far_on & ~self.heard_far)
        for ch in np.nonzero(~awake & due)[0]:
            self._wake(ch)
        ends = ((self.count % NOISE_SUB) == 0) & awake
        if ends.any():
            rows = np.nonzero(ends)[0]
            self.noise_ring[rows, (self.count[rows] // NOISE_SUB) % NOISE_SUBS] = self.noise_cur[rows]
            self.noise_cur[rows] = NOISE_START
        self._state(far_active, dt & awake)
        return out

    def _wake(self, ch):
        """Look for echo again: block, tone and double-talk state start afresh."""
        self.dormant[ch] = False
        self.awake_run[ch] = 0
        self.blk_y[ch] = self.blk_f[ch] = self.blk_b[ch] = 0
        self.blk_n[ch] = self.blk_far[ch] = 0
        self.tacc[ch] = 0
        self.tpow[ch] = 0
        self.hist[ch] = 0
        self.tone_run[ch] = self.tone_miss[ch] = self.v21_run[ch] = 0
        self.dt_hang[ch] = 0
        # asleep, nothing was kept: history, Geigel maxima and DC blocker start from zero (64 ms to refill)
        self.x[ch] = self.x2[ch] = 0
        self.energy[ch] = 0
        self.ring[ch] = 0
        self.ring_max[ch] = self.cur_max[ch] = 0
        self.hp[ch] = 0
        self.y_prev[ch] = 0
        self._start_estimate(ch)

    def _gains(self, rows):
        """Refresh the IPNLMS gains of the rows (a mask) from their background taps."""
        a, n = self.alpha, self.ntaps
        l1 = np.abs(self.wb[rows]).sum(axis=1, dtype=np.float32)
        scale = (1 + a) / (2 * l1 + _f32(1e-3))  # one division per channel, then a product per tap
        # the gains of a filter of the window's length, zero outside it (10)
        lo, hi = self.lo[rows], self.hi[rows]
        inside = (np.arange(n) >= lo[:, None]) & (np.arange(n) < hi[:, None])
        base = (1 - a) / (_f32(2) * (hi - lo).astype(np.float32))
        self.g[rows] = np.where(inside, base[:, None] + scale[:, None] * np.abs(self.wb[rows]), _f32(0.0))

    def _replay(self, ch, budget):
        """Step 11: up to `budget` recorded samples of the hold through the background, oldest first, as they would
        have adapted it live (the same update over today's window, gains refreshed every GAIN_EVERY of them)."""
        n, rows = self.ntaps, np.arange(self.channels) == ch
        j0 = int(self.rp_at[ch])
        j1 = min(int(self.rp_todo[ch]), j0 + budget)
        hp, prev = self.rp_hp[ch], int(self.rp_prev[ch])
        wb, g = self.wb[ch], self.g[ch]
        for j in range(j0, j1):
            if j > 0:
                hp = HP_POLE * (hp + np.float32(int(self.rnear[ch, j]) - prev))
                prev = int(self.rnear[ch, j])
            if j % GAIN_EVERY == 0:
                self._gains(rows)
            f = int(self.rflag[ch, j])
            if not f & 1:
                continue
            x = self.rfar[ch, j + 1:n + j + 1][::-1].astype(np.float32)  # newest first
            yb = np.dot(wb, x)
            den = np.dot(g, x * x) + DELTA
            step = ((self.mu * DT_MU if f & 2 else self.mu) * (hp - yb)) / den
            wb += step * (g * x)
        self.rp_hp[ch], self.rp_prev[ch], self.rp_at[ch] = hp, prev, j1

    def _start_estimate(self, ch):
        """Step 11 from the start: estimating, background held, whole tail, sums empty."""
        self.est[ch] = self.hold[ch] = self.place
        self.placed[ch] = False
        self.lo[ch], self.hi[ch] = 0, self.ntaps
        for arr in (self.hold_run, self.place_miss, self.place_short, self.est_n, self.env_n, self.env_seen, self.env_x, self.env_y, self.env,
                    self.sxy, self.sx, self.sxx, self.sy, self.syy, self.rec_n, self.rp_at, self.rp_todo):
            arr[ch] = 0

    def _envelope_step(self, far_i, near_i, counts):
        """Add one sample to the envelopes; at a step's end, push the far one and count the step where asked."""
        est = self.est
        self.env_x += np.where(est, far_i.astype(np.int64) ** 2, 0)
        self.env_y += np.where(est, near_i.astype(np.int64) ** 2, 0)
        self.env_n += est.astype(np.int32)
        for ch in np.nonzero(est & (self.env_n == ENV_STEP))[0]:
            env = self.env[ch]
            env[1:] = env[:-1].copy()
            env[0] = float(self.env_x[ch])
            self.env_seen[ch] = min(self.env_seen[ch] + 1, self.lags)
            if counts[ch] and self.env_seen[ch] == self.lags:
                ey = float(self.env_y[ch])
                self.sxy[ch] += ey * env
                self.sx[ch] += env
                self.sxx[ch] += env * env
                self.sy[ch] += ey
                self.syy[ch] += ey * ey
                self.est_n[ch] += 1
            self.env_x[ch] = self.env_y[ch] = self.env_n[ch] = 0

    def _place_block(self, ch, running):
        """Step 11 at a block's end: place the window when the estimate is sure; stop estimating when done."""
        if self.fg_used[ch]:
            self.est[ch] = self.hold[ch] = False
            return
        if running and self.est_n[ch] >= PLACE_STEPS and self._place(ch):
            return
        # still unsure when the hold ends: the whole tail adapts from now on, and a window placed later would throw
        # away what it learns outside (the speech sweep lost up to 1.2 s of convergence that way)
        if not self.hold[ch]:
            self.est[ch] = False

    def _place(self, ch):
        """Place the window at the estimated lag when the estimate is sure; return whether it was placed."""
        n = np.float64(self.est_n[ch])
        num = n * self.sxy[ch] - self.sx[ch] * self.sy[ch]
        vx = n * self.sxx[ch] - self.sx[ch] * self.sx[ch]
        vy = n * self.syy[ch] - self.sy[ch] * self.sy[ch]
        with np.errstate(divide="ignore", invalid="ignore"):
            m = np.where((num > 0) & (vx > 0), num / np.sqrt(vx), -np.inf)
        lag = int(np.argmax(m))
        apart = np.abs(np.arange(self.lags) - lag) > PLACE_APART
        rest = m[apart].max() if apart.any() else -np.inf
        sure = m[lag] > 0 and m[lag] * m[lag] >= PLACE_R2 * vy and m[lag] - rest >= PLACE_MARGIN * np.sqrt(vy)
        if sure and self.hi[ch] - self.lo[ch] == self.ntaps:
            lo = max(0, lag * ENV_STEP - PLACE_BEFORE) // WINDOW_ROUND * WINDOW_ROUND
            hi = min(self.ntaps, -(-((lag + 1) * ENV_STEP + PLACE_AFTER) // WINDOW_ROUND) * WINDOW_ROUND)
            if hi - lo <= self.ntaps // 2:
                self.lo[ch], self.hi[ch] = lo, hi
                self.wb[ch, :lo] = 0
                self.wb[ch, hi:] = 0
                self.placed[ch] = True
                self.place_miss[ch] = self.place_short[ch] = 0
                # placed, the window converges fast without the record (its replay would cost a placed channel's
                # start more than the hold saved)
                self.est[ch] = self.hold[ch] = False
                self.rec_n[ch] = self.rp_at[ch] = self.rp_todo[ch] = 0  # (a hold that ended in this block may have
                # armed one)
                return True
        return False

    def _geigel_block(self, ends):
        rows = np.nonzero(ends)[0]
        self.ring[rows, self.ring_pos[rows]] = self.cur_max[rows]
        self.ring_pos[rows] = (self.ring_pos[rows] + 1) % self.rings
        self.ring_max[rows] = self.ring[rows].max(axis=1)
        self.cur_max[rows] = 0

    def _block(self, ends):
        for ch in np.nonzero(ends)[0]:
            by, bf, bb = self.blk_y[ch], self.blk_f[ch], self.blk_b[ch]
            running = self.enabled[ch] and not self.disabled_by_tone[ch]
            if running:  # looking for echo only while cancelling
                self.awake_run[ch] += BLOCK
                self.heard_far[ch] |= self.blk_far[ch] > 0
            valid = self.blk_n[ch] == BLOCK and running  # far-end single talk all through the block
            heard = self.blk_far[ch] == BLOCK and running  # far end active all through (double talk or not)
            loud = by > BLOCK_FLOOR and by > ABOVE_NOISE * self.noise[ch]
            better = bb < COPY_RATIO * bf and bb < COPY_GAIN * by
            self.copy_run[ch] = self.copy_run[ch] + 1 if valid and loud and better else 0
            copied = self.copy_run[ch] >= COPY_BLOCKS
            if copied:
                if not self.fg_used[ch]:  # the counters start again: before the first copy the linear output is
                    # the echo itself, and a 0.5 s average would carry those samples' 0 dB for seconds
                    self.l_x[ch] = self.l_y[ch] = self.l_e[ch] = 0
                self.wf[ch] = self.wb[ch]
                self.fg_used[ch] = True
                self.copy_run[ch] = 0
                self.bypass[ch] = False
                self.div_run[ch] = 0
                bf = bb
            self.div_run[ch] = self.div_run[ch] + 1 if heard and loud and bf > BYPASS_RATIO * by else 0
            if self.div_run[ch] >= 1:
                self.bypass[ch] = True
            elif self.bypass[ch] and heard and bf <= by:
                self.bypass[ch] = False
            self.bypass_run[ch] = self.bypass_run[ch] + 1 if self.bypass[ch] else 0
            self.bgdiv_run[ch] = self.bgdiv_run[ch] + 1 if valid and loud and bb > BG_RESET_RATIO * by else 0
            restart = False
            if self.bgdiv_run[ch] >= 4:
                self.wb[ch] = 0 if self.bypass[ch] else self.wf[ch]
                self.bgdiv_run[ch] = 0
                self.resets[ch] += 1
                restart = True
            if self.bypass_run[ch] >= BYPASS_RESET_BLOCKS:
                self.wb[ch] = 0
                self.wf[ch] = 0
                self.bypass[ch] = False
                self.bypass_run[ch] = 0
                self.resets[ch] += 1
                restart = True
            if self.est[ch]:
                self._place_block(ch, running)
            if self.window:
                self._window_block(ch, valid, heard, loud, bf, bb, by, running, restart)
            if self.settle:  # 9. steady state
                noise = self.noise[ch]
                if self.settled[ch]:
                    slipped = heard and loud and not (bf * LEAVE_ERLE < by or bf < LEAVE_NOISE * noise)
                    if slipped or self.bypass[ch] or not running:
                        self.settled[ch] = False
                else:
                    fit = self.fg_used[ch] and not self.bypass[ch] and not copied
                    good = valid and loud and fit and (bf * SETTLE_ERLE < by or bf < SETTLE_NOISE * noise)
                    # a block that cannot be judged (a pause, double talk) neither counts nor breaks the run
                    if good:
                        self.settle_run[ch] += 1
                        self.run_f[ch] += bf
                        self.run_b[ch] += bb
                    elif (valid and loud) or not fit:
                        self.settle_run[ch] = 0
                        self.run_f[ch] = self.run_b[ch] = 0
                    if self.settle_run[ch] >= SETTLE_BLOCKS:  # settles unless the background still gains on it
                        self.settled[ch] = self.run_b[ch] > SETTLE_GAIN * self.run_f[ch]
                        self.settle_run[ch] = 0
                        self.run_f[ch] = self.run_b[ch] = 0
            self.blk_y[ch] = self.blk_f[ch] = self.blk_b[ch] = 0
            self.blk_n[ch] = self.blk_far[ch] = 0
            if self.sleep_after and not self.fg_used[ch] and self.awake_run[ch] >= self.sleep_after:
                self.dormant[ch] = True  # nothing found to cancel: sleep until the next look
                self.far_run[ch] = self.stagger[ch]
                self.wb[ch] = 0
                self.g[ch] = _f32(1.0) / _f32(self.ntaps)
                self.lo[ch], self.hi[ch] = 0, self.ntaps
                self.placed[ch] = self.est[ch] = self.hold[ch] = False
                self.rec_n[ch] = self.rp_at[ch] = self.rp_todo[ch] = 0

    def _window_block(self, ch, valid, heard, loud, bf, bb, by, running, restart):
        """Step 10 at a block's end: give the whole tail back when the foreground slips, or take the window."""
        n, noise = self.ntaps, self.noise[ch]
        if self.placed[ch]:  # 11: a placed window, until this step takes one from the taps
            if valid and loud and not self.fg_used[ch]:
                self.place_miss[ch] = 0 if bb < COPY_GAIN * by or bf < COPY_GAIN * by else self.place_miss[ch] + 1
            elif valid and loud:  # an echo partly outside the window would hold a copy short of 24 dB for good
                self.place_short[ch] += not (bf * LEAVE_ERLE < by or bf < SETTLE_NOISE * noise)
            failed = self.place_miss[ch] >= PLACE_MISS or self.place_short[ch] >= PLACE_SHORT
            if restart or not running or self.bypass[ch] or failed:
                self.lo[ch], self.hi[ch] = 0, n
                self.placed[ch] = False
                self.win_run[ch] = 0
                return
            if not self.fg_used[ch]:
                return
        elif self.hi[ch] - self.lo[ch] < n:
            slipped = heard and loud and not (bf * LEAVE_ERLE < by or bf < LEAVE_NOISE * noise)
            if slipped or self.bypass[ch] or restart or not running:
                self.lo[ch], self.hi[ch] = 0, n
                self.win_run[ch] = 0
                return
        # taken afresh after every WINDOW_BLOCKS good blocks: a window taken early (taps still noisy) narrows
        fit = self.fg_used[ch] and not self.bypass[ch] and not restart and running
        good = valid and loud and fit and (bf * LEAVE_ERLE < by or bf < SETTLE_NOISE * noise)
        if good:
            self.win_run[ch] += 1
        elif (valid and loud) or not fit:
            self.win_run[ch] = 0
        if self.win_run[ch] < WINDOW_BLOCKS:
            return
        self.win_run[ch] = 0
        lo, hi = window_of(self.wb[ch])
        if hi - lo <= n // 2:
            self.lo[ch], self.hi[ch] = lo, hi
            self.placed[ch] = False
            self.wb[ch, :lo] = 0
            self.wb[ch, hi:] = 0

    def _tone_step(self, xs, ys, awake):
        k = (self.count % 160).astype(np.intp)
        cos, sin = COS[:, k].T, SIN[:, k].T  # (channels, 3)
        on = awake[:, None]
        for d, s in enumerate((xs, ys)):
            self.tacc[:, d, :, 0] = np.where(on, self.tacc[:, d, :, 0] + s[:, None] * cos, self.tacc[:, d, :, 0])
            self.tacc[:, d, :, 1] = np.where(on, self.tacc[:, d, :, 1] + s[:, None] * sin, self.tacc[:, d, :, 1])
            self.tpow[:, d] = np.where(awake, self.tpow[:, d] + s * s, self.tpow[:, d])
        ends = (((self.count + 1) % TONE_BLOCK) == 0) & awake
        for ch in np.nonzero(ends)[0]:
            self._tone_block(ch)

    def _tone_block(self, ch):
        reversal = v21 = False
        loud = False
        for d in range(2):
            p = self.tpow[ch, d]
            acc = self.tacc[ch, d]
            re, im = acc[0, 0], acc[0, 1]
            mag = re * re + im * im
            tone = p >= TONE_LEVEL and _f32(2.0) * mag >= TONE_PURITY * _f32(TONE_BLOCK) * p
            h = self.hist[ch, d]
            h[1:] = h[:-1].copy()
            m = np.sqrt(mag) if tone else _f32(1.0)
            h[0] = (re / m, im / m) if tone else (0.0, 0.0)  # unit phasors: the products below stay in range
            if tone and self.tone_run[ch, d] >= TONE_HOLD_BLOCKS and h[2].any() and h[3].any():
                # A tone a little off 2100 Hz drifts in phase by the same angle every block (h[2] vs h[3]); over
                # the two blocks from h[2] to h[0] (h[1] may hold the reversal itself, half each way) it should
                # move by twice that. A reversal adds 180 degrees: d1 = h0 conj(h2) against d0 = (h2 conj(h3))^2.
                d1 = (h[0, 0] * h[2, 0] + h[0, 1] * h[2, 1], h[0, 1] * h[2, 0] - h[0, 0] * h[2, 1])
                d0 = (h[2, 0] * h[3, 0] + h[2, 1] * h[3, 1], h[2, 1] * h[3, 0] - h[2, 0] * h[3, 1])
                d0 = (d0[0] * d0[0] - d0[1] * d0[1], _f32(2.0) * d0[0] * d0[1])
                dot = d1[0] * d0[0] + d1[1] * d0[1]
                norm = np.sqrt((d1[0] * d1[0] + d1[1] * d1[1]) * (d0[0] * d0[0] + d0[1] * d0[1]))
                reversal |= bool(dot < REVERSAL_COS * norm)
            # one short gap (the block a reversal falls in) does not end a run of tone
            self.tone_miss[ch, d] = 0 if tone else self.tone_miss[ch, d] + 1
            if tone:
                self.tone_run[ch, d] += 1
            elif self.tone_miss[ch, d] >= 2:
                self.tone_run[ch, d] = 0
            mag21 = acc[1, 0] ** 2 + acc[1, 1] ** 2 + acc[2, 0] ** 2 + acc[2, 1] ** 2
            flags = p >= TONE_LEVEL and _f32(2.0) * mag21 >= TONE_PURITY * _f32(TONE_BLOCK) * p
            self.v21_run[ch, d] = self.v21_run[ch, d] + 1 if flags else 0
            v21 |= bool(self.v21_run[ch, d] >= V21_BLOCKS)
            loud |= bool(p >= QUIET_LEVEL)
            acc[:] = 0
            self.tpow[ch, d] = 0
        if self.tone_disable and (reversal or v21):
            self.disabled_by_tone[ch] = True
        self.quiet_run[ch] = 0 if loud else self.quiet_run[ch] + 1
        if self.disabled_by_tone[ch] and self.quiet_run[ch] >= RELEASE_BLOCKS:
            self.disabled_by_tone[ch] = False

    def _state(self, far_active, dt):
        s = np.where(self.l_e * CONVERGED_ERLE < self.l_y, CONVERGED, np.where(self.l_y > 0, CONVERGING, IDLE))
        s = np.where(dt & far_active, DOUBLE_TALK, s)
        s = np.where(self.bypass, BYPASS, s)
        s = np.where(self.dormant, NO_ECHO, s)
        s = np.where(self.disabled_by_tone, TONE_DISABLED, s)
        s = np.where(self.enabled, s, DISABLED)
        self.state = s.astype(np.int8)
