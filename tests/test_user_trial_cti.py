"""A script author's CTI trial: an agent answers through CTI (the handset lifted for them), sets call data
and hands the caller to an outside number; their phone goes back on hook (left off hook, it declined every
later queue call at once, and the ACD offered each again every 2 s, seen in a `run --simulate` trial)."""
from test_cti_server import offered_and_answered, wait_event
from test_desk_outside_commands import OUTSIDE, centre  # noqa: F401 - the rig with an outside callee (a fixture)


def test_after_a_transfer_out_the_agents_handset_is_back_on_hook(centre):
    a1 = centre.client("tok-a1")
    pop = offered_and_answered(centre, a1)
    phone = centre.phones["agent1"]
    assert phone.line.station_off_hook  # CTI's answer lifted it
    r = centre.request(a1, {"cmd": "call_data", "data": {"note": "wants a refund"}})
    assert r["type"] == "reply"
    assert centre.request(a1, {"cmd": "transfer", "target": OUTSIDE})["type"] == "reply"
    wait_event(centre, a1, "call_transferred")
    centre.run(0.5)
    assert not phone.line.station_off_hook  # the agent's part is over: the handset is put down
    assert centre.eng.calls[pop["call"]].vars["note"] == "wants a refund"
    wait_event(centre, a1, "agent_state", lambda f: f["state"] == "wrapup")
    for _ in range(50 * 15):  # the outside party hangs up (patience 8 s): the call ends and nothing is left
        centre.tick()
        if not centre.eng.calls:
            break
    assert not centre.eng.calls and centre.eng.leaks() == [] and centre.binding.leaks() == []
