"""tshark decodes what a packet row sends and receives (RTP audio, RFC 4733 events, comfort noise, RTCP SR/RR,
SDES and BYE) with no malformed packet and no expert error."""
import shutil
import socket
import struct
import subprocess

import numpy as np
import pytest

from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.media import rtp
from pycallcenter.trace.pcap import PcapWriter
from test_packet_media import endpoint, engine, hang_up, ports, tone

pytestmark = pytest.mark.peer
LINKTYPE_IPV4 = 228
FIELDS = ["frame.protocols", "rtp.p_type", "rtp.seq", "rtpevent.event_id", "rtcp.pt", "_ws.expert.severity",
          "_ws.expert.message"]


def ipv4_udp(src, dst, payload):
    """Return an IPv4 datagram carrying UDP from src to dst ((host, port) pairs); UDP checksum left 0."""
    udp = struct.pack("!HHHH", src[1], dst[1], 8 + len(payload), 0) + payload
    head = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(udp), 0, 0x4000, 64, 17, 0,
                       socket.inet_aton(src[0]), socket.inet_aton(dst[0]))
    words = sum(struct.unpack("!10H", head))
    while words >> 16:
        words = (words & 0xFFFF) + (words >> 16)
    return head[:10] + struct.pack("!H", ~words & 0xFFFF) + head[12:] + udp


def test_tshark_decodes_our_rtp_and_rtcp(tmp_path):
    if not shutil.which("tshark"):
        pytest.skip("tshark is not installed")
    lo, _ = ports(2)
    peer = [socket.socket(socket.AF_INET, socket.SOCK_DGRAM) for _ in range(2)]
    for k, s in enumerate(peer):
        s.bind(("127.0.0.1", lo + k))
        s.setblocking(False)
    eng = engine()
    leg, local = endpoint(eng, ("127.0.0.1", lo), send_cn=True)
    local_rtcp = (local[0], local[1] + 1)
    captured = []  # (bytes, src, dst, inbound)
    eng.media.play(leg.row, [tone(440, 1.0), np.zeros(8000, np.int16), dtmf_signal("12", on_ms=100, off_ms=100),
                             tone(880, 6.0)])
    seq, ts = 1000, 0
    for tick in range(420):
        if tick == 30:
            eng.packet.send_digit(leg.row, "9")
        data = rtp.build_rtp(0, seq & 0xFFFF, ts, 0xCAFE, bytes(160), marker=tick == 0)
        seq, ts = seq + 1, ts + 160
        peer[0].sendto(data, local)
        captured.append((data, ("127.0.0.1", lo), local, True))
        eng.tick()
        for k, s in enumerate(peer):
            while True:
                try:
                    got, src = s.recvfrom(4096)
                except BlockingIOError:
                    break
                captured.append((got, src, ("127.0.0.1", lo + k), False))
    eng.packet.close(leg.row)  # RTCP BYE
    for k, s in enumerate(peer):
        try:
            got, src = s.recvfrom(4096)
            captured.append((got, src, ("127.0.0.1", lo + k), False))
        except BlockingIOError:
            pass
    rtcp_out = [c for c in captured if not c[3] and c[1] == local_rtcp]
    assert len(rtcp_out) >= 2  # a report and the BYE
    path = tmp_path / "rtp.pcapng"
    with PcapWriter(str(path), LINKTYPE_IPV4) as pcap:
        for n, (data, src, dst, inbound) in enumerate(captured):
            pcap.write(ipv4_udp(src, dst, data), ts=n * 0.01, inbound=inbound)
    cmd = ["tshark", "-r", str(path), "-o", "rtp.heuristic_rtp:TRUE", "-d", f"udp.port=={local[1]},rtp",
           "-d", f"udp.port=={local_rtcp[1]},rtcp", "-T", "fields", "-E", "separator=|", "-E", "occurrence=a",
           "-E", "aggregator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout.splitlines()
    assert len(lines) == len(captured)
    kinds = {"rtp": 0, "rtpevent": 0, "cn": 0, "rtcp": 0}
    for (data, src, dst, inbound), line in zip(captured, lines):
        got = dict(zip(FIELDS, line.split("|")))
        assert "malformed" not in got["frame.protocols"] and "Malformed" not in got["_ws.expert.message"], line
        severities = got["_ws.expert.severity"].split(";")
        assert "Error" not in severities and "8388608" not in severities, line  # 8388608: PI_ERROR
        if inbound:
            continue
        if src == local_rtcp:
            assert "rtcp" in got["frame.protocols"], line
            kinds["rtcp"] += 1
            assert rtp.parse_rtcp(data)
        else:
            assert "rtp" in got["frame.protocols"], line
            kinds["rtp"] += 1
            assert int(got["rtp.seq"]) == rtp.parse_rtp(data).sequence
            if got["rtp.p_type"] == "101":
                kinds["rtpevent"] += 1
                assert got["rtpevent.event_id"] == "9", line
            if got["rtp.p_type"] == "13":
                kinds["cn"] += 1
    assert kinds["rtp"] > 300 and kinds["rtpevent"] == 7 and kinds["cn"] >= 1 and kinds["rtcp"] >= 2
    for s in peer:
        s.close()
    hang_up(leg)
