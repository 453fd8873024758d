"""Fax detection on a voice call: CNG (1100 Hz), CED (2100 Hz) and the V.21 HDLC preamble of a DIS.

CNG and CED come from our call-progress detector (pycallcenter.dsp.progress); the V.21 preamble
(flags at 300 bit/s on channel 2) from spandsp's connect-tone receiver, which fax already depends on.
A calling fax machine sends CNG; an answering one (someone pressed start on a manual call) sends
CED and then V.21 flags, sometimes flags alone.
"""
from typing import Optional

import numpy as np

from pycallcenter._native import progress as _native_progress
from pycallcenter.dsp.progress import CallProgressDetector
from pycallcenter.dsp.reference.progress import FRAME, KINDS
from pycallcenter.fax._lib import ffi, lib

_KIND = {"fax_cng": "cng", "fax_ced": "ced"}
_KIND_CODE = {KINDS.index(name): kind for name, kind in _KIND.items()}


class FaxDetector:
    """Per-tick fax detector for one leg: ``process(int16 block)`` returns 'cng', 'ced', 'v21' or None."""

    def __init__(self, plan="us"):
        self._progress = CallProgressDetector(1, plan=plan)
        self._v21 = lib.modem_connect_tones_rx_init(ffi.NULL, lib.MODEM_CONNECT_TONES_FAX_PREAMBLE, ffi.NULL, ffi.NULL)
        self.detected: Optional[str] = None
        self.at_sample: Optional[int] = None
        self.samples = 0

    def process(self, block) -> Optional[str]:
        """Feed one block; return the first fax signal found in it (and keep it in ``detected``), else None."""
        x = np.ascontiguousarray(block, dtype=np.int16)
        hit = None
        for ev in self._progress.process(x):
            if ev.kind in _KIND:
                hit = _KIND[ev.kind]
                break
        if hit is None and self._v21 is not None and x.size:
            lib.modem_connect_tones_rx(self._v21, ffi.cast("int16_t *", ffi.from_buffer(x)), x.size)
            if lib.modem_connect_tones_rx_get(self._v21) == lib.MODEM_CONNECT_TONES_FAX_PREAMBLE:
                hit = "v21"
        self.samples += x.size
        if hit is not None and self.detected is None:
            self.detected, self.at_sample = hit, self.samples
        return hit

    def tick(self, rx):
        """Media-plane source face: listen only (send nothing) so prompts keep playing."""
        self.process(rx)
        return None

    def close(self):
        """Free the spandsp detector (idempotent)."""
        if self._v21 is not None:
            lib.modem_connect_tones_rx_free(self._v21)
            self._v21 = None

    def __del__(self):
        try:
            self.close()
        except Exception:
            pass


class RowWatch:
    """One leg's listen-only fax watch in a BatchedFaxWatcher; ``detected`` is set when a fax is heard.
    The watch ends by itself after ``seconds``: a fax machine announces itself (CNG every 3.5 s, or CED
    and V.21 flags) from the start of the call, so a call quiet of fax signals that long is a voice call."""

    def __init__(self, watcher, row, seconds=30.0):
        self.watcher, self.row = watcher, row
        self.detected: Optional[str] = None
        self.at_sample: Optional[int] = None
        self.until = watcher.samples + int(seconds * 8000) if seconds else None
        self._v21 = None  # spandsp's V.21 receiver, made when the leg carries more than near-silence
        self.on_detect = None  # fn() called once when ``detected`` is set (the op waiting for it wakes)

    def _heard(self, kind, sample):
        self.detected, self.at_sample = kind, sample
        if self.on_detect is not None:
            self.on_detect()

    def _hear_v21(self, x) -> bool:
        """Feed one tick to the V.21 receiver; return True when it has found the preamble."""
        if self._v21 is None:
            self._v21 = lib.modem_connect_tones_rx_init(ffi.NULL, lib.MODEM_CONNECT_TONES_FAX_PREAMBLE,
                                                        ffi.NULL, ffi.NULL)
            self.watcher.listening.add(self.row)
        lib.modem_connect_tones_rx(self._v21, ffi.cast("int16_t *", ffi.from_buffer(x)), x.size)
        return lib.modem_connect_tones_rx_get(self._v21) == lib.MODEM_CONNECT_TONES_FAX_PREAMBLE

    def _quiet(self):
        """A tick far below the receiver's floor: a flag run cannot span it, so start the receiver afresh
        (what feeding it the quiet tick would amount to) and skip the work."""
        self._free_v21()

    def _free_v21(self):
        if self._v21 is not None:
            lib.modem_connect_tones_rx_free(self._v21)
            self._v21 = None
            if self.watcher.watches.get(self.row) is self:
                self.watcher.listening.discard(self.row)

    def close(self):
        """Stop watching and free the V.21 receiver (idempotent)."""
        if self.watcher.watches.get(self.row) is self:
            del self.watcher.watches[self.row]
            self.watcher._release(self.row)
        self._free_v21()


class _PackedProgress(CallProgressDetector):
    """The call-progress detector of a BatchedFaxWatcher: ``channels`` slots of state, of which the
    watcher keeps the used ones packed at the front, so each tick runs only over those."""

    def run_first(self, block):
        """Run the first ``len(block)`` slots on one tick (the rest keep their state); return the raw
        (slot, kind code, sample, detail) events, each slot's in time order."""
        k = block.shape[0]
        if not self._fill and block.shape[1] % FRAME == 0:  # whole frames: straight to the kernel
            full = self.channels, self._state
            self.channels, self._state = k, full[1][:k]
            try:
                return self._run(block)
            finally:
                self.channels, self._state = full
        full = self.channels, self._state, self._buf
        self.channels, self._state, self._buf = k, full[1][:k], full[2][:k]
        try:
            return [(e.channel, KINDS.index(e.kind), e.sample, 0) for e in self.process(block)]
        finally:
            self.channels, self._state, self._buf = full

    def move(self, src, dst):
        """Carry slot src's state (and any part frame) over to slot dst."""
        self._state[dst] = self._state[src]
        self._buf[dst] = self._buf[src]

    def reset(self, slot):
        """Start slot afresh: nothing of a previous call carries over."""
        _native_progress.init_state(self._state[slot:slot + 1])
        self._buf[slot] = 0


# A tick whose samples all stay within +-32 (about -57 dBm0) is over 10 dB below the quietest V.21 preamble
# spandsp's receiver still finds (peak ~150, about -44 dBm0; tests/test_fax_detect_precheck.py): skip it there.
V21_QUIET_PEAK = 32
NEVER = np.iinfo(np.int64).max  # the end of a watch closed only by hand


class BatchedFaxWatcher:
    """Fax watching for every leg of an engine at once: one call-progress detector over the watched legs
    only (CNG, CED; the used slots packed at the front, a slot's state reset when it is reused) and
    spandsp's V.21 preamble receiver per watched leg, run only on ticks where the leg carries more than
    near-silence. It taps the media plane, so a leg's prompts, players and per-row sources are untouched,
    and costs nothing while no leg is watched."""

    def __init__(self, media, plan="us", slots=8):
        self.media = media
        self.plan = plan
        self.progress = _PackedProgress(slots, plan=plan)
        self.rows = []  # slot -> row, for the used slots 0..len-1
        self.slot_of = {}  # row -> detector slot
        self.watches = {}  # row -> RowWatch
        self.listening = set()  # rows whose watch has a V.21 receiver running (fed since its last quiet tick)
        self._until = np.zeros(slots, np.int64)  # slot -> the sample its watch ends at (NEVER: closed by hand)
        self.samples = 0
        self._index = None  # the rows in slot order, as an index array (None: rebuild)
        self._block = None
        media.taps.append(self)

    @classmethod
    def of(cls, engine):
        """Return the engine's watcher, creating it on first use."""
        watcher = getattr(engine.media, "fax_watcher", None)
        if watcher is None:
            watcher = engine.media.fax_watcher = cls(engine.media, engine.tone_plan)
        return watcher

    @property
    def free(self):
        """Return the detector slots not in use."""
        return list(range(self.progress.channels - 1, len(self.rows) - 1, -1))

    def _slot(self):
        slot = len(self.rows)
        if slot == self.progress.channels:  # double the detector, keeping every used slot's state
            old = self.progress
            self.progress = _PackedProgress(2 * slot, plan=self.plan)
            self.progress._state[:slot] = old._state
            self.progress._buf[:slot] = old._buf
            self.progress._fill = old._fill
            self._block = None
            self._until = np.concatenate([self._until, np.zeros(slot, np.int64)])
        self.progress.reset(slot)
        return slot

    def watch(self, row, seconds=30.0):
        """Start watching a row for `seconds` (None: until closed); return its RowWatch."""
        old = self.watches.get(row)
        if old is not None:
            old.close()
        slot = self._slot()
        self.rows.append(row)
        self.slot_of[row] = slot
        self._index = None
        w = self.watches[row] = RowWatch(self, row, seconds)
        self._until[slot] = NEVER if w.until is None else w.until
        return w

    def _release(self, row):
        slot = self.slot_of.pop(row, None)
        if slot is None:
            return
        last = len(self.rows) - 1
        if slot != last:  # keep the used slots packed: the last one moves into the gap
            moved = self.rows[last]
            self.progress.move(last, slot)
            self._until[slot] = self._until[last]
            self.rows[slot] = moved
            self.slot_of[moved] = slot
        self.rows.pop()
        self.listening.discard(row)
        self._index = None

    def tap(self, rx):
        """Called by the media plane with each tick's decoded audio."""
        self.samples += rx.shape[1]
        if not self.watches:
            return
        rows = self.rows[:]  # slot order of this tick (releases below repack self.rows)
        k = len(rows)
        if not k:
            return
        if self._index is None:
            self._index = np.array(rows, np.intp)
        if self._block is None or self._block.shape[1] != rx.shape[1]:
            self._block = np.zeros((self.progress.channels, rx.shape[1]), np.int16)
            self._shifted = np.zeros_like(self._block)
        block = np.take(rx, self._index, axis=0, out=self._block[:k], mode="clip")
        watches = self.watches
        heard = []
        for slot, code, _sample, _detail in self.progress.run_first(block):
            kind = _KIND_CODE.get(code)
            if kind is not None:
                w = watches[rows[slot]]
                if w.detected is None:
                    w._heard(kind, self.samples)
                    heard.append(slot)
        # V.21 pre-check, one pass: x + Q seen unsigned is <= 2Q exactly when -Q <= x <= Q (the rest wrap high).
        shifted = np.add(block, V21_QUIET_PEAK, out=self._shifted[:k])
        quiet = shifted.view(np.uint16).max(axis=1) <= 2 * V21_QUIET_PEAK
        # A quiet row whose watch heard nothing, has time left and no V.21 receiver running has nothing to do
        # this tick: only the others are visited (most watched rows are quiet on most ticks)
        visit = ~quiet | (self._until[:k] <= self.samples)
        if heard:
            visit[heard] = True
        if self.listening:
            for row in self.listening:
                visit[self.slot_of[row]] = True
        for slot in np.flatnonzero(visit).tolist():
            row = rows[slot]
            w = watches[row]
            if w.detected is not None:
                self._release(row)  # heard: nothing more to listen for; the watch stays until closed
                continue
            if w.until is not None and self.samples >= w.until:
                w.close()  # no fax signal in time: a voice call; stop spending on it
                continue
            if quiet[slot]:
                w._quiet()
            elif w._hear_v21(rx[row]):
                w._heard("v21", self.samples)
