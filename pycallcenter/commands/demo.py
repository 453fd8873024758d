"""`pycallcenter demo`: simulate a busy hour of a small call centre on the emulated board and report."""
import json
import os
import shlex
import sys

from pycallcenter import bundled
from pycallcenter.apps import demo
from pycallcenter.apps.centre import file_mask
from pycallcenter.apps.settings import CentreSection


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
    print(next_steps(args.data))
    return 0


def next_steps(data):
    """Return what the demo left in the data folder and the commands that look further, as printed lines."""
    d = shlex.quote(os.path.abspath(data))
    return "\n".join([
        f"written to {d}: report.txt and report.json (this report), pycallcenter.db (CDRs and queue log),",
        "  recordings/, fax-inbox/, voicemail/, centre.toml (this centre's configuration)",
        "next:",
        f"  pycallcenter report --db {d} --by agent     the same hour per agent (or --by queue, trunk, ...)",
        f"  pycallcenter run {d}/centre.toml --simulate     this centre again, paced in real time",
        "  pycallcenter wallboard --port 8080 --people agent1     the wallboard, agent desktop and supervisor",
        "      console in a browser on an emulated centre: prints their addresses and a password for each login",
        "      (this demo serves no pages; docs/cti.md says how to give your own centre its pages)",
    ])
