"""FSK caller ID modem: Bell 202 and V.23 transmitter and receiver, batched over channels.

Transmission follows Bellcore GR-30 / ETSI EN 300 659-1: channel seizure (alternating 0101...),
a mark period, then the message bytes as asynchronous 8N1 characters. The kernels are
``pycallcenter._native.fsk`` with the numpy twin ``pycallcenter.dsp.reference.fsk`` (``backend=``).
"""
from dataclasses import dataclass
from typing import Optional

import numpy as np

from pycallcenter.dsp import TICK_SAMPLES
from pycallcenter.dsp._validate import as_batch, unbatch
from pycallcenter.dsp.callerid_codec import CallerId
from pycallcenter.dsp.reference import fsk as _ref
from pycallcenter.errors import DecodeError

STANDARDS = tuple(_ref.STANDARDS)
# (seizure bits, mark bits): GR-30 sends 300 + 180; EN 300 659-1 asks 300 and a mark of 80 +-25 or 180 +-25
# bits depending on the service; 180 suits every case and the receiver needs only 15
DEFAULT_PREAMBLE = {"bell202": (300, 180), "v23": (300, 180)}
MAX_LEVEL_DBM0 = _ref.DBM0_FULL_SCALE_SINE
dbm0_to_amplitude = _ref.dbm0_to_amplitude
STATUS_TEXT = {_ref.STATUS_FRAMING: "framing error (stop bit was space)", _ref.STATUS_CARRIER: "carrier lost"}


def _native():
    try:  # deliberate: the reference backend works without the native build; only this one needs it
        from pycallcenter._native import fsk
    except ImportError as exc:  # pragma: no cover - only without a build
        raise ImportError(f"pycallcenter._native.fsk is not built ({exc}); run `make native` "
                          "or use backend='reference'")
    return fsk


def _check_standard(standard):
    if standard not in _ref.STANDARDS:
        raise ValueError(f"standard must be one of {', '.join(STANDARDS)}, got {standard!r}")


def _check_backend(backend):
    if backend not in ("native", "reference"):
        raise ValueError(f"backend must be 'native' or 'reference', got {backend!r}")
    return _native() if backend == "native" else None


class FskTransmitter:
    """Phase-continuous FSK modulators for many channels, each sending its own queue of messages."""

    def __init__(self, channels=1, standard="bell202", level_dbm0=-13.0, *, mark_hz=None, space_hz=None,
                 baud=_ref.BAUD, backend="native"):
        _check_standard(standard)
        self._lib = _check_backend(backend)
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        if not isinstance(baud, (int, np.integer)) or not 0 < baud <= _ref.SAMPLE_RATE:
            raise ValueError(f"baud must be an int in 1..{_ref.SAMPLE_RATE}, got {baud!r}")
        mark, space = _ref.STANDARDS[standard]
        mark = mark if mark_hz is None else float(mark_hz)
        space = space if space_hz is None else float(space_hz)
        for hz in (mark, space):
            if not 0 < hz < _ref.SAMPLE_RATE / 2:
                raise ValueError(f"tone frequency {hz} Hz outside 0..{_ref.SAMPLE_RATE // 2}")
        self.channels = channels
        self.standard = standard
        self._state = _ref.new_tx_state(channels)
        steps = np.array([_ref.phase_increment(space), _ref.phase_increment(mark)], np.int64)
        self._inc = np.tile(steps, (channels, 1))
        self._baud = np.full(channels, int(baud), np.int64)
        self._amp = np.zeros(channels)
        # every channel's unsent bits live in one flat array the kernel reads at _off[c] for _len[c] bits;
        # put() parks new bits in _new until the next process() rebuilds the array once
        self._flat = np.zeros(1, np.uint8)
        self._off = np.zeros(channels, np.int64)
        self._len = np.zeros(channels, np.int64)
        self._new = [[] for _ in range(channels)]
        self._new_bits = np.zeros(channels, np.int64)
        for c in range(channels):
            self.set_level(c, level_dbm0)

    def set_level(self, channel, level_dbm0):
        """Set a channel's transmit level in dBm0 (at most +3.14, a full-scale sine)."""
        level = float(level_dbm0)
        if not np.isfinite(level) or level > MAX_LEVEL_DBM0:
            raise ValueError(f"level must be a finite dBm0 value <= {MAX_LEVEL_DBM0}, got {level_dbm0!r}")
        self._amp[self._channel(channel)] = dbm0_to_amplitude(level)

    def _channel(self, channel):
        if not isinstance(channel, (int, np.integer)) or not 0 <= channel < self.channels:
            raise ValueError(f"channel must be an int in 0..{self.channels - 1}, got {channel!r}")
        return int(channel)

    def put(self, channel, message, *, seizure_bits=None, mark_bits=None, postamble_bits=8):
        """Queue one message (bytes, sent as-is) with its seizure and mark preamble on a channel."""
        if not isinstance(message, (bytes, bytearray, memoryview)) or len(message) == 0:
            raise TypeError("message must be non-empty bytes")
        seize, mark = DEFAULT_PREAMBLE[self.standard]
        seize = seize if seizure_bits is None else int(seizure_bits)
        mark = mark if mark_bits is None else int(mark_bits)
        if seize < 0 or mark < 0 or postamble_bits < 0:
            raise ValueError("seizure, mark and postamble bit counts must not be negative")
        self.put_bits(channel, _ref.frame_bits(message, seize, mark, postamble_bits))

    def put_bits(self, channel, bits):
        """Queue raw bits (a sequence of 0/1) on a channel, for framings other than caller ID's."""
        c = self._channel(channel)
        b = np.asarray(bits)
        if b.ndim != 1 or b.dtype.kind not in "biu" or (b.size and (b.min() < 0 or b.max() > 1)):
            raise ValueError("bits must be a 1-D sequence of 0 and 1")
        self._new[c].append(b.astype(np.uint8))
        self._new_bits[c] += b.size

    def pending_samples(self, channel=None):
        """Return how many samples a channel (or, for None, each channel as an array) needs for its queued bits."""
        left = (self._len + self._new_bits) * _ref.SAMPLE_RATE - self._state["acc"]
        need = np.maximum(0, -(-left // self._baud))
        return need if channel is None else int(need[self._channel(channel)])

    def cancel(self, channel):
        """Drop everything still queued on a channel; it falls silent at once."""
        c = self._channel(channel)
        self._len[c] = 0
        self._new[c] = []
        self._new_bits[c] = 0
        self._state["acc"][c] = 0

    def _rebuild(self):
        parts = []
        pos = 0
        for c in range(self.channels):
            q = np.concatenate([self._flat[self._off[c]:self._off[c] + self._len[c]]] + self._new[c])
            parts.append(q)
            self._off[c], self._len[c] = pos, q.size
            pos += q.size
            self._new[c] = []
        self._new_bits[:] = 0
        self._flat = np.concatenate(parts) if pos else np.zeros(1, np.uint8)

    def process(self, n=TICK_SAMPLES):
        """Return the next n samples of every channel as int16 (channels, n); idle channels are silent."""
        if not isinstance(n, (int, np.integer)) or n < 1:
            raise ValueError(f"n must be a positive int, got {n!r}")
        if self._new_bits.any():
            self._rebuild()
        out = np.empty((self.channels, int(n)), np.int16)
        consumed = np.zeros(self.channels, np.int64)
        if self._lib is None:
            _ref.modulate(out, self._flat, self._off, self._len, consumed, self._state, self._amp, self._inc,
                          self._baud)
        else:
            self._lib.modulate(out, self._flat, self._off, self._len, consumed, self._state["phase"],
                               self._state["acc"],
                               self._amp, self._inc, self._baud, _ref.SINE)
        self._off += consumed
        self._len -= consumed
        return out


@dataclass(frozen=True)
class FskMessage:
    """A message the receiver framed: raw bytes, and the parsed CallerId when it checks out."""

    channel: int
    sample: int  # index in the block passed to process() where the message ended
    data: bytes  # type, length, body, checksum as received
    error: Optional[str] = None  # why the message is incomplete or did not parse; None when good
    callerid: Optional[CallerId] = None

    @property
    def ok(self):
        """Return True when the message is complete, its checksum verifies and it parsed."""
        return self.error is None


class FskReceiver:
    """FSK caller ID receivers for many channels; ``process(block)`` takes one tick and returns FskMessage events."""

    def __init__(self, channels=1, standard="bell202", *, threshold_dbm0=-46.0, backend="native"):
        _check_standard(standard)
        self._lib = _check_backend(backend)
        if not isinstance(channels, int) or channels < 1:
            raise ValueError(f"channels must be a positive int, got {channels!r}")
        self.channels = channels
        self.standard = standard
        mark, space = _ref.STANDARDS[standard]
        self._inc_mark = _ref.phase_increment(mark)
        self._inc_space = _ref.phase_increment(space)
        self._on = _ref.power_threshold(threshold_dbm0)
        self._off = _ref.power_threshold(threshold_dbm0 - 3.0)  # hysteresis keeps a fading carrier from chattering
        self._state = _ref.new_rx_state(channels)
        self._ev_info = np.zeros((0, 4), np.int32)
        self._ev_data = np.zeros((0, _ref.MAX_MESSAGE), np.uint8)

    def reset(self, channel):
        """Forget a channel's history (a new call on it): any half-received message is dropped."""
        if not isinstance(channel, (int, np.integer)) or not 0 <= channel < self.channels:
            raise ValueError(f"channel must be an int in 0..{self.channels - 1}, got {channel!r}")
        for arr in self._state.values():
            arr[channel] = 0

    def process(self, block, rows=None):
        """Return the list of FskMessage events completed in this (channels, n) or 1-D int16 block.

        With ``rows`` (channel numbers, ascending) the block holds only those channels, one row each: the
        others are not fed this tick and keep their state, except that their sample count (the correlators'
        phase reference) moves on by the block's length. A channel left out while its line was idle therefore
        decodes a later message exactly as if it had been fed all along, once its 4 ms windows have refilled:
        a listener that cares only about ringing lines pays for those alone."""
        if rows is None:
            x, _ = as_batch(block, np.int16, "block", channels=self.channels)
            return [self._event(*r) for r in self._demodulate(x, self._state)]
        rows = np.asarray(rows, np.intp)
        if rows.ndim != 1 or (rows.size and (rows[0] < 0 or rows[-1] >= self.channels or (np.diff(rows) <= 0).any())):
            raise ValueError(f"rows must be ascending channel numbers in 0..{self.channels - 1}, got {rows!r}")
        x, _ = as_batch(block, np.int16, "block", channels=rows.size, allow_empty=not rows.size)
        if rows.size == self.channels:
            return [self._event(*r) for r in self._demodulate(x, self._state)]
        full = self._state
        part = {k: np.ascontiguousarray(v[rows]) for k, v in full.items()}
        raw = self._demodulate(x, part) if rows.size else []
        full["count"] += x.shape[1]
        for k, v in part.items():
            full[k][rows] = v
        return [self._event(int(rows[c]), j, st, data) for c, j, st, data in raw]

    def _demodulate(self, x, state):
        if self._lib is None:
            return _ref.demodulate(x, state, self._inc_mark, self._inc_space, self._on, self._off)
        return self._native_process(x, state)

    def _native_process(self, x, s):
        # every event needs a fresh mark run first, which bounds how many one block can hold
        cap = x.shape[0] * (x.shape[1] // _ref.MARK_RUN + 1)
        if self._ev_info.shape[0] < cap:
            self._ev_info = np.zeros((cap, 4), np.int32)
            self._ev_data = np.zeros((cap, _ref.MAX_MESSAGE), np.uint8)
        n = self._lib.demodulate(x, s["count"], s["ring"], s["pring"], s["sums"], s["psum"], s["qhist"], s["uart"],
                                 s["msg"],
                                 self._inc_mark, self._inc_space, _ref.REF_COS, _ref.REF_SIN, self._on, self._off,
                                 _ref.START_DELAY, _ref.MARK_RUN, _ref.BIT_THIRDS, self._ev_info, self._ev_data)
        if n > cap:  # pragma: no cover - the bound above makes this impossible
            raise RuntimeError(f"FSK receiver event buffer overflow ({n} > {cap})")
        info = self._ev_info[:n]
        return [(int(c), int(j), int(st), bytes(self._ev_data[i, :ln])) for i, (c, j, st, ln) in enumerate(info)]

    @staticmethod
    def _event(channel, sample, status, data):
        if status != _ref.STATUS_OK:
            return FskMessage(channel, sample, data, STATUS_TEXT[status])
        try:
            return FskMessage(channel, sample, data, None, CallerId.parse(data))
        except DecodeError as exc:
            return FskMessage(channel, sample, data, str(exc))


def modulate_message(message, standard="bell202", *, level_dbm0=-13.0, seizure_bits=None, mark_bits=None,
                     backend="native"):
    """Return int16 samples of one message (bytes) sent with its seizure and mark preamble."""
    tx = FskTransmitter(1, standard, level_dbm0, backend=backend)
    tx.put(0, message, seizure_bits=seizure_bits, mark_bits=mark_bits)
    return unbatch(tx.process(tx.pending_samples(0)), True)
