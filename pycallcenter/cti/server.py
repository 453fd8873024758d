"""The network side of the CTI server: aiohttp (HTTP, WebSocket) and JSON lines, on one asyncio loop in
its own thread.

Routes (docs/cti.md): ``GET /`` login page, ``POST /login`` and ``POST /logout`` (form posts with a CSRF
token), ``GET /wallboard`` (the page), ``GET /api/snapshot`` (JSON; a session or an API token),
``GET /ws`` (WebSocket; ``/cti`` is its older name). A second, optional port takes the same messages as
JSON lines. Every connection passes :class:`_Guarded` first: connections are capped per source address
and in total, and one that has not authenticated after ``unauth_timeout`` seconds is closed.
Authentication (passwords, tokens, sessions) happens here, off the engine's thread; the engine only
learns that connection N is now (role, name). Parsed commands of authenticated connections go to the
hub's inbox; the engine thread runs them at its next tick.
"""
import asyncio
import concurrent.futures
import contextlib
import functools
import hmac
import itertools
import logging
import os
import resource
import secrets
import socket
import threading
import time

from aiohttp import WSMsgType, web

from pycallcenter.cti import protocol as P
from pycallcenter.cti.auth import Sessions, SourceGuard
from pycallcenter.cti.config import Limits
from pycallcenter.cti.hub import INBOX_LIMIT
from pycallcenter.cti.pages import login_page
from pycallcenter.cti.phone import phone_routes
from pycallcenter.wallboard.page import page as wallboard_page

SESSION_COOKIE = "pycc_session"
CSRF_COOKIE = "pycc_csrf"
MAX_QUEUED = 2000  # frames waiting for a slow client; beyond that it is cut off, not buffered forever
SWEEP_EVERY = 5.0  # seconds between session sweeps
# open files kept free of CTI connections: the database, recordings, SIP and RTP sockets, pipes
FILE_RESERVE = 256
# connections the kernel queues before accept(): a whole room of desktops reconnecting after a restart
# arrives within a second, and a full queue drops their SYNs, which they retry only 1 s, 3 s, 7 s later
MAX_BACKLOG = 4096
LINGER_SECONDS = 1.0  # a closing JSON-lines connection reads and drops what still comes for at most this long
LINGER_BYTES = 1 << 20  # ... and at most this much
# messages a connection may have dropped by the rate limit, in bursts of the limit's burst, before it is cut
# off: a desktop that overshoots now and then keeps its connection, a flood does not
CUT_OFF_BURSTS = 10

log = logging.getLogger("pycallcenter.cti")


def open_file_room(want):
    """Raise this process's soft limit on open files toward the hard limit, so that want more files fit
    beside those open now and FILE_RESERVE others; return (soft limit, hard limit, files open now)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    try:
        open_now = len(os.listdir("/proc/self/fd"))
    except OSError:  # no /proc: count nothing open, the reserve covers it
        open_now = 0
    need = open_now + FILE_RESERVE + want
    if soft != resource.RLIM_INFINITY and soft < need:
        raised = need if hard == resource.RLIM_INFINITY else min(hard, need)
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (raised, hard))
            soft = raised
        except (ValueError, OSError):  # not allowed here (a sandbox): the capacity below says what is left
            pass
    return soft, hard, open_now


class _Guarded(asyncio.Protocol):
    """Wraps the protocol of every accepted connection: admission by the SourceGuard, the unauthenticated
    timeout, and the count's release when the connection ends."""

    def __init__(self, server, inner):
        self.server, self.inner = server, inner
        self.transport = self.source = self.reaper = None
        self.admitted = self.authed = False
        self.login_pending = False  # credentials sent and waiting for their check: not an idle socket

    def connection_made(self, transport):
        s = self.server
        self.transport = transport
        peer = transport.get_extra_info("peername")
        self.source = str(peer[0]) if peer else "local"
        reason = s.guard.admit(self.source)
        if reason is not None:
            s.guard.refuse(self.source, "connection", reason)
            transport.abort()
            return
        self.admitted = True
        s.tracked[transport] = self
        self.reaper = s.loop.call_later(s.limits.unauth_timeout, self._reap)
        self.inner.connection_made(transport)

    def _reap(self):
        if self.login_pending and not self.transport.is_closing():
            # waiting its turn for a password check (a room logging in at once from one address):
            # its answer comes when the check is done; look again after another timeout
            self.reaper = self.server.loop.call_later(self.server.limits.unauth_timeout, self._reap)
            return
        if not self.authed and not self.transport.is_closing():
            self.server.guard.refuse(self.source, "unauthenticated",
                                     f"closed after {self.server.limits.unauth_timeout:g} s without logging in")
            self.transport.abort()

    def authenticated(self):
        """The connection has proved who it is: it may stay open."""
        self.authed = True
        if self.reaper is not None:
            self.reaper.cancel()

    def data_received(self, data):
        if self.admitted:
            self.inner.data_received(data)

    def eof_received(self):
        return self.inner.eof_received() if self.admitted else False

    def connection_lost(self, exc):
        if not self.admitted:
            return
        self.admitted = False
        if self.reaper is not None:
            self.reaper.cancel()
        self.server.tracked.pop(self.transport, None)
        self.server.guard.release(self.source)
        self.inner.connection_lost(exc)

    def pause_writing(self):
        self.inner.pause_writing()

    def resume_writing(self):
        self.inner.resume_writing()


async def _discard(reader, most):
    """Read and drop up to most bytes until EOF; return how many were dropped."""
    dropped = 0
    while dropped < most:
        chunk = await reader.read(min(65536, most - dropped))
        if not chunk:
            break
        dropped += len(chunk)
    return dropped


class _Conn:
    """One message connection (WebSocket or JSON lines): its queue of frames out and who it is."""

    def __init__(self, cid, kind, guarded, limiter, session=None):
        self.id, self.kind, self.guarded, self.limiter = cid, kind, guarded, limiter
        self.source = guarded.source if guarded else "local"
        self.ident = None  # (role, name) once authenticated
        self.session = session  # the browser Session it came with, if any
        self.out = asyncio.Queue(MAX_QUEUED)
        self.closing = False
        # messages dropped by the rate limit, allowed at the same rate with CUT_OFF_BURSTS bursts: a client
        # that keeps sending more than twice its rate is cut off, so the server never spends minutes reading
        # what a flood left in the socket (a killed flood's connection stayed listed until every buffered
        # message had been refused)
        self.excess = P.RateLimiter(limiter.rate, CUT_OFF_BURSTS * limiter.burst, clock=limiter.clock)
        self.cut = False  # cut off for flooding: its end aborts the socket, unread bytes and all

    def send(self, frame):
        """Queue one frame; a client that lets MAX_QUEUED pile up is cut off."""
        if self.closing:
            return
        try:
            # the hub hands a frame many sessions get (wallboard, queue statistics) as text made once
            self.out.put_nowait(frame if isinstance(frame, str) else P.dumps(frame))
        except asyncio.QueueFull:
            self.close()

    def close(self):
        """Stop sending; the writer task ends the connection."""
        if not self.closing:
            self.closing = True
            try:  # what is queued still goes out (an error frame explaining why), then the end
                self.out.put_nowait(None)
            except asyncio.QueueFull:
                while not self.out.empty():
                    self.out.get_nowait()
                self.out.put_nowait(None)


class CtiServer:
    """Serve a :class:`~pycallcenter.cti.hub.CtiHub` on host:port (HTTP, WebSocket) and tcp_port (JSON lines).

    accounts: :class:`~pycallcenter.cti.auth.Accounts`; limits: :class:`~pycallcenter.cti.config.Limits`;
    ssl: an SSLContext for HTTPS/WSS (and TLS on the JSON-lines port); hosts: extra Host names the
    server answers to (besides its address, localhost and this machine's names). Port 0 picks a free
    port; read :attr:`port` / :attr:`tcp_port` after :meth:`start`.

    pages: more logged-in pages, path -> (roles, render) where render(name, role, csrf) returns the HTML
    (the wallboard is one: ``/wallboard``); home: role -> the page a user of that role lands on after
    login (default ``/wallboard``). An agent desktop or supervisor console is added this way.
    """

    def __init__(self, hub, accounts, host="127.0.0.1", port=0, tcp_port=None, limits=None, ssl=None,
                 hosts=(), clock=None, pages=None, home=None, phones=None):
        self.phones = phones  # pycallcenter.webrtc PhoneServer: serve /phone.js and /phone/offer (cti/phone.py)
        self.hub, self.accounts, self.host, self.port, self.tcp_port = hub, accounts, host, port, tcp_port
        self.limits = limits or Limits()
        self.ssl, self.clock = ssl, clock or time.monotonic
        lim = self.limits
        self.guard = SourceGuard(lim.max_conns, lim.max_per_source, lim.auth_backoff, lim.auth_backoff_max,
                                 lim.lockout_after, lim.lockout, clock=self.clock)
        self.sessions = Sessions(lim.session_idle, lim.session_max, clock=self.clock)
        self.hosts = {h.lower() for h in hosts} | {host.lower(), "localhost", "127.0.0.1", "::1",
                                                   socket.gethostname().lower(), socket.getfqdn().lower()}
        self.pages = {"/wallboard": ((P.AGENT, P.SUPERVISOR), wallboard_page), **(pages or {})}
        self.home = {P.AGENT: "/wallboard", P.SUPERVISOR: "/wallboard", **(home or {})}
        self.conns = {}
        self.tracked = {}  # transport -> _Guarded
        self._ids = itertools.count(1)
        self.loop = None
        self._thread = None
        self._ready = threading.Event()
        self._error = None
        self._runner = None
        self._servers = []
        # scrypt runs here, two at a time: a login flood costs two cores at most, never the engine's tick
        self._hashing = concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="cti-auth")
        self._hash_slots = None
        self._turns = {}  # source -> [asyncio.Lock, users]: its password checks queue, one at a time
        self._sweeper = None
        self.capacity = self.limits.max_conns  # connections the open-file limit leaves room for (see start)
        hub.deliver = self._deliver_threadsafe
        hub.lockouts = self.guard.lockouts
        hub.refuse = self.guard.refuse
        hub.unlock = self.guard.unlock

    @property
    def scheme(self):
        """Return 'https' or 'http'."""
        return "https" if self.ssl else "http"

    def status(self):
        """Return the server's counters: connections by address, refusals by reason, lockouts, bugs by command."""
        with self.guard._lock:
            conns, refused = dict(self.guard.conns), dict(self.guard.refused)
        return {"connections": conns, "capacity": self.guard.max_conns, "sessions": len(self.hub.sessions),
                "refused": refused,
                "lockouts": self.guard.lockouts(), "internal_errors": dict(self.hub.internal)}

    # --- life cycle --------------------------------------------------------------------------------
    def start(self):
        """Start the server thread; return self once the ports are bound."""
        self._fit_file_limit()
        self._thread = threading.Thread(target=self._main, name="cti-server", daemon=True)
        self._thread.start()
        self._ready.wait(10)
        if self._error is not None:
            raise self._error
        return self

    def _fit_file_limit(self):
        """Make room for max_conns open sockets (raising the soft file limit); when the hard limit is too
        low, cap the connections at what fits and say so, so that a connection too many is refused with
        a log line instead of stalling accept() (EMFILE) for everyone."""
        want = self.limits.max_conns
        soft, hard, open_now = open_file_room(want)
        room = soft - open_now - FILE_RESERVE if soft != resource.RLIM_INFINITY else want
        self.capacity = max(1, min(want, room))
        self.guard.max_conns = self.capacity
        if self.capacity < want:
            log.warning("cti: the open-file limit (%d, hard %s) leaves room for %d CTI connections, fewer than "
                        "cti_max_connections (%d): more are refused; raise the hard limit (ulimit -Hn, "
                        "systemd LimitNOFILE)", soft, hard, self.capacity, want)
        else:
            log.info("cti: room for %d connections (open-file limit %d, %d files open)", want, soft, open_now)

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
        self.loop.run_until_complete(self._shutdown())
        self.loop.close()

    def _app(self):
        app = web.Application(client_max_size=16 * 1024, middlewares=[self._hardening])
        app.router.add_get("/", self._index)
        app.router.add_post("/login", self._login)
        app.router.add_post("/logout", self._logout)
        for path, (roles, render) in self.pages.items():
            app.router.add_get(path, functools.partial(self._page, roles, render))
        app.router.add_get("/api/snapshot", self._snapshot)
        app.router.add_get("/recording/{token}", self._recording)
        app.router.add_get("/ws", self._websocket)
        app.router.add_get("/cti", self._websocket)
        if self.phones is not None:
            phone_routes(self, app)
        return app

    async def _bind(self):
        self._hash_slots = asyncio.Semaphore(2)
        self._runner = web.AppRunner(self._app(), access_log=None, handle_signals=False, keepalive_timeout=15,
                                     max_line_size=8190, max_field_size=8190)
        await self._runner.setup()
        handler = self._runner.server
        tls = {"ssl": self.ssl, "ssl_handshake_timeout": 10} if self.ssl else {}
        backlog = max(100, min(self.capacity, MAX_BACKLOG))
        s = await self.loop.create_server(lambda: _Guarded(self, handler()), self.host, self.port,
                                          backlog=backlog, **tls)
        self.port = s.sockets[0].getsockname()[1]
        self._servers.append(s)
        if self.tcp_port is not None:
            def lines():
                reader = asyncio.StreamReader(limit=self.limits.max_message + 1)
                return _Guarded(self, asyncio.StreamReaderProtocol(reader, self._line_client))
            t = await self.loop.create_server(lines, self.host, self.tcp_port, backlog=backlog, **tls)
            self.tcp_port = t.sockets[0].getsockname()[1]
            self._servers.append(t)
        self._sweeper = self.loop.call_later(SWEEP_EVERY, self._sweep)

    def _sweep(self, again=True):
        """Every few seconds (again: schedule the next one): a page's open WebSocket keeps its session in use; the WebSockets of an expired
        session are closed (the absolute limit holds for open pages too); expired sessions are forgotten."""
        now = self.clock()
        for c in list(self.conns.values()):
            if c.session is None:
                continue
            if self.sessions.alive(c.session):
                c.session.used = now
            elif not c.closing:
                self._refuse(c, None, P.NOT_AUTHENTICATED, "the session has ended; log in again")
                c.close()
        self.sessions.sweep()
        if again:
            self._sweeper = self.loop.call_later(SWEEP_EVERY, self._sweep)

    async def _shutdown(self):
        if self._sweeper is not None:
            self._sweeper.cancel()
        for s in self._servers:
            s.close()
        for c in list(self.conns.values()):
            c.close()
        for t in list(self.tracked):
            t.abort()
        await asyncio.sleep(0)
        await self._runner.cleanup()
        self._hashing.shutdown(wait=False, cancel_futures=True)

    def stop(self):
        """Close every connection, stop the thread, and take the hub off the engine (its journal readers
        closed)."""
        self.hub.close()
        if self.loop is None or not self._thread.is_alive():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)

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
            if c is not None:
                c.send(frame)

    # --- message connections -------------------------------------------------------------------------
    def _open(self, kind, guarded, session=None):
        limiter = P.RateLimiter(self.limits.rate, self.limits.burst, clock=self.clock)
        c = _Conn(next(self._ids), kind, guarded, limiter, session)
        self.conns[c.id] = c
        return c

    def _gone(self, c):
        if self.conns.pop(c.id, None) is not None and c.ident is not None:
            self.hub.inbox.put(("close", c.id, None))
        c.close()

    def _refuse(self, c, msg_id, code, message, cmd="-"):
        self.guard.refuse(c.source, code, f"{cmd}: {message}")
        c.send(P.error(msg_id, code, message))

    def _authenticated(self, c, role, name, msg_id):
        if c.id not in self.conns:  # gone meanwhile: its close has passed, so the hub would keep it forever
            return
        c.ident = (role, name)
        if c.guarded is not None:
            c.guarded.authenticated()
        self.hub.inbox.put(("auth", c.id, (role, name, msg_id, c.source)))

    async def _text_in(self, c, text):
        """One client message: size, rate, parse; auth is answered here, other commands go to the engine."""
        if c.closing or c.id not in self.conns:
            # read before the connection ended but handled after: its writer found the peer gone and told the
            # hub; an auth let through now would leave a session the hub never hears the end of
            return
        if c.session is not None and not self.sessions.alive(c.session):
            self._refuse(c, None, P.NOT_AUTHENTICATED, "the session has ended; log in again")
            c.close()
            return
        if len(text) > self.limits.max_message:
            self._refuse(c, None, P.TOO_LARGE, f"a message is at most {self.limits.max_message} characters")
            return
        if not c.limiter.allow():
            if not c.excess.allow():
                self._refuse(c, None, P.RATE_LIMITED, "far too many messages: connection closed")
                c.cut = True
                c.close()
                return
            self._refuse(c, None, P.RATE_LIMITED, "too many messages; slow down")
            return
        try:
            msg = P.parse(text)
        except P.CtiError as exc:
            self._refuse(c, exc.msg_id, exc.code, str(exc))
            return
        if msg["cmd"] == "auth":
            await self._auth(c, msg)
        elif c.ident is None:
            self._refuse(c, msg.get("id"), P.NOT_AUTHENTICATED, "send auth first", msg["cmd"])
        else:
            if self.hub.inbox.qsize() >= INBOX_LIMIT:  # the engine runs a bounded number a tick: push back
                self._refuse(c, msg.get("id"), P.RATE_LIMITED, "the centre is busy; try again", msg["cmd"])
                return
            if c.session is not None:
                c.session.used = self.clock()
            self.hub.inbox.put(("msg", c.id, msg))

    async def _auth(self, c, msg):
        msg_id = msg.get("id")
        if c.ident is not None:
            self._refuse(c, msg_id, P.BAD_STATE, "already authenticated", "auth")
            return
        if "token" not in msg and not ("user" in msg and "password" in msg):
            self._refuse(c, msg_id, P.BAD_MESSAGE, "auth needs token, or user and password", "auth")
            return
        if "token" in msg:
            wait = self.guard.begin(c.source)
            if wait is not None:
                self._refuse(c, msg_id, wait[0], wait[1], "auth")
                return
            try:
                ident = self.accounts.by_token(msg["token"])
            finally:
                self.guard.end(c.source)
        else:
            async with self._turn(c.source, c.guarded):
                wait = self.guard.begin(c.source)
                if wait is not None:
                    self._refuse(c, msg_id, wait[0], wait[1], "auth")
                    return
                try:
                    ident = await self._check_password(msg["user"], msg["password"])
                finally:
                    self.guard.end(c.source)
            if c.id not in self.conns:  # it left while its check ran: nobody to log in
                return
        if ident is None:
            self.guard.failed(c.source)
            self._refuse(c, msg_id, P.BAD_TOKEN, "wrong user, password or token", "auth")
            return
        self.guard.succeeded(c.source)
        self._authenticated(c, ident[0], ident[1], msg_id)

    @contextlib.asynccontextmanager
    async def _turn(self, source, guarded=None):
        """Wait for source's turn at a password check (one at a time per address, in order of arrival:
        a room of agents behind one address logging in at once queues instead of being refused; after a
        failure the backoff still answers the ones waiting); guarded, if given, is not reaped meanwhile."""
        turn = self._turns.setdefault(source, [asyncio.Lock(), 0])
        turn[1] += 1
        if guarded is not None:
            guarded.login_pending = True
        try:
            async with turn[0]:
                yield
        finally:
            if guarded is not None:
                guarded.login_pending = False
            turn[1] -= 1
            if not turn[1]:
                del self._turns[source]

    async def _check_password(self, user, password):
        async with self._hash_slots:
            return await self.loop.run_in_executor(self._hashing, self.accounts.by_password, user, password)

    async def _writer(self, c, write, finish):
        """Send c's queued frames in order until it closes; then end the connection with finish()."""
        try:
            while True:
                text = await c.out.get()
                if text is None:
                    break
                await write(text)
        except (ConnectionError, RuntimeError):  # the peer went away mid-write
            pass
        self._gone(c)
        if not c.cut:
            await finish()
            return
        # a flooder: its error frame gets a moment to leave, then the socket goes with what is still unread
        with contextlib.suppress(asyncio.TimeoutError, ConnectionError, RuntimeError):
            await asyncio.wait_for(finish(), LINGER_SECONDS)
        if c.guarded is not None:
            c.guarded.transport.abort()

    async def _line_client(self, reader, writer):
        guarded = self.tracked.get(writer.transport)
        c = self._open("tcp", guarded)

        async def write(text):
            writer.write(text.encode("utf-8") + b"\n")
            await writer.drain()

        async def finish():
            # Closing with unread bytes in the socket makes the kernel send a reset, which can destroy the
            # reply (too_large) the client has not read yet; so send EOF, drop what still comes (bounded),
            # then close.
            with contextlib.suppress(ConnectionError, RuntimeError, OSError):
                if writer.can_write_eof() and not writer.is_closing():
                    writer.write_eof()
            with contextlib.suppress(asyncio.TimeoutError, ConnectionError):
                await asyncio.wait_for(_discard(reader, LINGER_BYTES), LINGER_SECONDS)
            writer.close()

        sender = asyncio.ensure_future(self._writer(c, write, finish))
        try:
            while not c.closing:
                try:
                    line = await reader.readuntil(b"\n")
                except asyncio.LimitOverrunError:
                    self._refuse(c, None, P.TOO_LARGE, f"a line is at most {self.limits.max_message} characters")
                    break
                except asyncio.IncompleteReadError:
                    break
                line = line.strip()
                if line:
                    await self._text_in(c, line.decode("utf-8", "replace"))
        except ConnectionError:
            pass
        finally:
            self._gone(c)
            try:
                await asyncio.wait_for(sender, 2)
            except (asyncio.TimeoutError, ConnectionError):
                writer.close()

    # --- HTTP -----------------------------------------------------------------------------------
    @web.middleware
    async def _hardening(self, request, handler):
        host = (request.host or "").lower()
        name = host.rsplit(":", 1)[0] if not host.startswith("[") else host[1:].split("]")[0]
        if name not in self.hosts:
            self.guard.refuse(self._source(request), "host", f"Host {host!r} is not this server")
            return web.Response(status=421, text="this server does not answer to that host name\n")
        if request.method == "POST" and not self._same_origin(request):
            self.guard.refuse(self._source(request), "origin", f"POST from origin {request.headers.get('Origin')!r}")
            return web.Response(status=403, text="cross-origin form posts are refused\n")
        try:
            resp = await handler(request)
        except web.HTTPException as exc:  # 404, 405 and the like: the same headers, then on its way
            self._harden(exc)
            raise
        if not resp.prepared:  # WebSocket responses are already under way
            self._harden(resp)
        return resp

    def _harden(self, resp):
        """Set the headers every answer carries (no caching, no framing, no sniffing, this origin only)."""
        resp.headers.setdefault("Cache-Control", "no-store")
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
        resp.headers.setdefault("X-Frame-Options", "DENY")
        resp.headers.setdefault("Referrer-Policy", "same-origin")  # no-referrer would make Origin "null"
        resp.headers.setdefault("Content-Security-Policy",
                                "default-src 'self'; script-src 'self' 'unsafe-inline'; "
                                "style-src 'self' 'unsafe-inline'; connect-src 'self'; frame-ancestors 'none'")
        if self.ssl:
            resp.headers.setdefault("Strict-Transport-Security", "max-age=31536000")

    def _source(self, request):
        peer = request.transport.get_extra_info("peername") if request.transport else None
        return str(peer[0]) if peer else "local"

    def _same_origin(self, request):
        """Return True unless the request names another origin (Origin, else Referer) than this server."""
        origin = request.headers.get("Origin") or request.headers.get("Referer")
        if origin is None:
            return True  # not a browser's cross-site request (browsers send Origin on POST and WebSocket)
        own = f"{self.scheme}://{request.host}"
        return origin == own or origin.startswith(own + "/")

    def _session(self, request):
        """Return the request's live Session (marking its connection authenticated) or None."""
        s = self.sessions.get(request.cookies.get(SESSION_COOKIE))
        if s is not None:
            guarded = self.tracked.get(request.transport)
            if guarded is not None:
                guarded.authenticated()
        return s

    def _cookie(self, resp, name, value, max_age=None):
        resp.set_cookie(name, value, httponly=True, samesite="Strict", secure=bool(self.ssl), path="/",
                        max_age=max_age)

    async def _index(self, request):
        s = self._session(request)
        if s is not None:
            return _see_other(self.home[s.role])
        return self._login_form()

    def _login_form(self, message="", status=200):
        token = secrets.token_urlsafe(24)
        resp = web.Response(status=status, text=login_page(token, message), content_type="text/html")
        self._cookie(resp, CSRF_COOKIE, token)
        return resp

    async def _login(self, request):
        source = self._source(request)
        form = await request.post()
        sent, kept = form.get("csrf", ""), request.cookies.get(CSRF_COOKIE, "")
        if not (isinstance(sent, str) and sent and hmac.compare_digest(sent.encode(), kept.encode())):
            self.guard.refuse(source, "csrf", "login form without its CSRF token")
            return self._login_form("The form expired; please try again.", 403)
        name, password = form.get("name", ""), form.get("password", "")
        async with self._turn(source, self.tracked.get(request.transport)):
            wait = self.guard.begin(source)
            if wait is not None:
                self.guard.refuse(source, wait[0], "login: " + wait[1])
                return self._login_form(wait[1], 429)
            try:
                ident = await self._check_password(str(name)[:200], str(password)[:1024])
            finally:
                self.guard.end(source)
        if ident is None:
            self.guard.failed(source)
            self.guard.refuse(source, P.BAD_TOKEN, f"login as {str(name)[:40]!r}")
            return self._login_form("Wrong name or password.", 401)
        self.guard.succeeded(source)
        resp = _see_other(self.home[ident[0]])
        self._cookie(resp, SESSION_COOKIE, self.sessions.open(*ident))
        resp.del_cookie(CSRF_COOKIE, path="/")
        return resp

    async def _logout(self, request):
        sid = request.cookies.get(SESSION_COOKIE)
        s = self.sessions.get(sid, touch=False)
        form = await request.post()
        sent = form.get("csrf", "")
        if s is None or not (isinstance(sent, str) and hmac.compare_digest(sent.encode(), s.csrf.encode())):
            self.guard.refuse(self._source(request), "csrf", "logout without a session or its CSRF token")
            return _see_other("/")
        self.sessions.close(sid)
        for c in list(self.conns.values()):
            if c.session is s:
                c.close()
        if self.phones is not None:
            self.phones.unregister(s.name)  # a logged-out user's browser phone rings no more
        resp = _see_other("/")
        resp.del_cookie(SESSION_COOKIE, path="/")
        return resp

    async def _page(self, roles, render, request):
        """A logged-in page: the login form without a session, 403 for a role the page is not for."""
        s = self._session(request)
        if s is None:
            return _see_other("/")
        if s.role not in roles:
            self.guard.refuse(self._source(request), P.FORBIDDEN, f"{request.path} by {s.name} ({s.role})")
            return web.Response(status=403, text=f"this page is not for the {s.role} role\n")
        return web.Response(text=render(s.name, s.role, s.csrf), content_type="text/html")

    async def _snapshot(self, request):
        ident = None
        s = self._session(request)
        if s is not None:
            ident = (s.role, s.name)
        else:
            auth = request.headers.get("Authorization", "")
            if auth.startswith("Bearer "):
                source = self._source(request)
                if self.guard.may_try(source) is None:
                    ident = self.accounts.by_token(auth[7:])
                    if ident is None:
                        self.guard.failed(source)
        if ident is None:
            self.guard.refuse(self._source(request), P.NOT_AUTHENTICATED, "GET /api/snapshot")
            return web.json_response({"error": P.NOT_AUTHENTICATED}, status=401,
                                     headers={"WWW-Authenticate": 'Bearer realm="pycallcenter"'})
        return web.Response(text=self.hub.snapshot_json(), content_type="application/json")

    async def _recording(self, request):
        """A recording's WAV, for the supervisor the console's link was made for (backend.recording_open)."""
        s = self._session(request)
        grant = self.hub.backend.grants.get(request.match_info["token"]) if s is not None else None
        if s is None or grant is None or grant[0] != s.name or grant[2] < time.monotonic():
            self.guard.refuse(self._source(request), P.FORBIDDEN, "GET /recording without its grant")
            return web.Response(status=404 if s is not None else 401, text="no such recording link\n")
        return web.FileResponse(grant[1], headers={"Content-Type": "audio/wav", "Cache-Control": "no-store"})

    async def _websocket(self, request):
        guarded = self.tracked.get(request.transport)
        origin = request.headers.get("Origin")
        if origin is not None and not self._same_origin(request):
            self.guard.refuse(self._source(request), "origin", f"WebSocket from origin {origin!r}")
            return web.Response(status=403, text="cross-origin WebSocket refused\n")
        session = self._session(request)
        # a message of max_message characters may take up to 4 bytes each in UTF-8
        ws = web.WebSocketResponse(max_msg_size=4 * self.limits.max_message, heartbeat=30.0)
        try:
            await ws.prepare(request)
        except ConnectionError:  # the client left during the handshake: nothing to answer, nothing to log
            # not the half-made WebSocket: aiohttp would close it after the handler and log a traceback
            # ("Call .prepare() first", seen when a cut-off flood reconnected and was killed); a plain
            # answer meets the closed socket and is dropped quietly
            if request.transport is not None:
                request.transport.abort()
            return web.Response(status=400, text="the client left during the WebSocket handshake\n")
        c = self._open("ws", guarded, session)
        if session is not None:
            self._authenticated(c, session.role, session.name, None)
        async def finish():
            await ws.close()

        sender = asyncio.ensure_future(self._writer(c, ws.send_str, finish))
        try:
            async for m in ws:
                if m.type == WSMsgType.TEXT:
                    await self._text_in(c, m.data)
                elif m.type == WSMsgType.BINARY:
                    self._refuse(c, None, P.BAD_MESSAGE, "send JSON in text frames")
                if c.closing:
                    break
        except ConnectionError:
            pass
        finally:
            self._gone(c)
            try:
                await asyncio.wait_for(sender, 2)
            except (asyncio.TimeoutError, ConnectionError):
                await ws.close()
        return ws


def _see_other(location):
    """Return a 303 redirect (a response, not an exception, so the middleware can add its headers)."""
    return web.Response(status=303, headers={"Location": location})
