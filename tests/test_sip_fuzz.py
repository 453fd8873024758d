"""Mutated valid SIP messages: the parser and stream framer return a message or raise DecodeError, nothing else."""
import pytest
from hypothesis import given, settings, strategies as st

from pycallcenter.errors import DecodeError
from pycallcenter.sip.message import StreamFramer, bad_request_response, parse_message
from sip_torture import SDP150, crlf, ESC01, INTMETH, IPV6, LWSDISP, NOREASON, SEMIURI, TRANSPORTS, UNREASON, WSINV

SEEDS = [WSINV, INTMETH, ESC01, IPV6, LWSDISP, NOREASON, SEMIURI, TRANSPORTS, UNREASON]
_SPECIAL = st.sampled_from(list(b" \t\r\n:;,<>\"\\@%=/[]?&0"))


@st.composite
def mutated(draw):
    data = bytearray(draw(st.sampled_from(SEEDS)))
    for _ in range(draw(st.integers(1, 6))):
        if not data:
            break
        pos = draw(st.integers(0, len(data) - 1))
        kind = draw(st.integers(0, 3))
        if kind == 0:
            data[pos] = draw(st.one_of(_SPECIAL, st.integers(0, 255)))
        elif kind == 1:
            del data[pos:pos + draw(st.integers(1, 8))]
        elif kind == 2:
            data[pos:pos] = draw(st.binary(min_size=1, max_size=6))
        else:
            data[pos:pos] = bytes([draw(_SPECIAL)])
    return bytes(data)


def _check(data):
    for datagram in (True, False):
        try:
            msg = parse_message(data, datagram=datagram)
        except DecodeError as err:
            assert err.element is not None and err.offset is not None
            reply = bad_request_response(data, err)  # what a user agent answers: never raises
            assert reply is None or reply.encode().startswith(b"SIP/2.0 400 ")
        else:
            # a message that parsed exposes its typed headers without surprises and rebuilds to a parseable one
            msg.via, msg.from_, msg.to, msg.cseq, msg.contact, msg.route, msg.max_forwards
            assert type(parse_message(msg.encode())) is type(msg)
    framer = StreamFramer()
    try:
        for i in range(0, len(data), 97):
            framer.feed(data[i:i + 97])
    except DecodeError as err:
        assert err.element is not None and err.offset is not None


@settings(max_examples=300)
@given(mutated())
def test_mutated_messages_parse_or_raise_decode_error(data):
    _check(data)


@pytest.mark.fuzz
@given(mutated())
def test_mutated_messages_long_run(data):
    _check(data)


@pytest.mark.fuzz
@given(st.binary(max_size=600))
def test_random_bytes_long_run(data):
    _check(data)


def _check_sdp(data):
    from pycallcenter.sip import sdp
    try:
        sd = sdp.parse_sdp(data)
    except DecodeError as err:
        assert err.element is not None and err.offset is not None
        return
    for m in sd.media:
        m.rtpmap, m.fmtp, m.ptime, m.crypto, m.direction
    sdp.answer(sd, "192.0.2.9", 7000)
    assert sdp.parse_sdp(sd.encode()).media == sd.media


@st.composite
def mutated_sdp(draw):
    from test_sip_sdp import EXAMPLE
    data = bytearray(draw(st.sampled_from([EXAMPLE, crlf(SDP150)])))
    for _ in range(draw(st.integers(1, 4))):
        pos = draw(st.integers(0, len(data) - 1))
        if draw(st.booleans()):
            data[pos] = draw(st.one_of(st.sampled_from(list(b" \r\n:/=0a")), st.integers(0, 255)))
        else:
            del data[pos:pos + draw(st.integers(1, 5))]
    return bytes(data)


@settings(max_examples=200)
@given(mutated_sdp())
def test_mutated_sdp_parses_or_raises_decode_error(data):
    _check_sdp(data)


@pytest.mark.fuzz
@given(mutated_sdp())
def test_mutated_sdp_long_run(data):
    _check_sdp(data)


@settings(max_examples=300)
@given(st.text(alphabet=st.sampled_from(list('Digest realm="r",nonce=\\ \t,=qopalgMD5-256')), max_size=60))
def test_auth_header_values_parse_or_raise_decode_error(value):
    from pycallcenter.sip import auth
    try:
        auth.Challenge.parse(value)
    except DecodeError as err:
        assert err.element == "WWW-Authenticate" and 0 <= err.offset <= len(value)
    assert auth.DigestServer("r", b"k", {}.get).check(value, "INVITE", 0.0)[0] == auth.FAILED
