"""The board backends' G.711 (drivers/g711.py) is the stack's kernel: same codes as pycallcenter.dsp.g711."""
import numpy as np
import pytest

from pycallcenter.drivers import g711
from pycallcenter.drivers.base import Law
from pycallcenter.dsp import g711 as dsp_g711

_PAIRS = {Law.ULAW: (dsp_g711.ulaw_encode, dsp_g711.ulaw_decode), Law.ALAW: (dsp_g711.alaw_encode, dsp_g711.alaw_decode)}


@pytest.mark.parametrize("law", [Law.ULAW, Law.ALAW, "ulaw", "alaw"])
def test_every_sample_and_code_agrees_with_the_dsp_face(law):
    encode, decode = _PAIRS[Law(law)]
    samples = np.arange(-32768, 32768, dtype=np.int16)
    assert np.array_equal(g711.encode(law, samples), encode(samples))
    codes = np.arange(256, dtype=np.uint8)
    assert np.array_equal(g711.decode(law, codes), decode(codes))
    assert np.array_equal(g711.decode(law, codes.tobytes()), decode(codes))


def test_shapes_are_kept_and_strided_input_is_accepted():
    block = np.arange(320, dtype=np.int16).reshape(2, 160)
    assert g711.encode(Law.ALAW, block).shape == (2, 160)
    column = np.arange(0, 1600, dtype=np.int16)[::10]  # not contiguous
    assert np.array_equal(g711.encode(Law.ULAW, column), dsp_g711.ulaw_encode(np.ascontiguousarray(column)))
    assert g711.decode(Law.ULAW, b"").shape == (0,)


def test_an_unknown_law_is_refused():
    with pytest.raises(ValueError):
        g711.encode("slinear", np.zeros(4, np.int16))
