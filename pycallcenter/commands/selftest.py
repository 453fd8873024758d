"""`pycallcenter selftest`: run every media kernel on generated signals; print a pass/fail table."""
import json

from pycallcenter import selftest


def register(subparsers):
    p = subparsers.add_parser("selftest", help="run every media kernel on generated signals (pass/fail, channels per core)")
    p.add_argument("--json", action="store_true", help="print the results as JSON")
    p.set_defaults(func=run)


def run(args):
    results = selftest.run_all()
    if args.json:
        print(json.dumps([r._asdict() for r in results]))
    else:
        print(f"{'kernel':<10} {'check':<44} {'result':<6} {'channels/core':>13}  detail")
        for r in results:
            speed = f"{r.channels_per_core:,.0f}" if r.channels_per_core else "-"
            print(f"{r.kernel:<10} {r.check:<44} {'PASS' if r.ok else 'FAIL':<6} {speed:>13}  {r.detail}")
        failed = sum(not r.ok for r in results)
        print(f"\n{len(results) - failed} passed, {failed} failed")
    return 1 if any(not r.ok for r in results) else 0
