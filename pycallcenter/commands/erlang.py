"""`pycallcenter erlang`: agents needed for a service-level target, by Erlang C or (with --patience) Erlang A."""
import json
import math

from pycallcenter.apps.staffing import required_agents


def register(subparsers):
    p = subparsers.add_parser("erlang", help="staffing by Erlang C / Erlang A")
    p.add_argument("--calls", type=float, required=True, help="calls offered per interval")
    p.add_argument("--aht", type=float, required=True, help="average handle time, seconds (talk + hold + wrap-up)")
    p.add_argument("--interval", type=float, default=1800, help="interval length, seconds (default 1800)")
    p.add_argument("--sl", type=float, default=0.8, help="service level target as a fraction (default 0.8)")
    p.add_argument("--t", type=float, default=20, help="service level answer time, seconds (default 20)")
    p.add_argument("--asa", type=float, help="average speed of answer target, seconds")
    p.add_argument("--max-occupancy", type=float, help="occupancy cap as a fraction, e.g. 0.85")
    p.add_argument("--max-abandon", type=float, help="abandon rate cap as a fraction (Erlang A only)")
    p.add_argument("--shrinkage", type=float, default=0.0, help="fraction of paid time not on the phones")
    p.add_argument("--patience", type=float, help="mean caller patience, seconds: use Erlang A")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(func=run)


def run(args):
    if args.max_abandon is not None and not args.patience:
        raise ValueError("--max-abandon needs --patience (Erlang A)")
    scheduled, p = required_agents(
        args.calls, args.aht, args.interval, sl_target=args.sl, target_seconds=args.t, asa_target=args.asa,
        max_occupancy=args.max_occupancy, shrinkage=args.shrinkage, patience=args.patience,
        max_abandon=args.max_abandon,
    )
    result = dict(p.as_dict(), agents_on_phones=p.agents, agents_scheduled=scheduled)
    del result["agents"]
    if args.json:
        print(json.dumps(result))
        return 0
    asa = "inf" if math.isinf(p.asa_seconds) else f"{p.asa_seconds:.1f} s"
    print(f"model              {p.model.replace('_', ' ').title()}")
    print(f"traffic            {p.load_erlangs:.2f} Erlangs")
    print(f"agents required    {p.agents} on the phones, {scheduled} scheduled (shrinkage {args.shrinkage:.0%})")
    print(f"service level      {p.service_level:.1%} answered within {args.t:g} s")
    print(f"ASA                {asa}")
    print(f"occupancy          {p.occupancy:.1%}")
    print(f"probability waits  {p.wait_probability:.1%}")
    if args.patience:
        print(f"abandon rate       {p.abandon_rate:.1%}")
    return 0
