"""SIP parser speed on a real trace against tshark's SIP dissector on the same trace, in the same run.

The trace is the session of tests/test_sip_tshark.py (every method and response the user agents emit: REGISTER
and INVITE with digest, PRACK, 183 with SDP, UPDATE, re-INVITE, INFO, REFER, NOTIFY sipfrag, OPTIONS, BYE),
repeated to REPEAT copies. Our side is ``parse_message`` plus the typed views a transaction layer reads. The
yardstick is ``tshark -r trace -Y sip`` (full dissection of frame, IPv4, UDP, SIP and SDP, then the display
filter); tshark's start-up is measured on a one-frame file and taken off, so its figure is per message.
Messages per second for both go in each benchmark's extra_info."""
import os
import shutil
import subprocess
import sys
import time

import pytest

from pycallcenter.sip.message import parse_message
from pycallcenter.trace.pcap import PcapWriter

sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "tests"))
from test_packet_media_tshark import LINKTYPE_IPV4, ipv4_udp  # noqa: E402  (test helpers shared with tests/)
from test_sip_tshark import _session  # noqa: E402

TSHARK = shutil.which("tshark")
REPEAT = 300


@pytest.fixture(scope="module")
def trace():
    """Return the session's datagrams as (source, destination, bytes)."""
    return [(s, d, m.encode()) for _, s, d, m in _session().wire]


def _write(path, datagrams):
    with PcapWriter(path, LINKTYPE_IPV4) as writer:
        for n, (s, d, data) in enumerate(datagrams):
            writer.write(ipv4_udp(s, d, data), ts=1_700_000_000 + n * 0.001)


def test_parse_trace(benchmark, trace):
    datagrams = [data for _, _, data in trace]

    def run():
        for data in datagrams:
            m = parse_message(data)
            m.top_via.branch, m.cseq, m.from_.tag, m.to.tag  # noqa: B018 (what a transaction layer reads)
        return len(datagrams)

    assert benchmark(run) == len(trace)
    benchmark.extra_info["messages"] = len(trace)
    benchmark.extra_info["messages_per_s"] = round(len(trace) / benchmark.stats.stats.min)


@pytest.mark.skipif(TSHARK is None, reason="tshark is not installed")
def test_yardstick_tshark_sip_dissector(benchmark, trace, tmp_path):
    full, one = tmp_path / "full.pcapng", tmp_path / "one.pcapng"
    _write(full, trace * REPEAT)
    _write(one, trace[:1])

    def dissect(path):
        start = time.perf_counter()
        out = subprocess.run([TSHARK, "-r", str(path), "-Y", "sip", "-T", "fields", "-e", "sip.CSeq.method"],
                             capture_output=True, check=True).stdout
        return time.perf_counter() - start, out.count(b"\n")

    startup = min(dissect(one)[0] for _ in range(3))
    seconds, frames = benchmark.pedantic(dissect, args=(full,), rounds=3, iterations=1)
    assert frames == len(trace) * REPEAT
    best = benchmark.stats.stats.min
    benchmark.extra_info["messages"] = frames
    benchmark.extra_info["startup_s"] = round(startup, 3)
    benchmark.extra_info["messages_per_s"] = round(frames / max(best - startup, 1e-9))
