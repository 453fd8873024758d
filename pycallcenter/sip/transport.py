"""The IO around the sans-IO SIP core for stream transports: TCP and TLS (stdlib ``ssl``) on asyncio.

``Endpoint`` is what every transport shares: it feeds a ``UserAgent`` with the loop's clock as ``now``,
queues call events for its user (``events``, counted in ``counts``) and keeps one timer armed at the user
agent's ``next_deadline()``. ``SipStreamEndpoint`` adds connections:

- **Framing**: each connection has its own ``StreamFramer`` (Content-Length framing, CRLF keep-alives
  skipped, header and body sizes capped). A stream that does not frame is closed: its boundaries are lost.
- **Connection reuse** (RFC 3261 18): a response goes back over the connection its request came on (the user
  agent answers to the request's source, which names the connection); a request to an address goes over a
  connection already open to it, else over a new one (connect, then send what waited).
- **Bounds**: at most ``max_per_source`` connections from one host and ``max_connections`` in all (more are
  closed at once), an unread output buffer above ``max_write_buffer`` closes the connection (a peer that
  does not read), and a connection idle for ``idle_timeout`` seconds is closed.
"""
import asyncio
import ssl as _ssl
from collections import Counter

from pycallcenter.errors import DecodeError, RecentErrors
from pycallcenter.sip.message import StreamFramer
from pycallcenter.sip.ua import Send, UserAgent


class Endpoint:
    """Drives one UserAgent from asyncio: outputs to send(), events to a queue, the UA's timer on the loop."""

    def __init__(self):
        self.ua = None
        self.events = asyncio.Queue()
        self.counts = Counter()
        self._timer = None
        self._loop = None

    @property
    def local_addr(self):
        """Return the (host, port) the user agent names itself with."""
        return self.ua.local_addr

    def now(self):
        """Return the loop's clock (the user agent's now)."""
        return self._loop.time()

    def call(self, target, addr=None, **options):
        """Place a call to target (a SIP URI text); returns its Call-ID."""
        call_id, outputs = self.ua.invite(target, self.now(), addr, **options)
        self.run(outputs)
        return call_id

    def hang_up(self, call_id, **options):
        """End a call: BYE once confirmed, CANCEL while it is still ringing."""
        self.run(self.ua.hang_up(call_id, self.now(), **options))

    def run(self, outputs):
        """Send the Send items of a user agent call, queue its events, and re-arm the timer."""
        for item in outputs:
            if isinstance(item, Send):
                self.send(item.data, item.addr, item.transport)
            else:
                self.counts[type(item).__name__] += 1
                self.events.put_nowait(item)
        self._arm()

    _run = run  # the first part's name, which callers still use

    def send(self, data, addr, transport=None):
        """Put bytes on the wire towards addr over transport (the transport's job)."""
        raise NotImplementedError

    def stop_timer(self):
        """Cancel the armed timer."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _arm(self):
        deadline = self.ua.next_deadline()
        if self._timer is not None:
            if deadline is not None and self._timer.when() == deadline:
                return
            self._timer.cancel()
            self._timer = None
        if deadline is not None:
            self._timer = self._loop.call_at(deadline, self._fire)

    def _fire(self):
        self._timer = None
        self.run(self.ua.handle_timer(self.now()))


class Connection(asyncio.Protocol):
    """One TCP/TLS connection of a SipStreamEndpoint."""

    def __init__(self, endpoint, addr=None, outgoing=False):
        self.endpoint = endpoint
        self.addr = addr
        self.outgoing = outgoing
        self.transport = None
        self.framer = StreamFramer(endpoint.max_header, endpoint.max_body)
        self.last = self.opened = endpoint.now()
        self.greeted = outgoing  # True once the peer has sent one whole message (or we dialled it)
        self.waiting = []  # data to send once an outgoing connection is up

    def connection_made(self, transport):
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.addr = (peer[0], peer[1]) if peer else self.addr
        if not self.outgoing and not self.endpoint.admit(self):
            transport.abort()
            return
        for data in self.waiting:
            self.write(data)
        self.waiting = []

    def data_received(self, data):
        self.last = self.endpoint.now()
        try:
            messages = self.framer.feed(data)
        except DecodeError as err:
            self.endpoint.counts["malformed streams"] += 1
            self.endpoint.errors.append((self.addr, str(err)))
            self.transport.close()
            return
        if self.framer.pings:  # RFC 5626 3.5.1: each CRLF CRLF ping gets a CRLF pong
            self.write(b"\r\n" * self.framer.pings)
            self.framer.pings = 0
        self.greeted = self.greeted or bool(messages)
        for message in messages:
            self.endpoint.run(self.endpoint.ua.receive(message, self.addr, self.endpoint.now(),
                                                       self.endpoint.transport_name))

    def write(self, data):
        if self.transport is None:
            self.waiting.append(data)
            return
        self.last = self.endpoint.now()
        self.transport.write(data)
        if self.transport.get_write_buffer_size() > self.endpoint.max_write_buffer:
            self.endpoint.counts["slow readers closed"] += 1
            self.transport.abort()

    def connection_lost(self, exc):
        self.endpoint.forget(self)


class SipStreamEndpoint(Endpoint):
    """A TCP or TLS SIP endpoint: listens, accepts and opens connections, reuses them (see the module)."""

    def __init__(self, transport="TCP", server_ssl=None, client_ssl=None, max_connections=1024, max_per_source=16,
                 idle_timeout=300.0, max_header=16384, max_body=1 << 16, max_write_buffer=1 << 20,
                 first_message_timeout=32.0):
        super().__init__()
        self.transport_name = transport.upper()
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.max_connections = max_connections
        self.max_per_source = max_per_source
        self.idle_timeout = idle_timeout
        self.first_message_timeout = first_message_timeout  # a silent new connection goes after this (64*T1)
        self.max_header = max_header
        self.max_body = max_body
        self.max_write_buffer = max_write_buffer
        self.connections = {}  # peer (host, port) -> Connection
        self.errors = RecentErrors()  # (peer, error text) of the last streams closed as malformed or not opened
        self.server = None
        self._sweeper = None

    def admit(self, conn):
        """Return True when a new connection may stay (caps per source and in all); files it by peer."""
        same_host = sum(1 for c in self.connections.values() if c.addr[0] == conn.addr[0])
        if len(self.connections) >= self.max_connections or same_host >= self.max_per_source:
            self.counts["connections refused"] += 1
            return False
        self.connections[conn.addr] = conn
        self.counts["connections"] += 1
        return True

    def forget(self, conn):
        """Drop a closed connection (under every address it was filed by)."""
        for addr in [a for a, c in self.connections.items() if c is conn]:
            del self.connections[addr]

    def send(self, data, addr, transport=None):
        """Send over the connection to addr, opening one when there is none (RFC 3261 18.1.1)."""
        conn = self.connections.get(addr)
        if conn is None:
            conn = Connection(self, addr, outgoing=True)
            conn.waiting.append(data)
            self.connections[addr] = conn  # later sends queue on it until it is up
            self._loop.create_task(self._connect(conn, addr))
            return
        conn.write(data)

    async def _connect(self, conn, addr):
        ssl = self.client_ssl if self.transport_name == "TLS" else None
        try:
            await self._loop.create_connection(lambda: conn, addr[0], addr[1], ssl=ssl,
                                               server_hostname=addr[0] if ssl is not None else None)
        except (OSError, _ssl.SSLError) as err:
            self.counts["connect failures"] += 1
            self.errors.append((addr, str(err)))
            self.forget(conn)
            self.run(self.ua.transport_failed(addr, self.now()))  # what waited for it fails now, not at timer B
            return
        self.counts["connections"] += 1
        if conn.addr != addr:  # the socket may name the peer otherwise than we dialled it: keep both keys
            self.connections[addr] = conn

    def sweep(self):
        """Close connections idle for longer than idle_timeout, and accepted ones that sent no whole message
        within first_message_timeout (so silent sockets cannot hold the caps); re-arms itself."""
        now = self.now()
        for conn in list(self.connections.values()):
            if conn.transport is None:
                continue
            if not conn.greeted and now - conn.opened > self.first_message_timeout:
                self.counts["silent closed"] += 1
                self.errors.append((conn.addr, f"no SIP message within {self.first_message_timeout:g} s"))
                conn.transport.close()
            elif now - conn.last > self.idle_timeout:
                self.counts["idle closed"] += 1
                conn.transport.close()
        period = min(self.idle_timeout, self.first_message_timeout) / 4
        self._sweeper = self._loop.call_later(max(0.05, period), self.sweep)

    def close(self):
        """Stop listening, close every connection and stop the timers."""
        if self.server is not None:
            self.server.close()
        for conn in list(self.connections.values()):
            if conn.transport is not None:
                conn.transport.abort()
        self.connections.clear()
        if self._sweeper is not None:
            self._sweeper.cancel()
        self.stop_timer()


async def open_stream_endpoint(host="127.0.0.1", port=5060, transport="TCP", *, server_ssl=None, client_ssl=None,
                               advertise=None, limits=None, **ua_options):
    """Listen for SIP over TCP or TLS on host:port (0 picks a free port); returns the SipStreamEndpoint.
    TLS needs server_ssl (an ssl.SSLContext with our certificate) and client_ssl for the connections we open;
    limits are SipStreamEndpoint's bounds by name; the user agent gets ua_options."""
    transport = transport.upper()
    if transport not in ("TCP", "TLS"):
        raise ValueError(f"stream transport must be TCP or TLS, not {transport}")
    if transport == "TLS" and (server_ssl is None or client_ssl is None):
        raise ValueError("TLS needs server_ssl and client_ssl contexts")
    if advertise is None and host in ("0.0.0.0", "::", ""):
        raise ValueError(f"binding to {host or 'all addresses'} needs an address to advertise in Via and Contact")
    endpoint = SipStreamEndpoint(transport, server_ssl, client_ssl, **(limits or {}))
    endpoint._loop = asyncio.get_running_loop()
    endpoint.server = await endpoint._loop.create_server(
        lambda: Connection(endpoint), host, port, ssl=server_ssl if transport == "TLS" else None,
        ssl_handshake_timeout=endpoint.first_message_timeout if transport == "TLS" else None)
    bound = endpoint.server.sockets[0].getsockname()[:2]
    endpoint.ua = UserAgent((advertise or bound[0], bound[1]), transport=transport, **ua_options)
    endpoint.sweep()
    return endpoint
