"""`pycallcenter ivr try SCRIPT --digits 1,4321#`: run one IVR script against the emulator with a simulated
caller and print what happened, step by step (see pycallcenter.apps.ivr_try and docs/ivr.md)."""
import argparse
import sys

from pycallcenter.apps import ivr_try


def register(subparsers):
    """Add the ivr command (its action: try) to the CLI."""
    p = subparsers.add_parser("ivr", help="try an IVR script with a simulated caller and read the transcript")
    actions = p.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = actions.add_parser("try", help="call a script on the emulator and print the transcript",
                           description=ivr_try.__doc__.split("\n\n", 1)[1],
                           formatter_class=argparse.RawDescriptionHelpFormatter)  # keeps the steps table
    t.add_argument("script", help="a script name in the centre's scripts folder (default: the bundled "
                                  "scripts) or the path of a .py file")
    t.add_argument("--digits", default="", help="the caller's steps: keys, pN (pause), tN (talk), comma "
                                                "separated: '1', '4,1', '9,200#,t4'")
    t.add_argument("--config", help="the centre's TOML file (default: a built-in centre on the emulator)")
    t.add_argument("--caller", default=ivr_try.CALLER, help=f"the caller's number (default {ivr_try.CALLER})")
    t.add_argument("--called", help="the number dialled (default: [simulate] called, 5000)")
    t.add_argument("--lang", help="the call's language (call.vars['lang']; default: [language] default)")
    t.add_argument("--arg", action="append", default=[], help="an argument for the script's main(call, ...) "
                                                              "(repeat for more)")
    t.add_argument("--seconds", type=float, default=120.0,
                   help="seconds the caller stays on the line after the answer (default 120)")
    t.add_argument("--talk", type=float, default=10.0, help="seconds the caller talks to an agent (default 10)")
    t.add_argument("--at", help="wall-clock time of the call, e.g. 2026-01-05T20:00 (default: the config's "
                                "start, else a Monday 10:00 for the built-in centre)")
    t.add_argument("--data", help="keep the try's data (CDR database, recordings, voicemail) in this folder")
    t.set_defaults(func=run)


def run(args):
    """Try the script; return 0 when it ran to its end, 1 (one line on stderr) when it did not load or raised."""
    if args.seconds <= 0 or args.talk <= 0:
        raise ValueError("--seconds and --talk must be more than 0")
    try:
        result = ivr_try.try_script(args.script, args.digits, config=args.config, data=args.data, at=args.at,
                                    caller=args.caller, called=args.called, lang=args.lang, args=args.arg,
                                    seconds=args.seconds, talk=args.talk, out=lambda line: print(line, flush=True))
    except ivr_try.ScriptError as exc:
        return _failed(exc)
    if result.error is not None:
        return _failed(result.error)
    return 0


def _failed(error):
    print(f"pycallcenter ivr: error: {error}", file=sys.stderr)
    for line in error.lines:
        print(line, file=sys.stderr)
    return 1
