"""The ``pycallcenter`` command line: each subcommand lives in pycallcenter/commands/NAME.py.

A command module defines ``register(subparsers)``, which adds its parser and sets
``func=run`` (``run(args) -> int`` exit status) with ``parser.set_defaults``.
"""
import argparse
import importlib
import pkgutil
import sys

from pycallcenter import __version__, commands
from pycallcenter.errors import PyCallCenterError


def build_parser():
    """Return the argument parser with every command module registered."""
    parser = argparse.ArgumentParser(prog="pycallcenter", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"pycallcenter {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for info in sorted(pkgutil.iter_modules(commands.__path__), key=lambda m: m.name):
        if info.name.startswith("_"):
            continue
        importlib.import_module(f"pycallcenter.commands.{info.name}").register(sub)
    return parser


def main(argv=None):
    """Run the command line; return the exit status."""
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "func", None):
        parser.print_help()
        return 2
    try:
        return int(args.func(args) or 0)
    except (PyCallCenterError, ValueError, OSError) as exc:
        print(f"pycallcenter {args.command}: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130
