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
