"""``pycallcenter tones``: write a plan's call-progress tone or DTMF digits to a file, list plans, detect tones.

Examples::

    pycallcenter tones --plan us --tone busy --seconds 5 -o busy.wav
    pycallcenter tones --plan etsi --tone ringback --seconds 10 --law alaw -o ringback.al
    pycallcenter tones --dtmf 0123456789 -o digits.wav
    pycallcenter tones --list
    pycallcenter tones --plan us --detect busy.wav
"""
import numpy as np

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the tones command."""
    parser = subparsers.add_parser("tones", help="generate call-progress tones / DTMF, list tone plans, detect tones",
                                   description=__doc__.split("\n")[0].split(": ", 1)[1])
    parser.add_argument("--plan", default="us", help="tone plan (us, etsi, cn, uk, de, fr, jp; aliases na, eu)")
    parser.add_argument("--tone", help="tone name in the plan (dial, busy, ringback, congestion, sit, ...)")
    parser.add_argument("--dtmf", metavar="DIGITS", help="generate these DTMF digits instead of a plan tone")
    parser.add_argument("--seconds", type=float, default=5.0, help="length of a plan tone (default 5)")
    parser.add_argument("--gain", type=float, default=0.0, metavar="DB", help="level change from the plan's, dB")
    parser.add_argument("--level", type=float, default=-10.0, metavar="DBM0", help="DTMF low-tone level (default -10)")
    parser.add_argument("--twist", type=float, default=0.0, metavar="DB", help="DTMF high minus low tone level")
    parser.add_argument("--on-ms", type=float, default=50.0, help="DTMF tone length (default 50)")
    parser.add_argument("--off-ms", type=float, default=50.0, help="DTMF gap length (default 50)")
    parser.add_argument("-o", "--output", help="output file; the format follows the suffix (.wav, .flac, ...)")
    parser.add_argument("--law", choices=("ulaw", "alaw"), help="write raw G.711 bytes instead of a sound file")
    parser.add_argument("--list", action="store_true", help="print the plans and their tones")
    parser.add_argument("--detect", metavar="FILE", help="run call-progress detection on an audio file")
    parser.add_argument("--input-law", choices=("ulaw", "alaw"), help="read --detect FILE as raw G.711")
    parser.set_defaults(func=run)


def _describe(spec):
    parts = []
    for st in spec.steps:
        if st.components:
            freqs = "+".join(f"{c.freq:g}" + (f"*{c.mod_freq:g}" if c.mod_freq else "") for c in st.components)
            levels = "/".join(f"{c.level_dbm0:g}" for c in st.components)
            parts.append(f"{freqs} Hz @{levels} dBm0 " + (f"{st.ms:g} ms" if st.ms else "steady"))
        else:
            parts.append(f"off {st.ms:g} ms" if st.ms else "then silence")
    if spec.loop_to > 0:
        parts.append(f"(repeat from step {spec.loop_to + 1})")
    return ", ".join(parts)


def _list():
    from pycallcenter.dsp import toneplans as tp

    for name in tp.plan_names():
        plan = tp.get_plan(name)
        aliases = f" (aliases: {', '.join(plan.aliases)})" if plan.aliases else ""
        ring = ", ".join(f"{on}/{off}" for on, off in plan.ring_cadence)
        print(f"{name}: {plan.description}{aliases}")
        print(f"  ring cadence on/off ms: {ring}")
        for tone in sorted(plan.tones):
            print(f"  {tone}: {_describe(plan.tones[tone])}")
    return 0


def _detect(args):
    from pycallcenter.dsp import TICK_SAMPLES
    from pycallcenter.dsp.audio import read_audio
    from pycallcenter.dsp.progress import CallProgressDetector

    x = read_audio(args.detect, law=args.input_law)
    det = CallProgressDetector(1, args.plan)
    events = []
    for i in range(0, x.size, TICK_SAMPLES):
        events += det.process(np.ascontiguousarray(x[i:i + TICK_SAMPLES]))
    for e in events:
        detail = f" {e.detail}" if e.detail else ""
        print(f"{e.sample / 8000:8.2f} s  {e.kind}{detail}")
    if not events:
        print("no call-progress events")
    return 0


def run(args):
    """Generate, list or detect; return the exit status."""
    from pycallcenter.dsp import tones

    if args.list:
        return _list()
    if args.detect:
        return _detect(args)
    if not args.output:
        raise ValueError("give -o FILE (or --list, or --detect FILE)")
    if args.dtmf:
        samples = tones.dtmf_signal(args.dtmf, args.level, args.twist, args.on_ms, args.off_ms)
    elif args.tone:
        samples = tones.generate(args.plan, args.tone, args.seconds, level_offset_db=args.gain)
    else:
        raise ValueError("give --tone NAME or --dtmf DIGITS")
    if args.law:
        from pycallcenter.dsp import g711

        encode = g711.ulaw_encode if args.law == "ulaw" else g711.alaw_encode
        with open(args.output, "wb") as fh:
            fh.write(encode(samples).tobytes())
    else:
        from pycallcenter.dsp.audio import write_audio

        ogg = args.output.lower().endswith(".ogg")
        write_audio(args.output, samples, subtype="VORBIS" if ogg else "PCM_16")  # checks the suffix
    print(f"wrote {samples.size / 8000:g} s to {args.output}")
    return 0
