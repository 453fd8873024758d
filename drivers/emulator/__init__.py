"""The board emulator: the default backend. E1/T1 spans and analog ports joined by configurable cables,
a simulated clock and seeded faults, so everything above the drivers runs in CI without hardware.

``open_board(config, backend="emulator", seed=..., realtime=...)`` returns an EmulatorBoard whose
``.emulator`` is the :class:`Emulator` (cabling, fault commands, far ends: NetworkSpan, PstnLine, Phone;
``add_board()`` for more boards on the same clock).
"""
from .analog import LineTiming, ring_cadence
from .board import EmuChannel, EmuGroup, EmulatorBoard, EmuSpan
from .core import Emulator, open_board
from .pstn import NetworkSpan, Phone, PstnLine

__all__ = ["Emulator", "open_board", "EmulatorBoard", "EmuSpan", "EmuChannel", "EmuGroup", "NetworkSpan",
           "PstnLine", "Phone", "LineTiming", "ring_cadence"]
