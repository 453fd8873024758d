"""RTP/RTCP, RFC 4733 and RFC 3389 codecs, and the SDES/SRTP glue: round trips and malformed input."""
import base64

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pycallcenter.errors import DecodeError
from pycallcenter.media import rtp
from pycallcenter.media.srtp import SrtpContext, format_crypto, new_key, parse_crypto

u8, u16, u32 = st.integers(0, 255), st.integers(0, 0xFFFF), st.integers(0, 0xFFFFFFFF)


@given(pt=st.integers(0, 127), seq=u16, ts=u32, ssrc=u32, payload=st.binary(max_size=200), marker=st.booleans(),
       csrc=st.lists(u32, max_size=15).map(tuple),
       extension=st.none() | st.tuples(u16, st.binary(max_size=40).map(lambda b: b[:len(b) // 4 * 4])),
       padding=st.integers(0, 255))
def test_rtp_round_trip(pt, seq, ts, ssrc, payload, marker, csrc, extension, padding):
    p = rtp.RtpPacket(pt, seq, ts, ssrc, payload, marker, csrc, extension, padding)
    assert rtp.parse_rtp(p.build()) == p


@pytest.mark.parametrize("data, element, offset", [
    (b"\x80\x00\x00", "RTP header", 0),
    (b"\x40" + bytes(11), "RTP version", 0),
    (b"\x82" + bytes(11) + bytes(4), "RTP CSRC list", 12),
    (b"\x90" + bytes(11) + b"\x00\x00", "RTP header extension", 12),
    (b"\x90" + bytes(11) + b"\x00\x00\x00\x02" + bytes(4), "RTP header extension", 14),
    (b"\xa0" + bytes(11) + b"\x01\x00", "RTP padding", 13),
    (b"\xa0" + bytes(11) + b"\x01\x05", "RTP padding", 13),
])
def test_malformed_rtp_names_element_and_offset(data, element, offset):
    with pytest.raises(DecodeError) as err:
        rtp.parse_rtp(data)
    assert err.value.element == element and err.value.offset == offset


@settings(max_examples=300)
@given(st.binary(max_size=80))
def test_rtp_and_rtcp_parsers_take_any_bytes(data):
    for parse in (rtp.parse_rtp, rtp.parse_rtcp, rtp.parse_event, rtp.parse_cn):
        try:
            parse(data)
        except DecodeError as exc:
            assert exc.element and exc.offset is not None


@pytest.mark.fuzz
@settings(max_examples=20000)
@given(st.binary(max_size=400))
def test_rtp_and_rtcp_parsers_take_any_bytes_long(data):
    test_rtp_and_rtcp_parsers_take_any_bytes.hypothesis.inner_test(data)


blocks = st.builds(rtp.ReportBlock, u32, u8, st.integers(-(1 << 23), (1 << 23) - 1), u32, u32, u32, u32)
sdes_items = st.lists(st.tuples(st.integers(1, 8), st.binary(max_size=30)), max_size=3).map(tuple)
rtcp_packets = st.one_of(
    st.builds(rtp.SenderReport, u32, st.integers(0, (1 << 64) - 1), u32, u32, u32,
              st.lists(blocks, max_size=3).map(tuple)),
    st.builds(rtp.ReceiverReport, u32, st.lists(blocks, max_size=3).map(tuple)),
    st.builds(rtp.Sdes, st.lists(st.tuples(u32, sdes_items), max_size=3).map(tuple)),
    st.builds(rtp.Bye, st.lists(u32, max_size=3).map(tuple), st.binary(max_size=20)),
    st.builds(rtp.RtcpOther, st.integers(205, 207), st.integers(0, 31),
              st.binary(max_size=12).map(lambda b: b[:len(b) // 4 * 4])),
)


@given(first=st.one_of(rtcp_packets.filter(lambda p: isinstance(p, (rtp.SenderReport, rtp.ReceiverReport)))),
       rest=st.lists(rtcp_packets, max_size=4))
def test_rtcp_compound_round_trip(first, rest):
    packets = [first] + rest
    assert rtp.parse_rtcp(rtp.build_rtcp(packets)) == packets


def test_rtcp_report_fields_and_cname():
    block = rtp.ReportBlock(7, fraction_lost=64, cumulative_lost=-3, highest_seq=70000, jitter=12, lsr=0xABCD0000,
                            dlsr=65536)
    sr = rtp.SenderReport(1, rtp.ntp_time(0.0), 160, 10, 1600, (block,))
    data = rtp.build_rtcp([sr, rtp.Sdes(((1, ((rtp.CNAME, b"pycc@host"),)),)), rtp.Bye((1,), b"bye")])
    got = rtp.parse_rtcp(data)
    assert got[0].reports[0].cumulative_lost == -3 and got[0].ntp >> 32 == rtp.NTP_UNIX_OFFSET
    assert got[1].cname() == "pycc@host" and got[2].reason == b"bye"
    assert len(data) % 4 == 0


@pytest.mark.parametrize("data, element", [
    (rtp.build_rtcp([rtp.Sdes(((1, ()),))]), "RTCP type"),  # a compound must start with SR or RR
    (rtp.build_rtcp([rtp.ReceiverReport(1)])[:-1] + b"", "RTCP header"),
    (b"\x81\xc9\x00\x09" + bytes(8), "RTCP length"),
    (b"\x81\xc9\x00\x01" + bytes(4), "RTCP report block"),
    (b"\x40\xc9\x00\x01" + bytes(4), "RTCP version"),
    (b"\xa0\xc9\x00\x01" + bytes(4) + rtp.build_rtcp([rtp.Bye((1,))]), "RTCP padding"),
])
def test_malformed_rtcp_names_element(data, element):
    with pytest.raises(DecodeError) as err:
        rtp.parse_rtcp(data)
    assert err.value.element == element


def test_telephone_event_payload():
    ev = rtp.TelephoneEvent(rtp.digit_event("#"), end=True, volume=10, duration=800)
    assert ev.build() == bytes([11, 0x8A, 0x03, 0x20])
    assert rtp.parse_event(ev.build()) == ev and ev.digit == "#"
    assert [rtp.DIGIT_OF_EVENT[rtp.digit_event(d)] for d in "0123456789*#ABCD"] == list("0123456789*#ABCD")
    assert rtp.parse_event(bytes([16, 0, 0, 0])).digit is None  # a flash, not a digit
    with pytest.raises(ValueError):
        rtp.digit_event("X")


def test_comfort_noise_level():
    assert rtp.parse_cn(rtp.build_cn(40, b"\x01\x02")) == (40, b"\x01\x02")
    noise = np.random.default_rng(1).standard_normal(8000) * rtp.cn_rms(40)
    assert rtp.cn_level(noise) == 40
    assert rtp.cn_level(np.zeros(160)) == 127
    with pytest.raises(DecodeError):
        rtp.parse_cn(bytes([200]))


# ---- SDES and SRTP -------------------------------------------------------------------------------------

def test_crypto_attribute_round_trip_and_errors():
    key = new_key()
    value = format_crypto("AES_CM_128_HMAC_SHA1_32", key)
    assert parse_crypto(value) == ("AES_CM_128_HMAC_SHA1_32", key)
    assert parse_crypto("1 " + value + "|2^20") == ("AES_CM_128_HMAC_SHA1_32", key)
    b64 = base64.b64encode(key).decode()
    for bad, element in [("AES_256_CM_HMAC_SHA1_80 inline:" + b64, "crypto suite"),
                         ("AES_CM_128_HMAC_SHA1_80 key:" + b64, "crypto key"),
                         ("AES_CM_128_HMAC_SHA1_80 inline:!!!!", "crypto key"),
                         ("AES_CM_128_HMAC_SHA1_80 inline:" + b64 + "|2^20|1:4", "crypto MKI"),
                         ("AES_CM_128_HMAC_SHA1_80", "crypto")]:
        with pytest.raises(DecodeError) as err:
            parse_crypto(bad)
        assert err.value.element == element


def test_srtp_protects_and_authenticates():
    ka, kb = new_key(), new_key()
    alice = SrtpContext("AES_CM_128_HMAC_SHA1_80", ka, kb)
    bob = SrtpContext("AES_CM_128_HMAC_SHA1_80", kb, ka)
    plain = rtp.build_rtp(0, 1, 160, 42, bytes(range(160)))
    wire = alice.protect(plain)
    assert len(wire) == len(plain) + 10 and wire[12:] != plain[12:]
    assert bob.unprotect(wire) == plain
    tampered = bytearray(alice.protect(rtp.build_rtp(0, 2, 320, 42, bytes(160))))
    tampered[30] ^= 0x40
    assert bob.unprotect(bytes(tampered)) is None
    assert bob.unprotect(wire) is None  # a replay
    report = rtp.build_rtcp([rtp.ReceiverReport(42)])
    assert alice.unprotect_rtcp(bob.protect_rtcp(report)) == report
