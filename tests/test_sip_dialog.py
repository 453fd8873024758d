"""Dialogs (RFC 3261 12) through the user agent on a simulated network: route sets from Record-Route on both
sides, strict routing, remote target refresh, CSeq ordering, forked 2xx, requests for unknown dialogs and
methods; and the UAS face for our user (ring, early media with PRACK, answer, reject) and UPDATE."""
import random

from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U
from pycallcenter.sip.dialog import Dialog
from pycallcenter.sip.message import Request, make_request, parse_message
from sip_net import SipNet

A, B, C = ("192.0.2.1", 5060), ("192.0.2.2", 5062), ("192.0.2.3", 5064)
P1, P2 = ("198.51.100.1", 5060), ("198.51.100.2", 5060)


def rr_proxy(me, left, right):
    """A record-routing proxy between left and right (no Via of its own: a test stand-in)."""
    def forward(source, msg, data):
        if isinstance(msg, Request) and msg.method == "INVITE" and msg.to.tag is None:
            msg.headers.prepend("Record-Route", f"<sip:{me[0]}:{me[1]};lr>")
            data = msg.encode()
        return [(right if source == left else left, data)]
    return forward


def net_of(b_kw=None, **a_kw):
    net = SipNet()
    net.add(A, rng=random.Random(1), **a_kw)
    net.add(B, rng=random.Random(2), rtp_port=41000, **(b_kw or {}))
    return net


def test_record_route_gives_both_sides_their_route_set_and_requests_follow_it():
    net = net_of()
    net.proxies[P1] = rr_proxy(P1, A, P2)
    net.proxies[P2] = rr_proxy(P2, P1, B)
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}", addr=P1)
    assert net.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"]
    rr = ["<sip:198.51.100.2:5060;lr>", "<sip:198.51.100.1:5060;lr>"]
    assert net.ua[B].dialogs[call_id].route_set == rr
    assert net.ua[A].dialogs[call_id].route_set == rr[::-1]  # the UAC reverses it (12.1.2)
    assert net.dests(A, "ACK") == [P1]  # the ACK of the 2xx follows the route set
    assert net.sent(A, "ACK")[0].headers.get_all("Route") == rr[::-1]
    assert net.sent(B, 200, "INVITE")[0].headers.get_all("Record-Route") == rr  # copied into the 2xx
    net.do(B, net.ua[B].bye(call_id, net.now))
    (bye,) = net.sent(B, "BYE")
    assert net.dests(B, "BYE") == [P2] and bye.headers.get_all("Route") == rr
    assert str(bye.uri) == "sip:pycallcenter@192.0.2.1:5060"  # loose routing: the remote target
    assert sorted((type(e).__name__, e.by) for e in net.of(U.CallEnded)) == [("CallEnded", "local"),
                                                                             ("CallEnded", "remote")]
    assert not net.ua[A].dialogs and not net.ua[B].dialogs


def test_strict_first_route_takes_the_request_uri():
    invite = make_request("INVITE", "sip:b@192.0.2.2", via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKs",
                          from_="<sip:a@192.0.2.1>;tag=a1", to="<sip:b@192.0.2.2>", call_id="s1", cseq=1,
                          contact="<sip:a@192.0.2.1>", headers=[("Record-Route", "<sip:198.51.100.7>"),
                                                                ("Record-Route", "<sip:198.51.100.8;lr>")])
    dialog = Dialog.as_uas(parse_message(invite.encode()), "b1", A)
    request, hop = dialog.request("BYE", "SIP/2.0/UDP 192.0.2.2;branch=z9hG4bKt")
    assert str(request.uri) == "sip:198.51.100.7" and hop == ("198.51.100.7", 5060)
    assert request.headers.get_all("Route") == ["<sip:198.51.100.8;lr>", "<sip:a@192.0.2.1>"]
    assert request.cseq.number == 1 and request.to.tag == "a1" and request.from_.tag == "b1"


def test_reinvite_refreshes_the_remote_target():
    net = net_of()
    b2 = ("192.0.2.22", 5062)
    net.alias[b2] = B
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.mutate = lambda s, d, data: data.replace(b"Contact: <sip:pycallcenter@192.0.2.2:5062>",
                                                 b"Contact: <sip:pycallcenter@192.0.2.22:5062>")
    net.do(B, net.ua[B].hold(call_id, net.now))  # the callee puts the caller on hold, from a new contact
    assert net.ua[A].dialogs[call_id].answer.media[0].direction == "sendonly"
    assert net.of(U.SessionUpdated, A)[0].answer.media[0].direction == "recvonly"
    net.mutate = None
    net.do(A, net.ua[A].bye(call_id, net.now))
    assert net.dests(A, "BYE") == [b2]
    assert len(net.of(U.CallEnded)) == 2


def test_lower_cseq_in_the_dialog_gets_500():
    net = net_of()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    a = net.ua[A]
    net.do(A, a.info(call_id, "application/dtmf-relay", b"Signal=5\r\nDuration=160\r\n", net.now))
    assert net.of(U.InfoReceived, B)[0].body.startswith(b"Signal=5")
    stale, _ = a.dialogs[call_id].request("BYE", a._via(), 1)  # CSeq 1 after the INFO's 2
    net.deliver(A, B, stale.encode())
    (refused,) = net.sent(B, 500)
    assert refused.cseq.method == "BYE" and call_id in net.ua[B].dialogs


def test_forked_2xx_is_acked_and_ended_with_bye():
    net = net_of()
    net.add(C, rng=random.Random(3), rtp_port=42000)
    fork = ("198.51.100.9", 5060)
    net.proxies[fork] = lambda source, msg, data: [(B, data), (C, data)] if source == A else [(A, data)]
    call_id = net.call(A, "sip:group@198.51.100.9", addr=fork)
    a = net.ua[A]
    assert a.stats["forks_ended"] == 1
    assert net.kinds(A) == ["CallAnswered"]  # one call for our user, from the first 2xx
    assert net.kinds(C) == ["IncomingCall", "CallConfirmed", "CallEnded"]
    assert net.dests(A, "BYE") == [C] and len(net.sent(A, "ACK")) == 2
    assert call_id in net.ua[B].dialogs and call_id not in net.ua[C].dialogs
    assert a.dialogs[call_id].remote_tag == net.ua[B].dialogs[call_id].local_tag


def _in_dialog(net, call_id, method, to_tag=None):
    a = net.ua[A]
    request, _ = a.dialogs[call_id].request(method, a._via())
    if to_tag is not None:
        request.headers.set("To", f"<sip:b@192.0.2.2>;tag={to_tag}")
    net.deliver(A, B, request.encode())
    return [m for _, s, _, m in net.wire if s == B and getattr(m, "cseq", None) and m.cseq.method == method][-1]


def test_unknown_dialogs_and_methods_are_refused_as_the_rfc_says():
    net = net_of()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert _in_dialog(net, call_id, "MESSAGE").status == 405  # known method, not taken in a dialog
    response = _in_dialog(net, call_id, "SUBSCRIBE")
    assert response.status == 405 and "REFER" in response.headers.get_all("Allow")
    assert _in_dialog(net, call_id, "FROBNICATE").status == 501
    assert _in_dialog(net, call_id, "BYE", to_tag="nope").status == 481
    out_of_dialog = make_request("BYE", "sip:b@192.0.2.2", via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKo",
                                 from_="<sip:a@192.0.2.1>;tag=x", to="<sip:b@192.0.2.2>", call_id="nodialog", cseq=1)
    net.deliver(A, B, out_of_dialog.encode())
    assert net.sent(B, 481)[-1].call_id == "nodialog"
    assert call_id in net.ua[B].dialogs  # none of it disturbed the call


def test_user_answers_with_early_media_and_prack():
    net = net_of(b_kw={"answer_after": None})
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    assert net.kinds() == ["IncomingCall"]
    b = net.ua[B]
    net.do(B, b.progress(call_id, net.now, port=41234))
    (early,) = net.sent(B, 183)
    assert early.headers.get("Require") == "100rel" and early.headers.get("RSeq") == "1"
    (prack,) = net.sent(A, "PRACK")
    assert prack.headers.get("RAck") == "1 1 INVITE" and prack.to.tag == early.to.tag
    progress = net.of(U.CallProgress, A)[0]
    assert progress.status == 183 and progress.sdp.media[0].port == 41234
    net.do(B, b.answer(call_id, net.now))
    assert net.kinds(A) == ["CallProgress", "CallAnswered"] and net.kinds(B) == ["IncomingCall", "CallConfirmed"]
    assert net.of(U.CallAnswered, A)[0].answer.media[0].port == 41234  # the same answer as the 183's
    net.run(40)
    assert len(net.sent(B, 183)) == 1  # the PRACK stopped its retransmission


def test_2xx_waits_for_the_prack_of_a_183_with_sdp():
    net = net_of(b_kw={"answer_after": None})
    net.lose_first("PRACK")
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    b = net.ua[B]
    net.do(B, b.progress(call_id, net.now))
    net.do(B, b.answer(call_id, net.now))
    assert net.sent(B, 200, "INVITE") == []  # held: the 183 carried SDP and is not PRACKed yet
    net.run(1.0)
    assert [t for t, s, _, m in net.wire if s == B and getattr(m, "status", 0) == 200 and m.cseq.method == "INVITE"] \
        == [0.5]  # sent right after the retransmitted PRACK's 200
    assert net.kinds(A) == ["CallProgress", "CallAnswered"]


def test_180_is_unreliable_when_the_caller_does_not_support_100rel():
    net = net_of(b_kw={"answer_after": None})
    net.mutate = lambda s, d, data: data.replace(b"Supported: 100rel, timer, replaces\r\n", b"") if s == A else data
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.do(B, net.ua[B].ring(call_id, net.now))
    (ringing,) = net.sent(B, 180)
    assert "RSeq" not in ringing.headers and net.sent(A, "PRACK") == []
    net.do(B, net.ua[B].reject(call_id, 486, net.now, reason="Q.850;cause=17"))
    (failed,) = net.of(U.CallFailed, A)
    assert failed.status == 486 and failed.reason == "Q.850;cause=17"
    assert not net.ua[A].dialogs and not net.ua[B].dialogs


def test_update_changes_the_session_in_a_confirmed_call():
    net = net_of()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    a = net.ua[A]
    offer = S.hold(a.dialogs[call_id].offer)
    net.do(A, a.update(call_id, net.now, sdp=offer))
    (updated,) = net.of(U.SessionUpdated, B)
    assert updated.offer.media[0].direction == "sendonly" and updated.answer.media[0].direction == "recvonly"
    assert a.dialogs[call_id].answer.media[0].direction == "recvonly"
    assert net.sent(B, 200, "UPDATE")[0].content_type == "application/sdp"


def test_invite_nobody_answers_fails_with_408_at_timer_b():
    net = net_of()
    net.drop = lambda source, dest, msg: dest == B
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.run(40)
    assert net.of(U.CallFailed, A) == [U.CallFailed(call_id, 408)] and not net.ua[A].dialogs
    assert len(net.sent(A, "INVITE")) == 7  # A doubling from T1 until B at 64*T1


def test_a_merged_invite_by_a_second_path_gets_482():
    net = net_of(b_kw={"answer_after": None})
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    (invite,) = net.sent(A, "INVITE")
    again = parse_message(invite.encode())
    again.headers.set("Via", "SIP/2.0/UDP 198.51.100.4;branch=z9hG4bKotherpath")
    net.deliver(("198.51.100.4", 5060), B, again.encode())
    (loop,) = net.sent(B, 482)
    assert loop.call_id == call_id and len(net.of(U.IncomingCall, B)) == 1
    assert net.ua[B].dialogs[call_id].extra["pending"] is not None  # the first INVITE still waits for us


def test_reinvite_glare_gets_491_and_each_side_retries_after_its_random_wait():
    net = net_of()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    in_flight = []
    net.drop = lambda source, dest, msg: in_flight.append((source, dest, msg.encode())) or True
    net.feed(A, net.ua[A].hold(call_id, net.now))  # both put the call on hold at the same moment
    net.feed(B, net.ua[B].hold(call_id, net.now))
    while in_flight:  # the network delivers in rounds: both INVITEs cross before either answer arrives
        batch, in_flight[:] = list(in_flight), []
        for source, dest, data in batch:
            net.feed(dest, net.ua[dest].receive(data, source, net.now))
    net.drop = None
    assert len(net.sent(A, 491)) == 1 and len(net.sent(B, 491)) == 1
    net.run(10)
    retries = {s: t for t, s, _, m in net.wire if getattr(m, "method", "") == "INVITE" and t > 0}
    assert 0.0 <= retries[B] <= 2.0 < 2.1 <= retries[A] <= 4.0  # the Call-ID's owner (A) waits longer
    assert len(net.of(U.SessionUpdated, A)) == 1 and len(net.of(U.SessionUpdated, B)) == 1
    assert net.ua[A].dialogs[call_id].offer.media[0].direction == "sendonly"
    assert [m.cseq.number for m in net.sent(A, 200, "INVITE")] == [2] and len(net.sent(B, 200, "INVITE")) == 2


def test_reliable_183s_from_two_forks_are_each_pracked_in_their_own_early_dialog():
    net = net_of(b_kw={"answer_after": None})
    net.add(C, rng=random.Random(3), rtp_port=42000, answer_after=None)
    fork = ("198.51.100.9", 5060)
    net.proxies[fork] = lambda source, msg, data: [(B, data), (C, data)] if source == A else [(A, data)]
    call_id = net.call(A, "sip:group@198.51.100.9", addr=fork)
    net.do(B, net.ua[B].progress(call_id, net.now))
    net.do(C, net.ua[C].progress(call_id, net.now))
    pracks = net.sent(A, "PRACK")
    assert [p.to.tag for p in pracks] == [net.ua[B].dialogs[call_id].local_tag, net.ua[C].dialogs[call_id].local_tag]
    assert [p.headers.get("RAck") for p in pracks] == ["1 1 INVITE", "1 1 INVITE"]
    assert net.dests(A, "PRACK") == [B, C]  # each to its fork's Contact
    assert len(net.of(U.CallProgress, A)) == 2
    net.do(C, net.ua[C].answer(call_id, net.now))  # the second fork answers first: it becomes the call
    assert net.ua[A].dialogs[call_id].remote_tag == net.ua[C].dialogs[call_id].local_tag


def test_callee_hanging_up_before_the_ack_sends_bye_once_it_arrives():
    net = net_of(b_kw={"answer_after": None})
    net.lose_first("ACK")
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.do(B, net.ua[B].answer(call_id, net.now))
    assert net.ua[B].hang_up(call_id, net.now, reason="Q.850;cause=16") == []  # RFC 3261 15: wait for the ACK
    net.run(1.0)  # the 2xx again at 0.5 s, ACKed again; the BYE follows it
    (bye,) = net.sent(B, "BYE")
    assert bye.headers.get("Reason") == "Q.850;cause=16"
    assert [t for t, s, _, m in net.wire if s == B and getattr(m, "method", "") == "BYE"] == [0.5]
    assert net.of(U.CallEnded, B) == [U.CallEnded(call_id, "local")] and not net.ua[A].dialogs


def test_a_2xx_after_our_cancel_is_acked_and_ended_with_bye():
    net = net_of(b_kw={"answer_after": None})
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    net.do(B, net.ua[B].ring(call_id, net.now))
    net.drop = lambda source, dest, msg: getattr(msg, "method", "") == "CANCEL"  # it crosses the 200
    net.do(A, net.ua[A].hang_up(call_id, net.now))
    net.drop = None
    net.do(B, net.ua[B].answer(call_id, net.now))
    assert net.sent(A, "ACK") and net.sent(A, "BYE") and "CallAnswered" not in net.kinds(A)
    assert net.of(U.CallEnded, A) == [U.CallEnded(call_id, "local")]
    assert net.kinds(B)[-2:] == ["CallConfirmed", "CallEnded"] and not net.ua[B].dialogs


def test_new_requests_over_a_source_rate_get_503_and_calls_in_progress_are_untouched():
    from pycallcenter.sip.limits import RateLimiter

    net = net_of(b_kw={"rate": RateLimiter(rate=5, burst=5, max_sources=64)})
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")  # one token
    for _ in range(20):
        net.do(A, net.ua[A].keepalive(B, 30, net.now))  # an OPTIONS each
    assert len(net.sent(B, 200, "OPTIONS")) == 4 and len(net.sent(B, 503)) == 16
    assert all(m.headers.get("Retry-After") == "1" for m in net.sent(B, 503))
    net.do(A, net.ua[A].info(call_id, "application/dtmf-relay", b"Signal=1\r\n", net.now))  # in a dialog: allowed
    assert net.of(U.InfoReceived, B)
    net.now = 1.0  # five more tokens a second later
    net.do(A, net.ua[A].keepalive(B, 30, net.now))
    assert len(net.sent(B, 200, "OPTIONS")) == 5 and net.ua[B].stats["rate_limited"] == 16
    limiter = RateLimiter(rate=1, burst=1, max_sources=10)
    for i in range(100):
        limiter.allow((f"10.1.0.{i}", 5060), 0.0)
    assert len(limiter) == 10


def test_update_from_the_callee_keeps_each_side_of_the_session_in_its_place():
    net = net_of()
    call_id = net.call(A, f"sip:b@{B[0]}:{B[1]}")
    b = net.ua[B]
    net.do(B, b.update(call_id, net.now, sdp=S.hold(b.dialogs[call_id].answer)))
    assert net.of(U.SessionUpdated, A)[0].offer.media[0].direction == "sendonly"
    assert b.dialogs[call_id].answer.media[0].direction == "sendonly"  # ours, as offered
    assert b.dialogs[call_id].offer.media[0].direction == "recvonly"  # theirs: A's answer


def test_responses_tell_a_client_behind_nat_where_it_was_seen():
    net = net_of()
    b = net.ua[B]
    request = make_request("OPTIONS", "sip:b@192.0.2.2", via=["SIP/2.0/UDP 10.0.0.5:5060;branch=z9hG4bKnat;rport",
                                                             "SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKinner"],
                           from_="<sip:a@10.0.0.5>;tag=n", to="<sip:b@192.0.2.2>", call_id="nat1", cseq=1)
    (send,) = b.receive(request.encode(), ("203.0.113.9", 40000), 0.0)
    reply = parse_message(send.data)
    assert send.addr == ("203.0.113.9", 40000)
    top, inner = reply.via
    assert top.param("received") == "203.0.113.9" and top.param("rport") == "40000"
    assert inner.branch == "z9hG4bKinner" and inner.param("received") is None
