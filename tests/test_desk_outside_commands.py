"""The desk commands behind the desktop's outside transfers and call data, over the CTI WebSocket on the
emulated rig (tests/cti_rig.py): call_data and consult_cancel refuse what they cannot do; an attended
transfer names the party consulted; and a caller whose script handed them to the ACD (queue_call with
talk=False, so no script waits for them) is joined to the outside number by the engine and cleared when
it hangs up, with nothing left behind."""
import numpy as np
import pytest

from cti_rig import Centre
from pycallcenter.acd.engine_binding import queue_call
from pycallcenter.acd.stats import day_report
from pycallcenter.dsp import g711
from pycallcenter.engine.media import Player
from pycallcenter.sim.pstn import Callee
from test_cti_server import offered_and_answered, wait_event
from test_webrtc_browser import peak_hz

OUTSIDE = "0201234567"


@pytest.fixture
def centre():
    c = Centre(outbound_trunk="pri1")
    c.pstn.add_callee(Callee(OUTSIDE, answer_after=1.0, patience=8.0))
    yield c
    c.close()


def test_call_data_and_consult_cancel_refusals(centre):
    a1 = centre.client("tok-a1")
    r = centre.request(a1, {"cmd": "call_data", "data": {"note": "x"}})
    assert (r["code"], r["message"].split(":")[0]) == ("bad_state", "not_in_call")
    assert centre.request(a1, {"cmd": "consult_cancel"})["code"] == "bad_state"
    assert centre.request(a1, {"cmd": "transfer", "target": OUTSIDE})["code"] == "bad_state"  # no call
    pop = offered_and_answered(centre, a1)
    for data, word in (({"1st": "x"}, "not a variable name"), ({"note": ["a"]}, "must be text or a number"),
                       ({"note": True}, "must be text or a number"), ({f"v{i}": i for i in range(33)}, "at most 32")):
        r = centre.request(a1, {"cmd": "call_data", "data": data})
        assert r["code"] == "bad_message" and word in r["message"], (data, r)
    r = centre.request(a1, {"cmd": "call_data", "data": {"note": "call back after 5", "order": 88}})
    assert r["type"] == "reply" and r["data"]["note"] == "call back after 5" and r["data"]["account"] == "4711"
    assert centre.eng.calls[pop["call"]].vars["order"] == 88  # the CDR's variables
    # an attended transfer hands over the party consulted, not another one
    assert centre.request(a1, {"cmd": "consult", "target": "agent2"})["type"] == "reply"
    centre.pump([a1], lambda g: centre.phones["agent2"].ringing)
    centre.phones["agent2"].off_hook()
    centre.run(0.5)
    r = centre.request(a1, {"cmd": "transfer", "target": OUTSIDE, "attended": True})
    assert r["code"] == "bad_state" and "consults another party" in r["message"]
    r = centre.request(a1, {"cmd": "transfer", "target": OUTSIDE})  # blind, with a consultation going on
    assert r["code"] == "bad_state" and r["message"].startswith("consulting:")
    assert centre.request(a1, {"cmd": "consult_cancel"})["type"] == "reply"
    wait_event(centre, a1, "call_retrieved")
    centre.run(0.5)
    assert len([leg for leg in centre.eng.calls[pop["call"]].legs if leg.active]) == 2  # agent2 was hung up
    assert centre.binding.acd.agents["agent1"].state == "talking"
    assert centre.binding.acd.calls[pop["call"]].hold_since is None


def test_a_caller_the_acd_keeps_is_handed_to_the_outside_number(centre):
    async def script(call):  # the caller is handed to the ACD; the script ends once an agent answers
        await call.answer()
        call.leg.call.vars["account"] = "4711"
        await queue_call(call, "sales", talk=False)

    centre.eng.router = lambda leg: script
    a1 = centre.client("tok-a1")
    pop = offered_and_answered(centre, a1)
    call = centre.eng.calls[pop["call"]]
    assert call.caller_leg.keeper is centre.binding and not call.scripts
    r = centre.request(a1, {"cmd": "transfer", "target": OUTSIDE})
    assert r["type"] == "reply" and r["target"] == OUTSIDE
    t = wait_event(centre, a1, "call_transferred")
    assert t["target"] == OUTSIDE and t["call"] == pop["call"]
    # the queue log: the agent's talk ended as a TRANSFER to the number, counted among the day's transfers
    acd = centre.binding.acd
    assert [(e.event, e.data.get("target")) for e in acd.qlog if e.call == pop["call"]][-1] == ("TRANSFER", OUTSIDE)
    assert day_report(acd.qlog)["transfers"] == 1 and pop["call"] not in acd.calls
    wait_event(centre, a1, "agent_state", lambda f: f["state"] == "wrapup")
    callee = centre.pstn.callees[OUTSIDE]
    for _ in range(200):
        centre.tick()
        if callee.answered is not None:
            break
    assert callee.answered is not None
    # the engine keeps the pair: 600 Hz from the caller reaches the outside party
    caller_ch = next(c.channel for c, who in centre.pstn.active.items() if who.number == "2025550100")
    callee_ch = next(c.channel for c, who in centre.pstn.answering.items() if who is callee)
    t = np.arange(8000 * 4)
    centre.pstn.audio[caller_ch] = Player([(6000 * np.sin(2 * np.pi * 600 * t / 8000)).astype(np.int16)])
    heard = []
    for _ in range(60):
        centre.tick()
        heard.append(g711.alaw_decode(centre.pstn.far.last_rx[callee_ch - 1]))
    assert abs(peak_hz(np.concatenate(heard[-40:])) - 600) < 20
    # the outside party hangs up (patience 8 s): the caller is cleared, nothing is left
    for _ in range(50 * 15):
        centre.tick()
        if not centre.eng.calls:
            break
    assert not centre.eng.calls and centre.eng.leaks() == [] and centre.binding.leaks() == []
