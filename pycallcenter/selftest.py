"""Self-test: run every native media kernel on generated signals, compare with its numpy twin where one
exists, and measure channels per core (one channel = 8,000 samples/s in real time)."""
import time
from typing import NamedTuple, Optional

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, TICK_SAMPLES

# Each check imports the kernel it runs inside its function: a missing or broken one fails that check, not the run.

CHANNELS = 256  # channels per tick in the speed figures


class Result(NamedTuple):
    """Outcome of one self-test check."""

    kernel: str
    check: str
    ok: bool
    detail: str
    channels_per_core: Optional[float]


def _channels_per_core(step, channels, samples_per_call, budget=0.25):
    """Return real-time channels per core for step(), which processes channels x samples_per_call."""
    step()  # warm up (tables, allocation)
    calls = 0
    start = time.process_time()
    while True:
        step()
        calls += 1
        used = time.process_time() - start
        if used >= budget and calls >= 3:
            break
    return channels * samples_per_call * calls / SAMPLE_RATE / used


def _g711():
    from pycallcenter.dsp import g711
    from pycallcenter.dsp.reference import g711 as ref

    x = np.arange(-32768, 32768, dtype=np.int16)
    ok = True
    for enc, dec, renc, rdec in [(g711.ulaw_encode, g711.ulaw_decode, ref.ulaw_encode, ref.ulaw_decode),
                                 (g711.alaw_encode, g711.alaw_decode, ref.alaw_encode, ref.alaw_decode)]:
        codes = enc(x)
        ok &= np.array_equal(codes, renc(x)) and np.array_equal(dec(codes), rdec(codes))
    batch = np.random.default_rng(1).integers(-32768, 32768, (CHANNELS, TICK_SAMPLES), dtype=np.int16)
    out8 = np.empty(batch.shape, np.uint8)
    out16 = np.empty(batch.shape, np.int16)
    codes = g711.ulaw_encode(batch)
    enc_speed = _channels_per_core(lambda: g711.ulaw_encode(batch, out=out8), CHANNELS, TICK_SAMPLES)
    dec_speed = _channels_per_core(lambda: g711.ulaw_decode(codes, out=out16), CHANNELS, TICK_SAMPLES)
    detail = "all 65,536 inputs equal the twin (A-law and mu-law)"
    return [Result("g711", "mu-law encode", ok, detail, enc_speed),
            Result("g711", "mu-law decode", ok, detail, dec_speed)]


def _dtmf():
    from pycallcenter.dsp.dtmf import DtmfDetector
    from pycallcenter.dsp.tones import dtmf_signal

    digits = "0123456789*#ABCD"
    signal = dtmf_signal(digits, level_dbm0=-20, on_ms=50, off_ms=50)
    signal = np.concatenate([signal, np.zeros(800, np.int16)])
    det = DtmfDetector(1)
    got = "".join(e.digit for tick in range(0, signal.size, TICK_SAMPLES)
                  for e in det.process(signal[tick:tick + TICK_SAMPLES]) if e.kind == "end")
    rng = np.random.default_rng(2)
    batch = (rng.standard_normal((CHANNELS, TICK_SAMPLES)) * 2000).astype(np.int16)
    many = DtmfDetector(CHANNELS)
    speed = _channels_per_core(lambda: many.process(batch), CHANNELS, TICK_SAMPLES)
    return [Result("dtmf", "16 digits at -20 dBm0, 50 ms", got == digits, f"detected {got!r}", speed)]


def _tones_and_progress():
    from pycallcenter.dsp.progress import CallProgressDetector
    from pycallcenter.dsp.tones import ToneGenerator, generate

    results = []
    for plan in ("us", "etsi", "cn"):
        found = {}
        for tone in ("busy", "ringback", "dial", "congestion"):
            signal = generate(plan, tone, 8.0)
            det = CallProgressDetector(1, plan=plan)
            kinds = [e.kind for t in range(0, signal.size, TICK_SAMPLES) for e in det.process(signal[t:t + TICK_SAMPLES])]
            want = "dial_tone" if tone == "dial" else tone
            found[tone] = want in kinds
        ok = all(found.values())
        results.append(Result("progress", f"{plan}: dial, busy, ringback, congestion", ok,
                              ", ".join(f"{k} {'ok' if v else 'MISSED'}" for k, v in found.items()), None))
    gen = ToneGenerator(CHANNELS)
    for ch in range(CHANNELS):
        gen.start(ch, "busy", plan="us")
    results.append(Result("tones", "busy tone on every channel", bool(np.abs(gen.process(TICK_SAMPLES)).max() > 0),
                           "", _channels_per_core(lambda: gen.process(TICK_SAMPLES), CHANNELS, TICK_SAMPLES)))
    noise = (np.random.default_rng(3).standard_normal((CHANNELS, TICK_SAMPLES)) * 1000).astype(np.int16)
    det = CallProgressDetector(CHANNELS, plan="us")
    results.append(Result("progress", "speed on noise", True, "",
                          _channels_per_core(lambda: det.process(noise), CHANNELS, TICK_SAMPLES)))
    return results


def _fsk():
    from pycallcenter.dsp.callerid import CallDateTime, CallerId, callerid_signal, decode_callerid
    from pycallcenter.dsp.fsk import FskReceiver

    cid = CallerId(number="2025550100", name="ACME SALES", datetime=CallDateTime(11, 22, 9, 30))
    results = []
    for standard in ("bell202", "v23"):
        got = decode_callerid(callerid_signal(cid, standard), standard)
        ok = len(got) == 1 and got[0].number == cid.number and got[0].name == cid.name
        results.append(Result("fsk", f"{standard} MDMF caller ID round trip", ok,
                              f"got {got[0].number} {got[0].name!r}" if got else "nothing decoded", None))
    noise = (np.random.default_rng(4).standard_normal((CHANNELS, TICK_SAMPLES)) * 300).astype(np.int16)
    rx = FskReceiver(CHANNELS, "bell202")
    results[-1] = results[-1]._replace(channels_per_core=_channels_per_core(lambda: rx.process(noise), CHANNELS, TICK_SAMPLES))
    return results


def _hdlc():
    from pycallcenter.dsp.hdlc import HdlcDecoder, HdlcEncoder

    rng = np.random.default_rng(5)
    frames = [bytes(rng.integers(0, 256, int(n), dtype=np.uint8)) for n in rng.integers(3, 260, 20)]
    enc, dec = HdlcEncoder(1), HdlcDecoder(1)
    for f in frames:
        enc.send(0, f)
    got = []
    for _ in range(100):
        got += [e.payload for e in dec.process(enc.process(TICK_SAMPLES)) if e.kind == "frame"]
    encs, decs = HdlcEncoder(CHANNELS), HdlcDecoder(CHANNELS)
    line = encs.process(TICK_SAMPLES)
    speed = _channels_per_core(lambda: decs.process(line), CHANNELS, TICK_SAMPLES)
    return [Result("hdlc", "20 random frames through stuffing and FCS", got == frames,
                   f"{len(got)} of {len(frames)} frames back intact", speed)]


def _compiled_modules():
    from pycallcenter import _compiled

    states = _compiled.states()  # a stale build fails: the hot paths run from source until it is rebuilt
    source = [f"{name} ({state})" for name, state in states if state not in (_compiled.COMPILED, _compiled.PURE)]
    detail = (f"PYCC_PURE: all {len(states)} from source" if _compiled.pure_requested() else
              f"{len(states) - len(source)} of {len(states)} compiled" + (f"; {', '.join(source)}" if source else ""))
    return [Result("compiled", "protocol and engine modules compiled",
                   all(state != _compiled.STALE for _, state in states), detail, None)]


CHECKS = [("g711", _g711), ("dtmf", _dtmf), ("tones/progress", _tones_and_progress), ("fsk", _fsk), ("hdlc", _hdlc),
          ("compiled", _compiled_modules)]


def run_all():
    """Return the list of Results of every check; a kernel that fails to load is a failed Result."""
    results = []
    for name, check in CHECKS:
        try:
            results += check()
        except Exception as exc:  # a broken or missing kernel must show as FAIL, not stop the table
            results.append(Result(name, "runs", False, f"{type(exc).__name__}: {exc}", None))
    return results
