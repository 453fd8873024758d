"""SIP over TCP and TLS for the engine's SIP adapter, driven by the tick: non-blocking sockets, no thread.

Why in the tick and not the core's asyncio endpoint in a thread: the engine's ``UserAgent`` is sans-IO and
not thread-safe, it runs on the board's clock (``engine.now``), and every event it produces changes legs that
only the engine's thread may touch. A thread would need every datagram, timer and event marshalled through a
queue both ways; polling a handful of sockets with ``select`` at zero timeout in the tick costs less (one
``select`` call per tick, as the UDP socket already costs one ``recvfrom``) and keeps one thread. TLS runs
on memory BIOs (``SSLObject``): we move the bytes between the socket and TLS ourselves, so the selector
watches the plain socket and what TLS holds is always in our hands (the handshake, session tickets, reads).

``StreamTransport`` is one listening socket (TCP, or TLS with a server context) and the connections accepted
on it or opened by it. ``poll()`` accepts, finishes connects and TLS handshakes, reads and frames messages
(``StreamFramer``: Content-Length framing, CRLF keep-alives skipped, each RFC 5626 double-CRLF ping
answered with a CRLF pong) and flushes what waits to be written; it
returns ``(message bytes, peer address)`` pairs and the peers whose connection could not be opened.
``send(data, addr)`` writes on the connection to addr (RFC 3261 18: a response goes back on its request's
connection, which the peer address names), opening one when there is none. Bounds as in the core's
``SipStreamEndpoint``: connections per source and in all, an unread write buffer cap, an idle timeout.
An accepted connection that has not delivered one whole SIP message within ``first_message_timeout``
(32 s, 64*T1) is closed, TLS handshake included: otherwise a few addresses could hold the per-source and
total caps for the 300 s idle timeout with silent sockets (keep-alive CRLFs do not count as a message).
"""
import errno
import selectors
import socket
import ssl

from pycallcenter.errors import DecodeError
from pycallcenter.sip.message import StreamFramer

_WANT = (BlockingIOError, InterruptedError)
_MAX_READS = 64  # reads per connection per tick: one peer cannot hold the tick


def _no_delay(sock):
    """Turn Nagle off: a SIP message is one small write that should leave now, not wait for the ACK of the
    last one (after a TLS session ticket the reply would wait out the peer's delayed ACK, about 40 ms)."""
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)


class _Conn:
    """One TCP/TLS connection: its socket, peer, framer, TLS state, and what waits to be written."""

    def __init__(self, sock, addr, now, max_header, max_body, connecting=False):
        self.sock = sock
        self.addr = addr
        self.framer = StreamFramer(max_header, max_body)
        self.out = bytearray()  # SIP bytes not yet handed to TLS (or, on TCP, to the socket)
        self.wire = bytearray()  # bytes for the socket (TLS records) not yet written
        self.last = now
        self.opened = now
        self.greeted = connecting  # True once the peer has sent one whole message (or we dialled it)
        self.connecting = connecting
        self.tls = None  # ssl.SSLObject on memory BIOs
        self.incoming = self.outgoing = None
        self.handshaking = False

    def start_tls(self, context, server_side):
        """Begin TLS on this connection (as server or client); the handshake runs in the tick."""
        self.incoming, self.outgoing = ssl.MemoryBIO(), ssl.MemoryBIO()
        self.tls = context.wrap_bio(self.incoming, self.outgoing, server_side=server_side,
                                    server_hostname=None if server_side else self.addr[0])
        self.handshaking = True

    @property
    def busy(self):
        """Return True when the socket has something to write or a connect to finish."""
        return bool(self.wire or self.connecting or (self.out and not self.handshaking))


class StreamTransport:
    """SIP over TCP or TLS (name "TCP" or "TLS") on non-blocking sockets, polled by the engine's tick."""

    def __init__(self, name, listen=None, *, server_ssl=None, client_ssl=None, max_connections=1024,
                 max_per_source=16, idle_timeout=300.0, max_header=16384, max_body=1 << 16,
                 max_write_buffer=1 << 20, first_message_timeout=32.0):
        """listen: (host, port) to accept on (None: only connections we open, as a phone does)."""
        self.name = name.upper()
        self.server_ssl = server_ssl
        self.client_ssl = client_ssl
        self.max_connections = max_connections
        self.max_per_source = max_per_source
        self.idle_timeout = idle_timeout
        self.first_message_timeout = first_message_timeout
        self.max_header, self.max_body, self.max_write_buffer = max_header, max_body, max_write_buffer
        self.connections = {}  # peer (host, port) -> _Conn
        self.counts = {"connections": 0, "refused": 0, "malformed": 0, "connect_failures": 0, "idle_closed": 0,
                       "silent_closed": 0, "slow_readers_closed": 0, "tls_failures": 0}
        self.errors = []  # (peer, text) of the last few connections closed on an error
        self._sel = selectors.DefaultSelector()
        self.sock = None
        self.address = None
        if listen is not None:
            self.sock = socket.socket(socket.AF_INET6 if ":" in listen[0] else socket.AF_INET, socket.SOCK_STREAM)
            try:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
                self.sock.bind(listen)
                self.sock.listen(128)
                self.sock.setblocking(False)
            except OSError:
                self.sock.close()
                raise
            self.address = self.sock.getsockname()[:2]
            self._sel.register(self.sock, selectors.EVENT_READ, None)

    # --- the tick -----------------------------------------------------------------------------------
    def poll(self, now):
        """Do every ready accept, connect, handshake, read and write; return (messages [(parsed message,
        peer)], peers whose connection failed before it was up)."""
        messages, failed = [], []
        for key, events in self._sel.select(0):
            conn = key.data
            if conn is None:
                self._accept(now)
            elif conn.sock.fileno() >= 0:
                self._service(conn, events, now, messages, failed)
        for conn in list(set(self.connections.values())):
            if not conn.greeted and now - conn.opened > self.first_message_timeout:
                self.counts["silent_closed"] += 1
                self._note(conn, f"no SIP message within {self.first_message_timeout:g} s of connecting")
                self._close(conn)
            elif now - conn.last > self.idle_timeout:
                self.counts["idle_closed"] += 1
                self._close(conn)
        return messages, failed

    def _watch(self, conn):
        if conn.sock.fileno() >= 0:
            self._sel.modify(conn.sock, selectors.EVENT_READ | (selectors.EVENT_WRITE if conn.busy else 0), conn)

    def _accept(self, now):
        for _ in range(64):
            try:
                sock, peer = self.sock.accept()
            except _WANT:
                return
            except OSError:  # the peer went before we took it (ECONNABORTED)
                continue
            peer = peer[:2]
            same_host = sum(1 for c in set(self.connections.values()) if c.addr[0] == peer[0])
            if len(self.connections) >= self.max_connections or same_host >= self.max_per_source:
                self.counts["refused"] += 1
                sock.close()
                continue
            sock.setblocking(False)
            _no_delay(sock)
            conn = _Conn(sock, peer, now, self.max_header, self.max_body)
            if self.name == "TLS":
                conn.start_tls(self.server_ssl, server_side=True)
            self.connections[peer] = conn
            self.counts["connections"] += 1
            self._sel.register(sock, selectors.EVENT_READ, conn)

    def _service(self, conn, events, now, messages, failed):
        if conn.connecting:
            if not events & selectors.EVENT_WRITE:
                return
            err = conn.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                return self._fail(conn, failed, errno.errorcode.get(err, str(err)))
            conn.connecting = False
            if self.name == "TLS":
                conn.start_tls(self.client_ssl, server_side=False)
                if not self._handshake(conn, failed):
                    return
        if events & selectors.EVENT_READ and not self._read(conn, now, messages, failed):
            return
        self._flush(conn, now)

    def _handshake(self, conn, failed):
        """Advance the TLS handshake; return False when it failed (the connection is closed)."""
        try:
            conn.tls.do_handshake()
            conn.handshaking = False
        except ssl.SSLWantReadError:
            pass
        except ssl.SSLError as exc:
            self.counts["tls_failures"] += 1
            self._fail(conn, failed, str(exc))
            return False
        conn.wire += conn.outgoing.read()
        return True

    def _read(self, conn, now, messages, failed):
        for _ in range(_MAX_READS):
            try:
                data = conn.sock.recv(65536)
            except _WANT:
                return True
            except OSError as exc:
                self._note(conn, exc.strerror or str(exc))
                self._close(conn)
                return False
            if not data:  # the peer closed
                self._close(conn)
                return False
            conn.last = now
            if conn.tls is not None:
                conn.incoming.write(data)
                if conn.handshaking and not self._handshake(conn, failed):
                    return False
                data = self._decrypt(conn)
                if data is None:
                    return False
            try:
                got = conn.framer.feed(data)
            except DecodeError as err:  # a stream that does not frame cannot be resynchronised: close it
                self.counts["malformed"] += 1
                self._note(conn, str(err))
                self._close(conn)
                return False
            messages += [(m, conn.addr) for m in got]
            conn.greeted = conn.greeted or bool(got)
            if conn.framer.pings:  # RFC 5626 3.5.1: each CRLF CRLF ping gets a CRLF pong
                conn.out += b"\r\n" * conn.framer.pings
                conn.framer.pings = 0
                self._flush(conn, now)
                if conn.sock.fileno() < 0:
                    return False
        return True

    def _decrypt(self, conn):
        """Return the application bytes TLS has for us now (b'' for none), or None when the peer closed or
        broke TLS (the connection is closed)."""
        plain = bytearray()
        while not conn.handshaking:
            try:
                chunk = conn.tls.read(65536)
            except ssl.SSLWantReadError:
                break
            except ssl.SSLError as exc:
                self.counts["tls_failures"] += 1
                self._note(conn, str(exc))
                self._close(conn)
                return None
            if not chunk:  # close_notify
                self._close(conn)
                return None
            plain += chunk
        conn.wire += conn.outgoing.read()  # what TLS wants sent (key updates, tickets) goes out too
        return bytes(plain)

    def _flush(self, conn, now):
        if conn.connecting or conn.sock.fileno() < 0:
            return
        if conn.out and not conn.handshaking:
            if conn.tls is None:
                conn.wire += conn.out
            else:
                conn.tls.write(bytes(conn.out))
                conn.wire += conn.outgoing.read()
            conn.out.clear()
        while conn.wire:
            try:
                n = conn.sock.send(conn.wire)
            except _WANT:
                break
            except OSError as exc:
                self._note(conn, exc.strerror or str(exc))
                self._close(conn)
                return
            del conn.wire[:n]
            conn.last = now
        if len(conn.wire) + len(conn.out) > self.max_write_buffer:
            self.counts["slow_readers_closed"] += 1
            self._close(conn)
            return
        self._watch(conn)

    # --- sending ------------------------------------------------------------------------------------
    def send(self, data, addr, now):
        """Queue data on the connection to addr (opened now when there is none) and write what the socket
        takes; return False when no connection can even be started (the caller fails its transaction)."""
        conn = self.connections.get(addr)
        if conn is None:
            conn = self._connect(addr, now)
            if conn is None:
                return False
        conn.out += data
        self._flush(conn, now)
        return True

    def _connect(self, addr, now):
        sock = socket.socket(socket.AF_INET6 if ":" in addr[0] else socket.AF_INET, socket.SOCK_STREAM)
        sock.setblocking(False)
        _no_delay(sock)
        err = sock.connect_ex(addr)
        if err not in (0, errno.EINPROGRESS, errno.EWOULDBLOCK):
            sock.close()
            self.counts["connect_failures"] += 1
            self.errors = (self.errors + [(addr, errno.errorcode.get(err, str(err)))])[-16:]
            return None
        conn = _Conn(sock, addr, now, self.max_header, self.max_body, connecting=True)
        self.connections[addr] = conn
        self.counts["connections"] += 1
        self._sel.register(sock, selectors.EVENT_READ | selectors.EVENT_WRITE, conn)
        return conn

    # --- closing ------------------------------------------------------------------------------------
    def _note(self, conn, text):
        self.errors = (self.errors + [(conn.addr, text)])[-16:]

    def _fail(self, conn, failed, text):
        self.counts["connect_failures"] += 1
        self._note(conn, text)
        failed.append(conn.addr)
        self._close(conn)

    def _close(self, conn):
        for addr in [a for a, c in self.connections.items() if c is conn]:
            del self.connections[addr]
        if conn.sock.fileno() >= 0:
            self._sel.unregister(conn.sock)
            conn.sock.close()

    def close(self):
        """Close every connection and the listening socket (again is harmless)."""
        for conn in list(set(self.connections.values())):
            self._close(conn)
        if self.sock is not None:
            self._sel.unregister(self.sock)
            self.sock.close()
            self.sock = None
        self._sel.close()
