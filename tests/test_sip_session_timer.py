"""Session timers (RFC 4028) and OPTIONS keepalive through the user agent, in simulated time: negotiation,
refresh at half the interval, BYE when refreshes stop, 422 and Min-SE, a caller without timer support;
keepalive up/down events."""
import random

from pycallcenter.sip import ua as U
from sip_net import SipNet

A, B = ("192.0.2.1", 5060), ("192.0.2.2", 5062)
B_URI = f"sip:b@{B[0]}:{B[1]}"


def _net(a_kw=None, b_kw=None):
    net = SipNet()
    net.add(A, rng=random.Random(1), **(a_kw or {}))
    net.add(B, rng=random.Random(2), **(b_kw or {}))
    return net


def test_caller_asks_for_a_timer_and_refreshes_with_update_at_half_interval():
    net = _net(a_kw={"session_expires": 120})
    call_id = net.call(A, B_URI)
    (invite,) = net.sent(A, "INVITE")
    assert invite.headers.get("Session-Expires") == "120" and invite.headers.get("Min-SE") == "90"
    ok = net.sent(B, 200, "INVITE")[0]
    assert ok.headers.get("Session-Expires") == "120;refresher=uac" and ok.headers.get("Require") == "timer"
    net.run(200)
    times = [t for t, s, _, m in net.wire if s == A and getattr(m, "method", "") == "UPDATE"]
    assert times == [60.0, 120.0, 180.0]
    assert net.sent(A, "UPDATE")[0].headers.get("Session-Expires") == "120;refresher=uac"
    assert call_id in net.ua[A].dialogs and call_id in net.ua[B].dialogs and not net.of(U.CallEnded)


def test_without_refreshes_the_other_side_ends_the_call_with_bye():
    net = _net(a_kw={"session_expires": 120})
    call_id = net.call(A, B_URI)
    net.drop = lambda source, dest, msg: getattr(msg, "method", "") == "UPDATE"
    net.run(200)
    # B expected a refresh by 120 - 32 = 88 s; A (the refresher) gives up at 120 s
    (bye,) = [m for m in net.sent(B, "BYE")]
    assert [t for t, s, _, m in net.wire if s == B and getattr(m, "method", "") == "BYE"] == [88.0]
    assert bye.headers.get("Reason").startswith("SIP;cause=408")
    assert net.of(U.CallEnded, B) == [U.CallEnded(call_id, "expired")]
    assert net.of(U.CallEnded, A) == [U.CallEnded(call_id, "remote", bye.headers.get("Reason"))]
    assert not net.ua[A].dialogs and not net.ua[B].dialogs


def test_interval_below_min_se_gets_422_and_the_caller_retries():
    net = _net(a_kw={"session_expires": 120}, b_kw={"min_se": 300})
    net.call(A, B_URI)
    (too_small,) = net.sent(B, 422)
    assert too_small.headers.get("Min-SE") == "300"
    first, second = net.sent(A, "INVITE")
    assert second.headers.get("Session-Expires") == "300" and second.cseq.number == 2
    assert net.sent(B, 200, "INVITE")[0].headers.get("Session-Expires") == "300;refresher=uac"
    assert "CallAnswered" in net.kinds(A)


def test_callee_runs_the_timer_for_a_caller_without_timer_support():
    net = _net(b_kw={"session_expires": 100})
    net.mutate = lambda s, d, data: data.replace(b"Supported: 100rel, timer, replaces\r\n", b"") \
        if s == A and data.startswith(b"INVITE") else data
    call_id = net.call(A, B_URI)
    ok = net.sent(B, 200, "INVITE")[0]
    assert ok.headers.get("Session-Expires") == "100;refresher=uas" and "Require" not in ok.headers
    net.run(120)
    assert [t for t, s, _, m in net.wire if s == B and getattr(m, "method", "") == "UPDATE"] == [50.0, 100.0]
    assert call_id in net.ua[A].dialogs


def test_refresh_by_reinvite_when_the_peer_does_not_allow_update():
    net = _net(a_kw={"session_expires": 120})
    net.mutate = lambda s, d, data: data.replace(b"UPDATE, ", b"") if s == B else data
    call_id = net.call(A, B_URI)
    net.run(61)
    refresh = [m for m in net.sent(A, "INVITE") if m.cseq.number > 1]
    assert len(refresh) == 1 and refresh[0].body == net.sent(A, "INVITE")[0].body  # the same offer again
    assert not net.of(U.SessionUpdated)  # an unchanged session is not news
    assert len([m for m in net.sent(A, "ACK")]) == 2 and call_id in net.ua[B].dialogs


def test_options_keepalive_reports_up_and_down():
    net = _net()
    net.do(A, net.ua[A].keepalive(B, 30.0, net.now))
    assert net.of(U.PeerUp, A) == [U.PeerUp(B)]
    down = [True]
    net.drop = lambda source, dest, msg: down[0] and dest == B
    net.run(70)
    assert net.kinds(A) == ["PeerUp", "PeerDown"]  # the OPTIONS at 30 s timed out at 62 s
    down[0] = False
    net.run(95)
    assert net.kinds(A) == ["PeerUp", "PeerDown", "PeerUp"]
    net.ua[A].stop_keepalive(B)
    before = len(net.sent(A, "OPTIONS"))
    net.run(300)
    assert len(net.sent(A, "OPTIONS")) == before
