"""Command line of the acceptance suite: pick the board, run the checks, print the table, set the exit code."""
from __future__ import annotations

import argparse
import dataclasses
import json
import sys

from pycallcenter.bundled import hwtests_config
from pycallcenter.errors import ConfigError, HardwareError

from . import checks
from .report import render
from .rig import CableControl, Rig

DEFAULT_CONFIG = str(hwtests_config())
SETTLE_SECONDS = 2.0  # spans align and alarms clear before the first check


def parse_args(argv):
    """Return the parsed command line."""
    return add_arguments(argparse.ArgumentParser(prog="python -m hwtests", description=__doc__)).parse_args(argv)


def add_arguments(p):
    """Add the suite's options to parser p (also `pycallcenter hwtests`); return p."""
    p.add_argument("--board", choices=("emulator", "dahdi"), default="emulator",
                   help="emulator (default) or a DAHDI card through /dev/dahdi")
    p.add_argument("--config", default=DEFAULT_CONFIG, help="board config TOML (default: the bundled emulator bench)")
    p.add_argument("--fake-kernel", action="store_true",
                   help="with --board dahdi: run the DAHDI backend against the fake kernel over the emulator (dry run)")
    p.add_argument("--interactive", action="store_true",
                   help="with a real board: ask the operator to pull and replug cables for the alarm check")
    p.add_argument("--seed", type=int, default=None, help="emulator seed (default: the config's)")
    names = [column for column, _ in checks.CHECKS]
    p.add_argument("--only", metavar="CHECKS", type=lambda v: _check_names(v, names), default=None,
                   help=f"comma-separated checks to run (default all): {','.join(names)}; span always runs")
    p.add_argument("--json", metavar="FILE", help="also write the results as JSON to FILE")
    return p


def _check_names(value, names):
    chosen = [v.strip() for v in value.split(",") if v.strip()]
    bad = [v for v in chosen if v not in names]
    if bad or not chosen:
        what = ", ".join(repr(b) for b in bad) if bad else repr(value)
        raise argparse.ArgumentTypeError(f"unknown check {what}; choose from {','.join(names)}")
    return set(chosen)


def _operator_cables():
    def ask(what):
        def act(span):
            input(f"\n>>> {what} span {span}, then press Enter ")
        return act
    return CableControl(ask("PULL the cable of"), ask("PLUG BACK the cable of"), "operator")


def open_rig(args):
    """Return (Rig, title) for the chosen board; HardwareError/ConfigError when it cannot be opened."""
    from pycallcenter.drivers import load_config, open_board

    config = load_config(args.config)
    if args.board == "emulator" or args.fake_kernel:
        emu_board = open_board(config, backend="emulator", **({"seed": args.seed} if args.seed is not None else {}))
        emu = emu_board.emulator
        cables = CableControl(emu.pull_cable, emu.reconnect, "emulator fault injection")
        if args.board == "emulator":
            return Rig(emu_board, cables), f"hwtests on the emulator ({args.config})"
        from pycallcenter.drivers.dahdi.fake import FakeDahdiKernel

        board = open_board(config, backend="dahdi", sys=FakeDahdiKernel(emu_board))
        return Rig(board, cables), f"hwtests on DAHDI over the fake kernel ({args.config})"
    board = open_board(config, backend="dahdi")
    cables = _operator_cables() if args.interactive and sys.stdin.isatty() else None
    return Rig(board, cables), f"hwtests on DAHDI ({args.config})"


def run_suite(rig, progress=None, only=None):
    """Return the list of Results of the checks on rig (all, or the columns in only); progress(text) hears each."""
    say = progress or (lambda text: None)
    say("settling: spans align, alarms clear")
    rig.run(rig.seconds(SETTLE_SECONDS))
    results = checks.spans_up(rig)
    say("finding the wiring: D-channel probes, one ring per FXS port")
    wiring = checks.discover(rig)
    for column, check in checks.CHECKS:
        if only is not None and column not in only:
            continue
        say(check.__doc__.splitlines()[0])
        try:
            results += check(rig, wiring)
        except Exception as exc:  # a board refusal (or a broken DSP module) fails this check; the others still run
            everyone = tuple(c.number for c in rig.audio + rig.dchans)
            what = "board error" if isinstance(exc, HardwareError) else f"error ({type(exc).__name__})"
            results.append(checks.Result(column, everyone, checks.FAIL, f"{what}: {exc}"))
    return results


def _stderr(text):
    print(f"hwtests: {text}", file=sys.stderr, flush=True)


def main(argv=None):
    """Run the suite; return 0 when nothing failed, 1 on a failure, 2 when the board cannot be opened."""
    return run(parse_args(sys.argv[1:] if argv is None else argv))


def run(args):
    """Run the suite with parsed options; return the exit status as main() does."""
    try:
        rig, title = open_rig(args)
    except (HardwareError, ConfigError, OSError) as exc:
        print(f"hwtests: cannot open the board: {exc}", file=sys.stderr)
        return 2
    try:
        results = run_suite(rig, _stderr, args.only)
    finally:
        rig.close()
        rig.board.close()
    print(render(rig.board, results, title))
    if args.json:
        with open(args.json, "w", encoding="utf-8") as fh:
            json.dump({"title": title, "results": [dataclasses.asdict(r) for r in results]}, fh, indent=1)
    return 1 if any(r.status == checks.FAIL for r in results) else 0
