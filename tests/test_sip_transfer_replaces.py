"""An INVITE with Replaces (RFC 3891 section 3) at the user agent: each of the RFC's cases gets its answer.
A confirmed dialog is replaced (reported, the user ends the old one); early-only on it gets 486; an early
dialog we started (our INVITE still ringing) may be replaced; an early dialog we did not start (an incoming
call not answered) gets 481 and stays; a dialog that has just ended gets 603; two Replaces get 400."""
import random

from pycallcenter.sip import ua as U
from sip_net import SipNet

A, B, C = ("192.0.2.1", 5060), ("192.0.2.2", 5062), ("192.0.2.3", 5064)
B_URI = f"sip:b@{B[0]}:{B[1]}"


def _net(**b_options):
    net = SipNet()
    for i, addr in enumerate((A, B, C)):
        net.add(addr, rng=random.Random(i + 1), user="abc"[i], **(b_options if addr == B else {}))
    return net


def _replaces(net, at, call_id, early_only=False):
    """Return the Replaces value naming the dialog call_id as the UA at `at` sees it (to-tag its own tag)."""
    d = net.ua[at].dialogs[call_id]
    return f"{call_id};to-tag={d.local_tag};from-tag={d.remote_tag}" + (";early-only" if early_only else "")


def _status(net, call_id):
    failed = [e.status for e in net.of(U.CallFailed, C) if e.call_id == call_id]
    return failed[0] if failed else None


def test_a_confirmed_dialog_is_named_and_early_only_on_it_gets_486():
    net = _net()
    first = net.call(A, B_URI)
    value = _replaces(net, B, first)
    new = net.call(C, B_URI, replaces=value + ";early-only")
    assert _status(net, new) == 486 and first in net.ua[B].dialogs
    new = net.call(C, B_URI, replaces=value)
    (incoming,) = [e for e in net.of(U.IncomingCall, B) if e.call_id == new]
    assert incoming.replaces == first and "CallAnswered" in net.kinds(C)


def test_an_early_dialog_we_did_not_start_gets_481_and_stays():
    net = _net(answer_after=30.0)  # B rings: the dialog A started is early at B
    first = net.call(A, B_URI)
    assert "CallProgress" in net.kinds(A)
    new = net.call(C, B_URI, replaces=_replaces(net, B, first))
    assert _status(net, new) == 481
    assert first in net.ua[B].dialogs and not [e for e in net.of(U.IncomingCall, B) if e.call_id == new]


def test_an_early_dialog_we_started_may_be_replaced():
    net = _net()
    net.ua[C].answer_after = 30.0  # B calls C, which rings: B's own INVITE is early
    first = net.call(B, f"sip:c@{C[0]}:{C[1]}")
    assert "CallProgress" in net.kinds(B) and net.ua[B].dialogs[first].state == "early"
    net.ua[C].answer_after = 0
    new = net.call(A, B_URI, replaces=_replaces(net, B, first))
    (incoming,) = [e for e in net.of(U.IncomingCall, B) if e.call_id == new]
    assert incoming.replaces == first


def test_a_dialog_that_has_just_ended_gets_603_and_one_never_seen_481():
    net = _net()
    first = net.call(A, B_URI)
    value = _replaces(net, B, first)
    net.do(A, net.ua[A].hang_up(first, net.now))
    assert first not in net.ua[B].dialogs
    assert _status(net, net.call(C, B_URI, replaces=value)) == 603
    assert _status(net, net.call(C, B_URI, replaces="other;to-tag=1;from-tag=2")) == 481


def test_two_replaces_headers_get_400():
    net = _net()
    first = net.call(A, B_URI)
    value = _replaces(net, B, first)
    new = net.call(C, B_URI, headers=[("Replaces", value), ("Replaces", value)])
    assert _status(net, new) == 400 and first in net.ua[B].dialogs


def test_the_table_remembers_a_bounded_number_of_ended_dialogs():
    from pycallcenter.sip.dialog import DialogTable

    table = DialogTable(remember=2)
    net = _net()
    ids = [net.call(A, B_URI) for _ in range(3)]
    for call_id in ids:
        table[call_id] = net.ua[B].dialogs[call_id]
    ended = [table[i].id for i in ids]
    del table[ids[0]]
    table.pop(ids[1])
    table.pop(ids[2])
    assert not table and not table.ended(*ended[0]) and table.ended(*ended[1]) and table.ended(*ended[2])
