"""SIP over TCP and TLS (stdlib ssl) on loopback: calls through two stream endpoints with connection reuse,
Via and Contact naming the transport; bounds: malformed streams, per-source caps, idle timeout, header cap."""
import asyncio
import socket
import ssl
import subprocess

import pytest

from pycallcenter.sip import ua as U
from pycallcenter.sip.message import parse_message
from pycallcenter.sip.transport import open_stream_endpoint


async def _next(endpoint, kind, timeout=5.0):
    while True:
        event = await asyncio.wait_for(endpoint.events.get(), timeout)
        if isinstance(event, kind):
            return event


async def _call_and_clear(a, b, scheme="sip", transport="tcp"):
    port = b.local_addr[1]
    call_id = a.call(f"{scheme}:b@127.0.0.1:{port};transport={transport}")
    await _next(a, U.CallAnswered)
    await _next(b, U.CallConfirmed)
    a.hang_up(call_id)
    await _next(a, U.CallEnded)
    await _next(b, U.CallEnded)
    return call_id


def test_call_over_tcp_reuses_one_connection():
    async def main():
        a = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        b = await open_stream_endpoint("127.0.0.1", 0, "TCP", rtp_port=41000)
        seen = []
        original = b.ua.receive
        b.ua.receive = lambda message, addr, now, transport=None: seen.append(message) or \
            original(message, addr, now, transport)
        try:
            await _call_and_clear(a, b)
            return a.counts, b.counts, seen
        finally:
            a.close()
            b.close()

    a_counts, b_counts, seen = asyncio.run(main())
    assert a_counts["connections"] == 1 and b_counts["connections"] == 1  # INVITE, ACK, BYE and replies
    assert [m.method for m in seen] == ["INVITE", "ACK", "BYE"]
    assert all(m.top_via.transport == "TCP" for m in seen)
    assert seen[0].contact[0].uri.param("transport") == "tcp"


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory):
    folder = tmp_path_factory.mktemp("tls")
    key, cert = folder / "key.pem", folder / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    return cert, key


def _contexts(cert, key):
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))  # verifies the peer's certificate and address
    return server, client


def test_call_over_tls_with_a_verified_certificate(tls_files):
    async def main():
        server, client = _contexts(*tls_files)
        a = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=client)
        b = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=client)
        try:
            call_id = await _call_and_clear(a, b, "sips", "tls")
            return call_id, a, b
        finally:
            a.close()
            b.close()

    call_id, a, b = asyncio.run(main())
    assert a.counts["CallAnswered"] == 1 and b.counts["CallEnded"] == 1 and not a.errors
    assert a.ua.layer.reliable and a.ua._via().transport == "TLS" and a.ua._contact().startswith("<sips:")


def test_tls_to_an_untrusted_certificate_fails_to_connect(tls_files):
    async def main():
        server, _ = _contexts(*tls_files)
        strict = ssl.create_default_context()  # the system roots do not know our self-signed certificate
        a = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=strict)
        b = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=strict)
        try:
            call_id = a.call(f"sips:b@127.0.0.1:{b.local_addr[1]};transport=tls")
            failed = await _next(a, U.CallFailed, timeout=5.0)  # at once, not after timer B's 32 s
            return a.counts, b.counts, failed, call_id, a.ua
        finally:
            a.close()
            b.close()

    a_counts, b_counts, failed, call_id, ua = asyncio.run(main())
    assert a_counts["connect failures"] == 1 and b_counts["IncomingCall"] == 0
    assert failed == U.CallFailed(call_id, 503) and not ua.dialogs and not ua.layer.transactions


def test_register_over_tcp_to_a_closed_port_fails_with_503():
    async def main():
        a = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        with socket.socket() as s:  # a port nobody listens on
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        try:
            a.run(a.ua.register(f"sip:a@127.0.0.1:{port}", ("127.0.0.1", port), 300, a.now()))
            return await _next(a, U.RegistrationFailed, timeout=5.0)
        finally:
            a.close()

    assert asyncio.run(main()).status == 503


def _raw(port):
    s = socket.create_connection(("127.0.0.1", port), timeout=2)
    return s


def _closed(sock, timeout=2.0):
    sock.settimeout(timeout)
    try:
        return sock.recv(65536) == b""
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def test_stream_bounds_malformed_caps_idle_and_header_size():
    async def main():
        b = await open_stream_endpoint("127.0.0.1", 0, "TCP", limits={"max_per_source": 2, "idle_timeout": 0.4,
                                                                       "max_header": 2048})
        port = b.local_addr[1]
        loop = asyncio.get_running_loop()
        try:
            bad = _raw(port)
            bad.sendall(b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nContent-Length: x\r\n\r\n")
            malformed_closed = await loop.run_in_executor(None, _closed, bad)
            bad.close()
            first, second, third = _raw(port), _raw(port), _raw(port)
            third_closed = await loop.run_in_executor(None, _closed, third, 1.0)
            idle_closed = await loop.run_in_executor(None, _closed, first, 3.0)
            for s in (first, second, third):
                s.close()
            await asyncio.sleep(0.1)
            big = _raw(port)
            big.sendall(b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nX-Pad: " + b"a" * 4096)
            big_closed = await loop.run_in_executor(None, _closed, big)
            big.close()
            ok = _raw(port)  # a well-formed OPTIONS still gets its 200 on the same connection
            ok.sendall(b"OPTIONS sip:b@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/TCP 127.0.0.1:9;branch=z9hG4bKtcp\r\n"
                       b"From: <sip:x@127.0.0.1>;tag=1\r\nTo: <sip:b@127.0.0.1>\r\nCall-ID: tcp1\r\nCSeq: 1 OPTIONS\r\n"
                       b"Max-Forwards: 70\r\nContent-Length: 0\r\n\r\n")
            reply = await loop.run_in_executor(None, ok.recv, 65536)
            ok.close()
            return b.counts, malformed_closed, third_closed, idle_closed, big_closed, reply
        finally:
            b.close()

    counts, malformed_closed, third_closed, idle_closed, big_closed, reply = asyncio.run(main())
    assert malformed_closed and counts["malformed streams"] == 2
    assert third_closed and counts["connections refused"] == 1
    assert idle_closed and counts["idle closed"] >= 2
    assert big_closed
    assert parse_message(reply, datagram=False).status == 200


def test_one_user_agent_on_udp_tcp_and_tls_at_once(tls_files):
    """A centre on UDP, TCP and TLS with one user agent: a phone registers over TLS, callers come in over UDP
    and TCP, and the centre's call to the registered phone goes out over TLS with a SIPS Contact."""
    from pycallcenter.sip.endpoints import open_endpoints
    from pycallcenter.sip.udp import open_endpoint

    async def main():
        server, client = _contexts(*tls_files)
        centre = await open_endpoints("127.0.0.1", udp=0, tcp=0, tls=0, server_ssl=server, client_ssl=client,
                                      credentials={"alice": "wonderland"}.get)
        phone = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=client,
                                           user="alice", auth=("alice", "wonderland"))
        udp_caller = await open_endpoint("127.0.0.1", 0, auth=("alice", "wonderland"))
        tcp_caller = await open_stream_endpoint("127.0.0.1", 0, "TCP", auth=("alice", "wonderland"))
        seen = []
        original = phone.ua.receive
        phone.ua.receive = lambda message, addr, now, transport=None: seen.append(message) or \
            original(message, addr, now, transport)
        try:
            ports = centre.ua.ports
            phone.run(phone.ua.register(f"sips:alice@127.0.0.1:{ports['TLS']}", ("127.0.0.1", ports["TLS"]), 300,
                                        phone.now()))
            registered = await _next(phone, U.Registered)
            udp_call = udp_caller.call(f"sip:centre@127.0.0.1:{ports['UDP']}")
            await _next(udp_caller, U.CallAnswered)
            tcp_call = tcp_caller.call(f"sip:centre@127.0.0.1:{ports['TCP']};transport=tcp")
            await _next(tcp_caller, U.CallAnswered)
            out_call = centre.call("sip:alice")
            await _next(centre, U.CallAnswered)
            await _next(phone, U.CallConfirmed)
            for endpoint, call_id in ((udp_caller, udp_call), (tcp_caller, tcp_call), (centre, out_call)):
                endpoint.hang_up(call_id)
                await _next(endpoint, U.CallEnded)
            return registered, seen, centre, phone.counts
        finally:
            for endpoint in (centre, phone, udp_caller, tcp_caller):
                endpoint.close()

    registered, seen, centre, phone_counts = asyncio.run(main())
    assert phone_counts["connections"] == 1  # INVITE, ACK and BYE came over the phone's REGISTER connection
    assert registered.contacts[0].startswith("sips:alice@127.0.0.1:") and "transport=tls" in registered.contacts[0]
    invite = next(m for m in seen if getattr(m, "method", "") == "INVITE")
    assert invite.top_via.transport == "TLS" and invite.contact[0].uri.scheme == "sips"
    assert invite.contact[0].uri.port == centre.ua.ports["TLS"]
    assert centre.counts["IncomingCall"] == 2 and centre.counts["CallEnded"] == 3 and not centre.ua.dialogs
