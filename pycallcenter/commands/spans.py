"""`pycallcenter spans --config FILE [--board dahdi]`: span alarms and counters, and optionally the events."""
import sys

SETTLE_SECONDS = 2.0  # the emulator starts every span in alarm; real cards have been running


def register(subparsers):
    """Add the spans command to the CLI."""
    p = subparsers.add_parser("spans", help="show span alarms and error counters of a board (emulator or DAHDI)")
    p.add_argument("--config", required=True, help="board config TOML")
    p.add_argument("--board", choices=("emulator", "dahdi"), default="emulator", help="backend (default emulator)")
    p.add_argument("--watch", type=float, default=0.0, metavar="SECONDS",
                   help="then print board events for this long (board time)")
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


def run(args):
    """Print the span table (and events with --watch); return 0, or 2 when the board cannot be opened."""
    from pycallcenter.drivers import open_board
    from pycallcenter.errors import ConfigError, HardwareError

    try:
        board = open_board(args.config, backend=args.board)
    except (HardwareError, ConfigError, OSError) as exc:
        print(f"pycallcenter spans: {exc}", file=sys.stderr)
        return 2
    with board:
        if args.board == "emulator":
            board.step(int(SETTLE_SECONDS * 8000 / board.blocksize))
            board.poll_events()
        print(format_status(board))
        if args.watch > 0:
            for _ in range(int(args.watch * 8000 / board.blocksize)):
                board.step(1)
                for event in board.poll_events():
                    print(event)
    return 0
