"""Fuzzing the network-facing input of the CTI server: message checks (any text), raw HTTP requests and
WebSocket frames on a running server. The server answers or closes, never raises, and keeps serving.
A short pass runs in `make test`; the `fuzz` marker runs a long one (`make fuzz`)."""
import json
import socket

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti_rig import Centre
from pycallcenter.cti import protocol as P

SHORT = settings(max_examples=150, deadline=None, suppress_health_check=list(HealthCheck))
LONG = settings(max_examples=5000, deadline=None, suppress_health_check=list(HealthCheck))

json_values = st.recursive(st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
                           lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
                           max_leaves=40)


def depth(value):
    if isinstance(value, list):
        return 1 + max((depth(v) for v in value), default=0)
    if isinstance(value, dict):
        return 1 + max((depth(v) for v in value.values()), default=0)
    return 0


def check_parse(text):
    try:
        msg = P.parse(text)
    except P.CtiError as exc:
        assert exc.code in (P.MALFORMED_JSON, P.BAD_MESSAGE, P.UNKNOWN_COMMAND, P.TOO_LARGE)
        return
    assert isinstance(msg, dict) and msg["cmd"] in P.COMMANDS


@SHORT
@given(st.text(max_size=300) | st.text(alphabet="[]{}\"\\:,1 ", max_size=3000))
def test_message_checks_take_any_text(text):
    check_parse(text)


@SHORT
@given(json_values)
def test_nesting_counts_real_depth(value):
    text = json.dumps(value)
    assert P.nesting(text) == depth(value)


@pytest.fixture(scope="module")
def centre():
    c = Centre()
    yield c
    c.close()


def exchange(port, data, seconds=0.5, half_close=True):
    """Send raw bytes on a new connection; return what came back before the server closed or went quiet."""
    s = socket.create_connection(("127.0.0.1", port), timeout=seconds)
    got = b""
    try:
        s.sendall(data)
        if half_close:
            s.shutdown(socket.SHUT_WR)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, ConnectionError):
        pass
    finally:
        s.close()
    return got


def still_serving(centre):
    head = exchange(centre.server.port, b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", 5.0,
                    half_close=False)
    assert head.startswith(b"HTTP/1.1 200 "), head[:200]


methods = st.sampled_from([b"GET", b"POST", b"PUT", b"HEAD", b"OPTIONS", b"G\x00T", b""]) | st.binary(max_size=8)
paths = st.sampled_from([b"/", b"/login", b"/logout", b"/ws", b"/cti", b"/api/snapshot", b"/wallboard",
                         b"/%00", b"/../../etc/passwd"]) | st.binary(max_size=40)
headers = st.lists(st.tuples(st.sampled_from([b"Host", b"Upgrade", b"Connection", b"Origin", b"Cookie",
                                              b"Content-Length", b"Transfer-Encoding", b"Sec-WebSocket-Key",
                                              b"Sec-WebSocket-Version"]) | st.binary(max_size=12),
                             st.binary(max_size=60)), max_size=8)


def http_case(method, path, hdrs, body):
    lines = [method + b" " + path + b" HTTP/1.1"] + [k + b": " + v for k, v in hdrs]
    return b"\r\n".join(lines) + b"\r\n\r\n" + body


def run_http(centre, method, path, hdrs, body):
    got = exchange(centre.server.port, http_case(method, path, hdrs, body))
    assert got == b"" or got.startswith(b"HTTP/1.") or got.startswith(b"HTTP/1.0"), got[:100]


@SHORT
@given(methods, paths, headers, st.binary(max_size=200))
def test_raw_http_requests(centre, method, path, hdrs, body):
    run_http(centre, method, path, hdrs, body)


def ws_frames(opcodes=st.sampled_from([0, 1, 2, 8, 9, 10, 3, 11, 15])):
    return st.lists(st.tuples(st.booleans(), st.integers(0, 7), opcodes, st.booleans(), st.binary(max_size=300)),
                    min_size=1, max_size=6)


def encode(frames):
    out = b""
    for fin, rsv, op, masked, payload in frames:
        n = len(payload)
        head = bytes([(0x80 if fin else 0) | (rsv << 4) | op])
        length = bytes([n]) if n < 126 else bytes([126]) + n.to_bytes(2, "big")
        head += bytes([length[0] | (0x80 if masked else 0)]) + length[1:]
        if masked:
            mask = b"\x01\x02\x03\x04"
            payload = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
            head += mask
        out += head + payload
    return out


HANDSHAKE = (b"GET /ws HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
             b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


def run_ws(centre, frames):
    auth = encode([(True, 0, 1, True, b'{"cmd":"auth","token":"tok-a1"}')])
    got = exchange(centre.server.port, HANDSHAKE + auth + encode(frames), 0.2, half_close=False)
    assert got.startswith(b"HTTP/1.1 101 "), got[:100]
    centre.tick(2)  # whatever reached the hub runs now, in the engine's tick


@SHORT
@given(ws_frames())
def test_websocket_frames(centre, frames):
    run_ws(centre, frames)


def test_the_server_and_engine_are_fine_after_the_fuzzing(centre):
    still_serving(centre)
    c = centre.client("tok-a2")
    assert centre.request(c, {"cmd": "ping"})["type"] == "reply"
    assert centre.eng.errors == [] and not centre.hub.internal


@pytest.mark.fuzz
@LONG
@given(methods, paths, headers, st.binary(max_size=2000))
def test_raw_http_requests_long(centre, method, path, hdrs, body):
    run_http(centre, method, path, hdrs, body)


@pytest.mark.fuzz
@LONG
@given(ws_frames())
def test_websocket_frames_long(centre, frames):
    run_ws(centre, frames)


@pytest.mark.fuzz
@LONG
@given(st.text(max_size=5000))
def test_message_checks_take_any_text_long(text):
    check_parse(text)


@pytest.mark.fuzz
def test_the_server_and_engine_are_fine_after_the_long_fuzzing(centre):
    test_the_server_and_engine_are_fine_after_the_fuzzing(centre)
