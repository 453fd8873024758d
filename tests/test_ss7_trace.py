"""SS7 traces: our pcap (link type 140) opens in tshark with the right messages; the decode CLI prints our layers."""
import json
import shutil
import subprocess

import pytest

from pycallcenter.cli import main
from pycallcenter.ss7.trace import LINKTYPE_MTP2, decode_frame
from pycallcenter.trace.pcap import PcapWriter, read_packets
from ss7_wire import SpPair


def traced_call(path):
    with PcapWriter(str(path), LINKTYPE_MTP2) as trace:
        pair = SpPair(trace=trace).up()
        pair.ia.call(3, "5551234", "2025550100", pair.now)
        pair.settle()
        pair.ib.alert(3, pair.now)
        pair.settle()
        pair.ib.answer(3, pair.now)
        pair.settle()
        pair.ia.release(3, pair.now, cause=16)
        pair.settle()


def isup_types(layers):
    return [l["isup"]["message_type"] for l in layers if "isup" in l]


def test_our_trace_decodes_with_us(tmp_path):
    path = tmp_path / "call.pcapng"
    traced_call(path)
    packets = list(read_packets(str(path)))
    assert all(p.linktype == LINKTYPE_MTP2 for p in packets)
    layers = [decode_frame("mtp2", p.data) for p in packets]
    assert isup_types(layers) == ["IAM", "ACM", "ANM", "REL", "RLC"]
    statuses = [l["mtp2"]["status"] for p, l in zip(packets, layers) if l["mtp2"]["type"] == "LSSU" and not p.inbound]
    assert statuses[:2] == ["SIO", "SIE"]  # emergency alignment; repeats of an LSSU are not traced
    directions = [p.inbound for p, l in zip(packets, layers) if "isup" in l]
    assert directions == [False, True, True, False, True]


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")
def test_our_trace_opens_in_tshark(tmp_path):
    path = tmp_path / "call.pcapng"
    traced_call(path)
    out = subprocess.run(["tshark", "-r", str(path), "-Y", "isup", "-T", "fields", "-e", "isup.message_type",
                          "-e", "isup.cic", "-e", "isup.called", "-e", "_ws.malformed"],
                         capture_output=True, check=True).stdout.decode().split("\n")
    rows = [line.split("\t") for line in out if line]
    assert [int(r[0]) for r in rows] == [1, 6, 9, 12, 16]
    assert {r[1] for r in rows} == {"3"} and rows[0][2] == "5551234" and not any(r[3] for r in rows)


def test_decode_cli_on_the_libss7_trace(testdata, capsys):
    assert main(["decode", "--pcap", testdata("traces", "libss7_itu_call.pcapng")]) == 0
    lines = [json.loads(l) for l in capsys.readouterr().out.splitlines()]
    assert isup_types(lines) == ["IAM", "ACM", "ANM", "REL", "RLC"]
    assert lines[0]["mtp3mg"]["message_type"] == "SLTM"


def test_decode_cli_hex_and_errors(capsys):
    assert main(["decode", "--proto", "isup", "0100 0c 02 00 02 8290"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["isup"]["message_type"] == "REL" and out["isup"]["parameters"][0]["cause"] == 16
    assert main(["decode", "--proto", "mtp3", "--variant", "ansi", "85 030201 0c0b0a 05 0100 10"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert (out["mtp3"]["dpc"], out["mtp3"]["opc"], out["isup"]["message_type"]) == (0x010203, 0x0A0B0C, "RLC")
    assert main(["decode", "--proto", "isup", "0100 01 00"]) == 1
    assert "forward_call_indicators at offset 4" in capsys.readouterr().err


def test_debug_log_has_one_line_per_signal_unit(caplog):
    import logging
    with caplog.at_level(logging.DEBUG, logger="pycallcenter.ss7"):
        pair = SpPair().up()
        pair.ia.call(3, "5551234", "2025550100", pair.now)
        pair.ia.send_digits(3, "9", pair.now)
        pair.settle()
    lines = [r.getMessage() for r in caplog.records if "ISUP" in r.getMessage()]
    assert any("-> " in l and "IAM cic=3 called=5551234" in l for l in lines)
    assert any("<- " in l and "SAM cic=3" in l for l in lines)


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark not installed")
def test_mtp3_link_type_trace_holds_only_msus(tmp_path):
    from pycallcenter.ss7.trace import LINKTYPE_MTP3
    path = tmp_path / "mtp3.pcapng"
    with PcapWriter(str(path), LINKTYPE_MTP3) as trace:
        pair = SpPair(trace=trace).up()
        pair.ia.call(4, "777", "", pair.now)
        pair.settle()
    layers = [decode_frame("mtp3", p.data) for p in read_packets(str(path))]
    assert [l.get("mtp3mg", l.get("isup", {})).get("message_type") for l in layers][-1] == "IAM"
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "isup.called"],
                         capture_output=True, check=True).stdout.decode().split()
    assert out == ["777"]
