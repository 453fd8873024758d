"""`pycallcenter demo`: simulate a busy hour of a small call centre on the emulated board and report; with
--serve, then run the example centre in real time with its pages (agent desktop, console, wallboard)."""
import argparse
import importlib.util
import json
import os
import shlex
import sys

from pycallcenter import bundled
from pycallcenter.apps import demo
from pycallcenter.apps.centre import file_mask
from pycallcenter.apps.settings import CentreSection
from pycallcenter.commands import run as run_command


def register(subparsers):
    p = subparsers.add_parser("demo", help="simulate a busy hour of a call centre on the emulated board")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--hours", type=float, default=1.0)
    p.add_argument("--agents", type=int, default=18, help="agent phones (the last one is the operator)")
    p.add_argument("--calls-per-hour", type=float, default=420.0)
    p.add_argument("--blocksize", type=int, default=640,
                   help="samples per board tick (default 640 = 80 ms; 160 = 20 ms as a real-time board gives the "
                        "same figures at half the speed)")
    p.add_argument("--data", default="data", help="folder for the report, CDRs, recordings, prompts (default data/)")
    p.add_argument("--scripts", default=str(bundled.scripts_dir()),
                   help="IVR scripts folder (default: the bundled scripts, installed with the package)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress bar")
    p.add_argument("--serve", action="store_true",
                   help="after the report, run the example centre (examples/centre.toml) in real time with simulated "
                        "callers and serve its pages at https://127.0.0.1:8443/ until Ctrl-C (data in DATA/live)")
    p.add_argument("--cti-port", type=int, help="with --serve: serve the pages on this port (0 = any free port)")
    p.set_defaults(func=run)


def run(args):
    settings = demo.DemoSettings(seed=args.seed, hours=args.hours, agents=args.agents,
                                 calls_per_hour=args.calls_per_hour, data_dir=args.data, scripts_dir=args.scripts,
                                 blocksize=args.blocksize)
    with file_mask(CentreSection().umask):  # the demo's recordings and CDRs get the files a centre makes
        report = demo.run(settings, progress=not args.quiet, stream=sys.stderr)
    print(demo.format_report(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, sort_keys=True)
    print(next_steps(args.data, serving=args.serve), flush=True)
    if not args.serve:
        return 0
    live = live_command(args.data) + ([] if args.cti_port is None else ["--cti-port", str(args.cti_port)])
    parser = argparse.ArgumentParser(prog="pycallcenter")
    run_command.register(parser.add_subparsers())
    return run_command.run(parser.parse_args(live))


def live_command(data):
    """Return the arguments of `pycallcenter` that run the example centre live with its pages (data in DATA/live);
    with the webrtc extra installed, frank's phone is the browser phone in his desktop, so he hears the caller."""
    args = ["run", str(bundled.examples_dir() / "centre.toml"), "--simulate", "--data",
            os.path.join(os.path.abspath(data), "live")]
    return args + (["--browser-phone", "frank"] if importlib.util.find_spec("aiortc") is not None else [])


def next_steps(data, serving=False):
    """Return what the demo left in the data folder and the commands that look further, as printed lines."""
    d = shlex.quote(os.path.abspath(data))
    live = shlex.join(["pycallcenter"] + live_command(data))
    return "\n".join([
        f"written to {d}: report.txt and report.json (this report), pycallcenter.db (CDRs and queue log),",
        "  recordings/, fax-inbox/, voicemail/, centre.toml (this centre's configuration)",
        "next:",
        f"  pycallcenter report --db {d} --by agent     the same hour per agent (or --by queue, trunk, ...)",
        f"  pycallcenter run {d}/centre.toml --simulate     this centre again, paced in real time",
        f"  {live}     the example centre live in real time with its pages at https://127.0.0.1:8443/",
        "      (agent desktop /agent, supervisor console /console, wallboard /wallboard): log in as frank",
        "      (password frank-demo), press Ready and answer a caller (in the page's browser phone with",
        "      --browser-phone frank: the webrtc extra); supervisor sue (password sue-demo)"
        + ("; starting now, Ctrl-C stops it" if serving else "; `make demo-live` runs it after this report"),
        "  pycallcenter wallboard --port 8080 --people agent1     the wallboard, agent desktop and supervisor",
        "      console in a browser on an emulated centre: prints their addresses and a password for each login",
    ])
