"""A fake DAHDI kernel: answers the DAHDI backend's system calls from a board of the driver API.

``FakeDahdiKernel(board)`` implements the seam of sys.py (open, close, ioctl, read, write, poll,
monotonic). It decodes the real ioctl numbers and reads/writes the real struct bytes through the
same cffi module the backend uses, and serves them from ``board`` (normally the emulator), so the
DAHDI backend can be run end to end with no card: in tests, and by integrators as a dry run
(``open_board(config, backend="dahdi", sys=FakeDahdiKernel(emulator_board))``).

Time: poll() with a timeout advances the board one tick at a time until a file is ready or the
timeout has passed in board time, so a run is as deterministic as the board behind it.
"""
from __future__ import annotations

import errno
import os
from collections import Counter, deque

import numpy as np

from ..base import EventKind, HookOp, Law
from ..emulator.fcs import with_fcs
from ._binding import ffi, lib
from .board import SIGTYPES
from .device import CHANNEL_PATH, CTL_PATH, SPANINFO_FIELDS
from .gains import table_gain_db
from .sys import POLLIN, POLLOUT, POLLPRI

IOC_SIZE_SHIFT, IOC_SIZE_MASK = 16, 0x3FFF
MAX_NUMBUFS = 32
DEFAULT_BUFSIZE = 1024  # DAHDI_DEFAULT_BLOCKSIZE: a channel's buffers before DAHDI_SET_BUFINFO
# Ticks a poll() with an infinite timeout may run the board before it gives up (a hung test, not a hang).
INFINITE_POLL_TICKS = 3000

# Board events as DAHDI reports them on the channel's file.
_EVENT_CODES = {
    EventKind.RING_BEGIN: (lib.DAHDI_EVENT_RINGBEGIN, lib.DAHDI_EVENT_RINGOFFHOOK),
    EventKind.RING_END: (lib.DAHDI_EVENT_RINGEROFF,),
    EventKind.OFF_HOOK: (lib.DAHDI_EVENT_RINGOFFHOOK,), EventKind.ON_HOOK: (lib.DAHDI_EVENT_ONHOOK,),
    EventKind.WINK: (lib.DAHDI_EVENT_WINKFLASH,), EventKind.FLASH: (lib.DAHDI_EVENT_WINKFLASH,),
    EventKind.POLARITY: (lib.DAHDI_EVENT_POLARITY,), EventKind.RINGER_ON: (lib.DAHDI_EVENT_RINGERON,),
    EventKind.RINGER_OFF: (lib.DAHDI_EVENT_RINGEROFF,), EventKind.HOOK_COMPLETE: (lib.DAHDI_EVENT_HOOKCOMPLETE,),
    EventKind.DIAL_COMPLETE: (lib.DAHDI_EVENT_DIALCOMPLETE,), EventKind.HDLC_BAD_FCS: (lib.DAHDI_EVENT_BADFCS,),
    EventKind.HDLC_ABORT: (lib.DAHDI_EVENT_ABORT,), EventKind.HDLC_OVERRUN: (lib.DAHDI_EVENT_OVERRUN,),
    EventKind.READ_OVERRUN: (lib.DAHDI_EVENT_READ_OVERRUN,),
}
def _fail(code, why):
    return OSError(code, f"{os.strerror(code)} (fake DAHDI: {why})")


def _fcs(payload):
    # The real driver hands FCS bytes to read(); the backend drops them, so any two bytes would do,
    # but computing them keeps the bytes identical to a card's.
    return with_fcs(payload)


class _File:
    def __init__(self, fd, path):
        self.fd = fd
        self.path = path
        self.chan = None  # board channel after DAHDI_SPECIFY
        self.group = None
        self.blocksize = None
        self.bufinfo = None
        self.rx = deque()
        self.tx = bytearray()
        self.events = deque()
        self.gains = (bytes(range(256)), bytes(range(256)))
        self.echo = (0, {})
        self.dialling = ""


class FakeDahdiKernel:
    """The DAHDI character devices, served from a driver-API board; records every ioctl it answers."""

    def __init__(self, board):
        self.board = board
        self.blocksize = board.blocksize
        self.files = {}
        self.ticks = 0
        self.ioctls = Counter()  # ioctl name -> calls answered
        self.offhook = {}  # channel number -> far end off hook (what DAHDI calls rxisoffhook)
        self._next_fd = 100
        self._names = {getattr(lib, n): n for n in dir(lib) if n.startswith("DAHDI_") and n in _HANDLERS}

    # --- the seam ---
    def open(self, path, flags):
        """Return a new fake fd for /dev/dahdi/channel or /dev/dahdi/ctl."""
        if path not in (CHANNEL_PATH, CTL_PATH):
            raise FileNotFoundError(errno.ENOENT, os.strerror(errno.ENOENT), path)
        fd = self._next_fd
        self._next_fd += 1
        self.files[fd] = _File(fd, path)
        return fd

    def close(self, fd):
        """Close a fake fd, releasing its board channel."""
        f = self._file(fd)
        if f.group is not None:
            f.group.close()
        elif f.chan is not None and f.chan.is_open:
            f.chan.close()
        del self.files[fd]

    def ioctl(self, fd, request, buf):
        """Answer one DAHDI ioctl, reading and writing the struct bytes in buf; return 0."""
        f = self._file(fd)
        name = self._names.get(request)
        if name is None:
            raise _fail(errno.ENOTTY, f"ioctl {request:#x} is not one the fake answers")
        size = (request >> IOC_SIZE_SHIFT) & IOC_SIZE_MASK
        if len(buf) < size:
            raise _fail(errno.EFAULT, f"{name} needs {size} bytes, got {len(buf)}")
        if name not in ("DAHDI_SPECIFY", "DAHDI_SPANSTAT") and f.path == CHANNEL_PATH and f.chan is None:
            raise _fail(errno.EINVAL, f"{name} before DAHDI_SPECIFY")
        self.ioctls[name] += 1
        _HANDLERS[name](self, f, buf)
        return 0

    def read(self, fd, size):
        """Return the next queued block or frame (+2 FCS bytes); EAGAIN when empty, ELAST if an event waits."""
        f = self._file(fd)
        if f.events:
            raise _fail(lib.ELAST, "an event is pending; use DAHDI_GETEVENT")
        if not f.rx:
            raise _fail(errno.EAGAIN, "nothing to read yet")
        return f.rx.popleft()[:size]

    def write(self, fd, data):
        """Queue audio bytes, or one HDLC frame whose last 2 bytes are the FCS room; return len(data)."""
        f = self._file(fd)
        if f.events and f.group is not None:
            raise _fail(lib.ELAST, "an event is pending; use DAHDI_GETEVENT")
        if f.chan is None:
            raise _fail(errno.EINVAL, "write before DAHDI_SPECIFY")
        if f.chan.signalling.is_hdlc:
            if len(data) < 3:
                raise _fail(errno.EINVAL, "an HDLC write needs a payload and 2 FCS bytes")
            if len(data) > (f.bufinfo[1] if f.bufinfo else DEFAULT_BUFSIZE):
                raise _fail(errno.EINVAL, f"frame of {len(data)} bytes is longer than the channel's buffers")
            f.chan.write_frame(bytes(data[:-2]))
            return len(data)
        room = (f.bufinfo[0] if f.bufinfo else 4) * f.blocksize - len(f.tx)
        accepted = bytes(data[:max(0, room)])
        f.tx += accepted
        return len(accepted)

    def poll(self, fds, timeout_ms):
        """Return [(fd, revents)] ready now, running the board tick by tick for up to timeout_ms."""
        ready = self._ready(fds)
        if ready or timeout_ms == 0:
            return ready
        tick_ms = self.blocksize / 8.0
        budget = INFINITE_POLL_TICKS if timeout_ms is None or timeout_ms < 0 else max(1, round(timeout_ms / tick_ms))
        for _ in range(budget):
            self.tick()
            ready = self._ready(fds)
            if ready:
                return ready
        return []

    def monotonic(self):
        """Return board time in seconds."""
        return self.ticks * self.blocksize / 8000.0

    # --- the board behind it ---
    def tick(self):
        """Run the board one tick: hand it what was written, collect what it produced and its events."""
        audio = [f for f in self.files.values() if f.group is not None]
        for f in audio:
            block = bytes(f.tx[: self.blocksize])
            del f.tx[: self.blocksize]
            if len(block) < self.blocksize:  # a card sends idle code when nothing was written
                block += bytes([f.chan.law.idle]) * (self.blocksize - len(block))
            f.group.write(np.frombuffer(block, dtype=np.uint8).reshape(1, -1))
        self.board.step(1)
        self.ticks += 1
        for f in audio:
            f.rx.append(f.group.read()[0].tobytes())
            if len(f.rx) > (f.bufinfo[0] if f.bufinfo else 4):
                f.rx.popleft()
                f.events.append(lib.DAHDI_EVENT_READ_OVERRUN)
        for f in self.files.values():
            if f.chan is not None and f.chan.signalling.is_hdlc and f.chan.is_open:
                room = f.bufinfo[1] if f.bufinfo else DEFAULT_BUFSIZE
                for frame in f.chan.read_frames():
                    if len(frame) + 2 > room:  # a frame longer than one buffer: DAHDI drops it and says so
                        f.events.append(lib.DAHDI_EVENT_OVERRUN)
                    else:
                        f.rx.append(_fcs(frame))
        for ev in self.board.poll_events():
            self._deliver(ev)

    def _deliver(self, ev):
        if ev.kind in (EventKind.OFF_HOOK, EventKind.ON_HOOK) and ev.channel is not None:
            self.offhook[ev.channel] = ev.kind is EventKind.OFF_HOOK
        targets = [f for f in self.files.values() if f.chan is not None and (
            f.chan.number == ev.channel if ev.channel is not None else f.chan.span.number == ev.span)]
        if ev.kind in (EventKind.ALARM, EventKind.ALARM_CLEARED):
            codes = (lib.DAHDI_EVENT_ALARM if ev.kind is EventKind.ALARM else lib.DAHDI_EVENT_NOALARM,)
        elif ev.kind is EventKind.DTMF:
            d = ord(ev.data["digit"])
            codes = (lib.DAHDI_EVENT_DTMFDOWN | d, lib.DAHDI_EVENT_DTMFUP | d)
        else:
            codes = _EVENT_CODES.get(ev.kind, ())
        for f in targets:
            f.events.extend(codes)

    def _ready(self, fds):
        out = []
        for fd, mask in fds:
            f = self.files.get(fd)
            if f is None:
                continue
            rev = (POLLIN if f.rx else 0) | (POLLPRI if f.events else 0) | POLLOUT
            if rev & mask:
                out.append((fd, rev & mask))
        return out

    def _file(self, fd):
        try:
            return self.files[fd]
        except KeyError:
            raise _fail(errno.EBADF, f"fd {fd} is not open") from None


# --- ioctl handlers: (kernel, file, buffer) ---
def _int(buf):
    return ffi.from_buffer("int *", buf)


def _specify(k, f, buf):
    n = _int(buf)[0]
    if f.chan is not None:
        raise _fail(errno.EINVAL, f"fd already bound to channel {f.chan.number}")
    if n not in k.board.channels:
        raise _fail(errno.ENXIO, f"no channel {n}")
    chan = k.board.channels[n]
    if chan.is_open:
        raise _fail(errno.EBUSY, f"channel {n} is already open")
    if chan.signalling.is_hdlc:
        k.board.open_hdlc(n)
    elif chan.signalling.is_audio:
        f.group = k.board.open([n])
    f.chan = chan
    f.blocksize = k.blocksize


def _set_blocksize(k, f, buf):
    size = _int(buf)[0]
    if not 16 <= size <= lib.DAHDI_MAX_BLOCKSIZE:
        raise _fail(errno.EINVAL, f"blocksize {size}")
    if size != k.blocksize:
        raise _fail(errno.EINVAL, f"blocksize {size}: the emulated board ticks every {k.blocksize} samples")
    f.blocksize = size


def _set_bufinfo(k, f, buf):
    b = ffi.from_buffer("struct dahdi_bufferinfo *", buf)
    if not 1 <= b.numbufs <= MAX_NUMBUFS or b.bufsize < 16:
        raise _fail(errno.EINVAL, f"numbufs {b.numbufs} bufsize {b.bufsize}")
    f.bufinfo = (b.numbufs, b.bufsize, b.txbufpolicy, b.rxbufpolicy)


def _get_params(k, f, buf):
    p = ffi.from_buffer("struct dahdi_params *", buf)
    n = p.channo & ~0x40000000  # DAHDI_GET_PARAMS_RETURN_MASTER
    chan = k.board.channels.get(n) if n else f.chan
    if chan is None:
        raise _fail(errno.EINVAL, f"no channel {n}")
    ffi.memmove(p, b"\0" * ffi.sizeof("struct dahdi_params"), ffi.sizeof("struct dahdi_params"))
    p.channo, p.spanno, p.chanpos = chan.number, chan.span.number, chan.offset
    p.sigtype = p.sigcap = SIGTYPES[chan.signalling]
    p.rxisoffhook = int(k.offhook.get(chan.number, False))
    p.txhooksig = int(chan.off_hook)
    p.curlaw = lib.DAHDI_LAW_ALAW if chan.law is Law.ALAW else lib.DAHDI_LAW_MULAW
    p.name = f"FAKE/{chan.span.number}/{chan.offset}".encode()
    p.chan_alarms = int(chan.span.status().alarms)


def _getevent(k, f, buf):
    _int(buf)[0] = f.events.popleft() if f.events else lib.DAHDI_EVENT_NONE


_HOOKS = {lib.DAHDI_ONHOOK: HookOp.ON, lib.DAHDI_OFFHOOK: HookOp.OFF, lib.DAHDI_FLASH: HookOp.FLASH,
          lib.DAHDI_WINK: HookOp.WINK, lib.DAHDI_START: HookOp.START}


def _hook(k, f, buf):
    op = _int(buf)[0]
    if op in (lib.DAHDI_RING, lib.DAHDI_RINGOFF):
        if not f.chan.signalling.is_office:
            raise _fail(errno.EINVAL, f"channel {f.chan.number} cannot ring")
        f.chan.ring(op == lib.DAHDI_RING)
    elif op in _HOOKS:
        if not f.chan.signalling.has_hook:
            raise _fail(errno.EINVAL, f"channel {f.chan.number} has no hook signalling")
        f.chan.hook(_HOOKS[op])
    else:
        raise _fail(errno.EINVAL, f"hook state {op}")


def _dial(k, f, buf):
    d = ffi.from_buffer("struct dahdi_dialoperation *", buf)
    if d.op == lib.DAHDI_DIAL_OP_CANCEL:
        f.dialling = ""
        return
    text = ffi.string(d.dialstr).decode("ascii")
    digits = text.lstrip("TtPp")  # T/P choose tone or pulse dialling; the board dials tones
    if d.op not in (lib.DAHDI_DIAL_OP_APPEND, lib.DAHDI_DIAL_OP_REPLACE) or not digits:
        raise _fail(errno.EINVAL, f"dial op {d.op} {text!r}")
    f.dialling = digits
    f.chan.dial(("P" if text[:1] in "Pp" else "") + digits)


def _spanstat(k, f, buf):
    s = ffi.from_buffer("struct dahdi_spaninfo *", buf)
    n = s.spanno or (f.chan.span.number if f.chan is not None else 0)
    try:
        st = k.board.span(n).status()
    except ValueError:
        raise _fail(errno.EINVAL, f"no span {n}") from None
    ffi.memmove(s, b"\0" * ffi.sizeof("struct dahdi_spaninfo"), ffi.sizeof("struct dahdi_spaninfo"))
    for name in SPANINFO_FIELDS:
        value = getattr(st, name)
        if isinstance(getattr(s, name), ffi.CData):  # char[]: truncated, always NUL-terminated
            setattr(s, name, str(value).encode("latin-1")[: len(getattr(s, name)) - 1])
        else:
            setattr(s, name, int(value))
    s.spanno = n
    s.totalspans = len(k.board.spans)


def _echocancel_params(k, f, buf):
    head = ffi.sizeof("struct dahdi_echocanparams")
    item = ffi.sizeof("struct dahdi_echocanparam")
    h = ffi.from_buffer("struct dahdi_echocanparams *", buf)
    if h.param_count > lib.DAHDI_MAX_ECHOCANPARAMS or len(buf) < head + item * h.param_count:
        raise _fail(errno.EINVAL, f"{h.param_count} echo canceller parameters")
    items = ffi.cast("struct dahdi_echocanparam *", ffi.from_buffer("char[]", buf) + head)
    params = {ffi.string(items[i].name).decode("ascii"): items[i].value for i in range(h.param_count)}
    taps = h.tap_length
    f.chan.set_echo_canceller(bool(taps), taps if taps else 128)
    f.echo = (taps, params)


def _setlaw(k, f, buf):
    law = _int(buf)[0]
    if law == lib.DAHDI_LAW_DEFAULT:
        cfg = k.board.config.channels.get(f.chan.number) if k.board.config else None
        f.chan.set_law(cfg.law if cfg else Law.ULAW)
    elif law in (lib.DAHDI_LAW_MULAW, lib.DAHDI_LAW_ALAW):
        f.chan.set_law(Law.ULAW if law == lib.DAHDI_LAW_MULAW else Law.ALAW)
    else:
        raise _fail(errno.EINVAL, f"law {law}")


def _getgains(k, f, buf):
    g = ffi.from_buffer("struct dahdi_gains *", buf)
    g.rxgain, g.txgain = f.gains


def _setgains(k, f, buf):
    g = ffi.from_buffer("struct dahdi_gains *", buf)
    f.gains = (bytes(g.rxgain), bytes(g.txgain))
    f.chan.set_gains(table_gain_db(f.gains[0], f.chan.law), table_gain_db(f.gains[1], f.chan.law))


def _flush(k, f, buf):
    what = _int(buf)[0]
    if what & lib.DAHDI_FLUSH_READ:
        f.rx.clear()
    if what & lib.DAHDI_FLUSH_WRITE:
        f.tx.clear()
    if what & lib.DAHDI_FLUSH_EVENT:
        f.events.clear()


def _setpolarity(k, f, buf):
    if not f.chan.signalling.is_office:
        raise _fail(errno.EINVAL, f"channel {f.chan.number} cannot reverse polarity")
    f.chan.set_polarity(bool(_int(buf)[0]))


_HANDLERS = {
    "DAHDI_SPECIFY": _specify, "DAHDI_SET_BLOCKSIZE": _set_blocksize, "DAHDI_SET_BUFINFO": _set_bufinfo,
    "DAHDI_GET_PARAMS": _get_params, "DAHDI_GETEVENT": _getevent, "DAHDI_HOOK": _hook, "DAHDI_DIAL": _dial,
    "DAHDI_SPANSTAT": _spanstat, "DAHDI_ECHOCANCEL_PARAMS": _echocancel_params, "DAHDI_SETLAW": _setlaw,
    "DAHDI_GETGAINS": _getgains, "DAHDI_SETGAINS": _setgains, "DAHDI_FLUSH": _flush,
    "DAHDI_SETPOLARITY": _setpolarity,
}
