"""`pycallcenter echo --far FAR --near NEAR -o OUT`: cancel the echo of FAR in NEAR; print ERLE figures as JSON.

FAR is what was sent down the line, NEAR what came back. OUT is NEAR with the echo removed: 8 kHz mono 16-bit
WAV, sample-aligned with NEAR and the same length (other rates and channel counts are converted on reading;
FAR is cut or padded with silence to NEAR's length).
"""
import json

import numpy as np

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp.echo import TAILS_MS

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    p = subparsers.add_parser("echo", help="remove line echo of a sent recording from a received one (G.168)")
    p.add_argument("--far", required=True, help="what was sent (any soundfile format and rate)")
    p.add_argument("--near", required=True, help="what came back, with the echo in it")
    p.add_argument("-o", "--output", required=True, help="WAV file to write: NEAR without the echo (8 kHz)")
    p.add_argument("--tail-ms", type=int, default=64, choices=TAILS_MS, help="echo tail covered (default 64)")
    p.add_argument("--no-nlp", action="store_true", help="linear cancellation only (no NLP, no comfort noise)")
    p.set_defaults(func=run)


def _db(num, den):
    return None if num <= 0 or den <= 0 else round(10.0 * np.log10(num / den), 1)


def cancel(far, near, tail_ms=64, **params):
    """Return (output, figures): near without the echo of far (int16, same length) and a dict of ERLE figures.

    ``erl_db``/``erle_db`` are the canceller's own counters (linear filter, far-end single talk); the
    ``erle_with_nlp_db`` figures compare input and output power where the far end talked within the tail: per
    second, and over everything after the first second (the steady state)."""
    from pycallcenter.dsp.echo import EchoCanceller

    n = near.size
    far = np.concatenate([far[:n], np.zeros(max(0, n - far.size), np.int16)])
    ec = EchoCanceller(1, tail_ms=tail_ms, **params)
    out = np.empty_like(near)
    for i in range(0, n, TICK_SAMPLES):
        out[i:i + TICK_SAMPLES] = ec.process(far[i:i + TICK_SAMPLES], near[i:i + TICK_SAMPLES])
    c = ec.counters().row(0)
    y, e = near.astype(np.float64), out.astype(np.float64)
    # where the far end was talking within the tail: the stretches that carry echo
    taps = tail_ms * 8
    talking = np.convolve(np.abs(far.astype(np.float64)) > 100, np.ones(taps), mode="full")[:n] > 0
    by_second = [_db(np.sum(y[i:i + 8000][talking[i:i + 8000]] ** 2), np.sum(e[i:i + 8000][talking[i:i + 8000]] ** 2))
                 for i in range(0, n, 8000)]
    steady = talking & (np.arange(n) >= 8000)  # after the first second: convergence left out
    figures = {
        "samples": int(n), "seconds": round(n / 8000.0, 3), "tail_ms": tail_ms,
        "erl_db": c["erl_db"], "erle_db": c["erle_db"],
        "erle_with_nlp_db": _db(np.sum(y[steady] ** 2), np.sum(e[steady] ** 2)),
        "erle_with_nlp_db_by_second": by_second,
        "input_dbov": _db(np.mean(y**2), 32768.0**2), "output_dbov": _db(np.mean(e**2), 32768.0**2),
        "state": c["state"], "resets": c["resets"],
    }
    return out, figures


def run(args):
    from pycallcenter.dsp.audio import read_audio, write_audio

    far, near = read_audio(args.far), read_audio(args.near)
    out, figures = cancel(far, near, args.tail_ms, **({"nlp": False, "cng": False} if args.no_nlp else {}))
    write_audio(args.output, out)
    print(json.dumps(figures))
    return 0
