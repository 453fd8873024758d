"""`pycallcenter acd`: simulate a queue against Erlang C/A, or recompute interval reports from a queue log."""
import json

from pycallcenter.acd.simulate import simulate_queue
from pycallcenter.acd.stats import MODES, format_queue_log, interval_report, parse_queue_log
from pycallcenter.apps.staffing import erlang_a_prediction, erlang_c_prediction

FIELDS = ("offered", "answered", "abandoned", "service_level", "asa", "aht", "occupancy")


def register(subparsers):
    p = subparsers.add_parser("acd", help="ACD simulation and reports")
    sub = p.add_subparsers(dest="acd_command", required=True)
    s = sub.add_parser("simulate", help="Poisson callers on one queue; compare with Erlang C (or A with --patience)")
    s.add_argument("--agents", type=int, required=True)
    s.add_argument("--calls", type=float, required=True, help="calls offered per hour")
    s.add_argument("--aht", type=float, required=True, help="mean handle time, seconds")
    s.add_argument("--hours", type=float, default=8.0)
    s.add_argument("--patience", type=float, help="mean caller patience, seconds (Erlang A)")
    s.add_argument("--strategy", default="longest_idle")
    s.add_argument("--t", type=float, default=20.0, help="service level answer time, seconds")
    s.add_argument("--seed", type=int, default=1)
    s.add_argument("--log", help="write the queue log to this file")
    s.add_argument("--json", action="store_true")
    r = sub.add_parser("report", help="interval reports recomputed from a queue log file")
    r.add_argument("log")
    r.add_argument("--interval", type=float, default=1800.0, help="seconds (900, 1800, 3600; 86400 for a day)")
    r.add_argument("--queue")
    r.add_argument("--t", type=float, help="service level target seconds (default: as logged, else 20)")
    r.add_argument("--short-abandon", type=float, help="short abandon seconds (default: as logged, else 5)")
    r.add_argument("--sl-mode", "--treatment", dest="treatment", choices=MODES,
                   help="service level denominator: offered, exclude_short, answered (default: as logged, else offered)")
    r.add_argument("--json", action="store_true")
    p.set_defaults(func=run)


def _fmt(v):
    return "-" if v is None else f"{v:.3f}" if isinstance(v, float) else str(v)


def _table(rows):
    lines = ["start    " + " ".join(f"{f:>13}" for f in FIELDS)]
    for row in rows:
        lines.append(f"{row['start'] / 3600:7.2f}h " + " ".join(f"{_fmt(row[f]):>13}" for f in FIELDS))
    return "\n".join(lines)


def run(args):
    if args.acd_command == "simulate":
        acd = simulate_queue(args.agents, args.calls / 3600.0, args.aht, args.hours, patience=args.patience,
                             strategy=args.strategy, sl_seconds=args.t, seed=args.seed)
        end = args.hours * 3600.0
        (day,) = interval_report(acd.qlog, 0, end, end)  # the queue's definition, as the ACD logged it
        if args.patience:
            p = erlang_a_prediction(args.agents, args.calls, args.aht, 3600, args.t, args.patience)
        else:
            p = erlang_c_prediction(args.agents, args.calls, args.aht, 3600, args.t)
        if args.log:
            with open(args.log, "w") as f:
                f.write(format_queue_log(acd.qlog) + "\n")
        if args.json:
            print(json.dumps({"simulated": day, "predicted": p.as_dict()}, indent=1))
        else:
            print(f"simulated {args.hours:g} h: offered {day['offered']}, service level {_fmt(day['service_level'])}, "
                  f"ASA {_fmt(day['asa'])} s, occupancy {_fmt(day['occupancy'])}, abandoned {day['abandoned']}")
            print(f"{p.model}: service level {p.service_level:.3f}, ASA {p.asa_seconds:.3f} s, "
                  f"occupancy {p.occupancy:.3f}, abandon rate {p.abandon_rate:.3f}")
        return 0
    with open(args.log) as f:
        qlog = parse_queue_log(f.read())
    start = min((e.time for e in qlog), default=0.0)
    end = max((e.time for e in qlog), default=0.0) + 1e-9
    start -= start % args.interval
    rows = interval_report(qlog, start, end, args.interval, queue=args.queue, sl_seconds=args.t,
                           short_abandon=args.short_abandon, sl_treatment=args.treatment)
    print(json.dumps(rows, indent=1) if args.json else _table(rows))
    return 0
