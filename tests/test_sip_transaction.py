"""RFC 3261 section 17 transactions back to back with simulated loss: every timer path of the four machines."""
import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.sip import transaction as T
from pycallcenter.sip.message import make_response, parse_message
from pycallcenter.sip.timers import SipTimers
from sip_pair import SipPair, reply, request

FAST_REL = dict(reliable=True)


def _responses(pair):
    return [e.response.status for _, e in pair.of("a", T.ResponseReceived)]


def test_table_is_complete_for_every_wire_final_response_and_timer():
    # every state a machine can reach has a row for each of its own timers or absorbs them by design
    states = {(m, s) for (m, s, _) in T.TRANSITIONS} | {(m, n) for (m, _, _), (n, _) in T.TRANSITIONS.items()}
    for machine, state in states:
        if state == T.TERMINATED:
            assert not any(k[:2] == (machine, state) for k in T.TRANSITIONS)
    for (machine, state, kind), (nxt, actions) in T.TRANSITIONS.items():
        for action in actions:
            verb, _, timer = action.partition(" ")
            assert verb in ("tu", "send", "resend", "ack", "trying", "timeout", "error", "start", "restart", "stop")
            if timer:
                SipTimers().duration(timer, reliable=False)


def test_non_invite_answered_at_once_then_timer_k_and_j():
    pair = SipPair()
    pair.answer = lambda req: reply(req, 200)
    key = pair.send(request("OPTIONS"))
    assert _responses(pair) == [200]
    assert pair.a.state(key) == T.COMPLETED
    pair.run(4.99)
    assert pair.a.state(key) == T.COMPLETED
    pair.run(5.0)  # K = T4
    assert pair.a.state(key) == T.TERMINATED
    assert len(pair.b.transactions) == 1
    pair.run(32.0)  # J = 64*T1
    assert not pair.b.transactions
    assert len(pair.of("b", T.RequestReceived)) == 1


def test_non_invite_retransmits_on_timer_e_and_server_absorbs_copies():
    pair = SipPair()
    pair.drop = lambda side, msg, n: side == "a" and n <= 2  # the first two copies are lost
    key = pair.send(request("OPTIONS"))
    pair.run(1.6)
    assert pair.sent("a", "OPTIONS") == [0.0, 0.5, 1.5]
    assert len(pair.of("b", T.RequestReceived)) == 1
    (_, got), = pair.of("b", T.RequestReceived)
    pair.respond(make_response(got.request, 180, to_tag="b1"), got.key)  # provisional
    assert pair.a.state(key) == T.PROCEEDING
    pair.run(9.0)  # E: 3.5 (T2-capped doubling happens in Trying; Proceeding uses T2)
    assert pair.sent("a", "OPTIONS") == [0.0, 0.5, 1.5, 3.5, 7.5]
    assert pair.sent("b", 180) == [1.6, 3.5, 7.5]  # each retransmitted request gets the last provisional again
    pair.respond(make_response(got.request, 200, to_tag="b1"), got.key)
    pair.run(9.5)
    pair.b.receive(request("OPTIONS").encode(), pair.now)  # a late copy: the final response is sent again
    assert pair.b.state(got.key) == T.COMPLETED


def test_non_invite_timer_f_times_out_after_eleven_sends():
    pair = SipPair()
    pair.drop = lambda side, msg, n: True
    key = pair.send(request("OPTIONS"))
    pair.run(40)
    assert pair.sent("a", "OPTIONS") == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    (when, timeout), = pair.of("a", T.TransactionTimeout)
    assert when == 32.0 and timeout.timer == "F" and timeout.key == key
    assert pair.a.state(key) == T.TERMINATED and not pair.a.transactions


def test_invite_timer_a_doubles_and_timer_b_times_out():
    pair = SipPair()
    pair.drop = lambda side, msg, n: True
    pair.send(request("INVITE"))
    pair.run(40)
    assert pair.sent("a", "INVITE") == [0.0, 0.5, 1.5, 3.5, 7.5, 15.5, 31.5]
    (when, timeout), = pair.of("a", T.TransactionTimeout)
    assert when == 32.0 and timeout.timer == "B"


def test_invite_server_sends_100_trying_after_200_ms_which_stops_timer_a():
    pair = SipPair()
    key = pair.send(request("INVITE"))
    pair.run(0.3)
    assert pair.sent("b", 100) == [pytest.approx(0.2)]
    assert pair.a.state(key) == T.PROCEEDING and _responses(pair) == [100]
    pair.run(10)
    assert pair.sent("a", "INVITE") == [0.0]
    assert parse_message(pair.wire[-1][2].encode()).to.tag is None


def test_invite_failure_is_acked_with_timers_g_h_i_and_d():
    pair = SipPair()
    pair.answer = lambda req: reply(req, 486)
    # the first 486 and the first ACK are lost; at 0.5 timer A resends the INVITE (answered with the 486
    # again, which the client ACKs; that ACK is lost) and timer G resends the 486 (whose ACK arrives)
    pair.drop = lambda side, msg, n: n in (2, 5)
    key = pair.send(request("INVITE"))
    skey = next(iter(pair.b.transactions))
    assert pair.b.state(skey) == T.COMPLETED and pair.a.state(key) == T.CALLING
    pair.run(0.5)  # A = G = T1
    assert pair.sent("a", "INVITE") == [0.0, 0.5]
    assert pair.sent("b", 486) == [0.0, 0.5, 0.5]
    assert pair.sent("a", "ACK") == [0.5, 0.5]
    ack = [m for _, s, m in pair.wire if s == "a" and getattr(m, "method", "") == "ACK"][-1]
    assert ack.cseq.number == 1 and ack.to.tag == "b1" and ack.top_via.branch == "z9hG4bKpair1"
    assert pair.b.state(skey) == T.CONFIRMED
    assert _responses(pair) == [486]  # the retransmission is absorbed, only ACKed again
    pair.run(5.4)
    assert pair.b.state(skey) == T.CONFIRMED
    pair.run(5.5)  # I = T4 after the ACK
    assert pair.b.state(skey) == T.TERMINATED
    pair.run(32.4)
    assert pair.a.state(key) == T.COMPLETED
    pair.run(32.5)  # D = 32 s after the client's first 486 at 0.5
    assert pair.a.state(key) == T.TERMINATED


def test_invite_server_timer_h_when_no_ack_arrives():
    pair = SipPair()
    pair.answer = lambda req: reply(req, 404)
    pair.drop = lambda side, msg, n: side == "a" and getattr(msg, "method", "") == "ACK"
    pair.send(request("INVITE"))
    pair.run(40)
    assert pair.sent("b", 404) == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    (when, timeout), = pair.of("b", T.TransactionTimeout)
    assert when == 32.0 and timeout.timer == "H"


def test_invite_2xx_accepted_state_passes_retransmissions_to_the_user_then_l_and_m():
    pair = SipPair()
    pair.answer = lambda req: reply(req, 200)
    key = pair.send(request("INVITE"))
    (_, got), = pair.of("b", T.RequestReceived)
    assert pair.a.state(key) == T.ACCEPTED and pair.b.state(got.key) == T.ACCEPTED
    pair.respond(reply(got.request, 200), got.key)  # the UAS core retransmits its 2xx
    assert _responses(pair) == [200, 200]
    pair.b.receive(request("INVITE").encode(), 1.0)  # a retransmitted INVITE is absorbed in Accepted
    pair.run(31.9)
    assert pair.a.state(key) == T.ACCEPTED
    pair.run(32.0)
    assert pair.a.state(key) == T.TERMINATED and pair.b.state(got.key) == T.TERMINATED
    # after the transaction, an ACK (new branch) goes straight to the user
    ack = request("ACK", branch="z9hG4bKack")
    (event,) = pair.b.receive(ack.encode(), 33.0)
    assert isinstance(event, T.RequestReceived) and event.key is None


def test_reliable_transport_has_no_retransmissions_and_zero_timers():
    pair = SipPair(**FAST_REL)
    pair.answer = lambda req: reply(req, 200)
    key = pair.send(request("OPTIONS"))
    assert pair.a.state(key) == T.TERMINATED and not pair.b.transactions  # K and J are zero
    pair = SipPair(**FAST_REL)
    pair.answer = lambda req: reply(req, 603)
    pair.send(request("INVITE"))
    assert not pair.a.transactions and not pair.b.transactions  # D and I are zero
    pair = SipPair(**FAST_REL)
    pair.drop = lambda side, msg, n: True
    pair.send(request("OPTIONS"))
    pair.run(40)
    assert pair.sent("a", "OPTIONS") == [0.0]
    assert [t for t, _ in pair.of("a", T.TransactionTimeout)] == [32.0]


def test_user_misuse_raises_local_protocol_error():
    pair = SipPair()
    pair.send(request("OPTIONS"))
    (_, got), = pair.of("b", T.RequestReceived)
    pair.respond(reply(got.request, 200), got.key)
    with pytest.raises(LocalProtocolError):
        pair.respond(reply(got.request, 500), got.key)
    with pytest.raises(LocalProtocolError):
        pair.a.send_request(request("OPTIONS"), 0.0)  # same branch while running
    with pytest.raises(LocalProtocolError):
        pair.b.send_response(reply(request("MESSAGE", branch="z9hG4bKnone"), 200), 0.0)


def test_stray_and_garbage_reach_the_user_as_stray_messages():
    layer = T.TransactionLayer()
    (stray,) = layer.receive(reply(request("OPTIONS"), 200).encode(), 0.0)
    assert isinstance(stray, T.StrayMessage) and stray.error is None
    (bad,) = layer.receive(b"INVITE sip:x SIP/2.0\r\n\r\n", 0.0)
    assert isinstance(bad, T.StrayMessage) and bad.error.element == "Via"


def test_rfc2543_requests_without_magic_cookie_still_match():
    layer = T.TransactionLayer()
    old = request("INVITE", branch="oldstyle")
    first = layer.receive(old.encode(), 0.0)
    assert [type(e) for e in first] == [T.RequestReceived]
    assert layer.receive(old.encode(), 0.1) == []  # retransmission absorbed
    key = first[0].key
    layer.send_response(reply(old, 480), 0.2, key)
    ack = parse_message(T.ack_for_failure(old, reply(old, 480)).encode())
    layer.receive(ack, 0.3)
    assert layer.state(key) == T.CONFIRMED


def test_cancel_and_invite_with_one_branch_are_two_transactions():
    layer = T.TransactionLayer()
    invite = request("INVITE")
    cancel = request("CANCEL")
    layer.receive(invite.encode(), 0.0)
    layer.receive(cancel.encode(), 0.0)
    assert len(layer.transactions) == 2


def test_deterministic_branches_from_a_seeded_rng():
    import random
    a = T.TransactionLayer(rng=random.Random(7)).new_branch()
    b = T.TransactionLayer(rng=random.Random(7)).new_branch()
    assert a == b and a.startswith("z9hG4bK") and T.TransactionLayer().new_branch() != a


def test_transport_error_ends_client_and_server_transactions():
    pair = SipPair()
    key = pair.send(request("INVITE"))
    skey = next(iter(pair.b.transactions))
    out = pair.a.transport_error(key, 0.1)
    assert [type(o) for o in out] == [T.TransportFailed, T.TransactionTerminated]
    assert pair.a.state(key) == T.TERMINATED and pair.a.next_deadline() is None
    assert [type(o) for o in pair.b.transport_error(skey, 0.1)] == [T.TransportFailed, T.TransactionTerminated]
    assert pair.b.transport_error(skey, 0.2) == []
