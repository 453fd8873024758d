"""DAHDI devices at the ioctl level: one open channel file per channel, span status, multi-channel poll.

Every system call goes through the ``sys`` seam (see ``sys.py``); every ioctl number and struct
comes from the cffi module built against <dahdi/user.h>.
"""
import errno
import os
from dataclasses import dataclass

from pycallcenter.errors import ChannelClosedError, HardwareError

from ..base import SpanStatus
from ..events import Alarm

from ._binding import ffi, lib
from .sys import POLLERR, POLLIN, POLLPRI, RealSys

DEV_DIR = "/dev/dahdi"
CHANNEL_PATH = "/dev/dahdi/channel"
CTL_PATH = "/dev/dahdi/ctl"

# Every ioctl this module issues; tests check that the fake kernel is hit by exactly these.
IOCTLS_USED = (
    "DAHDI_SPECIFY", "DAHDI_SET_BLOCKSIZE", "DAHDI_SET_BUFINFO", "DAHDI_GET_PARAMS", "DAHDI_GETEVENT",
    "DAHDI_HOOK", "DAHDI_DIAL", "DAHDI_SPANSTAT", "DAHDI_ECHOCANCEL_PARAMS", "DAHDI_SETLAW",
    "DAHDI_GETGAINS", "DAHDI_SETGAINS", "DAHDI_FLUSH", "DAHDI_SETPOLARITY",
)

# struct dahdi_spaninfo fields, which base.SpanStatus mirrors one for one.
SPANINFO_FIELDS = (
    "spanno", "name", "desc", "alarms", "txlevel", "rxlevel", "bpvcount", "crc4count", "ebitcount", "fascount",
    "fecount", "cvcount", "becount", "prbs", "errsec", "irqmisses", "syncsrc", "numchans", "totalchans",
    "totalspans", "lbo", "lineconfig", "lboname", "location", "manufacturer", "devicetype", "irq", "linecompat",
    "spantype",
)

# An HDLC channel's read() returns the frame plus 2 FCS bytes and write() wants 2 bytes of room for them.
FCS_LEN = 2
MAX_FRAME = 1024
HDLC_NUMBUFS = 16  # frames DAHDI may hold each way for a D-channel

def _text(chars):
    return ffi.string(chars).decode("latin-1")


def missing_device_error(path, exc):
    """Return a HardwareError explaining that a DAHDI device node is absent."""
    return HardwareError(
        f"cannot open {path} ({exc.strerror}): DAHDI is not running on this machine. "
        "Load the kernel modules (`modprobe dahdi` and the board driver, e.g. wct4xxp, wcte13xp or wctdm24xxp), "
        "configure spans with dahdi_cfg (/etc/dahdi/system.conf), and check that /dev/dahdi/channel exists"
    )


@dataclass(frozen=True)
class ChannelParams:
    """A snapshot of DAHDI_GET_PARAMS for one channel."""

    channo: int
    spanno: int
    chanpos: int
    sigtype: int
    sigcap: int
    rxisoffhook: bool
    txhooksig: int
    rxhooksig: int
    curlaw: int
    name: str
    chan_alarms: int


class DahdiChannelFile:
    """One /dev/dahdi/channel file bound to a channel number with DAHDI_SPECIFY."""

    def __init__(self, channo, *, sys=None, blocksize=160, numbufs=4, law=None):
        self.sys = sys if sys is not None else RealSys()
        self.channo = channo
        self.blocksize = blocksize
        self.fd = None
        self.is_hdlc = False
        self.fd = self.probe(self.sys)
        try:
            self._ioctl_int("DAHDI_SPECIFY", channo)
            self.params = self.get_params()
            info = ffi.new("struct dahdi_bufferinfo *")
            info.txbufpolicy = lib.DAHDI_POLICY_IMMEDIATE
            info.rxbufpolicy = lib.DAHDI_POLICY_IMMEDIATE
            if self.is_hdlc:  # one frame per buffer: room for the largest frame and its FCS
                info.numbufs, info.bufsize = HDLC_NUMBUFS, MAX_FRAME + FCS_LEN
                self._ioctl("DAHDI_SET_BUFINFO", info)
                return
            self._ioctl_int("DAHDI_SET_BLOCKSIZE", blocksize)
            info.numbufs, info.bufsize = numbufs, blocksize
            self._ioctl("DAHDI_SET_BUFINFO", info)
            if law is not None:
                self.set_law(law)
        except BaseException:
            self.close()
            raise

    @staticmethod
    def probe(sys):
        """Return a new unbound fd of /dev/dahdi/channel; HardwareError saying what is missing if it fails."""
        try:
            return sys.open(CHANNEL_PATH, os.O_RDWR | os.O_NONBLOCK)
        except FileNotFoundError as exc:
            raise missing_device_error(CHANNEL_PATH, exc) from exc
        except PermissionError as exc:
            raise HardwareError(f"cannot open {CHANNEL_PATH}: permission denied (run as root or give the "
                                "user access to /dev/dahdi, e.g. a udev rule for group dialout)") from exc

    # --- raw ioctl helpers ---
    def _ioctl(self, name, cdata):
        if self.fd is None:
            raise ChannelClosedError(f"DAHDI channel {self.channo} is closed")
        request = getattr(lib, name)
        try:
            return self.sys.ioctl(self.fd, request, ffi.buffer(cdata))
        except OSError as exc:
            hint = " (is Asterisk or another program using it?)" if exc.errno == errno.EBUSY else ""
            raise HardwareError(f"{name} on DAHDI channel {self.channo} failed: {exc.strerror or exc}{hint}") from exc

    def _ioctl_int(self, name, value=0):
        box = ffi.new("int *", value)
        self._ioctl(name, box)
        return box[0]

    # --- channel operations ---
    def get_params(self):
        """Return the channel's ChannelParams (DAHDI_GET_PARAMS)."""
        p = ffi.new("struct dahdi_params *")
        p.channo = 0  # 0 asks for the channel this file is bound to
        self._ioctl("DAHDI_GET_PARAMS", p)
        return ChannelParams(p.channo, p.spanno, p.chanpos, p.sigtype, p.sigcap, bool(p.rxisoffhook),
                             p.txhooksig, p.rxhooksig, p.curlaw, _text(p.name), p.chan_alarms)

    @property
    def params(self):
        """Return the ChannelParams last read from DAHDI."""
        return self._params

    @params.setter
    def params(self, value):
        sig = value.sigtype
        # Cached: read() and write() ask on every block.
        self.is_hdlc = sig & lib.DAHDI_SIG_HDLCRAW == lib.DAHDI_SIG_HDLCRAW or sig == lib.DAHDI_SIG_HARDHDLC
        self._params = value

    def get_event(self):
        """Return the next DAHDI_EVENT_* code queued on the channel (DAHDI_EVENT_NONE when none)."""
        return self._ioctl_int("DAHDI_GETEVENT")

    def hook(self, state):
        """Set the hook/ringer state (DAHDI_ONHOOK, DAHDI_OFFHOOK, DAHDI_RING, DAHDI_RINGOFF, ...); return None."""
        self._ioctl_int("DAHDI_HOOK", state)

    def dial(self, digits, op=None):
        """Queue DTMF digits for the driver's own generator (DAHDI_DIAL); return None."""
        raw = digits.encode("ascii")
        if len(raw) >= lib.DAHDI_MAX_DTMF_BUF:
            raise ValueError(f"dial string longer than {lib.DAHDI_MAX_DTMF_BUF - 1} characters")
        d = ffi.new("struct dahdi_dialoperation *")
        d.op = lib.DAHDI_DIAL_OP_APPEND if op is None else op
        d.dialstr = raw
        self._ioctl("DAHDI_DIAL", d)

    def set_law(self, law):
        """Set the channel's companding law (DAHDI_LAW_MULAW/ALAW/DEFAULT) until close; return None."""
        self._ioctl_int("DAHDI_SETLAW", law)
        self.params = self.get_params()

    def set_polarity(self, reversed_):
        """Reverse (True) or restore (False) the line polarity of an FXS port; return None."""
        self._ioctl_int("DAHDI_SETPOLARITY", 1 if reversed_ else 0)

    def get_gains(self):
        """Return (rx_table, tx_table), the channel's two 256-byte G.711 gain tables."""
        g = ffi.new("struct dahdi_gains *")
        g.chan = 0
        self._ioctl("DAHDI_GETGAINS", g)
        return bytes(g.rxgain), bytes(g.txgain)

    def set_gains(self, rx_table, tx_table):
        """Load 256-byte receive and transmit gain tables; return None."""
        if len(rx_table) != 256 or len(tx_table) != 256:
            raise ValueError("gain tables must have 256 entries")
        g = ffi.new("struct dahdi_gains *")
        g.chan = 0
        g.rxgain = bytes(rx_table)
        g.txgain = bytes(tx_table)
        self._ioctl("DAHDI_SETGAINS", g)

    def echocancel(self, taps, params=None):
        """Enable the echo canceller with taps (0 disables) and named integer parameters; return None."""
        params = dict(params or {})
        if len(params) > lib.DAHDI_MAX_ECHOCANPARAMS:
            raise ValueError(f"at most {lib.DAHDI_MAX_ECHOCANPARAMS} echo canceller parameters")
        head = ffi.sizeof("struct dahdi_echocanparams")
        item = ffi.sizeof("struct dahdi_echocanparam")
        # The parameters follow the header in the same buffer, as the kernel reads them.
        raw = ffi.new("char[]", head + item * max(1, len(params)))
        hdr = ffi.cast("struct dahdi_echocanparams *", raw)
        hdr.tap_length = taps
        hdr.param_count = len(params)
        items = ffi.cast("struct dahdi_echocanparam *", raw + head)
        for i, (name, value) in enumerate(params.items()):
            encoded = name.encode("ascii")
            if len(encoded) >= 16:
                raise ValueError(f"echo canceller parameter name {name!r} is longer than 15 characters")
            items[i].name = encoded
            items[i].value = value
        self._ioctl("DAHDI_ECHOCANCEL_PARAMS", raw)

    def flush(self, what=None):
        """Discard queued audio/events (DAHDI_FLUSH_*); return None."""
        self._ioctl_int("DAHDI_FLUSH", lib.DAHDI_FLUSH_ALL if what is None else what)

    def read(self, size=None):
        """Return the next block (audio) or frame (HDLC, FCS stripped); None when nothing or an event is pending."""
        if self.fd is None:
            raise ChannelClosedError(f"DAHDI channel {self.channo} is closed")
        try:
            data = self.sys.read(self.fd, (MAX_FRAME + FCS_LEN) if self.is_hdlc else (size or self.blocksize))
        except OSError as exc:
            # DAHDI answers a read with ELAST while a signalling event waits for DAHDI_GETEVENT.
            if exc.errno in (errno.EAGAIN, lib.ELAST):
                return None
            raise HardwareError(f"read on DAHDI channel {self.channo} failed: {exc.strerror or exc}") from exc
        if self.is_hdlc:
            return data[:-FCS_LEN] if len(data) >= FCS_LEN else None
        return data

    def write(self, data):
        """Write one audio block or HDLC frame (DAHDI adds the FCS); return bytes taken, None if an event waits."""
        if self.fd is None:
            raise ChannelClosedError(f"DAHDI channel {self.channo} is closed")
        payload = bytes(data) + b"\0" * FCS_LEN if self.is_hdlc else data
        try:
            return self.sys.write(self.fd, payload)
        except OSError as exc:
            if exc.errno == lib.ELAST:
                return None
            if exc.errno == errno.EAGAIN:
                return 0
            raise HardwareError(f"write on DAHDI channel {self.channo} failed: {exc.strerror or exc}") from exc

    def close(self):
        """Close the channel file; return None (idempotent)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            self.sys.close(fd)


class DahdiControl:
    """The /dev/dahdi/ctl file: span status and maintenance."""

    def __init__(self, *, sys=None):
        self.sys = sys if sys is not None else RealSys()
        try:
            self.fd = self.sys.open(CTL_PATH, os.O_RDWR)
        except FileNotFoundError as exc:
            raise missing_device_error(CTL_PATH, exc) from exc

    def _ioctl(self, name, cdata):
        try:
            return self.sys.ioctl(self.fd, getattr(lib, name), ffi.buffer(cdata))
        except OSError as exc:
            raise HardwareError(f"{name} on {CTL_PATH} failed: {exc.strerror or exc}") from exc

    def span_status(self, spanno):
        """Return the SpanStatus of span spanno (DAHDI_SPANSTAT), every dahdi_spaninfo field copied."""
        s = ffi.new("struct dahdi_spaninfo *")
        s.spanno = spanno
        self._ioctl("DAHDI_SPANSTAT", s)
        values = {}
        for name in SPANINFO_FIELDS:
            v = getattr(s, name)
            values[name] = _text(v) if isinstance(v, ffi.CData) else int(v)
        values["alarms"] = Alarm(values["alarms"])
        return SpanStatus(**values)

    def close(self):
        """Close the control file; return None (idempotent)."""
        if self.fd is not None:
            fd, self.fd = self.fd, None
            self.sys.close(fd)


def poll_channels(sys, channels, timeout_ms=0):
    """Return {channel: (readable, event_pending)} for the channel files ready within timeout_ms."""
    by_fd = {ch.fd: ch for ch in channels if ch.fd is not None}
    ready = {}
    for fd, revents in sys.poll([(fd, POLLIN | POLLPRI) for fd in by_fd], timeout_ms):
        ch = by_fd.get(fd)
        if ch is None:
            continue
        if revents & POLLERR and not revents & (POLLIN | POLLPRI):
            raise HardwareError(f"DAHDI channel {ch.channo} reported an error on poll")
        ready[ch] = (bool(revents & POLLIN), bool(revents & POLLPRI))
    return ready
