"""A minimal blocking CTI client over WebSocket (stdlib socket + our framing), for tests and scripts.

docs/cti.md shows the same in a dozen lines for agent desktops that cannot import pycallcenter.
"""
import json
import select
import socket

from pycallcenter.cti import ws
from pycallcenter.errors import RemoteProtocolError


class CtiClient:
    """One WebSocket connection to the CTI server; ``send`` a dict, ``receive`` the frames that arrived."""

    def __init__(self, host, port, path="/cti", timeout=5.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        request, key = ws.client_request(f"{host}:{port}", path)
        self.sock.sendall(request)
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise RemoteProtocolError("connection closed during the handshake")
            head += chunk
        head, _, rest = head.partition(b"\r\n\r\n")
        status = head.split(b"\r\n")[0]
        if b" 101 " not in status or ws.accept_key(key).encode() not in head:
            raise RemoteProtocolError(f"handshake refused: {status.decode('latin-1')}")
        self.parser = ws.FrameParser(server=False)
        self.pending = []  # frames received and not yet returned
        self.control = []  # (opcode, payload) of control frames seen
        self.closed = False
        self._take(rest)

    def send(self, message):
        """Send one message (a dict as JSON text)."""
        self.send_raw(ws.TEXT, json.dumps(message))

    def send_raw(self, opcode, payload, fin=True):
        """Send one masked frame as it is (tests use it for fragments, pings and bad input)."""
        self.sock.sendall(ws.encode_frame(opcode, payload, fin=fin, mask=True))

    def _take(self, data):
        for op, payload in self.parser.feed(data):
            if op == ws.TEXT:
                self.pending.append(json.loads(payload))
            else:
                self.control.append((op, payload))
                if op == ws.PING:
                    self.send_raw(ws.PONG, payload)
                elif op == ws.CLOSE:
                    self.closed = True

    def receive(self, wait=0.0):
        """Return the frames that arrived (waiting up to wait seconds for the first bytes)."""
        while not self.closed:
            r, _, _ = select.select([self.sock], [], [], wait)
            if not r:
                break
            data = self.sock.recv(65536)
            if not data:
                self.closed = True
                break
            self._take(data)
            wait = 0.0
        out, self.pending = self.pending, []
        return out

    def close(self):
        """Send a close frame and close the socket."""
        try:
            self.send_raw(ws.CLOSE, ws.close_payload(1000))
        except OSError:
            pass
        self.sock.close()
