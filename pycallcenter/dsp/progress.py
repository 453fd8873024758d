"""Call-progress detection: dial, busy, ringback, congestion, SIT, fax CNG/CED, silence and voice, batched.

``CallProgressDetector(channels, plan="us")`` takes one tick of int16 audio for all channels per
``process`` call and returns ProgressEvent(channel, kind, sample, detail) tuples. Frames are
classified and cadences tracked natively (pycallcenter._native.progress); the numpy twin in
pycallcenter.dsp.reference.progress is the specification and gives the same events.
"""
import numpy as np

from pycallcenter._native import progress as _native
from pycallcenter.dsp.reference import progress as _ref
from pycallcenter.dsp.reference.progress import KINDS, SIT_DETAILS, ProgressEvent  # noqa: F401  (public)


CHUNK_FRAMES = 250
EVENTS_PER_FRAME = 8


class CallProgressDetector(_ref.CallProgressDetector):
    """Call-progress detection on N channels; ``process(tick)`` returns a list of ProgressEvent."""

    def _init_state(self):
        self._state = np.zeros((self.channels, _ref.ST_SIZE), np.int64)
        _native.init_state(self._state)
        self._events = np.zeros((0, 4), np.int64)

    def _run(self, frames):
        cfg = self.config
        out = []
        # Chunks bound the event buffer: at most EVENTS_PER_FRAME events per channel and frame.
        for start in range(0, frames.shape[1], CHUNK_FRAMES * _ref.FRAME):
            part = np.ascontiguousarray(frames[:, start:start + CHUNK_FRAMES * _ref.FRAME])
            need = self.channels * (part.shape[1] // _ref.FRAME) * EVENTS_PER_FRAME
            if self._events.shape[0] < need:
                self._events = np.zeros((need, 4), np.int64)
            n = _native.run(part, cfg.basis, cfg.cls_nf, cfg.cls_cols, cfg.cls_ginv, cfg.cls_role, cfg.pat_cls,
                            cfg.pat_kind, cfg.pat_len, cfg.pat_confirm, cfg.pat_ms, cfg.pat_detail, cfg.cont_frames,
                            cfg.cont_kind, cfg.sit_table, cfg.params, cfg.fparams, _ref.SIT_ITU, self._state,
                            self._events)
            out += [tuple(int(v) for v in row) for row in self._events[:n]]
        return out
