"""The minimal user agent back to back (sans-IO, simulated time and loss): calls, 2xx retransmission until ACK,
re-INVITE for hold, OPTIONS, errors for unknown dialogs and methods."""
import random

import pytest

from pycallcenter.errors import LocalProtocolError
from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U
from pycallcenter.sip.message import make_request, parse_message
from sip_torture import INVALID

A_ADDR, B_ADDR = ("192.0.2.1", 5060), ("192.0.2.2", 5062)


class UaPair:
    def __init__(self, answer_after=0.0):
        self.ua = {A_ADDR: U.UserAgent(A_ADDR, rng=random.Random(1)),
                   B_ADDR: U.UserAgent(B_ADDR, rng=random.Random(2), rtp_port=41000, answer_after=answer_after)}
        self.now = 0.0
        self.events = []
        self.wire = []
        self.drop = None

    def feed(self, source, outputs):
        for item in outputs:
            if isinstance(item, U.Send):
                msg = parse_message(item.data)
                self.wire.append((self.now, source, msg))
                if self.drop and self.drop(source, msg):
                    continue
                self.feed(item.addr, self.ua[item.addr].receive(item.data, source, self.now))
            else:
                self.events.append((self.now, source, item))

    def run(self, until):
        while True:
            pending = [(d, a) for a, u in self.ua.items() if (d := u.next_deadline()) is not None and d <= until]
            if not pending:
                self.now = until
                return
            when, addr = min(pending)
            self.now = when
            self.feed(addr, self.ua[addr].handle_timer(when))

    def kinds(self, addr=None):
        return [type(e).__name__ for _, a, e in self.events if addr is None or a == addr]

    def sent(self, source, what, cseq=None):
        return [t for t, s, m in self.wire if s == source and getattr(m, "method", getattr(m, "status", None)) == what
                and (cseq is None or m.cseq.method == cseq)]


def _call(pair):
    call_id, outputs = pair.ua[A_ADDR].invite(f"sip:agent@{B_ADDR[0]}:{B_ADDR[1]}", pair.now)
    pair.feed(A_ADDR, outputs)
    return call_id


def test_call_setup_and_teardown_from_the_caller():
    pair = UaPair()
    call_id = _call(pair)
    assert pair.kinds() == ["IncomingCall", "CallAnswered", "CallConfirmed"]
    answered = next(e for _, _, e in pair.events if isinstance(e, U.CallAnswered))
    assert answered.answer.media[0].port == 41000 and S.negotiated(answered.answer) == (0, "PCMU")
    pair.feed(A_ADDR, pair.ua[A_ADDR].bye(call_id, pair.now))
    assert pair.kinds()[-2:] == ["CallEnded", "CallEnded"]
    assert {e.by for _, _, e in pair.events if isinstance(e, U.CallEnded)} == {"local", "remote"}
    assert not pair.ua[A_ADDR].dialogs and not pair.ua[B_ADDR].dialogs
    pair.run(100)
    assert not pair.ua[A_ADDR].layer.transactions and not pair.ua[B_ADDR].layer.transactions
    with pytest.raises(LocalProtocolError):
        pair.ua[A_ADDR].bye(call_id, pair.now)


def test_lost_2xx_and_ack_are_recovered_by_the_uas_core_retransmission():
    pair = UaPair()
    lost = {"200": 2, "ACK": 1}

    def drop(source, msg):
        what = "200" if getattr(msg, "status", None) == 200 else getattr(msg, "method", "")
        if lost.get(what, 0) > 0:
            lost[what] -= 1
            return True
        return False

    pair.drop = drop
    _call(pair)
    pair.run(5)
    # the 2xx at 0 and 0.5 are lost; the one at 1.5 arrives but its ACK is lost; the one at 3.5 is ACKed
    assert pair.sent(B_ADDR, 200) == [0.0, 0.5, 1.5, 3.5]  # T1, doubling
    assert pair.sent(A_ADDR, "ACK") == [1.5, 3.5]
    assert pair.kinds().count("CallAnswered") == 1 and pair.kinds().count("CallConfirmed") == 1


def test_2xx_never_acked_ends_the_call_after_64_t1():
    pair = UaPair()
    pair.drop = lambda source, msg: getattr(msg, "method", "") == "ACK"
    _call(pair)
    pair.run(40)
    assert pair.sent(B_ADDR, 200) == [0.0, 0.5, 1.5, 3.5, 7.5, 11.5, 15.5, 19.5, 23.5, 27.5, 31.5]
    assert [(t, type(e).__name__, e.status) for t, a, e in pair.events if isinstance(e, U.CallFailed)] == \
        [(32.0, "CallFailed", 408)]
    assert not pair.ua[B_ADDR].dialogs


def test_hold_and_resume_reinvites_get_their_own_acks():
    pair = UaPair()
    call_id = _call(pair)
    pair.feed(A_ADDR, pair.ua[A_ADDR].hold(call_id, pair.now))
    b_dialog = pair.ua[B_ADDR].dialogs[call_id]
    assert b_dialog.answer.media[0].direction == "recvonly" and b_dialog.answer.session_version == 2
    assert pair.ua[A_ADDR].dialogs[call_id].answer.media[0].direction == "recvonly"
    pair.feed(A_ADDR, pair.ua[A_ADDR].resume(call_id, pair.now))
    assert b_dialog.answer.media[0].direction == "sendrecv" and b_dialog.answer.session_version == 3
    acks = [m.cseq.number for _, s, m in pair.wire if s == A_ADDR and getattr(m, "method", "") == "ACK"]
    assert acks == [1, 2, 3]
    assert pair.kinds().count("IncomingCall") == 1 and pair.kinds().count("CallAnswered") == 1
    pair.run(40)  # every 2xx was ACKed: no retransmission, no give-up
    assert pair.sent(B_ADDR, 200) == [0.0, 0.0, 0.0] and "CallFailed" not in pair.kinds()


def test_options_unknown_method_and_unknown_dialog():
    pair = UaPair()
    b = pair.ua[B_ADDR]

    def ask(method, to_tag=None):
        to = "<sip:agent@192.0.2.2>" + (f";tag={to_tag}" if to_tag else "")
        req = make_request(method, "sip:agent@192.0.2.2", via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bK" + method,
                           from_="<sip:x@192.0.2.1>;tag=x", to=to, call_id="q1", cseq=1)
        (send,) = [o for o in b.receive(req.encode(), A_ADDR, 0.0) if isinstance(o, U.Send)]
        assert send.addr == A_ADDR
        return parse_message(send.data)

    ok = ask("OPTIONS")
    assert ok.status == 200 and "INVITE" in ok.headers.get_all("Allow") and ok.to.tag
    assert ask("SUBSCRIBE").status == 501
    assert ask("BYE", to_tag="nope").status == 481
    assert ask("INVITE", to_tag="nope").status == 481


def test_offer_without_common_codec_is_refused_with_488():
    b = U.UserAgent(B_ADDR)
    offer = S.make_offer("192.0.2.1", 5004, codecs=(S.Codec("G729", 8000, 18),))
    req = make_request("INVITE", "sip:agent@192.0.2.2", via="SIP/2.0/UDP 192.0.2.1;branch=z9hG4bKg729",
                       from_="<sip:x@192.0.2.1>;tag=x", to="<sip:agent@192.0.2.2>", call_id="g1", cseq=1,
                       body=offer.encode(), content_type="application/sdp")
    (send,) = [o for o in b.receive(req.encode(), A_ADDR, 0.0) if isinstance(o, U.Send)]
    assert parse_message(send.data).status == 488 and not b.dialogs


def test_ringing_then_answer_after_the_configured_delay():
    pair = UaPair(answer_after=2.0)
    _call(pair)
    assert pair.kinds() == ["IncomingCall", "CallProgress"] and pair.sent(B_ADDR, 180) == [0.0]
    pair.run(1.9)
    assert pair.sent(A_ADDR, "INVITE") == [0.0]  # the 180 stopped timer A
    pair.run(2.5)
    assert pair.sent(B_ADDR, 200, "INVITE") == [2.0]
    assert pair.kinds() == ["IncomingCall", "CallProgress", "CallAnswered", "CallConfirmed"]


def test_caller_hangs_up_while_ringing_with_cancel():
    pair = UaPair(answer_after=5.0)
    call_id = _call(pair)
    pair.now = 1.0
    pair.feed(A_ADDR, pair.ua[A_ADDR].hang_up(call_id, pair.now))
    assert pair.sent(A_ADDR, "CANCEL") == [1.0]
    cancel = next(m for _, s, m in pair.wire if getattr(m, "method", "") == "CANCEL")
    invite = next(m for _, s, m in pair.wire if getattr(m, "method", "") == "INVITE")
    assert cancel.top_via.branch == invite.top_via.branch and cancel.cseq.number == invite.cseq.number
    assert pair.sent(B_ADDR, 487) == [1.0] and pair.sent(A_ADDR, "ACK") == [1.0]
    assert [type(e).__name__ for _, _, e in pair.events] == ["IncomingCall", "CallProgress", "CallCancelled",
                                                             "CallFailed"]
    assert next(e for _, _, e in pair.events if isinstance(e, U.CallFailed)).status == 487
    pair.run(60)
    assert pair.sent(B_ADDR, 200, "INVITE") == []  # the call was never answered
    assert pair.sent(B_ADDR, 200, "CANCEL") == [1.0]
    assert not pair.ua[A_ADDR].dialogs and not pair.ua[B_ADDR].dialogs
    assert not pair.ua[A_ADDR].layer.transactions and not pair.ua[B_ADDR].layer.transactions


def test_cancel_waits_for_a_provisional_response():
    pair = UaPair(answer_after=5.0)
    pair.drop = lambda source, msg: getattr(msg, "status", None) in (100, 180) and pair.now < 0.4
    call_id = _call(pair)
    assert pair.ua[A_ADDR].hang_up(call_id, 0.1) == []  # nothing heard yet: CANCEL is held back
    pair.run(1.0)  # timer A resends the INVITE at 0.5, the 180 comes again and the CANCEL follows it
    assert pair.sent(A_ADDR, "CANCEL") == [0.5] and pair.sent(B_ADDR, 487) == [0.5]


@pytest.mark.parametrize("name", sorted(INVALID))
def test_malformed_requests_get_400_naming_the_problem(name):
    element, data = INVALID[name]
    b = U.UserAgent(B_ADDR)
    out = b.receive(data, A_ADDR, 0.0)
    assert b.stats["malformed"] == 1 and not b.dialogs and not b.layer.transactions
    if name in ("bigcode", "scalarlg", "insuf"):  # responses, and a request without From, To and Call-ID
        assert out == []
        return
    (send,) = out
    text = send.data.decode()
    assert send.addr == A_ADDR and text.startswith("SIP/2.0 400 Bad Request\r\n")
    assert f'Warning: 399 pycallcenter "{element} at offset ' in text
    call_id = next(line for line in data.decode("utf-8", "replace").split("\r\n") if line.startswith("Call-ID"))
    assert call_id in text  # copied as sent, so the client can match the response
