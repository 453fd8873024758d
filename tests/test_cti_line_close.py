"""The JSON-lines port ends a connection gracefully after too_large: the reply, then EOF, not a TCP reset,
even when the client sent far more than the limit in one go."""
import json
import socket

from test_cti_abuse import make


def _read_to_end(sock):
    """Return everything the server sends until EOF; raises ConnectionResetError on a reset."""
    sock.settimeout(10.0)
    got = bytearray()
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return bytes(got)
        got += chunk


def test_too_large_reply_is_read_and_followed_by_eof_not_a_reset():
    centre = make()
    try:
        limit = centre.server.limits.max_message
        for tail in (b"", b"x" * (8 * limit)):  # twice the limit in one go; and more still arriving after
            s = socket.create_connection(("127.0.0.1", centre.server.tcp_port), timeout=5)
            s.sendall(b"x" * (2 * limit))
            if tail:
                s.sendall(tail + b"\n")
            got = _read_to_end(s)  # a reset here (unread data at close) would lose the reply
            frames = [json.loads(line) for line in got.splitlines() if line]
            assert frames and frames[-1]["code"] == "too_large", got[:200]
            s.close()
    finally:
        centre.close()
