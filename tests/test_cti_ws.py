"""RFC 6455 framing and handshake: the RFC's own examples, fragments, control frames, bad input."""
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.cti import protocol as P
from pycallcenter.cti import ws
from pycallcenter.errors import DecodeError


def test_accept_key_is_the_rfc_example():
    assert ws.accept_key("dGhlIHNhbXBsZSBub25jZQ==") == "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def test_handshake_response_and_refusals():
    h = {"upgrade": "websocket", "connection": "keep-alive, Upgrade", "sec-websocket-version": "13",
         "sec-websocket-key": "dGhlIHNhbXBsZSBub25jZQ=="}
    resp = ws.handshake_response(h)
    assert resp.startswith(b"HTTP/1.1 101 ") and b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=" in resp
    for bad in ({"sec-websocket-version": "8"}, {"sec-websocket-key": "short"}, {"upgrade": "h2c"}):
        with pytest.raises(DecodeError):
            ws.handshake_response({**h, **bad})


def test_rfc_examples_masked_unmasked_and_fragmented():
    server = ws.FrameParser(server=True)
    assert server.feed(bytes([0x81, 0x85, 0x37, 0xFA, 0x21, 0x3D, 0x7F, 0x9F, 0x4D, 0x51, 0x58])) == [(ws.TEXT, b"Hello")]
    client = ws.FrameParser(server=False)
    assert client.feed(bytes([0x81, 0x05]) + b"Hello") == [(ws.TEXT, b"Hello")]
    # fragments with a ping in between: the ping comes out first, then the whole message
    data = bytes([0x01, 0x03]) + b"Hel" + bytes([0x89, 0x02]) + b"hi" + bytes([0x80, 0x02]) + b"lo"
    assert client.feed(data) == [(ws.PING, b"hi"), (ws.TEXT, b"Hello")]
    assert ws.encode_frame(ws.TEXT, "Hello") == bytes([0x81, 0x05]) + b"Hello"


@given(st.binary(max_size=70000), st.integers(1, 50))
def test_any_payload_round_trips_whatever_the_chunking(payload, chunk):
    frame = ws.encode_frame(ws.BINARY, payload, mask=True)
    p = ws.FrameParser(server=True)
    out = []
    step = max(1, len(frame) // chunk)
    for i in range(0, len(frame), step):
        out += p.feed(frame[i:i + step])
    assert out == [(ws.BINARY, payload)]


@pytest.mark.parametrize("data, element", [
    (bytes([0x81, 0x05]) + b"Hello", "mask"),  # a client frame must be masked
    (bytes([0xC1, 0x80, 0, 0, 0, 0]), "rsv"),
    (bytes([0x83, 0x80, 0, 0, 0, 0]), "opcode"),
    (bytes([0x80, 0x80, 0, 0, 0, 0]), "opcode"),  # continuation with nothing to continue
    (bytes([0x09, 0x80, 0, 0, 0, 0]), "control"),  # fragmented ping
    (bytes([0x81, 0x82, 0, 0, 0, 0, 0xC3, 0x28]), "payload"),  # invalid UTF-8
    (bytes([0x81, 0xFF]) + (1 << 40).to_bytes(8, "big"), "length"),
])
def test_bad_frames_raise_decode_error(data, element):
    with pytest.raises(DecodeError) as e:
        ws.FrameParser(server=True).feed(data)
    assert e.value.element == element


def test_parse_gives_codes_for_bad_messages():
    for text, code in (("{nope", P.MALFORMED_JSON), ("[1]", P.BAD_MESSAGE), ('{"x":1}', P.BAD_MESSAGE),
                       ('{"cmd":"fly"}', P.UNKNOWN_COMMAND), ('{"cmd":"dial"}', P.BAD_MESSAGE)):
        with pytest.raises(P.CtiError) as e:
            P.parse(text)
        assert e.value.code == code
    assert P.parse('{"cmd":"ready","id":3}') == {"cmd": "ready", "id": 3}


def test_rate_limiter_refills_with_its_clock():
    t = [0.0]
    lim = P.RateLimiter(rate=2, burst=3, clock=lambda: t[0])
    assert [lim.allow() for _ in range(5)] == [True, True, True, False, False]
    t[0] = 1.0
    assert [lim.allow() for _ in range(3)] == [True, True, False]
