"""Kamailio 5.6 (Debian `kamailio`) as registrar and record-routing proxy in front of our user agents, on
loopback, with a small configuration written by the test (no database: usrloc in memory, plain-text
passwords checked by the auth module's pv_* functions).

Our phone REGISTERs to Kamailio with digest (401 from Kamailio, our Authorization accepted, binding
granted); our caller INVITEs through Kamailio, answers its 407 with Proxy-Authorization, and the call is
routed to the phone's registered contact with Record-Route; ACK and BYE follow the route set through
Kamailio and the call is cleared on both sides. The same with the phone on TCP (our transport.py against a
real peer): it registers over a connection it opens, and the call crosses from UDP to TCP in Kamailio,
which record-routes twice (one entry per transport)."""
import asyncio
import shutil
import socket
import subprocess
import time

import pytest

from pycallcenter.sip import ua as U
from pycallcenter.sip.transport import open_stream_endpoint
from pycallcenter.sip.udp import open_endpoint
from sip_sipp import free_udp_port

KAMAILIO = shutil.which("kamailio") or (shutil.which("kamailio", path="/usr/sbin:/sbin"))
MISSING = "kamailio (Debian package kamailio) is not installed; `make sysdeps-test` installs it"
pytestmark = [pytest.mark.peer, pytest.mark.skipif(KAMAILIO is None, reason=MISSING)]

CONFIG = """#!KAMAILIO
debug=2
log_stderror=yes
fork=yes
children=1
auto_aliases=no
listen=udp:127.0.0.1:{port}
listen=tcp:127.0.0.1:{port}
alias="127.0.0.1:{port}"
mpath="/usr/lib/x86_64-linux-gnu/kamailio/modules/"
loadmodule "kex.so"
loadmodule "corex.so"
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "pv.so"
loadmodule "maxfwd.so"
loadmodule "textops.so"
loadmodule "siputils.so"
loadmodule "xlog.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
loadmodule "auth.so"
modparam("usrloc", "db_mode", 0)
modparam("rr", "append_fromtag", 1)
modparam("auth", "algorithm", "{algorithm}")

request_route {{
    if (!mf_process_maxfwd_header("10")) {{ sl_send_reply("483", "Too Many Hops"); exit; }}
    if (has_totag()) {{
        if (loose_route()) {{ t_relay(); exit; }}
        if (is_method("ACK")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
        sl_send_reply("404", "Not here"); exit;
    }}
    if (is_method("CANCEL")) {{ if (t_check_trans()) {{ t_relay(); }} exit; }}
    $var(pass) = "";
    if ($fU == "alice") {{ $var(pass) = "wonderland"; }}
    if ($fU == "bob") {{ $var(pass) = "builder"; }}
    if (is_method("REGISTER")) {{
        if (!pv_www_authenticate("$td", "$var(pass)", "0")) {{ www_challenge("$td", "0"); exit; }}
        if (!save("location")) {{ sl_reply_error(); }}
        exit;
    }}
    if (is_method("INVITE")) {{
        if (!pv_proxy_authenticate("$fd", "$var(pass)", "0")) {{ proxy_challenge("$fd", "0"); exit; }}
        consume_credentials();
        record_route();
        if (!lookup("location")) {{ sl_send_reply("404", "Not registered"); exit; }}
        t_relay();
        exit;
    }}
    sl_send_reply("405", "Method Not Allowed");
}}
"""


@pytest.fixture(params=["MD5", "SHA-256"])
def kamailio(request, tmp_path):
    port = _free_port_both()
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(CONFIG.format(port=port, algorithm=request.param))
    check = subprocess.run([KAMAILIO, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]
    pid_file = tmp_path / "kamailio.pid"
    log = open(tmp_path / "kamailio.log", "w")
    proc = subprocess.Popen([KAMAILIO, "-f", str(cfg), "-DD", "-E", "-Y", str(tmp_path), "-P", str(pid_file),
                             "-w", str(tmp_path), "-m", "32", "-M", "8"], stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, port, tmp_path / "kamailio.log")
        yield port, request.param
    finally:
        proc.terminate()  # the main process stops its children
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _free_port_both():
    """Return a loopback port free for UDP and for TCP (Kamailio listens on both)."""
    for _ in range(50):
        port = free_udp_port()
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        return port
    raise AssertionError("no loopback port free for both UDP and TCP")


def _wait_until_up(proc, port, log_path):
    deadline = time.monotonic() + 10
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:  # wait until it answers an OPTIONS
        probe.settimeout(0.2)
        while True:
            assert proc.poll() is None, log_path.read_text()[-3000:]
            probe.sendto(b"OPTIONS sip:127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:9;rport;branch=z9hG4bKprobe\r\n"
                         b"From: <sip:probe@127.0.0.1>;tag=p\r\nTo: <sip:127.0.0.1>\r\nCall-ID: probe\r\n"
                         b"CSeq: 1 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\n\r\n", ("127.0.0.1", port))
            try:
                probe.recv(4096)
                break
            except socket.timeout:
                assert time.monotonic() < deadline, "kamailio did not start"


async def _wait(endpoint, kind, timeout=10.0):
    while True:
        event = await asyncio.wait_for(endpoint.events.get(), timeout)
        if isinstance(event, kind):
            return event
        if isinstance(event, (U.CallFailed, U.RegistrationFailed)):
            raise AssertionError(event)


def test_register_and_record_routed_call_through_kamailio(kamailio):
    port, algorithm = kamailio
    proxy = ("127.0.0.1", port)

    async def main():
        phone = await open_endpoint("127.0.0.1", 0, user="alice", auth=("alice", "wonderland"), rtp_port=41000)
        caller = await open_endpoint("127.0.0.1", 0, user="bob", auth=("bob", "builder"))
        seen = {"phone": [], "caller": []}
        for name, ep in (("phone", phone), ("caller", caller)):
            original = ep.ua.receive
            ep.ua.receive = (lambda orig, log: lambda data, addr, now, transport=None: log.append((addr, data)) or
                             orig(data, addr, now, transport))(original, seen[name])
        try:
            phone.run(phone.ua.register(f"sip:alice@127.0.0.1:{port}", proxy, 300, phone.now()))
            registered = await _wait(phone, U.Registered)
            call_id = caller.call(f"sip:alice@127.0.0.1:{port}", addr=proxy)
            incoming = await _wait(phone, U.IncomingCall)
            answered = await _wait(caller, U.CallAnswered)
            await _wait(phone, U.CallConfirmed)
            route_sets = (list(phone.ua.dialogs[call_id].route_set), list(caller.ua.dialogs[call_id].route_set))
            caller.hang_up(call_id)
            await _wait(caller, U.CallEnded)
            ended = await _wait(phone, U.CallEnded)
            phone.run(phone.ua.register(f"sip:alice@127.0.0.1:{port}", proxy, 0, phone.now()))
            unregistered = await _wait(phone, U.Registered)
            return registered, incoming, answered, ended, unregistered, route_sets, seen, phone, caller
        finally:
            phone.close()
            caller.close()

    registered, incoming, answered, ended, unregistered, route_sets, seen, phone, caller = asyncio.run(main())
    assert registered.expires > 0 and f"127.0.0.1:{phone.local_addr[1]}" in registered.contacts[0]
    assert unregistered.expires == 0
    challenges = [d for _, d in seen["caller"] if d.startswith(b"SIP/2.0 407")]
    assert challenges and f"algorithm={algorithm}".encode() in challenges[0]
    assert [d for _, d in seen["phone"] if d.startswith(b"SIP/2.0 401")]  # REGISTER was challenged
    assert incoming.request.headers.get("Record-Route") is not None and answered.answer.media[0].port == 41000
    phone_rs, caller_rs = route_sets
    assert len(phone_rs) == 1 and phone_rs == caller_rs and f"127.0.0.1:{port}" in phone_rs[0]
    assert ended.by == "remote"
    bye = [(addr, d) for addr, d in seen["phone"] if d.startswith(b"BYE ")]
    assert bye and bye[0][0] == ("127.0.0.1", port)  # the BYE came through Kamailio, following the route set
    assert not phone.ua.dialogs and not caller.ua.dialogs


def test_phone_on_tcp_registers_and_is_called_through_kamailio(kamailio):
    port, _ = kamailio
    proxy = ("127.0.0.1", port)

    async def main():
        phone = await open_stream_endpoint("127.0.0.1", 0, "TCP", user="alice", auth=("alice", "wonderland"))
        caller = await open_endpoint("127.0.0.1", 0, user="bob", auth=("bob", "builder"))
        try:
            phone.run(phone.ua.register(f"sip:alice@127.0.0.1:{port}", proxy, 300, phone.now()))
            registered = await _wait(phone, U.Registered)
            call_id = caller.call(f"sip:alice@127.0.0.1:{port}", addr=proxy)
            incoming = await _wait(phone, U.IncomingCall)
            await _wait(caller, U.CallAnswered)
            await _wait(phone, U.CallConfirmed)
            route_sets = (list(phone.ua.dialogs[call_id].route_set), list(caller.ua.dialogs[call_id].route_set))
            caller.hang_up(call_id)
            await _wait(caller, U.CallEnded)
            ended = await _wait(phone, U.CallEnded)
            return registered, incoming, ended, route_sets, phone.counts
        finally:
            phone.close()
            caller.close()

    registered, incoming, ended, (phone_rs, caller_rs), counts = asyncio.run(main())
    assert "transport=tcp" in registered.contacts[0]
    assert incoming.request.top_via.transport == "TCP" and ended.by == "remote"
    assert len(phone_rs) == 2 and phone_rs == caller_rs[::-1]  # double record-route across the transports
    assert "transport=tcp" in phone_rs[0] and "transport=tcp" not in caller_rs[0]
    assert counts["connections"] >= 1 and counts["malformed streams"] == 0
