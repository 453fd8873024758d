"""Board acceptance suite an integrator runs after wiring a board: ``pycallcenter hwtests`` (installed as
``pycallcenter.hwtests``), or ``python -m hwtests`` from the root of a source tree.

Against the emulator by default (hwtests/emulator.toml); against a real card with
``python -m hwtests --board dahdi --config FILE``. See docs/boards.md, "Running hwtests on real hardware".
"""
