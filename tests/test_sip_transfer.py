"""REFER (RFC 3515) and Replaces (RFC 3891) through the user agent: blind and attended transfer become
events with NOTIFY sipfrag progress; the core never places the transferred call itself."""
import random

from pycallcenter.sip import ua as U
from pycallcenter.sip.message import make_request
from sip_net import SipNet

A, B, C = ("192.0.2.1", 5060), ("192.0.2.2", 5062), ("192.0.2.3", 5064)
C_URI = f"sip:c@{C[0]}:{C[1]}"


def _net():
    net = SipNet()
    for i, addr in enumerate((A, B, C)):
        net.add(addr, rng=random.Random(i + 1), user="abc"[i])
    return net


def test_blind_transfer_is_reported_and_progress_comes_back_by_notify():
    net = _net()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.do(B, net.ua[B].refer(call_id, C_URI, net.now))
    (refer,) = net.sent(B, "REFER")
    assert refer.headers.get("Refer-To") == f"<{C_URI}>" and net.sent(A, 202)
    (asked,) = net.of(U.TransferRequested, A)
    assert asked == U.TransferRequested(call_id, C_URI, None, "<sip:b@192.0.2.2:5062>")
    assert net.sent(A, "INVITE") == [m for m in net.sent(A, "INVITE") if m.call_id == call_id]  # nothing to C
    (notify,) = net.sent(A, "NOTIFY")
    assert notify.body == b"SIP/2.0 100 Trying\r\n" and notify.headers.get("Event") == f"refer;id={refer.cseq.number}"
    assert notify.headers.get("Content-Type") == "message/sipfrag;version=2.0"
    assert net.of(U.TransferProgress, B) == [U.TransferProgress(call_id, 100, False)]
    new_call = net.call(A, C_URI)  # our user places the call, then reports how it went
    assert "CallAnswered" in net.kinds(A)
    net.do(A, net.ua[A].notify_transfer(call_id, 200, net.now))
    assert net.of(U.TransferProgress, B)[-1] == U.TransferProgress(call_id, 200, True)
    assert net.sent(A, "NOTIFY")[-1].headers.get("Subscription-State").startswith("terminated")
    assert call_id in net.ua[A].dialogs and new_call in net.ua[A].dialogs


def test_attended_transfer_carries_replaces_to_the_target():
    net = _net()
    first = net.call(A, f"sip:b@{B[0]}:{B[1]}")  # A talks to B
    second = net.call(B, C_URI)  # B consults C
    net.do(B, net.ua[B].refer(first, C_URI, net.now, replaces=second))
    (asked,) = net.of(U.TransferRequested, A)
    b_to_c = net.ua[B].dialogs[second]
    assert asked.target == C_URI
    assert asked.replaces == f"{second};to-tag={b_to_c.remote_tag};from-tag={b_to_c.local_tag}"
    new_call = net.call(A, asked.target, replaces=asked.replaces)
    (incoming,) = [e for e in net.of(U.IncomingCall, C) if e.call_id == new_call]
    assert incoming.replaces == second
    assert net.of(U.TransferRequested, C) == [U.TransferRequested(new_call, None, second)]
    assert second in net.ua[C].dialogs  # reported, not acted on: the user ends the replaced call


def test_replaces_naming_no_dialog_is_refused_481():
    net = _net()
    call_id = net.call(A, C_URI, replaces="nosuchcall;to-tag=x;from-tag=y")
    assert net.of(U.CallFailed, A) == [U.CallFailed(call_id, 481)] and not net.of(U.IncomingCall, C)


def test_refer_outside_a_confirmed_dialog_and_without_refer_to():
    net = _net()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    a = net.ua[A]
    request, _ = a.dialogs[call_id].request("REFER", a._via())
    net.deliver(A, B, request.encode())  # no Refer-To
    assert net.sent(B, 400)[-1].cseq.method == "REFER" and not net.of(U.TransferRequested)
    stray = make_request("REFER", "sip:b@192.0.2.2", via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKref",
                         from_="<sip:a@192.0.2.1>;tag=q", to="<sip:b@192.0.2.2>", call_id="none", cseq=1,
                         headers=[("Refer-To", f"<{C_URI}>")])
    net.deliver(A, B, stray.encode())
    assert net.sent(B, 481)[-1].call_id == "none"
