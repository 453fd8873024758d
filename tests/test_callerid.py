"""Caller ID message codecs: SDMF/MDMF build and parse, checksums, malformed input, DTMF CLIP."""
import importlib.util

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.dsp.callerid import CallDateTime, CallerId, callerid_signal, checksum, decode_callerid, frame, unframe
from pycallcenter.errors import DecodeError

# Bellcore-style SDMF example: 30 September 12:24, (609) 555-1212
SDMF_EXAMPLE = bytes.fromhex("041230393330313232343630393535353132313251")

digits = st.text("0123456789", min_size=1, max_size=20)
printable = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), min_size=1, max_size=30)
datetimes = st.builds(CallDateTime, st.integers(1, 12), st.integers(1, 31), st.integers(0, 23), st.integers(0, 59))


@st.composite
def callerids(draw):
    number = draw(st.one_of(st.none(), digits))
    absent = None if number is not None else draw(st.sampled_from([None, "O", "P"]))
    name = draw(st.one_of(st.none(), printable))
    return CallerId(
        number=number, number_absent_reason=absent, name=name,
        name_absent_reason=None if name is not None else draw(st.sampled_from([None, "O", "P"])),
        datetime=draw(st.one_of(st.none(), datetimes)),
        dialled_number=draw(st.one_of(st.none(), digits)),
        redirect=draw(st.one_of(st.none(), st.integers(0, 255))),
        qualifier=draw(st.one_of(st.none(), st.just("L"))),
        extra=tuple(draw(st.lists(st.tuples(st.integers(0x20, 0x7F), st.binary(max_size=8)), max_size=2))),
    )


def test_known_sdmf_vector():
    c = CallerId.parse(SDMF_EXAMPLE)
    assert c == CallerId(number="6095551212", datetime=(9, 30, 12, 24))
    assert c.to_sdmf() == SDMF_EXAMPLE
    assert checksum(SDMF_EXAMPLE[:-1]) == 0x51


def test_mdmf_layout():
    c = CallerId(number="8005551212", name="JOHN DOE", datetime=(3, 24, 9, 2))
    raw = c.to_mdmf()
    assert raw[:2] == bytes([0x80, len(raw) - 3])
    assert raw[2:12] == b"\x01\x0803240902"
    assert b"\x02\x0a8005551212" in raw and b"\x07\x08JOHN DOE" in raw
    assert sum(raw) % 256 == 0


def test_absence_reasons_and_mwi():
    private = CallerId(datetime=(1, 1, 0, 0), number_absent_reason="P")
    assert private.to_sdmf()[-2:-1] == b"P"
    assert CallerId.parse(private.to_sdmf()) == private
    withheld = CallerId(number_absent_reason="O", name_absent_reason="P")
    assert b"\x04\x01O" in withheld.to_mdmf() and b"\x08\x01P" in withheld.to_mdmf()
    for on in (True, False):
        mwi = CallerId(message_waiting=on)
        assert mwi.to_sdmf() == frame(0x06, b"\x42\x42\x42" if on else b"\x6f\x6f\x6f")
        assert mwi.to_mdmf() == frame(0x82, b"\x0b\x01" + (b"\xff" if on else b"\x00"))
        assert CallerId.parse(mwi.to_sdmf()) == mwi == CallerId.parse(mwi.to_mdmf())


@given(callerids())
def test_mdmf_round_trip(c):
    assert CallerId.parse(c.to_mdmf()) == c


@given(st.one_of(digits.filter(lambda s: len(s) <= 15), st.sampled_from(["O", "P"])), datetimes)
def test_sdmf_round_trip(tail, dt):
    c = CallerId(datetime=dt, **({"number_absent_reason": tail} if tail in "OP" else {"number": tail}))
    assert CallerId.parse(c.to_sdmf()) == c


@given(st.one_of(st.text("0123456789*", min_size=2, max_size=20), st.sampled_from(["O", "P"])),
       st.sampled_from("AD"), st.sampled_from("C#"), st.sampled_from("BD"))
def test_dtmf_round_trip(number, start, end, absence):
    c = CallerId(**({"number_absent_reason": number} if number in "OP" else {"number": number}))
    s = c.to_dtmf(start, end, absence)
    assert s[-1] == end and s[0] == (absence if number in "OP" else start)
    assert CallerId.from_dtmf(s) == c


def test_dtmf_codes():
    assert CallerId(number_absent_reason="O").to_dtmf() == "B00C"
    assert CallerId(number_absent_reason="P").to_dtmf() == "B10C"
    assert CallerId(number_absent_reason="P").to_dtmf(end="#", absence="D") == "D1#"
    assert CallerId.from_dtmf("D0123C") == CallerId(number="0123")
    assert CallerId.from_dtmf("A4512345678#") == CallerId(number="4512345678")  # Danish style
    for code, reason in (("1", "P"), ("2", "O"), ("3", "O")):
        assert CallerId.from_dtmf(f"D{code}#") == CallerId(number_absent_reason=reason)


@pytest.mark.parametrize("raw, element, offset", [
    (b"\x80\x01", "message header", 2),
    (b"\x80\x05\x01\x02\x03", "message length", 1),
    (frame(0x80, b"\x02\x013") + b"\x00", "message end", 6),
    (SDMF_EXAMPLE[:-1] + b"\x52", "checksum", 20),
    (frame(0x42, b"abc"), "message type", 0),
    (frame(0x04, b"1332123412"), "date/time", 2),
    (frame(0x04, b"0101"), "SDMF body", 2),
    (frame(0x04, b"01011212\x01"), "calling number", 10),
    (frame(0x06, b"\x42\x42\x41"), "SDMF message waiting", 2),
    (frame(0x80, b"\x02\x05123"), "calling number", 3),
    (frame(0x80, b"\x02\x01" + b"1" + b"\x07"), "parameter", 5),
    (frame(0x80, b"\x04\x01X"), "reason for absence of number", 4),
    (frame(0x80, b"\x08\x02OP"), "reason for absence of name", 4),
    (frame(0x80, b"\x01\x0801011212\x01\x0801011212"), "date/time", 12),
    (frame(0x80, b"\x01\x07" + b"0101121"), "date/time", 4),
    (frame(0x80, b"\x05\x02\x01\x02"), "redirect", 4),
    (frame(0x82, b"\x0b\x01\x01"), "visual indicator", 4),
    (frame(0x82, b"\x02\x011"), "visual indicator", 2),
    (frame(0x80, b"\x0b\x01\xff"), "visual indicator", 2),
    (frame(0x80, b"\x07\x02\x00A"), "name", 4),
])
def test_malformed_names_element_and_offset(raw, element, offset):
    with pytest.raises(DecodeError) as info:
        CallerId.parse(raw)
    assert info.value.element == element
    assert info.value.offset == offset


@given(callerids(), st.data())
def test_truncated_or_corrupted_messages_raise_decode_error(c, data):
    raw = c.to_mdmf()
    cut = data.draw(st.integers(0, len(raw) - 1))
    with pytest.raises(DecodeError):
        CallerId.parse(raw[:cut])
    i = data.draw(st.integers(0, len(raw) - 1))
    flip = data.draw(st.integers(1, 255))
    bad = bytearray(raw)
    bad[i] ^= flip
    with pytest.raises(DecodeError):
        CallerId.parse(bytes(bad))  # any single-byte change breaks the checksum or the length


@given(st.binary(max_size=64), st.sampled_from([0x04, 0x06, 0x80, 0x82, 0x11]))
def test_random_bodies_parse_or_raise_decode_error(body, msg_type):
    try:
        c = CallerId.parse(frame(msg_type, body))
    except DecodeError:
        return
    assert isinstance(c, CallerId)


@given(st.text(max_size=12))
def test_random_dtmf_strings_parse_or_raise_decode_error(s):
    try:
        CallerId.from_dtmf(s)
    except DecodeError:
        pass


@pytest.mark.parametrize("bad", ["A12", "12C", "AC", "A1C2", "A1EC", "B11C", "", "D4C", "A1#2#", "DC"])
def test_malformed_dtmf(bad):
    with pytest.raises(DecodeError):
        CallerId.from_dtmf(bad)


def test_build_rejects_bad_values():
    with pytest.raises(ValueError):
        CallerId(number_absent_reason="X")
    with pytest.raises(ValueError):
        CallerId(number="1").to_sdmf()  # SDMF needs date/time
    with pytest.raises(ValueError):
        CallerId(datetime=(13, 1, 1, 1), number="1").to_sdmf()
    with pytest.raises(ValueError):
        CallerId(datetime=(1, 1, 1, 1), number="P").to_sdmf()
    with pytest.raises(ValueError):
        CallerId(name="é").to_mdmf()
    with pytest.raises(ValueError):
        CallerId(name="x" * 300).to_mdmf()
    with pytest.raises(ValueError):
        CallerId(number="12A").to_dtmf()
    with pytest.raises(ValueError):
        CallerId(number="12").to_dtmf(start="B")
    with pytest.raises(ValueError):
        CallerId(number="1").to_dtmf()  # 'D1C' would read as an absence code
    with pytest.raises(ValueError):
        CallerId(number="1#2").to_dtmf(end="#")
    with pytest.raises(ValueError):
        frame(0x80, bytes(256))
    assert unframe(frame(0x80, b"")) == (0x80, b"")


@pytest.mark.parametrize("standard", ["bell202", "v23"])
@pytest.mark.parametrize("fmt", ["sdmf", "mdmf"])
def test_signal_helpers_round_trip(standard, fmt):
    c = CallerId(number="5551234", name=None if fmt == "sdmf" else "A B", datetime=(12, 31, 23, 59))
    x = callerid_signal(c, standard, fmt)
    assert x.dtype == np.int16 and x.ndim == 1
    assert decode_callerid(np.concatenate([np.zeros(123, np.int16), x]), standard) == [c]
    assert decode_callerid(x[: len(x) - 400], standard) == []  # cut before the checksum


def test_signal_helpers_reject_bad_arguments():
    c = CallerId(number="1", datetime=(1, 1, 1, 1))
    with pytest.raises(ValueError):
        callerid_signal(c, "bell103")
    with pytest.raises(ValueError):
        callerid_signal(c, "v23", fmt="xdmf")
    with pytest.raises(TypeError):
        decode_callerid(np.zeros(160), "bell202")


def test_dtmf_clip_signal():
    pytest.importorskip("pycallcenter.dsp.tones")
    x = callerid_signal(CallerId(number="0123456789"), "dtmf")
    assert x.dtype == np.int16
    assert len(x) >= 12 * 2 * 8 * 65  # 12 digits, tone + pause of at least 65 ms each


@pytest.mark.skipif(importlib.util.find_spec("pycallcenter.dsp.dtmf") is None,
                    reason="pycallcenter.dsp.dtmf is not built yet")
def test_dtmf_clip_audio_round_trip():
    for c in (CallerId(number="0123456789"), CallerId(number_absent_reason="P")):
        x = callerid_signal(c, "dtmf")
        assert decode_callerid(np.concatenate([np.zeros(400, np.int16), x, np.zeros(400, np.int16)]), "dtmf") == [c]
