"""DAHDI backend: ``open_board(config, backend="dahdi")`` drives a DAHDI card through /dev/dahdi.

Built with cffi against <dahdi/user.h>; importing it raises HardwareError when that binding was not
built (no dahdi-linux/dahdi-dkms headers). ``fake.FakeDahdiKernel`` answers the same system calls
from an emulated board, for tests and dry runs.
"""
from .board import DahdiBoard, open_board

__all__ = ["DahdiBoard", "open_board"]
