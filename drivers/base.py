"""The board driver API every backend implements: Board -> Span -> Channel, plus ChannelGroup for media.

Shape
-----
``board = pycallcenter.drivers.open_board(config, backend="emulator")`` gives a :class:`Board`.
``board.spans`` is a tuple of :class:`Span` (numbered from 1, as in DAHDI); ``board.channels`` maps
the global channel number (as in DAHDI's system.conf) to a :class:`Channel`.

Media, one tick at a time: ``group = board.open([1, 2, 3])`` opens audio channels as a
:class:`ChannelGroup`; ``group.read()`` returns one ``uint8`` array of G.711 codes shaped
``(len(group), board.blocksize)`` and ``group.write(array)`` queues one of the same shape. The board
is the clock: ``read()`` returns the next block the board produced; a reader that falls behind loses
blocks (``READ_OVERRUN`` event), a writer that does not keep up is padded with the idle code
(``WRITE_UNDERRUN`` event). Nothing drifts.

D-channels (``dchan``/``hardhdlc``) are opened with ``board.open_hdlc(n)`` and carry whole frames:
``channel.read_frames()`` / ``channel.write_frame(payload)``; the board adds and checks the FCS.

Events (hook, ring, alarms, HDLC errors, overruns) come from ``board.poll_events()`` in board-clock
order. ``span.status()`` returns a :class:`SpanStatus` with DAHDI_SPANSTAT's fields.
``board.sample_time`` is the board clock in samples; ``board.step(n)`` lets n ticks pass without
reading (a simulated board runs them at once, a real one waits for them).

Writing a backend
-----------------
Subclass :class:`Board`, :class:`Span`, :class:`Channel` and :class:`ChannelGroup` and implement the
``_do_*`` / ``_read_block`` / ``_write_block`` hooks; the public methods here validate arguments and
check open/closed state first, so every backend raises the same errors. Make the backend reachable
as ``open_board(config, backend="NAME")`` either with ``drivers.backends.register_backend`` or by
providing a module ``pycallcenter.drivers.NAME`` with a function ``open_board(config, **options)``.

Naming note: signalling kinds are named as in DAHDI, after the *far end*. An FXS port (it feeds a
phone: battery, ringing) uses ``fxo_*`` signalling and is "office side"; an FXO port (it plugs into a
line) uses ``fxs_*`` signalling and is "station side". Span kinds ``fxs``/``fxo`` name the port type.
"""
from __future__ import annotations

import enum
import operator
from dataclasses import dataclass
from typing import Iterable, Mapping, Sequence, Union

import numpy as np

from pycallcenter.errors import ChannelClosedError

from .channels import parse_channel_list
from .events import Alarm, Event, EventKind  # noqa: F401  (re-exported: one import site for backends)

_IS_OPEN = operator.attrgetter("is_open")

SAMPLE_RATE = 8000
DEFAULT_BLOCKSIZE = 160  # 20 ms
MIN_BLOCKSIZE = 8
MAX_BLOCKSIZE = 1024
MAX_FRAME = 1024  # largest HDLC payload write_frame accepts (FCS excluded), as DAHDI's default buffer


class SpanKind(enum.Enum):
    """What a span is: a digital trunk or a set of analog ports."""

    E1 = "e1"  # 31 timeslots: 30 B + D (TS16) with CCS, or CAS
    T1 = "t1"  # 24 channels: 23 B + D (PRI) or 24 robbed-bit
    FXS = "fxs"  # analog FXS ports (feed phones; channels use fxo_* signalling)
    FXO = "fxo"  # analog FXO ports (plug into lines; channels use fxs_* signalling)

    @property
    def digital(self) -> bool:
        """Return True for E1/T1."""
        return self in (SpanKind.E1, SpanKind.T1)

    @property
    def default_channels(self) -> int:
        """Return the number of channels a span of this kind has (analog spans: 0, set per config)."""
        return {SpanKind.E1: 31, SpanKind.T1: 24}.get(self, 0)


class Signalling(enum.Enum):
    """Channel signalling kinds; value is the TOML spelling, ``system_conf`` the system.conf keyword."""

    FXS_LS = "fxs_ls"
    FXS_KS = "fxs_ks"
    FXS_GS = "fxs_gs"
    FXO_LS = "fxo_ls"
    FXO_KS = "fxo_ks"
    FXO_GS = "fxo_gs"
    BCHAN = "bchan"
    DCHAN = "dchan"
    HARDHDLC = "hardhdlc"
    CLEAR = "clear"
    UNUSED = "unused"

    @property
    def system_conf(self) -> str:
        """Return the system.conf keyword (fxs_ks -> fxsks)."""
        return self.value.replace("_", "")

    @classmethod
    def parse(cls, text: str) -> "Signalling":
        """Return the kind named by a TOML or system.conf spelling; ValueError if unknown."""
        key = str(text).strip().lower().replace("-", "_")
        for s in cls:
            if key in (s.value, s.system_conf):
                return s
        raise ValueError(f"unknown signalling kind {text!r}; known: {', '.join(s.value for s in cls)}")

    @property
    def is_hdlc(self) -> bool:
        """Return True for frame channels (dchan, hardhdlc)."""
        return self in (Signalling.DCHAN, Signalling.HARDHDLC)

    @property
    def is_audio(self) -> bool:
        """Return True for channels that carry G.711 audio blocks."""
        return not self.is_hdlc and self is not Signalling.UNUSED

    @property
    def is_office(self) -> bool:
        """Return True for fxo_* (we are the office: we ring, the far end goes off hook)."""
        return self.value.startswith("fxo_")

    @property
    def is_station(self) -> bool:
        """Return True for fxs_* (we are the station: we are rung, we go off hook)."""
        return self.value.startswith("fxs_")

    @property
    def has_hook(self) -> bool:
        """Return True when the channel carries hook signalling (analog or robbed-bit)."""
        return self.is_office or self.is_station


class Framing(enum.Enum):
    """Line framing: E1 CAS/CCS, T1 ESF/D4 (SF)."""

    CAS = "cas"
    CCS = "ccs"
    ESF = "esf"
    D4 = "d4"


class Coding(enum.Enum):
    """Line coding."""

    HDB3 = "hdb3"
    AMI = "ami"
    B8ZS = "b8zs"


class Law(enum.Enum):
    """G.711 companding law of a channel's audio."""

    ULAW = "ulaw"
    ALAW = "alaw"

    @property
    def idle(self) -> int:
        """Return the G.711 code of silence this law idles with (0xFF mu-law, 0xD5 A-law)."""
        return 0xFF if self is Law.ULAW else 0xD5


class HookOp(enum.Enum):
    """Hook operations (DAHDI_HOOK's arguments)."""

    ON = "on"
    OFF = "off"
    FLASH = "flash"
    WINK = "wink"
    START = "start"


@dataclass
class SpanStatus:
    """A span's state and counters, field for field as DAHDI_SPANSTAT's ``struct dahdi_spaninfo``.

    ``alarms`` is an :class:`Alarm` flag; counters are cumulative since the board was opened.
    ``slips`` is not in dahdi_spaninfo (backends that cannot count them leave 0).
    """

    spanno: int
    name: str = ""
    desc: str = ""
    alarms: Alarm = Alarm.NONE
    txlevel: int = 0
    rxlevel: int = 0
    bpvcount: int = 0
    crc4count: int = 0
    ebitcount: int = 0
    fascount: int = 0
    fecount: int = 0
    cvcount: int = 0
    becount: int = 0
    prbs: int = 0
    errsec: int = 0
    irqmisses: int = 0
    syncsrc: int = 0  # span number we take clock from; 0 = free run
    numchans: int = 0
    totalchans: int = 0
    totalspans: int = 0
    lbo: int = 0
    lineconfig: int = 0
    lboname: str = ""
    location: str = ""
    manufacturer: str = ""
    devicetype: str = ""
    irq: int = 0
    linecompat: int = 0
    spantype: str = ""
    slips: int = 0


def check_blocksize(blocksize: int) -> int:
    """Return blocksize as int if within MIN_BLOCKSIZE..MAX_BLOCKSIZE; ValueError otherwise."""
    if isinstance(blocksize, bool) or not isinstance(blocksize, (int, np.integer)):
        raise ValueError(f"blocksize must be an integer, got {blocksize!r}")
    if not MIN_BLOCKSIZE <= int(blocksize) <= MAX_BLOCKSIZE:
        raise ValueError(f"blocksize {blocksize} is out of range {MIN_BLOCKSIZE}..{MAX_BLOCKSIZE}")
    return int(blocksize)


_DIAL_CHARS = set("0123456789*#ABCDabcdw")


class Channel:
    """One channel of a span: controls, hook signalling and (for dchan/hardhdlc) HDLC frames.

    Controls need the channel open (in a :class:`ChannelGroup` or via ``Board.open_hdlc``);
    on a closed channel they raise ``ChannelClosedError``.
    """

    def __init__(self, board: "Board", span: "Span", number: int, offset: int, signalling: Signalling, law: Law):
        self.board = board
        self.span = span
        self.number = number  # global channel number, as in DAHDI
        self.offset = offset  # 1-based position within the span (timeslot / port)
        self.signalling = signalling
        self.law = law
        self.is_open = False
        self.off_hook = False  # our own hook state (station side) / loop state we present
        self.polarity_reversed = False
        self.rx_gain_db = 0.0
        self.tx_gain_db = 0.0
        self.echo_taps = 0  # 0 = echo canceller off

    def __repr__(self):
        state = "open" if self.is_open else "closed"
        return f"<Channel {self.number} span {self.span.number}/{self.offset} {self.signalling.value} {state}>"

    def _check_open(self):
        if not self.is_open:
            raise ChannelClosedError(f"channel {self.number} is closed")

    def _need(self, ok: bool, what: str):
        if not ok:
            raise ValueError(f"channel {self.number} ({self.signalling.value}) cannot {what}")

    # --- controls -------------------------------------------------------------------------------
    def hook(self, op: Union[HookOp, str]) -> None:
        """Go on/off hook, flash, wink or start (analog and robbed-bit channels); returns None."""
        self._check_open()
        op = HookOp(op)
        self._need(self.signalling.has_hook, f"signal hook {op.value}")
        self._do_hook(op)

    def ring(self, on: bool = True) -> None:
        """Start (on=True) or stop ringing the far end in the tone zone's cadence (office side only)."""
        self._check_open()
        self._need(self.signalling.is_office, "ring (only fxo_* signalling rings)")
        self._do_ring(bool(on))

    def set_polarity(self, reversed: bool) -> None:
        """Set line polarity (office side: FXS ports and fxo_* robbed-bit channels); returns None."""
        self._check_open()
        self._need(self.signalling.is_office, "reverse polarity (only fxo_* signalling)")
        self._do_polarity(bool(reversed))
        self.polarity_reversed = bool(reversed)

    def set_gains(self, rx_db: float = 0.0, tx_db: float = 0.0) -> None:
        """Set receive and transmit gain in dB (-24..+24), applied by the board; returns None."""
        self._check_open()
        self._need(self.signalling.is_audio, "take gains")
        for name, v in (("rx_db", rx_db), ("tx_db", tx_db)):
            if not -24.0 <= float(v) <= 24.0:
                raise ValueError(f"{name} {v} is out of range -24..+24 dB")
        self._do_gains(float(rx_db), float(tx_db))
        self.rx_gain_db, self.tx_gain_db = float(rx_db), float(tx_db)

    def set_echo_canceller(self, on: bool = True, taps: int = 128) -> None:
        """Switch the board's echo canceller on with taps (16..1024) or off; returns None."""
        self._check_open()
        self._need(self.signalling.is_audio, "have an echo canceller")
        taps = int(taps) if on else 0
        if on and not 16 <= taps <= 1024:
            raise ValueError(f"echo canceller taps {taps} out of range 16..1024")
        self._do_echo_canceller(taps)
        self.echo_taps = taps

    def set_law(self, law: Union[Law, str]) -> None:
        """Set the channel's G.711 law; returns None."""
        self._check_open()
        self._need(self.signalling.is_audio, "take a companding law")
        law = Law(law)
        self._do_law(law)
        self.law = law

    def dial(self, digits: str) -> None:
        """Dial through the board, as DAHDI_DIAL does: DTMF tones by default (or a leading 'T'), loop
        disconnect pulses with a leading 'P' (digits 0-9 only); 'w' = 500 ms pause; DIAL_COMPLETE follows."""
        self._check_open()
        self._need(self.signalling.is_audio, "dial")
        digits = str(digits)
        pulse = digits[:1] in ("P", "p")
        if digits[:1] in ("P", "p", "T", "t"):
            digits = digits[1:]
        allowed = set("0123456789w") if pulse else _DIAL_CHARS
        bad = set(digits) - allowed
        if not digits or bad:
            what = "0-9 w for pulse dialling" if pulse else "0-9 * # A-D w"
            raise ValueError(f"cannot dial {digits!r}: allowed characters are {what}")
        if pulse:
            self._need(self.signalling.has_hook, "pulse dial")
        self._do_dial(("P" if pulse else "") + digits.upper().replace("W", "w"))

    # --- HDLC -----------------------------------------------------------------------------------
    def read_frames(self) -> list[bytes]:
        """Return the frames received with a good FCS since the last call (FCS removed), oldest first."""
        self._check_open()
        self._need(self.signalling.is_hdlc, "read HDLC frames")
        return self._do_read_frames()

    def write_frame(self, payload: bytes) -> None:
        """Queue one HDLC frame (no FCS: the board adds it); returns None."""
        self._check_open()
        self._need(self.signalling.is_hdlc, "write HDLC frames")
        if not isinstance(payload, (bytes, bytearray, memoryview)):
            raise TypeError(f"frame must be bytes, got {type(payload).__name__}")
        payload = bytes(payload)
        if not 1 <= len(payload) <= MAX_FRAME:
            raise ValueError(f"frame length {len(payload)} out of range 1..{MAX_FRAME}")
        self._do_write_frame(payload)

    def close(self) -> None:
        """Close the channel (idempotent); later use raises ChannelClosedError."""
        if self.is_open:
            self._do_close()
            self.is_open = False
            self.board._closes = getattr(self.board, "_closes", 0) + 1  # groups check their channels again

    # --- backend hooks --------------------------------------------------------------------------
    def _do_hook(self, op: HookOp):
        raise NotImplementedError

    def _do_ring(self, on: bool):
        raise NotImplementedError

    def _do_polarity(self, reversed: bool):
        raise NotImplementedError

    def _do_gains(self, rx_db: float, tx_db: float):
        raise NotImplementedError

    def _do_echo_canceller(self, taps: int):
        raise NotImplementedError

    def _do_law(self, law: Law):
        raise NotImplementedError

    def _do_dial(self, digits: str):
        raise NotImplementedError

    def _do_read_frames(self) -> list[bytes]:
        raise NotImplementedError

    def _do_write_frame(self, payload: bytes):
        raise NotImplementedError

    def _do_close(self):
        pass


class _ClosesOnExit:
    """Context-manager support: ``with`` closes the object."""

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


class ChannelGroup(_ClosesOnExit):
    """Open audio channels read and written together, one ``(n, blocksize)`` uint8 block per tick."""

    def __init__(self, board: "Board", channels: Sequence[Channel], blocksize: int):
        self.board = board
        self.channels = tuple(channels)
        self.numbers = tuple(c.number for c in self.channels)
        self.blocksize = blocksize
        self.closed = False
        self._open_at = None  # the board's count of channel closes when every channel was last seen open

    def __len__(self):
        return len(self.channels)

    def __repr__(self):
        return f"<ChannelGroup {list(self.numbers)} blocksize {self.blocksize}{' closed' if self.closed else ''}>"

    def _check_open(self):
        if self.closed:
            raise ChannelClosedError(f"channel group {list(self.numbers)} is closed")
        closes = getattr(self.board, "_closes", 0)
        if closes == self._open_at:  # no channel of the board closed since: all still open (twice a tick)
            return
        if all(map(_IS_OPEN, self.channels)):
            self._open_at = closes
            return
        for c in self.channels:
            if not c.is_open:
                raise ChannelClosedError(f"channel {c.number} is closed")

    def read(self) -> np.ndarray:
        """Return the next block of every channel as a new uint8 array (len(self), blocksize)."""
        self._check_open()
        return self._read_block()

    def write(self, block: np.ndarray) -> None:
        """Queue one block for every channel: uint8 (len(self), blocksize); 1-D allowed for one channel."""
        self._check_open()
        if not isinstance(block, np.ndarray):
            raise TypeError(f"write() takes a numpy uint8 array, got {type(block).__name__}")
        if block.dtype != np.uint8:
            raise TypeError(f"write() takes dtype uint8 (G.711 codes), got {block.dtype}")
        want = (len(self.channels), self.blocksize)
        if block.ndim == 1 and len(self.channels) == 1:
            block = block.reshape(1, -1)
        if block.shape != want:
            raise ValueError(f"write() needs shape {want} (channels x blocksize), got {block.shape}")
        self._write_block(np.ascontiguousarray(block))

    def close(self) -> None:
        """Close every channel of the group (idempotent)."""
        if not self.closed:
            for c in self.channels:
                c.close()
            self.closed = True

    # --- backend hooks --------------------------------------------------------------------------
    def _read_block(self) -> np.ndarray:
        raise NotImplementedError

    def _write_block(self, block: np.ndarray):
        raise NotImplementedError


class Span:
    """One span: its configuration, channels and DAHDI_SPANSTAT-style status."""

    def __init__(self, board: "Board", number: int, kind: SpanKind, config=None):
        self.board = board
        self.number = number
        self.kind = kind
        self.config = config  # drivers.config.SpanConfig or None
        self.channels: tuple[Channel, ...] = ()

    def __repr__(self):
        return f"<Span {self.number} {self.kind.value} {len(self.channels)} channels>"

    def status(self) -> SpanStatus:
        """Return the span's current SpanStatus."""
        raise NotImplementedError

    @property
    def alarms(self) -> Alarm:
        """Return the alarm bits now set."""
        return self.status().alarms


class Board(_ClosesOnExit):
    """A board: spans of channels sharing one sample clock. Use as a context manager or call close()."""

    backend = "base"

    def __init__(self, config=None):
        self.config = config  # drivers.config.BoardConfig or None
        self.blocksize = DEFAULT_BLOCKSIZE
        self.spans: tuple[Span, ...] = ()
        self.channels: Mapping[int, Channel] = {}
        self.closed = False

    def __repr__(self):
        return f"<{type(self).__name__} {len(self.spans)} spans {len(self.channels)} channels>"

    def _check_open(self):
        if self.closed:
            raise ChannelClosedError("the board is closed")

    def span(self, number: int) -> Span:
        """Return span ``number`` (1-based); ValueError if there is none."""
        for s in self.spans:
            if s.number == number:
                return s
        raise ValueError(f"no span {number} on this board")

    def channel(self, number: int) -> Channel:
        """Return global channel ``number``; ValueError if there is none."""
        try:
            return self.channels[int(number)]
        except (KeyError, TypeError, ValueError):
            raise ValueError(f"no channel {number!r} on this board") from None

    def _claim(self, numbers: Union[Iterable[int], str]) -> list[Channel]:
        if isinstance(numbers, (int, np.integer)):
            numbers = [numbers]
        elif isinstance(numbers, str):
            numbers = parse_channel_list(numbers)
        chans = [self.channel(n) for n in numbers]
        if not chans:
            raise ValueError("no channels given")
        seen = set()
        for c in chans:
            if c.number in seen:
                raise ValueError(f"channel {c.number} given twice")
            seen.add(c.number)
            if c.is_open:
                raise ValueError(f"channel {c.number} is already open")
        return chans

    def open(self, numbers: Union[Iterable[int], str]) -> ChannelGroup:
        """Open audio channels (global numbers in this order, or a range string "1-15,17-31"); return the group."""
        self._check_open()
        chans = self._claim(numbers)
        for c in chans:
            if not c.signalling.is_audio:
                hint = "; use open_hdlc()" if c.signalling.is_hdlc else ""
                raise ValueError(f"channel {c.number} is {c.signalling.value}, not an audio channel{hint}")
        group = self._open_group(chans)
        for c in chans:
            c.is_open = True
        return group

    def open_hdlc(self, number: int) -> Channel:
        """Open a dchan/hardhdlc channel for frames and return it."""
        self._check_open()
        (chan,) = self._claim([number])
        if not chan.signalling.is_hdlc:
            raise ValueError(f"channel {chan.number} is {chan.signalling.value}, not dchan/hardhdlc")
        self._open_hdlc(chan)
        chan.is_open = True
        return chan

    def poll_events(self) -> list[Event]:
        """Return the events raised since the last call, in board-clock order."""
        self._check_open()
        return self._poll_events()

    def step(self, ticks: int = 1) -> None:
        """Let the board clock advance ``ticks`` ticks (simulated: at once; real time: wait for them)."""
        self._check_open()
        if int(ticks) < 0:
            raise ValueError("ticks must be >= 0")
        self._step(int(ticks))

    @property
    def sample_time(self) -> int:
        """Return the board clock: samples since the board was opened."""
        raise NotImplementedError

    def close(self) -> None:
        """Close every open channel and release the board (idempotent)."""
        if self.closed:
            return
        for c in self.channels.values():
            c.close()
        self._close()
        self.closed = True

    # --- backend hooks --------------------------------------------------------------------------
    def _open_group(self, channels: list[Channel]) -> ChannelGroup:
        raise NotImplementedError

    def _open_hdlc(self, channel: Channel):
        pass

    def _poll_events(self) -> list[Event]:
        raise NotImplementedError

    def _step(self, ticks: int):
        raise NotImplementedError

    def _close(self):
        pass
