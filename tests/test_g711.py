"""G.711: bit-exact with the ITU-T G.191 vectors, native kernel == numpy twin, Tables 3/4, bad input."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from pycallcenter.dsp import g711
from pycallcenter.dsp.reference import g711 as twin

CODECS = {
    "ulaw": (g711.ulaw_encode, g711.ulaw_decode, twin.ulaw_encode, twin.ulaw_decode, "u", "reu"),
    "alaw": (g711.alaw_encode, g711.alaw_decode, twin.alaw_encode, twin.alaw_decode, "a", "rea"),
}
ALL_CODES = np.arange(256, dtype=np.uint8)


def _words(path, dtype):
    data = np.fromfile(path, dtype="<u2")
    assert data.size == 65536
    return data.astype(dtype) if dtype == np.uint8 else data.view("<i2").astype(np.int16)


@pytest.mark.parametrize("law", CODECS)
@pytest.mark.parametrize("impl", ["native", "twin"])
def test_g191_vectors_bit_exact(testdata, law, impl):
    enc, dec, tenc, tdec, code_ext, dec_ext = CODECS[law]
    if impl == "twin":
        enc, dec = tenc, tdec
    src = _words(testdata("g711", "sweep.src"), np.int16)
    codes = np.fromfile(testdata("g711", f"sweep-r.{code_ext}"), dtype="<u2")
    assert (codes >> 8).max() == 0  # codes sit in the low byte
    codes = codes.astype(np.uint8)
    expected = _words(testdata("g711", f"sweep-r.{dec_ext}"), np.int16)
    assert np.array_equal(src, np.arange(-32768, 32768))
    np.testing.assert_array_equal(enc(src), codes)
    np.testing.assert_array_equal(dec(codes), expected)


@pytest.mark.parametrize("law", CODECS)
def test_every_code_decodes_like_the_twin_and_re_encodes_to_itself(law):
    enc, dec, _, tdec, _, _ = CODECS[law]
    np.testing.assert_array_equal(dec(ALL_CODES), tdec(ALL_CODES))
    back = enc(dec(ALL_CODES))
    if law == "ulaw":  # mu-law has two zeros (0x7F and 0xFF); both decode to 0, which encodes as 0xFF
        assert back[0x7F] == 0xFF
        back[0x7F] = 0x7F
    np.testing.assert_array_equal(back, ALL_CODES)


def test_known_codes():
    # zero and full scale, as the line carries them
    assert g711.ulaw_encode(np.array([0, 32767, -32768], np.int16)).tolist() == [0xFF, 0x80, 0x00]
    assert g711.alaw_encode(np.array([0, 32767, -32768], np.int16)).tolist() == [0xD5, 0xAA, 0x2A]
    assert g711.alaw_decode(np.array([0xD5, 0x55], np.uint8)).tolist() == [8, -8]


# G.711 Table 3: mu-law decoder output value number (0..127) -> A-law number (1..128), and
# Table 4: A-law number (1..128) -> mu-law number (0..127). Numbers count magnitudes up from zero.
TABLE3 = (
    [1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8]
    + list(range(9, 25))
    + [25, 27, 29, 31, 33, 34, 35, 36, 37, 38, 39, 40, 41, 42, 43, 44]
    + [46, 48] + list(range(49, 63))
    + list(range(64, 80))
    + list(range(81, 97))  # mu 80 -> A 81; spandsp 0.0.6 and an older transcription say 80 here
    + list(range(97, 129))
)
TABLE4 = (
    [1, 3, 5, 7, 9, 11, 13, 15]
    + list(range(16, 32))
    + [32, 32, 33, 33, 34, 34, 35, 35]
    + list(range(36, 48))
    + [48, 48, 49, 49]
    + list(range(50, 64))
    + [64, 64]
    + list(range(65, 80))
    + [80]  # A 80 -> mu 80 as in spandsp 0.0.6; Sun's transcription has 79, which breaks monotony
    + list(range(80, 128))
)


def _mu_code(number, negative):
    return (0x7F ^ number) | (0 if negative else 0x80)


def _a_code(number, negative):
    return ((number - 1) | (0 if negative else 0x80)) ^ 0x55


def test_transcoding_follows_g711_tables_3_and_4():
    assert len(TABLE3) == 128 and len(TABLE4) == 128
    for negative in (False, True):
        mu = np.array([_mu_code(n, negative) for n in range(128)], np.uint8)
        a = np.array([_a_code(TABLE3[n], negative) for n in range(128)], np.uint8)
        np.testing.assert_array_equal(g711.ulaw_to_alaw(mu), a)
        a_in = np.array([_a_code(n, negative) for n in range(1, 129)], np.uint8)
        mu_out = np.array([_mu_code(TABLE4[n - 1], negative) for n in range(1, 129)], np.uint8)
        np.testing.assert_array_equal(g711.alaw_to_ulaw(a_in), mu_out)


def test_transcoding_native_equals_twin_and_keeps_sign():
    np.testing.assert_array_equal(g711.ulaw_to_alaw(ALL_CODES), twin.ulaw_to_alaw(ALL_CODES))
    np.testing.assert_array_equal(g711.alaw_to_ulaw(ALL_CODES), twin.alaw_to_ulaw(ALL_CODES))
    lin_u = g711.ulaw_decode(ALL_CODES).astype(int)
    lin_a = g711.alaw_decode(g711.ulaw_to_alaw(ALL_CODES)).astype(int)
    assert np.all(np.sign(lin_a) == np.where(ALL_CODES & 0x80, 1, -1))
    assert np.abs(lin_a - lin_u).max() <= 256  # within one A-law step of the top segment
    assert np.abs(lin_a - lin_u).max() > 0


int16_batches = hnp.arrays(
    np.int16,
    st.one_of(hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=341),
              hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=23)),
    elements=st.one_of(st.integers(-32768, 32767), st.sampled_from([-32768, -32767, -1, 0, 1, 32767])),
)
uint8_batches = hnp.arrays(
    np.uint8,
    st.one_of(hnp.array_shapes(min_dims=1, max_dims=1, min_side=1, max_side=341),
              hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=23)),
)


@given(int16_batches, st.booleans())
def test_encode_native_equals_twin(x, strided):
    if strided and x.shape[-1] > 1:
        x = x[..., ::2]  # non-contiguous input
    for law in CODECS:
        enc, _, tenc, _, _, _ = CODECS[law]
        got = enc(x)
        assert got.shape == x.shape and got.dtype == np.uint8
        np.testing.assert_array_equal(got, tenc(x))


@given(uint8_batches, st.booleans())
def test_decode_and_transcode_native_equals_twin(c, strided):
    if strided and c.shape[-1] > 1:
        c = c[..., 1::2]
    for law in CODECS:
        _, dec, _, tdec, _, _ = CODECS[law]
        got = dec(c)
        assert got.shape == c.shape and got.dtype == np.int16
        np.testing.assert_array_equal(got, tdec(c))
    np.testing.assert_array_equal(g711.ulaw_to_alaw(c), twin.ulaw_to_alaw(c))
    np.testing.assert_array_equal(g711.alaw_to_ulaw(c), twin.alaw_to_ulaw(c))


def test_out_buffer_is_filled_and_returned():
    x = np.arange(-800, 800, 10, dtype=np.int16).reshape(2, 80)
    out = np.zeros((2, 80), np.uint8)
    assert g711.alaw_encode(x, out=out) is out
    np.testing.assert_array_equal(out, twin.alaw_encode(x))
    lin = np.zeros((2, 80), np.int16)
    assert g711.alaw_decode(out, out=lin) is lin
    np.testing.assert_array_equal(lin, twin.alaw_decode(out))
    codes = np.zeros((2, 80), np.uint8)
    assert g711.alaw_to_ulaw(out, out=codes) is codes


def test_bytes_decode_to_one_channel():
    assert g711.ulaw_decode(b"\xff\x7f\x80").tolist() == [0, 0, 32124]


@pytest.mark.parametrize("bad, error", [
    ([1, 2, 3], TypeError),
    (np.zeros(4, np.float64), TypeError),
    (np.array([np.nan, 1.0]), TypeError),
    (np.zeros(4, np.int32), TypeError),
    (np.zeros(4, np.uint16), TypeError),
    (np.zeros((2, 2, 2), np.int16), ValueError),
    (np.zeros(0, np.int16), ValueError),
    (np.zeros((3, 0), np.int16), ValueError),
    (np.int16(5), TypeError),
])
def test_bad_samples_raise(bad, error):
    for fn in (g711.ulaw_encode, g711.alaw_encode):
        with pytest.raises(error):
            fn(bad)


@pytest.mark.parametrize("bad, error", [
    ([1, 2], TypeError),
    ("\xff", TypeError),
    (np.zeros(4, np.int16), TypeError),
    (np.zeros((1, 1, 1), np.uint8), ValueError),
    (b"", ValueError),
])
def test_bad_codes_raise(bad, error):
    for fn in (g711.ulaw_decode, g711.alaw_decode, g711.ulaw_to_alaw, g711.alaw_to_ulaw):
        with pytest.raises(error):
            fn(bad)


@pytest.mark.parametrize("out, error", [
    (np.zeros(8, np.int16), TypeError),
    (np.zeros(7, np.uint8), ValueError),
    (np.zeros((1, 8), np.uint8), ValueError),
    (np.zeros(16, np.uint8)[::2], ValueError),
    ([0] * 8, TypeError),
])
def test_bad_out_raises(out, error):
    with pytest.raises(error):
        g711.ulaw_encode(np.zeros(8, np.int16), out=out)


def test_read_only_out_refused():
    out = np.zeros(8, np.uint8)
    out.flags.writeable = False
    with pytest.raises(ValueError):
        g711.ulaw_encode(np.zeros(8, np.int16), out=out)
