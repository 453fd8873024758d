"""Silent SIP stream connections are closed after first_message_timeout (32 s), not held for the 300 s idle
timeout: real sockets on loopback, the clock driven by hand (the engine's StreamTransport takes `now`, the
core endpoint's sweep reads `endpoint.now`)."""
import asyncio
import socket
import ssl
import time

from test_sip_transport import _contexts, tls_files  # noqa: F401 (a fixture)

from pycallcenter.engine.sip_stream import StreamTransport
from pycallcenter.sip.transport import open_stream_endpoint

OPTIONS = (b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:5999;branch=z9hG4bK-silent1\r\n"
           b"From: <sip:a@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: silent@127.0.0.1\r\n"
           b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n")


def _client(address):
    sock = socket.create_connection(address, timeout=5)
    sock.settimeout(0)
    return sock


def _closed(sock):
    """Return True when the server closed sock (EOF or reset), False while it is open and silent."""
    try:
        return sock.recv(4096) == b""
    except BlockingIOError:
        return False
    except ConnectionResetError:
        return True


def _poll_until(transport, now, done, limit=500):
    """Poll at the fixed clock `now` until done() holds (the sockets need real time to move); return what
    the polls produced."""
    got = []
    for _ in range(limit):
        got += transport.poll(now)[0]
        if done(got):
            return got
        time.sleep(0.01)
    raise AssertionError("the transport did not get there")


def test_engine_closes_a_silent_tcp_connection_but_keeps_one_that_spoke():
    t = StreamTransport("TCP", ("127.0.0.1", 0), max_per_source=2)
    try:
        silent, talker = _client(t.address), _client(t.address)
        silent.sendall(b"\r\n\r\n")  # a keep-alive ping is not a message: it does not earn the idle timeout
        _poll_until(t, 0.0, lambda got: len(t.connections) == 2)
        third = _client(t.address)  # the per-source cap of 2 is held: refused
        _poll_until(t, 0.0, lambda got: t.counts["refused"] == 1)
        talker.sendall(OPTIONS)
        got = _poll_until(t, 10.0, lambda got: got)
        assert got[0][0].method == "OPTIONS"
        t.poll(32.0)  # not yet past the 32 s
        assert len(t.connections) == 2
        t.poll(32.5)
        assert t.counts["silent_closed"] == 1 and len(t.connections) == 1
        assert "no SIP message within 32 s" in t.errors[-1][1]
        _poll_until(t, 32.5, lambda got: _closed(silent))
        assert not _closed(talker)
        fourth = _client(t.address)  # the freed place is taken again
        _poll_until(t, 33.0, lambda got: len(t.connections) == 2)
        t.poll(300.0)  # the talker keeps the idle timeout, counted from its last byte at 10 s
        assert not _closed(talker) and t.counts["idle_closed"] == 0
        t.poll(310.5)
        assert t.counts["idle_closed"] == 1 and t.counts["silent_closed"] == 2
        for sock in (silent, talker, third, fourth):
            sock.close()
    finally:
        t.close()


def test_engine_closes_a_tls_connection_whose_handshake_does_not_finish(tls_files):  # noqa: F811
    server, client = _contexts(*tls_files)
    t = StreamTransport("TLS", ("127.0.0.1", 0), server_ssl=server, client_ssl=client)
    try:
        raw = _client(t.address)
        raw.sendall(b"\x16\x03\x01\x00")  # the first bytes of a ClientHello, and then nothing
        _poll_until(t, 0.0, lambda got: len(t.connections) == 1)
        t.poll(20.0)
        assert len(t.connections) == 1
        t.poll(32.5)
        assert t.counts["silent_closed"] == 1 and not t.connections
        _poll_until(t, 32.5, lambda got: _closed(raw))
        raw.close()
    finally:
        t.close()


def test_core_endpoint_closes_a_silent_connection_but_keeps_one_that_spoke():
    async def main():
        loop = asyncio.get_running_loop()
        b = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        real_now = b.now
        try:
            silent = await loop.run_in_executor(None, _client, b.local_addr)
            talker = await loop.run_in_executor(None, _client, b.local_addr)
            talker.sendall(OPTIONS)
            for _ in range(500):
                if len(b.connections) == 2 and any(c.greeted for c in b.connections.values()):
                    break
                await asyncio.sleep(0.01)
            assert sorted(c.greeted for c in b.connections.values()) == [False, True]
            b.now = lambda: real_now() + 33.0
            b.sweep()
            for _ in range(500):
                if _closed(silent):
                    break
                await asyncio.sleep(0.01)
            else:
                raise AssertionError("the silent connection stayed open")
            assert b.counts["silent closed"] == 1 and b.counts["idle closed"] == 0
            assert not _closed(talker)
            silent.close()
            talker.close()
        finally:
            b.now = real_now
            b.close()
    asyncio.run(main())
