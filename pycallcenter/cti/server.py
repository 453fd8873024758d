"""The network side of the CTI server: asyncio on its own thread, WebSocket and JSON lines.

One port speaks HTTP: ``GET /`` is the wallboard page, ``GET /api/snapshot`` its JSON, and an
upgrade on ``/cti`` (or any path) opens a WebSocket carrying one JSON message per text frame. A
second, optional port takes the same messages as JSON lines for embedded clients. Each connection
is rate limited; bad input gets an error frame and the connection stays open (only broken
framing closes it, as RFC 6455 requires). Parsed messages go to the hub's inbox; the engine
thread runs them at its next tick.
"""
import asyncio
import itertools
import threading

from pycallcenter.cti import protocol as P
from pycallcenter.cti import ws
from pycallcenter.errors import DecodeError

HEAD_TIMEOUT = 10.0  # seconds a client may take to send its request head (no idle half-open sockets)
MAX_LINE = 65536
MAX_BUFFER = 1 << 20  # a client that lets this much pile up unread is cut off, not buffered forever


class _Conn:
    def __init__(self, cid, writer, kind, limiter):
        self.id, self.writer, self.kind, self.limiter = cid, writer, kind, limiter

    def send(self, frame):
        text = P.dumps(frame)
        if self.kind == "ws":
            self.writer.write(ws.encode_frame(ws.TEXT, text))
        else:
            self.writer.write(text.encode("utf-8") + b"\n")


class CtiServer:
    """Serve a :class:`~pycallcenter.cti.hub.CtiHub` on host:port (WebSocket + HTTP) and tcp_port (JSON lines).

    Port 0 picks a free port; read :attr:`port` / :attr:`tcp_port` after :meth:`start`.
    rate/burst: messages a second per connection and the burst allowed.
    """

    def __init__(self, hub, host="127.0.0.1", port=0, tcp_port=None, rate=20.0, burst=40, clock=None):
        self.hub, self.host, self.port, self.tcp_port = hub, host, port, tcp_port
        self.rate, self.burst, self.clock = rate, burst, clock
        self.conns = {}
        self._ids = itertools.count(1)
        self.loop = None
        self._thread = None
        self._ready = threading.Event()
        self._servers = []
        self._error = None
        hub.deliver = self._deliver_threadsafe

    # --- life cycle --------------------------------------------------------------------------------
    def start(self):
        """Start the server thread; return self once the ports are bound."""
        self._thread = threading.Thread(target=self._main, name="cti-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _main(self):
        self.loop = asyncio.new_event_loop()
        try:
            self.loop.run_until_complete(self._bind())
        except OSError as exc:
            self._error = exc
            self._ready.set()
            return
        self._ready.set()
        self.loop.run_forever()
        for s in self._servers:
            s.close()
        self.loop.run_until_complete(asyncio.sleep(0))
        self.loop.close()

    async def _bind(self):
        s = await asyncio.start_server(self._http_client, self.host, self.port, limit=MAX_LINE)
        self.port = s.sockets[0].getsockname()[1]
        self._servers.append(s)
        if self.tcp_port is not None:
            t = await asyncio.start_server(self._line_client, self.host, self.tcp_port, limit=MAX_LINE)
            self.tcp_port = t.sockets[0].getsockname()[1]
            self._servers.append(t)

    def stop(self):
        """Close every connection and stop the thread."""
        if self.loop is None or not self._thread.is_alive():
            return

        def shut():
            for c in list(self.conns.values()):
                c.writer.close()
            self.loop.stop()

        self.loop.call_soon_threadsafe(shut)
        self._thread.join(5)

    # --- frames out (called from the engine thread) ---------------------------------------------------
    def _deliver_threadsafe(self, batch):
        if self.loop is not None and not self.loop.is_closed():
            try:
                self.loop.call_soon_threadsafe(self._deliver, batch)
            except RuntimeError:  # the loop closed between the check and the call
                pass

    def _deliver(self, batch):
        for cid, frame in batch:
            c = self.conns.get(cid)
            if c is not None and not c.writer.is_closing():
                if c.writer.transport.get_write_buffer_size() > MAX_BUFFER:
                    self._close(c)
                else:
                    c.send(frame)

    # --- connections -----------------------------------------------------------------------------
    def _open(self, writer, kind):
        limiter = P.RateLimiter(self.rate, self.burst, **({"clock": self.clock} if self.clock else {}))
        c = _Conn(next(self._ids), writer, kind, limiter)
        self.conns[c.id] = c
        return c

    def _close(self, c):
        self.conns.pop(c.id, None)
        self.hub.inbox.put(("close", c.id, None))
        if not c.writer.is_closing():
            c.writer.close()

    def _text_in(self, c, text):
        """One client message: rate limit, parse, queue for the engine; errors answered at once."""
        if not c.limiter.allow():
            c.send(P.error(None, P.RATE_LIMITED, "too many messages; slow down"))
            return
        try:
            msg = P.parse(text)
        except P.CtiError as exc:
            c.send(P.error(exc.msg_id, exc.code, str(exc)))
            return
        self.hub.inbox.put(("msg", c.id, msg))

    async def _line_client(self, reader, writer):
        c = self._open(writer, "tcp")
        try:
            while True:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    c.send(P.error(None, P.BAD_MESSAGE, "line too long"))
                    break
                except asyncio.IncompleteReadError:
                    break
                line = line.strip()
                if line:
                    self._text_in(c, line.decode("utf-8", "replace"))
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            self._close(c)

    async def _http_client(self, reader, writer):
        try:
            head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), HEAD_TIMEOUT)
            method, path, headers = ws.parse_request(head[:-4])
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError, asyncio.TimeoutError):
            writer.close()
            return
        except DecodeError as exc:
            await self._respond(writer, 400, "text/plain", str(exc).encode())
            return
        if headers.get("upgrade", "").lower() == "websocket":
            try:
                writer.write(ws.handshake_response(headers))
            except DecodeError as exc:
                await self._respond(writer, 400, "text/plain", str(exc).encode())
                return
            await self._websocket(reader, writer)
            return
        if method != "GET":
            await self._respond(writer, 405, "text/plain", b"only GET")
        elif path.split("?")[0] == "/api/snapshot":
            await self._respond(writer, 200, "application/json", self.hub.snapshot_json().encode())
        elif path.split("?")[0] in ("/", "/index.html", "/wallboard"):
            from pycallcenter.wallboard.page import HTML

            await self._respond(writer, 200, "text/html; charset=utf-8", HTML.encode("utf-8"))
        else:
            await self._respond(writer, 404, "text/plain", b"not found")

    async def _respond(self, writer, status, ctype, body):
        reason = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed"}[status]
        writer.write(f"HTTP/1.1 {status} {reason}\r\nContent-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                     "Cache-Control: no-store\r\nConnection: close\r\n\r\n".encode("ascii") + body)
        try:
            await writer.drain()
        except ConnectionError:
            pass
        writer.close()

    async def _websocket(self, reader, writer):
        c = self._open(writer, "ws")
        parser = ws.FrameParser(server=True)
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                try:
                    messages = parser.feed(data)
                except DecodeError as exc:
                    writer.write(ws.encode_frame(ws.CLOSE, ws.close_payload(1002, str(exc)[:100])))
                    break
                closing = False
                for op, payload in messages:
                    if op == ws.TEXT:
                        self._text_in(c, payload.decode("utf-8"))
                    elif op == ws.BINARY:
                        c.send(P.error(None, P.BAD_MESSAGE, "send JSON in text frames"))
                    elif op == ws.PING:
                        writer.write(ws.encode_frame(ws.PONG, payload))
                    elif op == ws.CLOSE:
                        writer.write(ws.encode_frame(ws.CLOSE, payload[:2]))
                        closing = True
                        break
                await writer.drain()
                if closing:
                    break
        except ConnectionError:
            pass
        finally:
            self._close(c)
