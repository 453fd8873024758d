"""The DAHDI cffi binding and the system-call seam, on a machine without DAHDI running."""
import glob
import importlib
import os
import sys

import pytest

from pycallcenter.errors import HardwareError

HEADER = ([p for p in ["/usr/include/dahdi/user.h"] if os.path.exists(p)]
          + sorted(glob.glob("/usr/src/dahdi-*/include/dahdi/user.h")))
needs_header = pytest.mark.skipif(not HEADER, reason="no <dahdi/user.h> (install dahdi-linux or dahdi-dkms)")
BUILDER = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "drivers", "dahdi",
                       "_cffi_dahdi.py")


def _ioc(direction, nr, size):
    # Linux asm-generic ioctl encoding: dir(2) size(14) type(8) nr(8).
    return (direction << 30) | (size << 16) | (0xDA << 8) | nr


@needs_header
def test_ioctl_numbers_and_layouts_come_from_the_header():
    from pycallcenter.drivers.dahdi._binding import ffi, lib
    write, read = 1, 2
    assert lib.DAHDI_SPECIFY == _ioc(write, 38, 4)
    assert lib.DAHDI_GETEVENT == _ioc(read, 8, 4)
    assert lib.DAHDI_GET_PARAMS == _ioc(read | write, 5, ffi.sizeof("struct dahdi_params"))
    assert lib.DAHDI_SPANSTAT == _ioc(read | write, 10, ffi.sizeof("struct dahdi_spaninfo"))
    assert lib.DAHDI_ECHOCANCEL_PARAMS == _ioc(write, 33, ffi.sizeof("struct dahdi_echocanparams"))
    # dahdi_spaninfo is packed in the header: the compiler, not a hand count, gives its layout.
    assert ffi.offsetof("struct dahdi_spaninfo", "alarms") == 4 + 20 + 40
    assert ffi.sizeof("struct dahdi_spaninfo") == ffi.offsetof("struct dahdi_spaninfo", "spantype") + 6
    assert ffi.sizeof("struct dahdi_gains") == 4 + 256 + 256
    assert lib.ELAST == 500 and lib.DAHDI_EVENT_DTMFUP == 1 << 18


def test_builder_without_header_reports_missing(monkeypatch):
    monkeypatch.setattr(os.path, "exists", lambda p: False)
    monkeypatch.setattr(glob, "glob", lambda pattern, **kw: [])
    scope = {"__file__": BUILDER, "__name__": "_cffi_builder"}
    with open(BUILDER) as fh:
        exec(compile(fh.read(), BUILDER, "exec"), scope)
    assert scope["ffibuilder"] is None
    assert "dahdi-linux" in scope["MISSING"] and "user.h" in scope["MISSING"]


def test_unbuilt_binding_raises_hardware_error_naming_the_headers(monkeypatch):
    monkeypatch.setitem(sys.modules, "pycallcenter.drivers.dahdi._dahdi_cffi", None)  # as if never built
    monkeypatch.delitem(sys.modules, "pycallcenter.drivers.dahdi._binding", raising=False)
    with pytest.raises(HardwareError, match="dahdi-linux.*dahdi-dkms|dahdi-dkms"):
        importlib.import_module("pycallcenter.drivers.dahdi._binding")
    monkeypatch.delitem(sys.modules, "pycallcenter.drivers.dahdi._binding", raising=False)


@needs_header
@pytest.mark.skipif(os.path.exists("/dev/dahdi/channel"), reason="DAHDI is running on this machine")
def test_no_dahdi_device_names_channel_and_modules():
    from pycallcenter.drivers import parse_config
    from pycallcenter.drivers.dahdi import open_board
    config = parse_config('[[span]]\nspan = 1\nkind = "fxs"\nchannels = 2\n'
                          '[[channels]]\nsignalling = "fxo_ks"\nchannels = "1-2"\n')
    with pytest.raises(HardwareError) as info:
        open_board(config)
    msg = str(info.value)
    assert "/dev/dahdi/channel" in msg and "modprobe dahdi" in msg


@needs_header
def test_real_sys_ioctl_fills_a_mutable_buffer_and_polls():
    import termios

    from pycallcenter.drivers.dahdi._binding import ffi
    from pycallcenter.drivers.dahdi.sys import POLLIN, RealSys
    real = RealSys()
    r, w = os.pipe()
    try:
        assert real.write(w, b"hello") == 5
        count = ffi.new("int *")
        real.ioctl(r, termios.FIONREAD, ffi.buffer(count))  # the kernel writes through the cffi buffer
        assert count[0] == 5
        assert real.poll([(r, POLLIN)], 0) == [(r, POLLIN)]
        assert real.read(r, 16) == b"hello"
        assert real.poll([(r, POLLIN)], 0) == []
        assert real.monotonic() <= real.monotonic()
    finally:
        os.close(r)
        os.close(w)
