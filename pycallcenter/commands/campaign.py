"""`pycallcenter campaign status|pause|resume [NAME]`: outbound campaigns of a centre.

``status`` prints what each campaign did with its numbers (from DATA/campaigns.sqlite, so it works
whether the centre runs or not) and, while `pycallcenter run` runs, its live state and pacing (from
DATA/status.json). ``pause`` and ``resume`` put or remove the flag file DATA/campaigns/NAME.paused,
which the running campaign looks at every half second: paused, it dials no new numbers (calls in
progress go on); the pause outlasts a restart.
"""
import json
import os

from pycallcenter.commands._status_file import read_status

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the campaign command to the CLI."""
    p = subparsers.add_parser("campaign", help="status, pause or resume an outbound campaign")
    p.add_argument("action", choices=("status", "pause", "resume"))
    p.add_argument("name", nargs="?", help="campaign name (status: default every campaign)")
    p.add_argument("--data", default="data", help="data folder of the centre (default ./data)")
    p.add_argument("--json", action="store_true", help="status: print JSON")
    p.set_defaults(func=run)


def live(data):
    """Return {campaign: status dict} published by a running centre in DATA/status.json ({} without one)."""
    try:
        snap = read_status(data)
    except (OSError, ValueError):
        return {}
    found = (snap.get("features") or {}).values()
    return {s["name"]: s for s in found if isinstance(s, dict) and "name" in s and "pacing" in s}


def run(args):
    """Carry out the action; return 0, or 2 for a campaign nobody knows."""
    from pycallcenter.apps.outbound.progress import pause_flag, saved_counts  # the outbound package is heavy

    if not os.path.isdir(args.data):
        print(f"pycallcenter campaign: no data folder {args.data}")
        return 2
    saved, running = saved_counts(args.data), live(args.data)
    known = sorted(set(saved) | set(running))
    if args.action != "status" and not args.name:
        print(f"pycallcenter campaign {args.action}: name the campaign (known: {', '.join(known) or 'none'})")
        return 2
    if args.name and known and args.name not in known:
        print(f"pycallcenter campaign: no campaign {args.name!r} in {args.data} (known: {', '.join(known)})")
        return 2
    if args.action in ("pause", "resume"):
        flag = pause_flag(args.data, args.name)
        if args.action == "pause":
            os.makedirs(os.path.dirname(flag), exist_ok=True)
            open(flag, "w").close()
        elif os.path.exists(flag):
            os.remove(flag)
        print(f"campaign {args.name}: {'paused' if args.action == 'pause' else 'dialling again'}")
        return 0
    names = [args.name] if args.name else known
    report = {n: {"numbers": saved.get(n, {}), "paused": os.path.exists(pause_flag(args.data, n)),
                  "live": running.get(n)} for n in names}
    if args.json:
        print(json.dumps(report, indent=1, sort_keys=True))
        return 0
    if not names:
        print(f"no campaign has dialled from {args.data} yet")
    for n, r in report.items():
        counts = ", ".join(f"{k} {v}" for k, v in sorted(r["numbers"].items())) or "nothing dialled yet"
        line = f"campaign {n}: {counts}" + (" (paused)" if r["paused"] else "")
        s = r["live"]
        if s:
            p = s["pacing"]
            line += (f"\n  {s['state']}, {s['remaining']} to dial, {s['in_progress']} in progress, pacing "
                     f"{p['pacing_now']}, answer rate {p['answer_rate']}, abandoned {p['abandoned']} "
                     f"({100 * p['abandon_rate']:.2f}%)")
        print(line)
    return 0
