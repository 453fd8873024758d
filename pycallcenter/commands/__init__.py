"""Subcommands of the ``pycallcenter`` CLI, one module each (see pycallcenter.cli)."""
