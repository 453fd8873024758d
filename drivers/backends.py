"""Backend registry: ``open_board(config, backend=NAME)`` finds a backend without editing this file.

A backend is either registered with :func:`register_backend` or is a module
``pycallcenter.drivers.NAME`` exposing ``open_board(config, **options) -> Board``.
"""
from __future__ import annotations

import importlib
import os
from typing import Callable

from pycallcenter.errors import HardwareError

from . import config as cfg

_REGISTRY: dict[str, Callable] = {}
# Backends whose module is not named like the backend: the voice modem's module is the modem itself
# (AT commands, DLE stream), and the board built over it lives beside it.
_MODULE_OF = {"voicemodem": "voicemodem_board"}


def register_backend(name: str, factory: Callable) -> None:
    """Register ``factory(config: BoardConfig, **options) -> Board`` under name; returns None."""
    _REGISTRY[name] = factory


def get_backend(name: str) -> Callable:
    """Return the factory for backend ``name``; HardwareError if no such backend can be found."""
    if name in _REGISTRY:
        return _REGISTRY[name]
    if not name.isidentifier():
        raise HardwareError(f"no board backend named {name!r}")
    module_name = f"pycallcenter.drivers.{_MODULE_OF.get(name, name)}"
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as exc:
        if exc.name and exc.name.startswith("pycallcenter.drivers"):
            raise HardwareError(f"no board backend named {name!r}") from None
        raise
    factory = getattr(module, "open_board", None)
    if factory is None:
        raise HardwareError(f"module {module_name} has no open_board()")
    return factory


def open_board(config, backend: str = "emulator", **options):
    """Return an open Board for config (BoardConfig, TOML path, TOML text via ``text=``, or parsed dict)."""
    if isinstance(config, cfg.BoardConfig):
        board_config = config
    elif isinstance(config, dict):
        board_config = cfg.from_dict(config)
    elif isinstance(config, (str, os.PathLike)):
        board_config = cfg.load_config(config)
    else:
        raise TypeError(f"config must be a BoardConfig, a path or a dict, got {type(config).__name__}")
    return get_backend(backend)(board_config, **options)
