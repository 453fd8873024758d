"""`pycallcenter callerid`: write caller ID audio (Bell 202, V.23 or DTMF CLIP) or decode a file as JSON lines."""
import json
import sys

import numpy as np

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the callerid command with its encode and decode actions."""
    parser = subparsers.add_parser("callerid", help="write or decode caller ID (FSK or DTMF) audio",
                                   description=__doc__.split(": ", 1)[1])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    enc = actions.add_parser("encode", help="write one caller ID presentation as audio")
    enc.add_argument("-o", "--output", required=True, help="audio file (.wav, .flac, ...) or raw G.711 with --law")
    enc.add_argument("--number", help="calling number")
    enc.add_argument("--name", help="calling name (MDMF only)")
    enc.add_argument("--date", metavar="MMDDHHMM", help="date and time (required by SDMF)")
    enc.add_argument("--absent", choices=["O", "P"], help="no number: O unavailable, P private")
    enc.add_argument("--mwi", choices=["on", "off"], help="send a message-waiting indication instead")
    enc.add_argument("--standard", choices=["bell202", "v23", "dtmf"], default="bell202")
    enc.add_argument("--format", dest="fmt", choices=["sdmf", "mdmf"], default="mdmf")
    enc.add_argument("--level", type=float, default=-13.0, help="transmit level in dBm0 (default -13)")
    enc.add_argument("--law", choices=["ulaw", "alaw"], help="write raw 8 kHz G.711 of this law")
    dec = actions.add_parser("decode", help="print the caller ID messages in an audio file")
    dec.add_argument("file", help="audio file (any soundfile format and rate) or raw G.711 with --law")
    dec.add_argument("--standard", choices=["bell202", "v23", "dtmf"], default="bell202")
    dec.add_argument("--law", choices=["ulaw", "alaw"], help="read FILE as raw 8 kHz G.711 of this law")
    parser.set_defaults(func=run)


def _callerid(args):
    from pycallcenter.dsp.callerid import CallDateTime, CallerId

    dt = None
    if args.date is not None:
        if len(args.date) != 8 or not args.date.isdigit():
            raise ValueError(f"--date must be 8 digits MMDDHHMM, got {args.date!r}")
        dt = CallDateTime(*(int(args.date[i:i + 2]) for i in range(0, 8, 2)))
    if args.mwi is not None:
        return CallerId(message_waiting=args.mwi == "on", datetime=dt)
    return CallerId(number=args.number, name=args.name, datetime=dt, number_absent_reason=args.absent)


def _as_dict(c):
    d = {k: v for k, v in vars(c).items() if v not in (None, ())}
    if c.datetime is not None:
        d["datetime"] = "%02d%02d%02d%02d" % tuple(c.datetime)
    if c.extra:
        d["extra"] = [[t, v.hex()] for t, v in c.extra]
    return d


def _encode(args):
    from pycallcenter.dsp.audio import write_audio
    from pycallcenter.dsp.callerid import callerid_signal

    x = callerid_signal(_callerid(args), args.standard, args.fmt, level_dbm0=args.level)
    if args.law:
        from pycallcenter.dsp import g711

        codes = g711.ulaw_encode(x) if args.law == "ulaw" else g711.alaw_encode(x)
        with open(args.output, "wb") as f:
            f.write(codes.tobytes())
    else:
        write_audio(args.output, x)


def _decode(args):
    from pycallcenter.dsp import TICK_SAMPLES
    from pycallcenter.dsp.audio import read_audio
    from pycallcenter.dsp.callerid import decode_callerid
    from pycallcenter.dsp.fsk import FskReceiver

    x = read_audio(args.file, law=args.law)
    if args.standard == "dtmf":
        for c in decode_callerid(x, "dtmf"):
            sys.stdout.write(json.dumps(_as_dict(c)) + "\n")
        return
    rx = FskReceiver(1, args.standard)
    x = np.concatenate([x, np.zeros(TICK_SAMPLES, np.int16)])  # lets a carrier that runs to the end drop
    for i in range(0, x.size, TICK_SAMPLES):
        for ev in rx.process(x[i:i + TICK_SAMPLES]):
            out = {"end_ms": (i + ev.sample) / 8.0, "bytes": ev.data.hex()}
            if ev.ok:
                out["callerid"] = _as_dict(ev.callerid)
            else:
                out["error"] = ev.error
            sys.stdout.write(json.dumps(out) + "\n")


def run(args):
    """Run one callerid action; return the exit status."""
    try:
        (_encode if args.action == "encode" else _decode)(args)
    except ValueError as exc:
        sys.stderr.write(f"pycallcenter callerid: {exc}\n")
        return 2
    return 0
