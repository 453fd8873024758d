"""SIPp 3.6 judges SRTP with late offers ([sip] srtp = "require"), in real time on loopback: SIPp's INVITE
carries no SDP, so the engine's 200 offers, and SIPp checks that offer (RTP/SAVP with an a=crypto key of
AES_CM_128_HMAC_SHA1_80). Answered in the ACK with SRTP (tests/sipp/late_offer_srtp.xml) the call is keyed
and ends by SIPp's BYE; answered plain RTP/AVP (late_offer_plain.xml) the engine clears it with BYE and
Reason: Q.850;cause=65, which SIPp checks. SIPp's statistics must count one successful call."""
import pytest

from engine_sip_rig import run
from sip_sipp import MISSING, SIPP
from test_sip_engine import rig  # noqa: F401 - the fixture is shared
from test_sip_transfer_sipp import finish_sipp, start_sipp

pytestmark = [pytest.mark.peer, pytest.mark.skipif(SIPP is None, reason=MISSING)]


@pytest.mark.parametrize("scenario, keyed", [("late_offer_srtp.xml", True), ("late_offer_plain.xml", False)])
def test_sipp_late_offer_gets_our_keyed_offer_and_its_ack_answer_decides(rig, tmp_path, scenario, keyed):
    build, _ = rig
    eng, trunk = build(srtp="require")
    rows = {}

    async def script(call):
        await call.answer()
        rows["leg"] = call.leg
        await call.wait(30.0)

    eng.router = lambda leg: script
    proc = start_sipp(tmp_path, trunk, scenario, "100")
    try:
        assert run(eng, 15.0, realtime=True, until=lambda: proc.poll() is not None)
    finally:
        finish_sipp(proc, tmp_path)
    assert run(eng, 1.0, until=lambda: not eng.legs)
    refused = any(" sip_late_answer_refused " in line for line in eng.log_lines)
    assert refused is not keyed
    assert trunk.status()["srtp_calls"] == (1 if keyed else 0)
    assert rows["leg"].cause == (16 if keyed else 65) and eng.leaks() == []
