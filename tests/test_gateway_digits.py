"""The gateway passes a leg's digits to its partner only for legs that heard some (told by the engine's
on_leg_digit, whatever way the digit came: in-band, RFC 4733 or SIP INFO), in pair order, caller first."""
from types import SimpleNamespace

from pycallcenter.apps.gateway import Gateway


class _Sip:
    """A SIP trunk adapter: records the RFC 4733 events it is asked to send."""

    def __init__(self):
        self.sent = []

    def send_digit(self, leg, digit):
        self.sent.append((leg.id, digit))


def _leg(name, adapter, digits=""):
    return SimpleNamespace(id=name, adapter=adapter, digits=digits, active=True, row=0)


def _gateway():
    engine = SimpleNamespace(tickers=[], listeners=[], log=lambda kind, **f: None)
    return Gateway(engine)


def test_only_told_legs_of_a_pair_pass_their_digits_in_pair_order():
    sip = _Sip()
    gw = _gateway()
    a1, b1 = _leg("a1", object()), _leg("b1", sip)
    a2, b2 = _leg("a2", object()), _leg("b2", sip)
    gw._add((a1, b1))
    gw._add((a2, b2))
    a2.digits, a1.digits = "5", "12"
    gw.on_leg_digit(a2)
    gw.on_tick(0)
    assert sip.sent == [("b2", "5")] and a1.digits == "12"  # a1 was never announced: left to whoever reads it
    gw.on_leg_digit(a1)
    a2.digits = "9"
    gw.on_leg_digit(a2)
    gw.on_tick(1)
    assert sip.sent[1:] == [("b1", "1"), ("b1", "2"), ("b2", "9")] and a1.digits == a2.digits == ""
    outsider = _leg("x", object(), "7")
    gw.on_leg_digit(outsider)  # not in a pair: nothing to do
    gw.on_tick(2)
    assert len(sip.sent) == 4 and outsider.digits == "7"


def test_digits_heard_before_the_pair_cross_and_a_gone_partner_keeps_them():
    sip = _Sip()
    gw = _gateway()
    a, b = _leg("a", object(), "3"), _leg("b", sip)
    b.active = False
    gw._add((a, b))
    gw.on_tick(0)
    assert sip.sent == [] and a.digits == "3"  # kept while its partner is not there
    b.active = True
    gw.on_tick(1)
    assert sip.sent == [("b", "3")]
    gw._remove((a, b))
    a.digits = "4"
    gw.on_leg_digit(a)
    gw.on_tick(2)
    assert sip.sent == [("b", "3")] and not gw._pending
