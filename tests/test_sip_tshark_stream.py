"""tshark decodes our SIP over TCP and over TLS as captured on loopback: a call over each transport between two
of our stream endpoints is captured live (tshark -i lo), the TLS session keys are logged by Python's ssl
(keylog_filename), and tshark reads the capture back, reassembles the streams, decrypts TLS and finds
every message (INVITE, 200, ACK, BYE, 200) on each, with no malformed packet and no expert error."""
import asyncio
import shutil
import signal
import ssl
import subprocess

import pytest

from pycallcenter.sip import ua as U
from pycallcenter.sip.transport import open_stream_endpoint

TSHARK = shutil.which("tshark")
MISSING = "tshark is not installed; `make sysdeps-test` installs it"
pytestmark = [pytest.mark.peer, pytest.mark.skipif(TSHARK is None, reason=MISSING)]
EXPECTED = ["INVITE", "200", "ACK", "BYE", "200"]


async def _next(endpoint, kind):
    while True:
        event = await asyncio.wait_for(endpoint.events.get(), 5)
        if isinstance(event, kind):
            return event


async def _call(a, b, uri):
    call_id = a.call(uri)
    await _next(a, U.CallAnswered)
    await _next(b, U.CallConfirmed)
    a.hang_up(call_id)
    await _next(a, U.CallEnded)
    await _next(b, U.CallEnded)


def _contexts(tmp_path, keylog):
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "1", "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"],
                   check=True, capture_output=True)
    server = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    server.load_cert_chain(cert, key)
    client = ssl.create_default_context(cafile=str(cert))
    for context in (server, client):
        context.keylog_filename = str(keylog)
    return server, client


def test_tshark_decodes_our_sip_over_tcp_and_tls_captured_on_loopback(tmp_path):
    keylog, capture = tmp_path / "keys.log", tmp_path / "sip.pcapng"
    server, client = _contexts(tmp_path, keylog)

    async def main():
        a = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        b = await open_stream_endpoint("127.0.0.1", 0, "TCP")
        c = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=client)
        d = await open_stream_endpoint("127.0.0.1", 0, "TLS", server_ssl=server, client_ssl=client)
        tcp_port, tls_port = b.local_addr[1], d.local_addr[1]
        tshark = await asyncio.create_subprocess_exec(
            TSHARK, "-i", "lo", "-f", f"tcp port {tcp_port} or tcp port {tls_port}", "-w", str(capture),
            stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE)
        try:
            while b"Capturing on" not in await asyncio.wait_for(tshark.stderr.readline(), 20):
                pass
            await asyncio.sleep(1.0)  # dumpcap says so a moment before its filter is live
            await _call(a, b, f"sip:b@127.0.0.1:{tcp_port};transport=tcp")
            await _call(c, d, f"sips:d@127.0.0.1:{tls_port};transport=tls")
            await asyncio.sleep(0.5)  # let the last segments reach the capture
        finally:
            tshark.send_signal(signal.SIGINT)  # as Ctrl-C: tshark and its dumpcap flush the file and stop
            await asyncio.wait_for(tshark.wait(), 20)
            for endpoint in (a, b, c, d):
                endpoint.close()
        return tcp_port, tls_port

    tcp_port, tls_port = asyncio.run(main())
    common = [TSHARK, "-r", str(capture), "-o", f"tls.keylog_file:{keylog}", "-d", f"tcp.port=={tcp_port},sip",
              "-d", f"tls.port=={tls_port},sip"]
    lines = subprocess.run(common + ["-Y", "sip", "-T", "fields", "-E", "separator=|", "-e", "tcp.srcport",
                                     "-e", "tcp.dstport", "-e", "sip.Method", "-e", "sip.Status-Code",
                                     "-e", "frame.protocols"], capture_output=True, text=True, check=True).stdout
    seen = {"tcp": [], "tls": []}
    for line in lines.splitlines():
        src, dst, method, status, protocols = line.split("|")
        stream = "tls" if tls_port in (int(src), int(dst)) else "tcp"
        assert ("tls" in protocols.split(":")) == (stream == "tls"), line  # decrypted from TLS, or plain TCP
        seen[stream] += filter(None, method.split(",") + status.split(","))  # a segment may carry several
    assert sorted(seen["tcp"]) == sorted(EXPECTED), lines
    assert sorted(seen["tls"]) == sorted(EXPECTED), lines
    bad = subprocess.run(common + ["-Y", "_ws.malformed || _ws.expert.severity >= error"],
                         capture_output=True, text=True, check=True).stdout
    assert bad == ""
