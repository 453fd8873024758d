"""`pycallcenter decode` on LAPD/Q.931: JSON lines with one key per layer; malformed input names the offset."""
import json

from pycallcenter.cli import main

SETUP_FRAME = "02010000" "080200010504038090a31803a983816c0c21803230323535353031303070088035353531323334"


def test_decode_lapd_hex(capsys):
    assert main(["decode", "--proto", "lapd", SETUP_FRAME]) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"lapd", "q931"}
    assert out["lapd"]["frame_type"] == "I" and out["q931"]["message_type"] == "SETUP"
    ies = {i["name"]: i for i in out["q931"]["ies"]}
    assert ies["called_party_number"]["digits"] == "5551234"
    assert ies["channel_identification"]["channel"] == 1


def test_decode_q931_hex_cause(capsys):
    assert main(["decode", "--proto", "q931", "08 02 00 01 45 08 02 81 91"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert list(out) == ["q931"] and out["q931"]["message_type"] == "DISCONNECT"
    assert out["q931"]["ies"][0] == {"name": "cause", "coding_standard": 0, "location": 1, "value": 17,
                                     "cause_name": "user busy"}


def test_decode_malformed_names_offset_and_fails(capsys):
    assert main(["decode", "--proto", "q931", "08 02 00 01 05 70 05 80 31"]) != 0
    err = capsys.readouterr().err
    assert "called_party_number" in err and "offset 5" in err


def test_decode_pcap_one_line_per_frame(capsys, testdata):
    assert main(["decode", "--pcap", testdata("traces", "libpri_euroisdn_call.pcapng")]) == 0
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert len(lines) == 19
    assert [m["q931"]["message_type"] for m in lines if "q931" in m][0] == "SETUP"
