"""`pycallcenter report [--from T] [--to T] [--interval 30m] [--html FILE] [--png FILE]`: the interval
report a call-centre manager reads (offered, answered, abandoned, service level, ASA, AHT, occupancy),
from the queue log (or the CDRs when no queue log was kept)."""
import datetime as _dt
import html


def register(subparsers):
    """Add the report command to the CLI."""
    p = subparsers.add_parser("report", help="interval report from the CDR and queue-log database")
    p.add_argument("--db", default="data", help="SQLite path/data folder or PostgreSQL DSN (default ./data)")
    p.add_argument("--from", dest="start", help="start, ISO date/time UTC (default: first record)")
    p.add_argument("--to", dest="end", help="end, ISO date/time UTC (default: last record)")
    p.add_argument("--interval", default="30m", help="bucket size: 15m, 30m, 1h, 1d (default 30m)")
    p.add_argument("--sl", type=float, default=20.0, help="service level target in seconds (default 20)")
    p.add_argument("--queue", help="only this queue (queue-log reports)")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with inline SVG charts")
    p.add_argument("--png", metavar="FILE", help="also write the call-volume chart as PNG")
    p.set_defaults(func=run)


def _label(t, interval):
    d = _dt.datetime.fromtimestamp(t, _dt.timezone.utc)
    return d.strftime("%m-%d" if interval >= 86400 else "%H:%M")


def volume_chart(rows, interval):
    """Return the SVG bar chart of offered/answered/abandoned per interval."""
    from pycallcenter.storage.charts import svg_bars

    return svg_bars("Calls per interval", [_label(r["start"], interval) for r in rows],
                    {k: [r[k] for r in rows] for k in ("offered", "answered", "abandoned")})


def html_report(rows, interval, title, source, sl):
    """Return the HTML report: the table and inline SVG charts (volumes, service level, ASA/AHT, outcome pie)."""
    from pycallcenter.storage.charts import COLOURS, svg_bars, svg_pie
    from pycallcenter.storage.report import format_table

    labels = [_label(r["start"], interval) for r in rows]
    totals = {k: sum(r[k] for r in rows) for k in ("answered", "abandoned")}
    charts = [volume_chart(rows, interval),
              svg_bars(f"Service level ({sl:g} s)", labels, {"service level": [r["service_level"] for r in rows]},
                       percent=True),
              svg_bars("Speed of answer and handle time (s)", labels,
                       {"ASA": [r["asa"] for r in rows], "AHT": [r["aht"] for r in rows]}),
              svg_pie("Outcome", totals, colours=COLOURS[1:])]  # the same colours as the volume bars
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>" + html.escape(title) + "</title>"
            "<style>body{font-family:sans-serif;margin:2em} pre{background:#f6f6f6;padding:1em} svg{margin:1em 0;display:block}"
            "</style></head><body>\n<h1>" + html.escape(title) + "</h1>\n<p>Source: " + html.escape(source)
            + f"; service-level target {sl:g} s; times UTC.</p>\n<pre>" + html.escape(format_table(rows)) + "</pre>\n"
            + "\n".join(charts) + "\n</body></html>\n")


def run(args):
    """Print the report (and write HTML/PNG); return 0, or 1 when there is no data."""
    from pycallcenter.storage import open_store
    from pycallcenter.storage.charts import png_bars, svg_to_png
    from pycallcenter.storage.report import format_table, interval_rows, parse_interval, parse_when

    interval = parse_interval(args.interval)
    start = parse_when(args.start) if args.start else None
    end = parse_when(args.end) if args.end else None
    store = open_store(args.db, create=False)
    try:
        source, rows = interval_rows(store, start, end, interval, sl_seconds=args.sl, queue=args.queue)
    finally:
        store.close()
    if not rows:
        print("pycallcenter report: no CDRs or queue-log rows in that database")
        return 1
    title = "Interval report " + " to ".join(
        _dt.datetime.fromtimestamp(t, _dt.timezone.utc).strftime("%Y-%m-%d %H:%M") for t in (rows[0]["start"], rows[-1]["end"]))
    print(f"{title} (from the {source.replace('_', ' ')})")
    print(format_table(rows))
    if args.html:
        with open(args.html, "w") as f:
            f.write(html_report(rows, interval, title, source, args.sl))
        print(f"wrote {args.html}")
    if args.png:
        if svg_to_png(volume_chart(rows, interval), args.png):
            print(f"wrote {args.png} (ImageMagick)")
        else:
            with open(args.png, "wb") as f:
                f.write(png_bars({k: [r[k] for r in rows] for k in ("offered", "answered", "abandoned")}))
            print(f"wrote {args.png} (built-in writer: bars without labels; install imagemagick for labels)")
    return 0
