"""`pycallcenter soak`: the whole centre on the emulator at full load under a seeded fault schedule, with
its invariants checked; prints the report (faults and recoveries, violations, calls, CDRs, RSS, ticks)."""
import json
import sys

from pycallcenter.apps import soak


def register(subparsers):
    p = subparsers.add_parser("soak", help="run the centre on the emulator at full load under injected faults "
                                           "and check that it recovers (docs/reliability.md)")
    p.add_argument("--hours", type=float, default=1.0, help="simulated hours (default 1)")
    p.add_argument("--seed", type=int, default=1, help="seed of the callers and of the fault schedule")
    p.add_argument("--spans", type=int, default=1, help="E1 PRI spans to the emulated PSTN (default 1)")
    p.add_argument("--ss7-links", type=int, default=2, help="E1 spans of an SS7 link set to the emulated exchange, "
                   "one signalling link each (default 2; 0: no SS7)")
    p.add_argument("--fxo-lines", type=int, default=4, help="analog PSTN lines on FXO ports, half clearing by "
                   "loop current drop and half by busy tone (default 4; 0: none)")
    p.add_argument("--sip-every", type=int, default=soak.SIP_SHARE, help="every N-th caller comes in over the SIP "
                   f"trunk from a simulated carrier on loopback (default {soak.SIP_SHARE}; 0: no SIP)")
    p.add_argument("--agents", type=int, default=12, help="agent phones, the last one the operator's (default 12)")
    p.add_argument("--faults", type=int, help="faults to inject (default: one every 3 simulated minutes)")
    p.add_argument("--kinds", help=f"comma-separated fault kinds (default all: {','.join(soak.FAULT_KINDS)})")
    p.add_argument("--data", default="soak-data", help="folder for the centre's data (default soak-data/)")
    p.add_argument("--json", metavar="FILE", help="also write the report as JSON to FILE")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.add_argument("--paced", action="store_true", help="tick in real time, as a board does (tick p99.9 on the clock)")
    p.add_argument("--realtime", action="store_true", help="with --paced: the tick thread in the real-time "
                   "scheduling class, as [centre] realtime = true (docs/operations.md)")
    p.add_argument("--blocksize", type=int, default=640,
                   help="samples per tick (default 640 = 80 ms, as the demo's simulation; a real board: 160)")
    p.set_defaults(func=run)


def run(args):
    kinds = tuple(k.strip() for k in args.kinds.split(",")) if args.kinds else soak.FAULT_KINDS
    unknown = [k for k in kinds if k not in soak.FAULT_KINDS]
    if unknown:
        print(f"pycallcenter soak: unknown fault kind {unknown[0]!r} (known: {', '.join(soak.FAULT_KINDS)})",
              file=sys.stderr)
        return 2
    if args.hours <= 0 or args.spans < 1 or args.agents < 2 or (args.faults is not None and args.faults < 0):
        print("pycallcenter soak: --hours must be > 0, --spans >= 1, --agents >= 2, --faults >= 0", file=sys.stderr)
        return 2
    if not 0 <= args.ss7_links <= 16:
        print(f"pycallcenter soak: --ss7-links must be from 0 to 16, got {args.ss7_links}", file=sys.stderr)
        return 2
    if not 0 <= args.fxo_lines <= 64:
        print(f"pycallcenter soak: --fxo-lines must be from 0 to 64, got {args.fxo_lines}", file=sys.stderr)
        return 2
    if not 0 <= args.sip_every <= 1000:
        print(f"pycallcenter soak: --sip-every must be from 0 to 1000, got {args.sip_every}", file=sys.stderr)
        return 2
    if not 8 <= args.blocksize <= 1024:
        print(f"pycallcenter soak: --blocksize must be from 8 to 1024 samples, got {args.blocksize}", file=sys.stderr)
        return 2
    settings = soak.SoakSettings(hours=args.hours, seed=args.seed, spans=args.spans, agents=args.agents,
                                 ss7_links=args.ss7_links, fxo_lines=args.fxo_lines, sip_every=args.sip_every,
                                 faults=args.faults, kinds=kinds, data_dir=args.data, paced=args.paced,
                                 realtime=args.realtime, blocksize=args.blocksize)
    report = soak.run(settings, stream=None if args.quiet else sys.stderr)
    print(soak.format_report(report))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(report, fh, indent=2, sort_keys=True, default=str)
    return 1 if report["violations"] else 0
