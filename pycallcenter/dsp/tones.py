"""Tone generation: call-progress tones from national plans, DTMF, ad-hoc cadenced tones, batched per tick.

``ToneGenerator(channels)`` keeps per-channel cadence and phase state; ``process(n)`` renders the
next n samples of every channel in one native call (pycallcenter._native.tonegen). The numpy twin
in pycallcenter.dsp.reference.tones defines the arithmetic; both give identical samples.
"""
from pycallcenter._native import tonegen as _native
from pycallcenter.dsp.reference import tones as _ref
from pycallcenter.dsp.toneplans import ToneSpec, get_plan, plan_names  # noqa: F401  (public re-exports)


class ToneGenerator(_ref.ToneGenerator):
    """Cadenced tones on N channels, rendered natively; see the twin for the state it keeps."""

    def _render(self, out):
        _native.render(out, self._step_len, self._n_comp, self._inc, self._amp,
                       self._n_steps, self._loop_to, self._cur, self._pos, self._phase)

    def _render_rows(self, out, rows):
        _native.render_rows(out, rows, self._step_len, self._n_comp, self._inc, self._amp,
                            self._n_steps, self._loop_to, self._cur, self._pos, self._phase)


def generate(plan, tone, seconds, level_offset_db=0.0):
    """Return int16 samples of the plan's tone (name or ToneSpec) for seconds."""
    return _ref.generate_with(ToneGenerator, plan, tone, seconds, level_offset_db)


def dtmf_signal(digits, level_dbm0=-10.0, twist_db=0.0, on_ms=50.0, off_ms=50.0):
    """Return int16 samples of DTMF digits: level of the low tone, twist = high minus low (dB)."""
    return _ref.dtmf_with(ToneGenerator, digits, level_dbm0, twist_db, on_ms, off_ms)
