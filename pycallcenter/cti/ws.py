"""RFC 6455 WebSocket, sans-IO: the opening handshake and the frame codec, for server and client.

The server side requires masked frames from clients (RFC 6455 5.1) and sends unmasked ones; the
client side (tests, the example agent client) does the opposite. Fragmented messages are
reassembled; control frames (ping, pong, close) may arrive between fragments and are returned
at once. Anything malformed raises DecodeError, after which the connection must be closed.
"""
import base64
import hashlib
import os
import struct

from pycallcenter.errors import DecodeError

GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
CONTROL = (CLOSE, PING, PONG)
MAX_MESSAGE = 1 << 20  # a CTI message is small; refuse anything larger than 1 MiB


def accept_key(key):
    """Return the Sec-WebSocket-Accept value for a client's Sec-WebSocket-Key."""
    return base64.b64encode(hashlib.sha1((key + GUID).encode("ascii")).digest()).decode("ascii")


def parse_request(head):
    """Return (method, path, headers with lower-case names) of an HTTP request head (bytes up to the blank line)."""
    try:
        lines = head.decode("latin-1").split("\r\n")
        method, path, version = lines[0].split(" ")
    except ValueError:
        raise DecodeError("bad HTTP request line", element="request_line") from None
    if not version.startswith("HTTP/1."):
        raise DecodeError(f"unsupported HTTP version {version!r}", element="request_line")
    headers = {}
    for line in lines[1:]:
        if not line:
            continue
        name, sep, value = line.partition(":")
        if not sep:
            raise DecodeError(f"bad header line {line[:40]!r}", element="header")
        headers[name.strip().lower()] = value.strip()
    return method, path, headers


def handshake_response(headers):
    """Return the 101 response bytes for an upgrade request's headers; DecodeError if it is not a valid one."""
    if headers.get("upgrade", "").lower() != "websocket":
        raise DecodeError("not a WebSocket upgrade", element="upgrade")
    if "upgrade" not in headers.get("connection", "").lower():
        raise DecodeError("Connection header lacks 'upgrade'", element="connection")
    if headers.get("sec-websocket-version") != "13":
        raise DecodeError("only WebSocket version 13 is supported", element="sec-websocket-version")
    key = headers.get("sec-websocket-key", "")
    try:
        if len(base64.b64decode(key, validate=True)) != 16:
            raise ValueError
    except ValueError:
        raise DecodeError("bad Sec-WebSocket-Key", element="sec-websocket-key") from None
    return ("HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Accept: {accept_key(key)}\r\n\r\n").encode("ascii")


def client_request(host, path="/cti", key=None):
    """Return (request bytes, key) for a client's opening handshake."""
    key = key or base64.b64encode(os.urandom(16)).decode("ascii")
    req = (f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
           f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n")
    return req.encode("ascii"), key


def _mask(payload, key):
    if not payload:
        return b""
    n = len(payload)
    k = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(k, "little")).to_bytes(n, "little")


def encode_frame(opcode, payload=b"", fin=True, mask=False):
    """Return one frame's bytes; mask=True (clients) masks with a random key."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    m = 0x80 if mask else 0
    if n < 126:
        head += bytes([m | n])
    elif n < 1 << 16:
        head += bytes([m | 126]) + struct.pack("!H", n)
    else:
        head += bytes([m | 127]) + struct.pack("!Q", n)
    if mask:
        key = os.urandom(4)
        return head + key + _mask(payload, key)
    return head + payload


def close_payload(code=1000, reason=""):
    """Return a close frame's payload: the status code and a UTF-8 reason."""
    return struct.pack("!H", code) + reason.encode("utf-8")[:120]


class FrameParser:
    """Feed bytes, get complete messages: (opcode, payload bytes); TEXT payloads are checked UTF-8."""

    def __init__(self, server=True, max_message=MAX_MESSAGE):
        self.server = server
        self.max_message = max_message
        self.buf = bytearray()
        self._frag_op = None
        self._frag = bytearray()

    def feed(self, data):
        """Return the list of messages completed by data."""
        self.buf += data
        out = []
        while True:
            frame = self._frame()
            if frame is None:
                return out
            msg = self._message(*frame)
            if msg is not None:
                out.append(msg)

    def _frame(self):
        b = self.buf
        if len(b) < 2:
            return None
        fin, rsv, opcode = b[0] & 0x80, b[0] & 0x70, b[0] & 0x0F
        masked, n = b[1] & 0x80, b[1] & 0x7F
        if rsv:
            raise DecodeError("reserved bits set (no extension was negotiated)", element="rsv", offset=0)
        if opcode not in (CONT, TEXT, BINARY) + CONTROL:
            raise DecodeError(f"unknown opcode {opcode:#x}", element="opcode", offset=0)
        if bool(masked) != self.server:
            raise DecodeError("client frames must be masked, server frames not", element="mask", offset=1)
        pos = 2
        if n == 126:
            if len(b) < 4:
                return None
            n, pos = struct.unpack_from("!H", b, 2)[0], 4
        elif n == 127:
            if len(b) < 10:
                return None
            n, pos = struct.unpack_from("!Q", b, 2)[0], 10
        if opcode in CONTROL and (n > 125 or not fin):
            raise DecodeError("control frames are short and not fragmented", element="control", offset=0)
        if n > self.max_message:
            raise DecodeError(f"frame of {n} bytes is too large", element="length", offset=1)
        key = b""
        if masked:
            if len(b) < pos + 4:
                return None
            key, pos = bytes(b[pos:pos + 4]), pos + 4
        if len(b) < pos + n:
            return None
        payload = bytes(b[pos:pos + n])
        del b[:pos + n]
        return bool(fin), opcode, _mask(payload, key) if masked else payload

    def _message(self, fin, opcode, payload):
        if opcode in CONTROL:
            if opcode == CLOSE and len(payload) == 1:
                raise DecodeError("close payload of one byte", element="close")
            return opcode, payload
        if opcode == CONT:
            if self._frag_op is None:
                raise DecodeError("continuation frame without a message to continue", element="opcode")
        elif self._frag_op is not None:
            raise DecodeError("new message before the fragmented one ended", element="opcode")
        else:
            self._frag_op = opcode
        self._frag += payload
        if len(self._frag) > self.max_message:
            raise DecodeError("message too large", element="length")
        if not fin:
            return None
        op, data = self._frag_op, bytes(self._frag)
        self._frag_op, self._frag = None, bytearray()
        if op == TEXT:
            try:
                data.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise DecodeError("text message is not UTF-8", element="payload", offset=exc.start) from None
        return op, data
