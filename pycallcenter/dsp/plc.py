"""Packet-loss concealment (ITU-T G.711 Appendix I) for many channels, native kernel.

``PacketLossConcealer(channels).process(block, lost)`` takes one (channels x samples) int16 block and a
bool mask saying which rows (or which packets of each row) were lost, and returns the block with lost
packets filled by pitch-period repetition: received rows update each channel's history, lost rows are
synthesised from it, and the first good packet after a loss is cross-faded in. The output is
``DELAY`` samples (3.75 ms) behind the input, the look-back Appendix I needs to smooth the start of a
loss. The numpy twin in pycallcenter.dsp.reference.plc specifies every sample; both agree exactly.
See docs/plc.md for the algorithm, its quality against spandsp and its speed.
"""
from pycallcenter._native import plc as _native
from pycallcenter.dsp.reference import plc as _ref
from pycallcenter.dsp.reference.plc import DELAY, FRAME, lost_frames  # noqa: F401  (public re-exports)


class PacketLossConcealer(_ref.PacketLossConcealer):
    """G.711 Appendix I concealment for N channels with its state in C; same results as the twin."""

    def _init_state(self):
        self._k = _native.Kernel(self.channels)

    def reset(self, channel):
        """Forget one channel's history (a new call on that row); returns None."""
        self._k.reset(channel)

    def _run(self, x, mask, out):
        self._k.process(x, mask, out)
