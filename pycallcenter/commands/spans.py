"""`pycallcenter spans --config FILE [--board dahdi]`: span alarms and counters, and optionally the events.

``--echo`` adds each channel's line echo canceller (its tail, from the config); with ``--data DIR`` of a centre
that `pycallcenter run` is running, also its live ERL, ERLE and state, read from DIR/status.json.
"""
import sys

from pycallcenter.commands._status_file import read_status

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.

SETTLE_SECONDS = 2.0  # the emulator starts every span in alarm; real cards have been running


def register(subparsers):
    """Add the spans command to the CLI."""
    p = subparsers.add_parser("spans", help="show span alarms and error counters of a board (emulator or DAHDI)")
    p.add_argument("--config", required=True, help="board config TOML, or a centre's (its board tables are read)")
    p.add_argument("--board", choices=("emulator", "dahdi"), default="emulator", help="backend (default emulator)")
    p.add_argument("--watch", type=float, default=0.0, metavar="SECONDS",
                   help="then print board events for this long (board time)")
    p.add_argument("--echo", action="store_true", help="also list the channels' line echo cancellers")
    p.add_argument("--data", help="with --echo: data folder of a running centre, for live ERL/ERLE/state")
    p.set_defaults(func=run)


# (SpanStatus field, column label): DAHDI_SPANSTAT's error counters.
COUNTERS = (("bpvcount", "bpv"), ("crc4count", "crc4"), ("ebitcount", "ebit"), ("fascount", "fas"),
            ("errsec", "errsec"), ("irqmisses", "irqmiss"))


def format_status(board):
    """Return the span table text: one line per span with alarms, channel counts and error counters."""
    from pycallcenter.drivers import Alarm

    head = f"{'span':>4} {'kind':<4} {'name':<12} {'alarms':<16} {'chans':>7} " + " ".join(
        f"{label:>7}" for _, label in COUNTERS)
    lines = [head]
    for span in board.spans:
        st = span.status()
        alarms = "+".join(Alarm.names(st.alarms)) or "OK"
        lines.append(f"{span.number:>4} {span.kind.value:<4} {st.name[:12]:<12} {alarms:<16} "
                     f"{st.numchans:>3}/{st.totalchans:<3} " + " ".join(f"{getattr(st, f):>7}" for f, _ in COUNTERS))
    return "\n".join(lines)


def format_echo(board, live=None):
    """Return the echo canceller table: one line per channel with a canceller (tail; live figures if given)."""
    from pycallcenter.engine.media import echo_tails

    numbers = sorted(n for n in board.channels if board.channels[n].signalling.is_audio)
    by_channel = {r["channel"]: r for r in (live or [])}
    lines = [f"{'chan':>4} {'span':>4} {'tail':>6} {'state':<13} {'ERL dB':>7} {'ERLE dB':>8} {'resets':>6}"]
    for row, tail in sorted(echo_tails(board, numbers).items()):
        n = numbers[row]
        r = by_channel.get(n)
        figures = "-".ljust(13) + f" {'-':>7} {'-':>8} {'-':>6}"
        if r is not None:
            figures = (f"{r['state'] if r['running'] else 'idle':<13} {_db(r['erl_db']):>7} {_db(r['erle_db']):>8} "
                       f"{r['resets']:>6}")
        lines.append(f"{n:>4} {board.channels[n].span.number:>4} {tail:>3} ms {figures}")
    if len(lines) == 1:
        lines.append("(no channel has a line echo canceller)")
    return "\n".join(lines)


def _db(v):
    return "-" if v is None else f"{v:.1f}"


def _live_echo(data):
    """Return the echo rows of DATA/status.json; OSError or ValueError naming the file if unreadable."""
    return read_status(data).get("echo", [])


def run(args):
    """Print the span table (and events with --watch); return 0, or 2 when the board cannot be opened."""
    from pycallcenter.apps.settings import split
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.drivers.config import read_config_text
    from pycallcenter.errors import ConfigError, HardwareError

    try:
        board_text, _ = split(read_config_text(args.config))  # a centre's file: its board tables (same lines)
        board = open_board(parse_config(board_text, path=args.config), backend=args.board)
    except (HardwareError, ConfigError, OSError) as exc:
        print(f"pycallcenter spans: {exc}", file=sys.stderr)
        return 2
    with board:
        if args.board == "emulator":
            board.step(int(SETTLE_SECONDS * 8000 / board.blocksize))
            board.poll_events()
        print(format_status(board))
        if args.echo:
            try:
                live = _live_echo(args.data) if args.data else None
            except (OSError, ValueError) as exc:
                print(f"pycallcenter spans: {exc}", file=sys.stderr)
                return 2
            print()
            print(format_echo(board, live))
        if args.watch > 0:
            for _ in range(int(args.watch * 8000 / board.blocksize)):
                board.step(1)
                for event in board.poll_events():
                    print(event)
    return 0
