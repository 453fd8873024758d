"""`pycallcenter hwtests`: the board acceptance suite, the same as `python -m hwtests` in a source tree."""
from pycallcenter.hwtests import cli as suite


def register(subparsers):
    """Add the hwtests command to the CLI."""
    p = subparsers.add_parser("hwtests", help="board acceptance tests (the emulated bench, or a DAHDI card)",
                              description="Check every channel of a board (spans, tones, ring, caller ID, hook, DTMF, "
                                          "D-channels, alarms) against the bundled emulated bench, or a DAHDI card "
                                          "with --board dahdi --config FILE. Exit status 0 when nothing failed, 1 on "
                                          "a failure, 2 when the board cannot be opened. See docs/hwtests.md.")
    suite.add_arguments(p)
    p.set_defaults(func=suite.run)
