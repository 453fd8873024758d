"""One name per idea: the protocol-notice event, and the attributes a Leg carries declared on the class."""
import dataclasses

from pycallcenter.engine.call import Leg
from pycallcenter.isdn import call as cc
from pycallcenter.ss7 import isup


def test_one_name_for_a_protocol_notice_and_the_old_one_aliases_it():
    assert cc.ProtocolError is cc.ProtocolNotice
    assert isup.ProtocolNotice.__name__ == cc.ProtocolNotice.__name__ == "ProtocolNotice"


def test_a_leg_declares_what_the_engine_adapters_and_scripts_set_on_it():
    names = {f.name for f in dataclasses.fields(Leg)}
    assert {"play_done", "flashes", "held_links", "isdn_call", "cic", "amd"} <= names
    leg = Leg("L1", None, None, 1, 0, "in", "pri")
    assert (leg.play_done, leg.flashes, leg.held_links, leg.isdn_call, leg.cic, leg.amd) == (True, 0, set(), None, None, None)
    other = Leg("L1", None, None, 1, 0, "in", "pri")
    other.held_links.add((1, 2))
    assert other.held_links == {(1, 2)} and leg.held_links == set()  # one set per leg, not shared
    assert leg == other and "held_links" not in repr(leg)  # repr and comparison as before they were declared


def test_recent_errors_are_bounded_and_counted():
    """The engine's error list keeps the last errors only and counts them all, so a day of failing scripts
    cannot grow it without bound."""
    from pycallcenter.errors import RecentErrors

    errors = RecentErrors(limit=3)
    assert errors == []
    for n in range(10):
        errors.append((f"C{n}", "boom"))
    assert errors == [("C7", "boom"), ("C8", "boom"), ("C9", "boom")]
    assert errors.total == 10
