"""The acceptance checks. Each takes the Rig (and the wiring found) and returns a list of Results.

Checks run every wired pair at once where they can, so a 30-channel span costs no more board time
than one channel. Every check that needs a DSP module reports FAIL "not available" when it is absent.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from pycallcenter.drivers import Alarm, EventKind, HookOp
from pycallcenter.errors import HardwareError

from .rig import DspMissing, dsp

PASS, FAIL, SKIP = "PASS", "FAIL", "SKIP"
COLUMNS = ("span", "tone", "ring", "callerid", "hook", "dtmf", "dchan", "alarm")
TONE_DBM0 = -10.0
PROBE = b"hwtests wiring probe span "


@dataclass
class Result:
    """One check outcome for some channels."""

    check: str
    channels: tuple
    status: str
    detail: str = ""


@dataclass
class Wiring:
    """What is wired to what, as found by sending on one side and listening on all others."""

    links: list = field(default_factory=list)  # (span a, span b) digital spans joined by a cable (a == b: loopback)
    pairs: list = field(default_factory=list)  # (office channel, station channel): FXS port wired to FXO port
    unwired: dict = field(default_factory=dict)  # channel number -> why it has no partner (SKIP)
    broken: dict = field(default_factory=dict)  # channel number -> the board error met while probing it (FAIL)


def _span_channels(span):
    return tuple(c.number for c in span.channels if c.signalling.is_audio or c.signalling.is_hdlc)


# --- span up -------------------------------------------------------------------------------------
def spans_up(rig):
    """Digital spans report no alarm after the settling time."""
    out = []
    for span in rig.board.spans:
        if not span.kind.digital:
            continue
        alarms = span.status().alarms
        if alarms == Alarm.NONE:
            out.append(Result("span", _span_channels(span), PASS, f"span {span.number} up, no alarms"))
        else:
            out.append(Result("span", _span_channels(span), FAIL,
                              f"span {span.number} alarms: {'+'.join(Alarm.names(alarms))}"))
    return out


# --- wiring --------------------------------------------------------------------------------------
def discover(rig):
    """Return the Wiring: D-channel probes between digital spans, one ring per FXS port for analog pairs."""
    w = Wiring()
    board = rig.board
    for d in rig.dchans:
        d.write_frame(PROBE + str(d.span.number).encode())
        rig.frames[d.number].clear()
    rig.run(rig.seconds(0.5))
    seen = set()
    for d in rig.dchans:
        for frame in rig.frames[d.number]:
            if frame.startswith(PROBE):
                a, b = sorted((int(frame[len(PROBE):]), d.span.number))
                seen.add((a, b))
        rig.frames[d.number].clear()
    linked = {s for link in seen for s in link}
    seen |= _tone_probe(rig, [s for s in board.spans if s.kind.digital and s.number not in linked])
    w.links = sorted(seen)
    linked = {s for link in w.links for s in link}
    for span in board.spans:
        if span.kind.digital and span.number not in linked:
            for n in _span_channels(span):
                w.unwired[n] = "neither a D-channel frame nor a tone crossed: not cabled to another span of this board"
    for a, b in w.links:  # robbed-bit lines facing each other across a cable signal like an analog pair
        for x, y in _facing(rig, a, b):
            if x.signalling.is_office and y.signalling.is_station:
                w.pairs.append((x.number, y.number))
            elif y.signalling.is_office and x.signalling.is_station:
                w.pairs.append((y.number, x.number))
    offices = [c for c in rig.audio if c.signalling.is_office and not c.span.kind.digital]
    stations = {c.number for c in rig.audio if c.signalling.is_station and not c.span.kind.digital}
    for office in offices:
        mark = rig.mark()
        try:
            office.ring(True)
        except HardwareError as exc:
            w.broken[office.number] = f"cannot ring it: {exc}"
            continue
        rig.run(rig.seconds(1.0),
                until=lambda r: any(e.channel in stations for e in r.events_since(mark, EventKind.RING_BEGIN)))
        office.ring(False)
        hits = [e.channel for e in rig.events_since(mark, EventKind.RING_BEGIN) if e.channel in stations]
        rig.run(rig.seconds(0.5))
        if hits:
            w.pairs.append((office.number, hits[0]))
            stations.discard(hits[0])
        else:
            w.unwired[office.number] = "ringing it rang no FXO port of this board"
    for n in stations:
        w.unwired[n] = "no FXS port of this board rings it"
    return w


def _first_audio(span):
    return next((c for c in span.channels if c.signalling.is_audio), None)


def _tone_probe(rig, spans):
    """Return the links among spans found by a tone on each span's first audio channel (spans with no D-channel)."""
    probes = {_first_audio(s).number: s.number for s in spans if _first_audio(s) is not None}
    if not probes:
        return set()
    freqs = {n: 600.0 + 150.0 * i for i, n in enumerate(probes)}
    try:
        got = _play_tones(rig, freqs, 0.5)
    except DspMissing:
        return set()  # those spans stay "not cabled"; the table says so
    links = set()
    for dst, rx in got.items():
        freq, level = _peak(rx[int(0.2 * 8000):int(0.45 * 8000)])
        src = next((n for n, f in freqs.items() if abs(f - freq) <= 15.0), None)
        if src is not None and level > TONE_DBM0 - 20.0:
            links.add(tuple(sorted((probes[src], probes[dst]))))
    return links


def _facing(rig, a, b):
    """Return [(channel on span a, channel on span b)] audio channels in the same timeslot across link (a, b)."""
    sa, sb = rig.board.span(a), rig.board.span(b)
    by_offset = {c.offset: c for c in sb.channels if c.signalling.is_audio}
    return [(c, by_offset[c.offset]) for c in sa.channels if c.signalling.is_audio and c.offset in by_offset]


def channel_pairs(rig, wiring):
    """Return [(a, b)] audio channels facing each other: same timeslot across each link, then analog pairs."""
    paired = {n for p in wiring.pairs for n in p}
    out = [(x.number, y.number) for a, b in wiring.links for x, y in _facing(rig, a, b)
           if x.number not in paired and y.number not in paired]
    return out + list(wiring.pairs)


def _unwired_results(check, wiring, applies):
    return ([Result(check, (n,), SKIP, why) for n, why in sorted(wiring.unwired.items()) if applies(n)]
            + [Result(check, (n,), FAIL, why) for n, why in sorted(wiring.broken.items()) if applies(n)])


def _hook_all(rig, numbers, op):
    for n in numbers:
        rig.board.channel(n).hook(op)


# An on-hook shorter than the board's receive flash time (DAHDI default 1250 ms) is a flash, not a hang-up.
HANGUP_SECONDS = 2.0


def _hang_up(rig, stations):
    """Put FXO ports back on hook and wait until the FXS side has seen a real hang-up."""
    _hook_all(rig, stations, HookOp.ON)
    rig.run(rig.seconds(HANGUP_SECONDS))


# --- tone loopback -------------------------------------------------------------------------------
def _peak(samples):
    """Return (frequency Hz, level dBm0) of the strongest tone in int16 samples."""
    tp = dsp("toneplans")
    x = samples.astype(np.float64)
    spec = np.abs(np.fft.rfft(x * np.hanning(len(x))))
    spec[:3] = 0  # ignore DC
    k = int(np.argmax(spec))
    rms = np.sqrt(np.mean(x * x)) if len(x) else 0.0
    level = 20 * np.log10(max(rms * np.sqrt(2.0), 1e-9) / tp.amplitude(0.0))
    return k * 8000.0 / len(x), level


def _play_tones(rig, freqs, seconds):
    """Send a tone at freqs[channel] Hz on each channel at once; return {channel: received int16} over the run."""
    tones, tp = dsp("tones"), dsp("toneplans")
    senders = list(freqs)
    gen = tones.ToneGenerator(len(senders))
    for row, n in enumerate(senders):
        gen.start(row, tp.ToneSpec("probe", (tp.Step(0, (tp.Component(freqs[n], TONE_DBM0),)),)))
    audio = gen.process(int(seconds * 8000))
    for row, n in enumerate(senders):
        rig.send(n, audio[row])
    got = rig.run(rig.seconds(seconds + 0.1), record=senders)
    return {n: rig.decode(n, codes) for n, codes in got.items()}


def tone_loopback(rig, wiring):
    """Every channel pair carries a tone both ways at the frequency sent, within 6 dB of the level sent."""
    pairs = channel_pairs(rig, wiring)
    out = _unwired_results("tone", wiring, lambda n: rig.board.channel(n).signalling.is_audio)
    if not pairs:
        return out
    try:
        dsp("tones"), dsp("toneplans"), rig.encode(pairs[0][0], np.zeros(1, np.int16))
    except DspMissing as exc:
        return out + [Result("tone", p, FAIL, str(exc)) for p in pairs]
    stations = [b for a, b in wiring.pairs]
    _hook_all(rig, stations, HookOp.OFF)  # an FXO port passes audio only with the loop closed
    rig.run(rig.seconds(0.3))
    sends = {}
    for i, (a, b) in enumerate(pairs):
        sends[a] = 500.0 + 97.0 * (i % 28)
        if b != a:
            sends[b] = sends[a] + 48.0
    got = _play_tones(rig, sends, 0.6)
    lo, hi = int(0.25 * 8000), int(0.55 * 8000)
    for a, b in pairs:
        problems, notes = [], []
        for src, dst in ((a, b), (b, a)) if b != a else ((a, a),):
            rx = got[dst][lo:hi]
            freq, level = _peak(rx)
            notes.append(f"{src}->{dst} {freq:.0f} Hz {level:+.1f} dBm0")
            if abs(freq - sends[src]) > 15.0:
                problems.append(f"{src}->{dst}: heard {freq:.0f} Hz, sent {sends[src]:.0f} Hz")
            elif abs(level - TONE_DBM0) > 6.0:
                problems.append(f"{src}->{dst}: level {level:+.1f} dBm0, sent {TONE_DBM0:+.1f}")
        out.append(Result("tone", (a, b) if b != a else (a,), FAIL if problems else PASS,
                          "; ".join(problems) if problems else ", ".join(notes)))
    _hang_up(rig, stations)
    return out


# --- hook both ways ------------------------------------------------------------------------------
def hook_both_ways(rig, wiring):
    """FXO port off/on hook is seen by its FXS port; the FXS port's polarity reversal and disconnect by the FXO port."""
    out = _unwired_results("hook", wiring, lambda n: rig.board.channel(n).signalling.has_hook)
    if not wiring.pairs:
        return out
    offices = [a for a, b in wiring.pairs]
    stations = [b for a, b in wiring.pairs]
    steps = []

    def step(name, action, kind, watch):
        mark = rig.mark()
        action()
        rig.run(rig.seconds(HANGUP_SECONDS + 1.0), until=lambda r: all(r.saw(mark, kind, n) for n in watch))
        steps.append((name, {n: rig.saw(mark, kind, n) for n in watch}))

    step("FXO off hook -> FXS sees off-hook", lambda: _hook_all(rig, stations, HookOp.OFF), EventKind.OFF_HOOK, offices)
    step("FXS reverses polarity -> FXO sees it",
         lambda: [rig.board.channel(n).set_polarity(True) for n in offices], EventKind.POLARITY, stations)
    step("FXS restores polarity -> FXO sees it",
         lambda: [rig.board.channel(n).set_polarity(False) for n in offices], EventKind.POLARITY, stations)
    step("FXO on hook -> FXS sees on-hook", lambda: _hook_all(rig, stations, HookOp.ON), EventKind.ON_HOOK, offices)
    step("FXO off hook again", lambda: _hook_all(rig, stations, HookOp.OFF), EventKind.OFF_HOOK, offices)
    step("FXS drops loop current -> FXO sees disconnect", lambda: _hook_all(rig, offices, HookOp.ON),
         EventKind.ON_HOOK, stations)
    _hang_up(rig, stations)
    for a, b in wiring.pairs:
        failed = [name for name, seen in steps if not seen.get(a, seen.get(b, False))]
        out.append(Result("hook", (a, b), FAIL if failed else PASS,
                          ("missed: " + "; ".join(failed)) if failed else f"{len(steps)} transitions seen"))
    return out


# --- DTMF both ways ------------------------------------------------------------------------------
DIGITS = "1234567890*#ABCD"


def dtmf_both_ways(rig, wiring):
    """All 16 DTMF digits cross every analog pair and the first B-channel pair of each link, both ways."""
    pairs = list(wiring.pairs)
    used = {n for p in pairs for n in p}
    for a, b in wiring.links:
        free = [(x.number, y.number) for x, y in _facing(rig, a, b) if x.number not in used and y.number not in used]
        pairs += free[:1]
    out = []
    if not pairs:
        return out
    try:
        tones = dsp("tones")
        dtmf = dsp("dtmf")
        signal = tones.dtmf_signal(DIGITS, level_dbm0=-10.0, on_ms=60.0, off_ms=60.0)
    except DspMissing as exc:
        return [Result("dtmf", p, FAIL, str(exc)) for p in pairs]
    stations = [b for a, b in wiring.pairs]
    _hook_all(rig, stations, HookOp.OFF)
    rig.run(rig.seconds(0.3))
    heard = {}
    for direction in (0, 1):
        senders = [p[direction] for p in pairs]
        receivers = [p[1 - direction] for p in pairs]
        det = dtmf.DtmfDetector(len(receivers))
        digits = {n: "" for n in receivers}
        for n in senders:
            rig.send(n, signal)
        for _ in range(rig.seconds(len(signal) / 8000.0 + 0.4)):
            got = rig.run(1, record=receivers)
            block = np.stack([rig.decode(n, got[n]) for n in receivers])
            for ev in det.process(block):
                if ev.kind == "begin":
                    digits[receivers[ev.channel]] += ev.digit
        for s, r in zip(senders, receivers):
            heard[(s, r)] = digits[r]
    _hang_up(rig, stations)
    for a, b in pairs:
        bad = [f"{s}->{r} heard {heard[(s, r)]!r}" for s, r in ((a, b), (b, a)) if heard[(s, r)] != DIGITS]
        out.append(Result("dtmf", (a, b), FAIL if bad else PASS, "; ".join(bad) if bad else f"{DIGITS} both ways"))
    return out


# --- ring cadence and caller ID ------------------------------------------------------------------
def ring_and_callerid(rig, wiring):
    """Each FXS port rings its FXO port in the tone zone's cadence and sends caller ID between rings 1 and 2."""
    out = _unwired_results("ring", wiring, lambda n: not rig.board.channel(n).span.kind.digital)
    if not wiring.pairs:
        return out
    zone = getattr(rig.board.config, "default_tonezone", "us") if rig.board.config else "us"
    try:
        on_ms, off_ms = dsp("toneplans").get_plan(zone).ring_cadence[0]
    except (DspMissing, KeyError, ValueError, IndexError) as exc:
        on_ms, off_ms = None, None
        out.append(Result("ring", tuple(a for a, b in wiring.pairs), FAIL, f"no ring cadence for zone {zone}: {exc}"))
    try:
        cid = dsp("callerid")
        expected = {a: cid.CallerId(number=f"55501{a % 100:02d}", name=f"HWTEST PORT {a}") for a, b in wiring.pairs}
        fsk = {a: cid.callerid_signal(expected[a]) for a in expected}
        cid_missing = None
    except DspMissing as exc:
        cid_missing = str(exc)
    state = {a: {"t": [], "audio": []} for a, b in wiring.pairs}
    station_of = dict(wiring.pairs)
    office_of = {b: a for a, b in wiring.pairs}
    for a in station_of:
        rig.board.channel(a).ring(True)
    budget = rig.seconds(((on_ms or 2000) + (off_ms or 4000)) * 1.6 / 1000.0 + 1.0)
    for _ in range(budget):
        mark = rig.mark()
        got = rig.run(1, record=list(office_of))
        for e in rig.events_since(mark):
            a = office_of.get(e.channel)
            if a is None or e.kind not in (EventKind.RING_BEGIN, EventKind.RING_END):
                continue
            st = state[a]
            want = EventKind.RING_BEGIN if len(st["t"]) % 2 == 0 else EventKind.RING_END
            if e.kind is want and len(st["t"]) < 3:
                st["t"].append(e.sample_time)
                if len(st["t"]) == 2 and cid_missing is None:  # first ring over: send caller ID after 0.5 s
                    rig.send(a, np.concatenate([np.zeros(4000, np.int16), fsk[a]]))
                if len(st["t"]) == 3:
                    rig.board.channel(a).ring(False)
        for b, codes in got.items():
            if len(state[office_of[b]]["t"]) == 2:
                state[office_of[b]]["audio"].append(codes)
        if all(len(s["t"]) == 3 for s in state.values()):
            break
    for a in station_of:
        rig.board.channel(a).ring(False)
    rig.run(rig.seconds(0.5))
    for a, b in wiring.pairs:
        t = state[a]["t"]
        if len(t) < 3:
            out.append(Result("ring", (a, b), FAIL, f"saw {len(t)} of ring start/end/start"))
        elif on_ms is not None:
            on, off = (t[1] - t[0]) / 8.0, (t[2] - t[1]) / 8.0
            tol_on, tol_off = max(0.15 * on_ms, 3 * rig.tick_ms), max(0.15 * off_ms, 3 * rig.tick_ms)
            ok = abs(on - on_ms) <= tol_on and abs(off - off_ms) <= tol_off
            out.append(Result("ring", (a, b), PASS if ok else FAIL,
                              f"on {on:.0f} ms off {off:.0f} ms (zone {zone}: {on_ms}/{off_ms})"))
        if cid_missing is not None:
            out.append(Result("callerid", (a, b), FAIL, cid_missing))
            continue
        audio = np.concatenate(state[a]["audio"]) if state[a]["audio"] else np.zeros(0, np.uint8)
        found = cid.decode_callerid(rig.decode(b, audio)) if len(audio) else []
        want = expected[a]
        good = [c for c in found if c.number == want.number and c.name == want.name]
        detail = (f"{want.number} {want.name!r}" if good
                  else f"expected {want.number} {want.name!r}, decoded {[(c.number, c.name) for c in found]}")
        out.append(Result("callerid", (a, b), PASS if good else FAIL, detail))
    return out


# --- D-channel frames ----------------------------------------------------------------------------
def _frames(tag):
    sizes = (3, 4, 5, 8, 16, 31, 32, 63, 64, 127, 128, 200, 255, 256, 260, 300)
    return [bytes([tag, i]) + bytes((0x7E, 0x7D, 0xFF, 0x00, i)[j % 5] for j in range(n - 2))
            for i, n in enumerate(sizes)]


def dchan_frames(rig, wiring):
    """Sixteen frames of 3..300 bytes (flag and escape octets inside) cross each link's D-channels both ways."""
    out = []
    for a, b in wiring.links:
        da = [c for c in rig.board.span(a).channels if c.signalling.is_hdlc]
        db = [c for c in rig.board.span(b).channels if c.signalling.is_hdlc]
        if not da or not db:
            continue
        da, db = da[0], db[0]
        sent = {da.number: _frames(1), db.number: _frames(2) if db is not da else []}
        for c in {da.number: da, db.number: db}.values():
            rig.frames[c.number].clear()
            for f in sent[c.number]:
                c.write_frame(f)
        want = {db.number: sent[da.number], da.number: sent[db.number] or sent[da.number]}
        rig.run(rig.seconds(2.0), until=lambda r: all(len(r.frames[n]) >= len(w) for n, w in want.items()))
        bad = []
        for n, w in want.items():
            if rig.frames[n] != w:
                bad.append(f"channel {n} got {len(rig.frames[n])} of {len(w)} frames"
                           + ("" if len(rig.frames[n]) != len(w) else " (contents differ)"))
        out.append(Result("dchan", tuple(sorted({da.number, db.number})), FAIL if bad else PASS,
                          "; ".join(bad) if bad else f"{len(want[db.number])} frames each way"))
    for n, why in sorted(wiring.unwired.items()):
        if rig.board.channel(n).signalling.is_hdlc:
            out.append(Result("dchan", (n,), SKIP, why))
    return out


# --- alarm on cable pull -------------------------------------------------------------------------
def cable_pull(rig, wiring):
    """Pulling a link's cable raises a red alarm (LOS) and an ALARM event; putting it back clears both."""
    out = []
    for a, b in wiring.links:
        chans = _span_channels(rig.board.span(a)) + (_span_channels(rig.board.span(b)) if b != a else ())
        if rig.cables is None:
            out.append(Result("alarm", chans, SKIP, "cable pull needs an operator: rerun with --interactive"))
            continue
        sa, sb = rig.board.span(a), rig.board.span(b)
        mark = rig.mark()
        rig.cables.pull(a)
        rig.run(rig.seconds(5.0), until=lambda r: sa.status().alarms & (Alarm.RED | Alarm.LOS))
        pulled = sa.status().alarms
        far = sb.status().alarms
        raised = rig.saw(mark, EventKind.ALARM, span=a)
        mark2 = rig.mark()
        rig.cables.restore(a)
        rig.run(rig.seconds(20.0),
                until=lambda r: sa.status().alarms == Alarm.NONE and sb.status().alarms == Alarm.NONE)
        after = (sa.status().alarms, sb.status().alarms)
        cleared = rig.saw(mark2, EventKind.ALARM_CLEARED, span=a)
        problems = []
        if not pulled & (Alarm.RED | Alarm.LOS):
            problems.append(f"span {a} showed {'+'.join(Alarm.names(pulled)) or 'no alarm'} with its cable out")
        if not raised:
            problems.append(f"no ALARM event from span {a}")
        if after != (Alarm.NONE, Alarm.NONE):
            problems.append(f"alarms left after reconnecting: span {a} {'+'.join(Alarm.names(after[0]))} "
                            f"span {b} {'+'.join(Alarm.names(after[1]))}")
        if not cleared:
            problems.append(f"no ALARM_CLEARED event from span {a}")
        detail = (f"span {a}: {'+'.join(Alarm.names(pulled))}, far span {b}: {'+'.join(Alarm.names(far)) or 'none'}; "
                  f"cleared ({rig.cables.how})")
        out.append(Result("alarm", chans, FAIL if problems else PASS, "; ".join(problems) if problems else detail))
    return out


# (report column, check) in the order they run; the cable pull disturbs the spans, so it comes last.
CHECKS = (("tone", tone_loopback), ("dchan", dchan_frames), ("hook", hook_both_ways), ("dtmf", dtmf_both_ways),
          ("ring", ring_and_callerid), ("alarm", cable_pull))
