"""tshark decodes every SIP message our user agents emit in a session that uses each part of the core
(REGISTER with digest, INVITE with digest, 100rel/PRACK, 183 with SDP, UPDATE with session timers, re-INVITE
hold, INFO, REFER with NOTIFY sipfrag, OPTIONS, BYE), written as a pcap of IPv4/UDP datagrams: every frame is
SIP, each method and status is read back as sent, and there is no malformed packet and no expert error."""
import random
import shutil
import subprocess

import pytest

from pycallcenter.sip import sdp as S
from pycallcenter.sip.message import parse_message
from pycallcenter.trace.pcap import PcapWriter
from sip_net import SipNet
from test_packet_media_tshark import LINKTYPE_IPV4, ipv4_udp

TSHARK = shutil.which("tshark")
MISSING = "tshark is not installed; `make sysdeps-test` installs it"
pytestmark = [pytest.mark.peer, pytest.mark.skipif(TSHARK is None, reason=MISSING)]
A, B, C = ("192.0.2.1", 5060), ("192.0.2.2", 5060), ("192.0.2.3", 5060)


def _session():
    net = SipNet()
    net.add(A, rng=random.Random(1), user="alice", auth=("alice", "wonderland"), session_expires=120)
    b = net.add(B, rng=random.Random(2), credentials={"alice": "wonderland"}.get, auth_secret=b"t" * 32,
                answer_after=None)
    net.add(C, rng=random.Random(3), user="carol")
    net.do(A, net.ua[A].register("sip:alice@192.0.2.2", B, 600, net.now))
    call_id = net.call(A, "sip:service@192.0.2.2")
    net.do(B, b.progress(call_id, net.now))
    net.run(0.1)
    net.do(B, b.answer(call_id, net.now))
    net.run(61)  # a session refresh by UPDATE
    a = net.ua[A]
    net.do(A, a.hold(call_id, net.now))
    net.do(A, a.update(call_id, net.now, sdp=S.resume(a.dialogs[call_id].offer)))
    net.do(A, a.info(call_id, "application/dtmf-relay", b"Signal=1\r\nDuration=100\r\n", net.now))
    net.do(B, b.refer(call_id, "sip:carol@192.0.2.3", net.now))
    net.do(A, a.notify_transfer(call_id, 200, net.now))
    net.do(A, a.keepalive(C, 30, net.now))
    net.do(B, b.bye(call_id, net.now))
    net.run(100)
    return net


def test_tshark_decodes_every_message_of_a_session(tmp_path):
    net = _session()
    pcap = tmp_path / "sip.pcapng"
    with PcapWriter(pcap, LINKTYPE_IPV4) as writer:
        for t, source, dest, message in net.wire:
            writer.write(ipv4_udp(source, dest, message.encode()), ts=1_700_000_000 + t)
    sent = [m.encode() for _, _, _, m in net.wire]
    kinds = {getattr(m, "method", None) or m.status for _, _, _, m in net.wire}
    assert {"REGISTER", "INVITE", "PRACK", "UPDATE", "INFO", "REFER", "NOTIFY", "OPTIONS", "BYE", "ACK", 183, 401,
            202} <= kinds
    out = subprocess.run([TSHARK, "-r", str(pcap), "-o", "sip.display_raw_text:FALSE", "-T", "fields", "-E",
                          "separator=|", "-e", "sip.Method", "-e", "sip.Status-Code", "-e", "sip.CSeq.method",
                          "-e", "frame.protocols", "-e", "_ws.expert.severity"], capture_output=True, text=True,
                         check=True).stdout.splitlines()
    assert len(out) == len(sent)
    for line, data in zip(out, sent):
        method, status, cseq, protocols, severity = line.split("|")
        message = parse_message(data)
        assert "sip" in protocols.split(":"), (line, data[:80])
        if hasattr(message, "method"):
            assert method == message.method
        else:
            assert status == str(message.status)
        assert cseq == message.cseq.method
        if message.body and message.content_type == "application/sdp":
            assert protocols.endswith("sip:sdp"), line
        if message.content_type == "message/sipfrag":
            assert "sipfrag" in protocols, line
        assert severity == "" or not {"error", "8388608"} & set(severity.split(",")), line
    bad = subprocess.run([TSHARK, "-r", str(pcap), "-Y", "_ws.malformed || _ws.expert.severity >= error"],
                         capture_output=True, text=True, check=True).stdout
    assert bad == ""
