"""A minimal blocking CTI client over WebSocket (on the ``websockets`` package, from the test extra), for
tests, the soak's flood and scripts.

docs/cti.md shows a client in a dozen lines of standard library for desktops that cannot import pycallcenter.
"""
import json

# WebSocket opcodes (RFC 6455 section 5.2), for send_raw
CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA


class CtiClient:
    """One WebSocket connection to the CTI server; ``send`` a dict, ``receive`` the frames that arrived.

    Handshake refusals and a closed connection raise ConnectionError (an OSError)."""

    def __init__(self, host, port, path="/ws", timeout=5.0, ssl=None, origin=None, cookie=None):
        from websockets.exceptions import WebSocketException
        from websockets.sync.client import connect

        scheme = "wss" if ssl else "ws"
        headers = {"Cookie": cookie} if cookie else None
        try:
            self.conn = connect(f"{scheme}://{host}:{port}{path}", ssl=ssl, origin=origin, open_timeout=timeout,
                                additional_headers=headers, compression=None, proxy=None, ping_interval=None,
                                close_timeout=2)
        except (WebSocketException, TimeoutError) as exc:
            raise ConnectionError(f"WebSocket handshake refused: {exc}") from None
        self.sock = self.conn.socket
        self.pending = []  # frames received and not yet returned
        self.closed = False

    @property
    def close_code(self):
        """Return the close code the server sent (None while open)."""
        rcvd = self.conn.protocol.close_rcvd
        return rcvd.code if rcvd is not None else None

    def send(self, message):
        """Send one message (a dict as JSON text)."""
        from websockets.exceptions import ConnectionClosed

        try:
            self.conn.send(json.dumps(message))
        except ConnectionClosed as exc:
            self.closed = True
            raise ConnectionError(str(exc)) from None

    def send_raw(self, opcode, payload, fin=True, mask=True):
        """Send one frame as it is, past the library's checks (tests use it for fragments, pings, bad input)."""
        from websockets.frames import Frame, Opcode

        data = payload.encode("utf-8", "surrogatepass") if isinstance(payload, str) else bytes(payload)
        frame = Frame(Opcode(opcode), data, fin=fin)
        self.sock.sendall(frame.serialize(mask=mask))

    def receive(self, wait=0.0):
        """Return the frames that arrived (waiting up to wait seconds for the first)."""
        from websockets.exceptions import ConnectionClosed

        while not self.closed:
            try:
                text = self.conn.recv(timeout=wait)
            except TimeoutError:
                break
            except ConnectionClosed:
                self.closed = True
                break
            self.pending.append(json.loads(text))
            wait = 0.0
        out, self.pending = self.pending, []
        return out

    def close(self):
        """Close the connection (a close frame, then the socket)."""
        self.closed = True
        self.conn.close()
