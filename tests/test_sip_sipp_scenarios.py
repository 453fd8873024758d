"""SIPp 3.6 (Debian sip-tester) runs our own scenarios (tests/sipp/*.xml) against our endpoints on loopback:
digest challenge answered by SIPp's [authentication], re-INVITE hold and resume, REFER with NOTIFY, 100rel
and PRACK, malformed and unexpected requests; and short load runs over UDP and TCP. SIPp's statistics file
decides success; our endpoint's counters must agree."""
import asyncio

import pytest

from pycallcenter.sip import ua as U
from pycallcenter.sip.transport import open_stream_endpoint
from pycallcenter.sip.udp import open_endpoint
from sip_sipp import MISSING, SCENARIOS, SIPP, call_sipp_uas, free_udp_port, last_stats, sipp

pytestmark = [pytest.mark.peer, pytest.mark.skipif(SIPP is None, reason=MISSING)]


def _run(tmp_path, scenario, calls=3, rate=10, endpoint_options=None, on_event=None, transport="UDP", timeout=30):
    async def main():
        if transport == "UDP":
            endpoint = await open_endpoint("127.0.0.1", 0, **(endpoint_options or {}))
            args = []
        else:
            endpoint = await open_stream_endpoint("127.0.0.1", 0, "TCP", **(endpoint_options or {}))
            args = ["-t", "t1"]
        watcher = None
        if on_event is not None:
            async def watch():
                while True:
                    on_event(endpoint, await endpoint.events.get())
            watcher = asyncio.create_task(watch())
        try:
            scenario_args = ["-sf", str(SCENARIOS / scenario)] if scenario.endswith(".xml") else ["-sn", scenario]
            result = await sipp(tmp_path, *scenario_args, f"127.0.0.1:{endpoint.local_addr[1]}", "-i", "127.0.0.1",
                                "-p", str(free_udp_port()), "-m", str(calls), "-r", str(rate), *args, timeout=timeout)
            return endpoint, result
        finally:
            if watcher is not None:
                watcher.cancel()
            endpoint.close()

    endpoint, (code, out, err) = asyncio.run(main())
    stats = last_stats(tmp_path)
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert code == 0, (code, err[-2000:], errors[-3000:])
    assert int(stats["SuccessfulCall(C)"]) == calls and int(stats["FailedCall(C)"]) == 0, stats
    return endpoint, stats


def test_sipp_answers_our_digest_challenge(tmp_path):
    # SIPp 3.6 answers MD5 (and AKA) only, and takes the first challenge: ours then offers MD5 alone
    endpoint, _ = _run(tmp_path, "auth.xml", endpoint_options={"credentials": {"alice": "wonderland"}.get,
                                                                "auth_algorithms": ("MD5",)})
    assert endpoint.counts["IncomingCall"] == 3 and endpoint.counts["CallEnded"] == 3
    assert endpoint.ua.stats["auth_failed"] == 0 and not endpoint.ua.dialogs


def test_sipp_holds_and_resumes_with_reinvites(tmp_path):
    endpoint, _ = _run(tmp_path, "hold.xml")
    assert endpoint.counts["SessionUpdated"] == 6 and endpoint.counts["CallEnded"] == 3


def test_sipp_refer_gets_202_and_notify_progress(tmp_path):
    def report(endpoint, event):
        if isinstance(event, U.TransferRequested):
            endpoint.run(endpoint.ua.notify_transfer(event.call_id, 200, endpoint.now()))

    endpoint, _ = _run(tmp_path, "refer.xml", on_event=report)
    assert endpoint.counts["TransferRequested"] == 3 and endpoint.counts["CallEnded"] == 3


def test_sipp_requires_100rel_and_pracks_our_180(tmp_path):
    endpoint, _ = _run(tmp_path, "prack.xml", endpoint_options={"answer_after": 0.3})
    assert endpoint.counts["CallConfirmed"] == 3 and endpoint.counts["CallEnded"] == 3 and not endpoint.ua.dialogs


def test_sipp_malformed_requests_each_get_one_answer(tmp_path):
    endpoint, _ = _run(tmp_path, "malformed.xml")
    assert endpoint.ua.stats["malformed"] >= 3 and endpoint.counts["IncomingCall"] == 0 and not endpoint.ua.dialogs


def test_sipp_short_load_over_udp(tmp_path):
    endpoint, stats = _run(tmp_path, "uac", calls=300, rate=100, timeout=60)
    assert endpoint.counts["CallEnded"] == 300 and not endpoint.ua.dialogs


def test_sipp_calls_over_tcp(tmp_path):
    endpoint, stats = _run(tmp_path, "uac", calls=20, rate=20, transport="TCP")
    assert endpoint.counts["CallEnded"] == 20 and endpoint.ua.transport == "TCP"


def test_our_uac_pracks_and_refreshes_the_session_against_sipp(tmp_path):
    """SIPp as callee (uas_prack.xml): our UAC PRACKs a reliable 180, refreshes a 4 s session with UPDATE at
    2 s, and ends the call with BYE."""
    seen, (code, out, err) = call_sipp_uas(tmp_path, ["-sf", str(SCENARIOS / "uas_prack.xml")], talk=3.0)
    stats = last_stats(tmp_path)
    errors = (tmp_path / "errors.log").read_text() if (tmp_path / "errors.log").exists() else ""
    assert code == 0, (code, err[-2000:], errors[-3000:])
    assert int(stats["SuccessfulCall(C)"]) == 1 and int(stats["FailedCall(C)"]) == 0, stats
    assert [type(e).__name__ for e in seen] == ["CallProgress", "CallAnswered", "CallEnded"]
    assert seen[-1].by == "local"
