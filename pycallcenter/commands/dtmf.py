"""`pycallcenter dtmf FILE`: print the DTMF digits in an audio file as JSON lines."""
import json
import sys

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, TICK_SAMPLES

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    p = subparsers.add_parser("dtmf", help="detect DTMF digits in an audio file (any soundfile format or raw G.711)")
    p.add_argument("file", help="audio file (WAV, FLAC, ...; any rate) or raw G.711 bytes with --law")
    p.add_argument("--law", choices=["ulaw", "alaw"], help="read FILE as raw 8 kHz G.711 of this law")
    p.set_defaults(func=run)


def detect_digits(samples):
    """Return [{"digit", "start_ms", "end_ms"}] for the digits in 8 kHz int16 samples."""
    from pycallcenter.dsp.dtmf import DtmfDetector

    det = DtmfDetector(1)
    # trailing silence lets a digit that runs to the end of the file complete
    x = np.concatenate([np.asarray(samples, dtype=np.int16), np.zeros(SAMPLE_RATE // 10, np.int16)])
    out = []
    for i in range(0, x.size, TICK_SAMPLES):
        for e in det.process(x[i:i + TICK_SAMPLES]):
            if e.kind == "end":
                out.append({"digit": e.digit, "start_ms": e.start * 1000.0 / SAMPLE_RATE,
                            "end_ms": e.end * 1000.0 / SAMPLE_RATE})
    return out


def run(args):
    from pycallcenter.dsp.audio import read_audio

    samples = read_audio(args.file, law=args.law)
    for d in detect_digits(samples):
        sys.stdout.write(json.dumps(d) + "\n")
    return 0
