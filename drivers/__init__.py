"""Board drivers: one API (boards -> spans -> channels) over the emulator, DAHDI and small backends.

``open_board(config, backend="emulator")`` returns a :class:`~pycallcenter.drivers.base.Board`;
see drivers/base.py for the API and drivers/config.py for the TOML format.
"""
from .backends import get_backend, open_board, register_backend
from .base import (DEFAULT_BLOCKSIZE, MAX_BLOCKSIZE, MIN_BLOCKSIZE, Board, Channel, ChannelGroup, Coding,
                   Framing, HookOp, Law, Signalling, Span, SpanKind, SpanStatus)
from .config import BoardConfig, ChannelConfig, SpanConfig, load_config, parse_config
from .events import Alarm, Event, EventKind

__all__ = [
    "open_board", "register_backend", "get_backend", "Board", "Span", "Channel", "ChannelGroup", "SpanStatus",
    "SpanKind", "Signalling", "Framing", "Coding", "Law", "HookOp", "Alarm", "Event", "EventKind",
    "BoardConfig", "SpanConfig", "ChannelConfig", "load_config", "parse_config",
    "DEFAULT_BLOCKSIZE", "MIN_BLOCKSIZE", "MAX_BLOCKSIZE",
]
