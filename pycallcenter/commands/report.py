"""`pycallcenter report [--from T] [--to T] [--interval 30m] [--by GROUP] [--html FILE] [--svg FILE]
[--png FILE]`: the report a call-centre manager reads (offered, answered, abandoned, service level, ASA,
AHT, occupancy) per interval from the queue log or the CDRs; per agent (--by agent); or per queue, trunk
group, called number or script variable (--by queue|trunk|called|var:NAME)."""
import datetime as _dt
import html
import sys

from pycallcenter.acd.stats import MODES

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the report command to the CLI."""
    p = subparsers.add_parser("report", help="interval, agent and grouped reports from the CDR and queue-log database")
    p.add_argument("--db", default="data", help="SQLite path/data folder or PostgreSQL DSN (default ./data)")
    p.add_argument("--from", dest="start", help="start, ISO date/time UTC (default: first record)")
    p.add_argument("--to", dest="end", help="end, ISO date/time UTC (default: last record)")
    p.add_argument("--interval", default="30m", help="bucket size: 15m, 30m, 1h, 1d (default 30m)")
    p.add_argument("--by", help="agent, queue, trunk, called or var:NAME instead of intervals")
    p.add_argument("--source", choices=("auto", "queue_log", "cdr"), default="auto",
                   help="interval figures from the queue log or the CDRs (default: the queue log when kept)")
    p.add_argument("--sl", type=float, help="service level target in seconds (default: what the ACD logged, else 20)")
    p.add_argument("--sl-mode", choices=MODES, help="service level denominator (default: what the ACD logged, else offered)")
    p.add_argument("--short-abandon", type=float, help="short abandon seconds (default: what the ACD logged, else 5)")
    p.add_argument("--queue", help="only this queue (interval reports)")
    p.add_argument("--survey", action="store_true",
                   help="post-call survey results per agent and per queue (count, mean, 1..5 counts) instead")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with inline SVG charts")
    p.add_argument("--svg", metavar="FILE", help="also write the main chart as SVG")
    p.add_argument("--png", metavar="FILE", help="also write the main chart as PNG (needs the charts extra)")
    p.set_defaults(func=run)


def _label(t, interval):
    d = _dt.datetime.fromtimestamp(t, _dt.timezone.utc)
    return d.strftime("%m-%d" if interval >= 86400 else "%H:%M")


def main_chart(rows, interval=None, by=None):
    """Return (title, labels, series) of the report's main chart: calls per interval, per group or
    handling time per agent."""
    if by == "agent":
        return ("Agent time (minutes)", [r["agent"] for r in rows],
                {k: [r[k] / 60.0 for r in rows] for k in ("talk", "hold", "acw")})
    if by:
        return (f"Calls by {by}", [r["group"] for r in rows],
                {"calls": [r["calls"] for r in rows], "answered": [r["answered"] for r in rows],
                 "abandoned": [r["abandoned"] for r in rows]})
    return ("Calls per interval", [_label(r["start"], interval) for r in rows],
            {k: [r[k] for r in rows] for k in ("offered", "answered", "abandoned")})


def volume_chart(rows, interval):
    """Return the SVG bar chart of offered/answered/abandoned per interval."""
    from pycallcenter.storage.charts import svg_bars

    return svg_bars(*main_chart(rows, interval))


def _page(title, subtitle, table, charts):
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em} pre{background:#f6f6f6;padding:1em} svg{margin:1em 0;display:block}"
            "</style></head><body>\n<h1>" + html.escape(title) + "</h1>\n<p>" + html.escape(subtitle) + "</p>\n<pre>"
            + html.escape(table) + "</pre>\n" + "\n".join(charts) + "\n</body></html>\n")


def _sl_text(rows):
    r = next((r for r in rows if r.get("sl_seconds") is not None), None)
    return f"service level: answered within {r['sl_seconds']:g} s / {r['sl_mode']}" if r else ""


def html_report(rows, interval, title, source, sl=None, outcomes=None):
    """Return the HTML report: the table and inline SVG charts (volumes, service level, ASA/AHT, and a pie
    of the CDRs' outcomes, or of answered/abandoned when there are no CDRs)."""
    from pycallcenter.storage.charts import COLOURS, svg_bars, svg_pie
    from pycallcenter.storage.report import format_table

    labels = [_label(r["start"], interval) for r in rows]
    totals = {k: sum(r[k] for r in rows) for k in ("answered", "abandoned")}
    sl_title = "Service level" + (f" ({sl:g} s)" if sl is not None else "")
    charts = [volume_chart(rows, interval),
              svg_bars(sl_title, labels, {"service level": [r["service_level"] for r in rows]}, percent=True),
              svg_bars("Speed of answer and handle time (s)", labels,
                       {"ASA": [r["asa"] for r in rows], "AHT": [r["aht"] for r in rows]}),
              svg_pie("Call outcomes", outcomes) if outcomes else
              svg_pie("Outcome", totals, colours=COLOURS[1:])]  # the same colours as the volume bars
    return _page(title, f"Source: {source}; {_sl_text(rows) or 'service level as logged'}; times UTC.",
                 format_table(rows), charts)


def _level(args):
    from pycallcenter.acd.stats import ServiceLevel

    if args.sl is None and args.sl_mode is None and args.short_abandon is None:
        return None  # what the ACD logged
    d = ServiceLevel()
    return ServiceLevel(d.seconds if args.sl is None else args.sl, args.sl_mode or d.mode,
                        d.short_abandon if args.short_abandon is None else args.short_abandon)


def _fail(msg, code):
    print(f"pycallcenter report: {msg}", file=sys.stderr)
    return code


def _survey(args):
    """Print the post-call survey figures of the period; return 0, or 1 when there are no answers."""
    from pycallcenter.storage import open_store
    from pycallcenter.storage import survey as S

    store = open_store(args.db, create=False)
    try:
        figures = S.report(store, args.start, args.end, every_appliance=True)
    finally:
        store.close()
    if not figures["agent"]:
        print("pycallcenter report: no survey answers in that database and period")
        return 1
    print("\n".join(S.format_report(figures)))
    return 0


def run(args):
    """Print the report (and write HTML/SVG/PNG); return 0, 1 when there is no data, 2 on bad options or
    when PNG was asked for without matplotlib."""
    from pycallcenter.storage import open_store
    from pycallcenter.storage import report as R
    from pycallcenter.storage.charts import CHARTS_EXTRA, png_available, png_bars, svg_bars

    if args.png and not png_available():
        return _fail(CHARTS_EXTRA, 2)  # before any work: nothing half-written
    try:
        interval = R.parse_interval(args.interval)
        start = R.parse_when(args.start) if args.start else None
        end = R.parse_when(args.end) if args.end else None
        level = _level(args)
        if args.by and args.by != "agent":
            R.group_key(args.by)
    except ValueError as exc:
        return _fail(exc, 2)
    if args.survey:
        return _survey(args)
    outcomes = None
    store = open_store(args.db, create=False)
    try:
        if args.by == "agent":
            source, rows = "queue log", R.agent_rows(store, start, end)
        elif args.by:
            source, rows = "CDRs", R.group_rows(store, args.by, start, end, level)
        else:
            source, rows = R.interval_rows(store, start, end, interval, service_level=level, queue=args.queue,
                                           source=args.source)
            source = source.replace("_", " ")
            if rows and args.html:
                outcomes = R.outcome_counts(store, rows[0]["start"], rows[-1]["end"])
    except ValueError as exc:
        return _fail(exc, 2)
    finally:
        store.close()
    if not rows:
        print("pycallcenter report: no CDRs or queue-log rows in that database")
        return 1
    if args.by:
        title = f"Report by {args.by}"
        table = R.format_agents(rows) if args.by == "agent" else R.format_groups(args.by, rows)
    else:
        title = "Interval report " + " to ".join(
            _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M") for t in (rows[0]["start"], rows[-1]["end"]))
        table = R.format_table(rows)
    print(f"{title} (from the {source})")
    print(table)
    if not args.by and _sl_text(rows):
        print(_sl_text(rows))
    chart = main_chart(rows, interval, args.by)
    if args.html:
        with open(args.html, "w") as f:
            if args.by:
                f.write(_page(title, f"Source: {source}; times UTC.", table, [svg_bars(*chart)]))
            else:
                f.write(html_report(rows, interval, title, source, level.seconds if level else rows[0].get("sl_seconds"),
                                    outcomes))
        print(f"wrote {args.html}")
    if args.svg:
        with open(args.svg, "w") as f:
            f.write(svg_bars(*chart))
        print(f"wrote {args.svg}")
    if args.png:
        png_bars(args.png, *chart)
        print(f"wrote {args.png}")
    return 0
