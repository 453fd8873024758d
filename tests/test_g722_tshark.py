"""tshark judges a G.722 row's stream: every packet decodes as RTP carrying G.722 (payload type 9, 160 bytes
per 20 ms, timestamps stepping 160: the 8000 Hz clock of RFC 3551 4.5.2), the RFC 4733 event in its place,
no malformed packet, no expert error, and its RTP stream analysis finds no loss or sequence error."""
import shutil
import socket
import subprocess

import pytest

from pycallcenter.media import g722, rtp
from pycallcenter.trace.pcap import PcapWriter
from test_g722_media import open_g722
from test_packet_media import engine, hang_up, ports, tone
from test_packet_media_tshark import LINKTYPE_IPV4, ipv4_udp

pytestmark = [pytest.mark.peer,
              pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed"),
              pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is not installed")]
FIELDS = ["frame.protocols", "rtp.p_type", "rtp.timestamp", "rtpevent.event_id", "_ws.col.Info",
          "_ws.expert.severity", "_ws.expert.message"]


def test_tshark_decodes_a_g722_rows_stream_as_g722(tmp_path):
    lo, _ = ports(2)
    peer = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    peer.bind(("127.0.0.1", lo))
    peer.setblocking(False)
    eng = engine()
    leg, local = open_g722(eng, ("127.0.0.1", lo))
    eng.media.play(leg.row, [tone(440, 2.0), tone(1800, 2.0)])
    captured = []
    for tick in range(200):
        if tick == 60:
            eng.packet.send_digit(leg.row, "5")
        eng.tick()
        while True:
            try:
                got, src = peer.recvfrom(4096)
            except BlockingIOError:
                break
            captured.append((got, src))
    path = tmp_path / "g722.pcapng"
    with PcapWriter(str(path), LINKTYPE_IPV4) as pcap:
        for n, (data, src) in enumerate(captured):
            pcap.write(ipv4_udp(src, ("127.0.0.1", lo), data), ts=n * 0.02, inbound=False)
    cmd = ["tshark", "-r", str(path), "-d", f"udp.port=={local[1]},rtp", "-T", "fields", "-E", "separator=|",
           "-E", "occurrence=a", "-E", "aggregator=;"]
    for f in FIELDS:
        cmd += ["-e", f]
    lines = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=120).stdout.splitlines()
    assert len(lines) == len(captured) > 190
    audio, events, stamps = 0, 0, []
    for (data, _), line in zip(captured, lines):
        got = dict(zip(FIELDS, line.split("|")))
        assert "malformed" not in got["frame.protocols"] and "Malformed" not in got["_ws.expert.message"], line
        severities = got["_ws.expert.severity"].split(";")
        assert "Error" not in severities and "8388608" not in severities, line  # 8388608: PI_ERROR
        if got["rtp.p_type"] == "9":
            assert "PT=ITU-T G.722," in got["_ws.col.Info"], line
            assert len(rtp.parse_rtp(data).payload) == 160
            audio += 1
            stamps.append(int(got["rtp.timestamp"]))
        elif got["rtp.p_type"] == "101":
            assert got["rtpevent.event_id"] == "5", line
            events += 1
        else:
            pytest.fail(line)
    assert audio > 180 and events == 7
    steps = {(b - a) & 0xFFFFFFFF for a, b in zip(stamps, stamps[1:])}
    assert 160 in steps and all(s % 160 == 0 for s in steps)  # 8000 Hz clock (the event's packets in a gap)
    stream = subprocess.run(["tshark", "-r", str(path), "-q", "-d", f"udp.port=={local[1]},rtp", "-z", "rtp,streams"],
                            capture_output=True, text=True, check=True, timeout=120).stdout
    row = next(line for line in stream.splitlines() if f" {lo} " in line and "g722" in line.lower())
    assert " 0 (0.0%)" in row and not row.rstrip().endswith("X"), stream  # no loss, no problem flagged
    peer.close()
    hang_up(leg)
