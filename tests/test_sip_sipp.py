"""Interop judged by a real peer: SIPp 3.6 (Debian sip-tester) against our UDP endpoint, on loopback.

SIPp's built-in uac scenario calls our UAS (INVITE, optional 100/180, 200 with our SDP answer, ACK, BYE,
200) 20 times at 10 calls per second; its built-in uas scenario answers a call our UAC places (INVITE, 180,
200, ACK, BYE, 200). SIPp's own statistics file decides success."""
import asyncio

import pytest

from pycallcenter.sip import ua as U
from pycallcenter.sip.udp import open_endpoint
from sip_sipp import MISSING, SCENARIOS, SIPP, call_sipp_uas
from sip_sipp import free_udp_port as _free_udp_port, last_stats as _last_stats, sipp as _sipp

pytestmark = [pytest.mark.peer, pytest.mark.skipif(SIPP is None, reason=MISSING)]


def test_sipp_uac_calls_our_uas_twenty_times(tmp_path):
    async def main():
        endpoint = await open_endpoint("127.0.0.1", 0)
        try:
            port = endpoint.local_addr[1]
            code, out, err = await _sipp(tmp_path, "-sn", "uac", f"127.0.0.1:{port}", "-i", "127.0.0.1",
                                         "-p", str(_free_udp_port()), "-m", "20", "-r", "10", timeout=40)
            return endpoint, code, out, err
        finally:
            endpoint.close()

    endpoint, code, out, err = asyncio.run(main())
    stats = _last_stats(tmp_path)
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert code == 0, (code, err[-2000:], errors[-2000:])
    assert int(stats["SuccessfulCall(C)"]) == 20, stats
    assert int(stats["FailedCall(C)"]) == 0, stats
    assert endpoint.counts["IncomingCall"] == 20 and endpoint.counts["CallEnded"] == 20
    assert endpoint.ua.stats["acks"] == 20 and not endpoint.ua.dialogs


def test_sipp_uas_answers_our_uac(tmp_path):
    seen, (code, out, err) = call_sipp_uas(tmp_path, ["-sn", "uas"], talk=0.2)
    assert [type(e).__name__ for e in seen] == ["CallProgress", "CallAnswered", "CallEnded"], seen
    assert seen[0].status == 180
    assert seen[1].answer.media[0].formats == ["0"]  # SIPp's uas answers PCMU
    stats = _last_stats(tmp_path)
    assert code == 0, (code, err[-2000:])
    assert int(stats["SuccessfulCall(C)"]) == 1 and int(stats["FailedCall(C)"]) == 0, stats


def test_sipp_options_ping_gets_200_with_allow(tmp_path):
    scenario = SCENARIOS / "options.xml"

    async def main():
        endpoint = await open_endpoint("127.0.0.1", 0)
        try:
            return endpoint, await _sipp(tmp_path, "-sf", str(scenario), f"127.0.0.1:{endpoint.local_addr[1]}",
                                         "-i", "127.0.0.1", "-p", str(_free_udp_port()), "-m", "5", "-r", "10",
                                         timeout=20)
        finally:
            endpoint.close()

    endpoint, (code, out, err) = asyncio.run(main())
    stats = _last_stats(tmp_path)
    assert code == 0, (code, err[-2000:])
    assert int(stats["SuccessfulCall(C)"]) == 5 and int(stats["FailedCall(C)"]) == 0, stats
    assert endpoint.ua.stats["options"] == 5


def test_sipp_cancels_calls_ringing_at_our_uas(tmp_path):
    scenario = SCENARIOS / "cancel.xml"

    async def main():
        endpoint = await open_endpoint("127.0.0.1", 0, answer_after=5.0)
        try:
            return endpoint, await _sipp(tmp_path, "-sf", str(scenario), f"127.0.0.1:{endpoint.local_addr[1]}",
                                         "-i", "127.0.0.1", "-p", str(_free_udp_port()), "-m", "5", "-r", "10",
                                         timeout=20)
        finally:
            endpoint.close()

    endpoint, (code, out, err) = asyncio.run(main())
    stats = _last_stats(tmp_path)
    assert code == 0, (code, err[-2000:])
    assert int(stats["SuccessfulCall(C)"]) == 5 and int(stats["FailedCall(C)"]) == 0, stats
    assert endpoint.counts["IncomingCall"] == 5 and endpoint.counts["CallCancelled"] == 5
    assert not endpoint.ua.dialogs and endpoint.counts["CallConfirmed"] == 0
