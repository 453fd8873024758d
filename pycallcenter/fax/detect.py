"""Fax detection on a voice call: CNG (1100 Hz), CED (2100 Hz) and the V.21 HDLC preamble of a DIS.

CNG and CED come from our call-progress detector (pycallcenter.dsp.progress); the V.21 preamble
(flags at 300 bit/s on channel 2) from spandsp's connect-tone receiver, which fax already depends on.
A calling fax machine sends CNG; an answering one (someone pressed start on a manual call) sends
CED and then V.21 flags, sometimes flags alone.
"""
from typing import Optional

import numpy as np

from pycallcenter.dsp.progress import CallProgressDetector
from pycallcenter.fax._lib import ffi, lib

_KIND = {"fax_cng": "cng", "fax_ced": "ced"}


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
        self._v21 = lib.modem_connect_tones_rx_init(ffi.NULL, lib.MODEM_CONNECT_TONES_FAX_PREAMBLE, ffi.NULL, ffi.NULL)

    def close(self):
        """Stop watching and free the V.21 receiver (idempotent)."""
        if self.watcher.watches.get(self.row) is self:
            del self.watcher.watches[self.row]
            self.watcher._release(self.row)
        if self._v21 is not None:
            lib.modem_connect_tones_rx_free(self._v21)
            self._v21 = None


class BatchedFaxWatcher:
    """Fax watching for every leg of an engine at once: one call-progress detector over the watched legs
    only (CNG, CED; a slot per watch, state reset when a slot is reused) and spandsp's V.21 preamble
    receiver per watched leg. It taps the media plane, so a leg's prompts, players and per-row sources
    are untouched, and costs nothing while no leg is watched."""

    def __init__(self, media, plan="us", slots=8):
        self.media = media
        self.plan = plan
        self.progress = CallProgressDetector(slots, plan=plan)
        self.free = list(range(slots - 1, -1, -1))
        self.slot_of = {}  # row -> detector slot
        self.watches = {}  # row -> RowWatch
        self.samples = 0
        self._block = None
        media.taps.append(self)

    @classmethod
    def of(cls, engine):
        """Return the engine's watcher, creating it on first use."""
        watcher = getattr(engine.media, "fax_watcher", None)
        if watcher is None:
            watcher = engine.media.fax_watcher = cls(engine.media, engine.tone_plan)
        return watcher

    def _slot(self):
        if not self.free:  # double the detector, keeping every slot's state
            from pycallcenter._native import progress as native

            old = self.progress
            n = old.channels
            self.progress = CallProgressDetector(2 * n, plan=self.plan)
            self.progress._state[:n] = old._state
            self.free = list(range(2 * n - 1, n - 1, -1))
            native.init_state(self.progress._state[n:])
            self._block = None
        slot = self.free.pop()
        from pycallcenter._native import progress as native

        native.init_state(self.progress._state[slot:slot + 1])  # nothing of the slot's last call carries over
        return slot

    def watch(self, row, seconds=30.0):
        """Start watching a row for `seconds` (None: until closed); return its RowWatch."""
        old = self.watches.get(row)
        if old is not None:
            old.close()
        self.slot_of[row] = self._slot()
        w = self.watches[row] = RowWatch(self, row, seconds)
        return w

    def _release(self, row):
        slot = self.slot_of.pop(row, None)
        if slot is not None:
            self.free.append(slot)

    def tap(self, rx):
        """Called by the media plane with each tick's decoded audio."""
        self.samples += rx.shape[1]
        if not self.watches:
            return
        n = self.progress.channels
        if self._block is None or self._block.shape != (n, rx.shape[1]):
            self._block = np.zeros((n, rx.shape[1]), np.int16)
        block = self._block
        block.fill(0)
        rows = list(self.slot_of)
        block[[self.slot_of[r] for r in rows]] = rx[rows]
        row_of_slot = {slot: row for row, slot in self.slot_of.items()}
        for ev in self.progress.process(block):
            w = self.watches.get(row_of_slot.get(ev.channel))
            if w is not None and ev.kind in _KIND and w.detected is None:
                w.detected, w.at_sample = _KIND[ev.kind], self.samples
        for row, w in list(self.watches.items()):
            if w.until is not None and self.samples >= w.until and w.detected is None:
                w.close()  # no fax signal in time: a voice call; stop spending on it
                continue
            if w.detected is None and w._v21 is not None:
                x = rx[row]
                lib.modem_connect_tones_rx(w._v21, ffi.cast("int16_t *", ffi.from_buffer(x)), x.size)
                if lib.modem_connect_tones_rx_get(w._v21) == lib.MODEM_CONNECT_TONES_FAX_PREAMBLE:
                    w.detected, w.at_sample = "v21", self.samples
