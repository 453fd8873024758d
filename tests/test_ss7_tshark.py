"""tshark (Debian 4.0) decodes every ISUP message we build with our type, CIC, point codes, digits and cause,
and our MTP3 management messages with our headings and fields: one tshark run per variant."""
import shutil
import subprocess

import pytest

import ss7_samples
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.isup_codec import decode_isup, encode_isup, message_code
from pycallcenter.ss7.su import encode_su
from pycallcenter.ss7.trace import LINKTYPE_MTP2

pytestmark = pytest.mark.skipif(not (shutil.which("tshark") and shutil.which("text2pcap")),
                                reason="tshark/text2pcap not installed (Debian: apt-get install tshark)")

FIELDS = ["isup.message_type", "isup.cic", "mtp3.opc", "mtp3.dpc", "isup.called", "isup.calling",
          "isup.cause_indicator", "ansi_isup.cause_indicator", "mtp3.sls", "mtp3mg.h0", "mtp3mg.h1",
          "mtp3mg.test.h1", "mtp3mg.fsn", "mtp3mg.cbc", "mtp3mg.apc", "mtp3mg.slc", "_ws.malformed"]
POINT_CODES = {"itu": (1234, 5678), "ansi": (0x0A0B0C, 0x010203)}
MANAGEMENT = [("COO", {"fsn": 77, "slc": 3}), ("COA", {"fsn": 5, "slc": 3}), ("CBD", {"changeback_code": 9, "slc": 2}),
              ("CBA", {"changeback_code": 9, "slc": 2}), ("TFP", {"destination": 300}),
              ("TFA", {"destination": 300}), ("TRA", {})]


def tshark_fields(frames, variant):
    """Return one dict of FIELDS per frame, decoded by one tshark run over MTP2 frames."""
    text = "".join("000000 " + " ".join(f"{b:02x}" for b in frame) + "\n" for frame in frames)
    pcap = subprocess.run(["text2pcap", "-q", "-l", str(LINKTYPE_MTP2), "-", "-"], input=text.encode(),
                          capture_output=True, check=True).stdout
    cmd = ["tshark", "-r", "-", "-T", "fields", "-E", "separator=|", "-E", "occurrence=f"]
    if variant == "ansi":
        cmd += ["-o", "mtp3.standard:ANSI"]
    for field in FIELDS:
        cmd += ["-e", field]
    out = subprocess.run(cmd, input=pcap, capture_output=True, check=True).stdout.decode()
    return [dict(zip(FIELDS, line.split("|"))) for line in out.splitlines()]


_RUNS = {}


def decoded(variant):
    """Return (ISUP messages, their rows, management rows, link test row) from one tshark run per variant."""
    if variant not in _RUNS:
        opc, dpc = POINT_CODES[variant]
        msgs = ss7_samples.all_messages(cic=21, variant=variant)
        frames = [encode_su(i & 127, 1, i & 127, 1, M.encode_msu(M.SI_ISUP, 2, dpc, opc, i & 15,
                                                                 encode_isup(msg, variant), variant))
                  for i, msg in enumerate(msgs)]
        frames += [encode_su(0, 1, 0, 1, M.encode_msu(M.SI_SNM, 2, dpc, opc, f.get("slc", 0),
                                                      M.encode_management(name, variant, **f), variant))
                   for name, f in MANAGEMENT]
        test_si = M.SI_TEST_ITU if variant == "itu" else M.SI_TEST_ANSI
        slta = M.encode_management("SLTA", variant, data=b"\x11\x22\x33")
        frames.append(encode_su(0, 1, 0, 1, M.encode_msu(test_si, 2, dpc, opc, 0, slta, variant)))
        rows = tshark_fields(frames, variant)
        assert len(rows) == len(frames)
        _RUNS[variant] = (msgs, rows[:len(msgs)], rows[len(msgs):-1], rows[-1])
    return _RUNS[variant]


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_tshark_agrees_on_every_message_we_build(variant):
    opc, dpc = POINT_CODES[variant]
    msgs, rows, _, _ = decoded(variant)
    for msg, row in zip(msgs, rows):
        ours = decode_isup(encode_isup(msg, variant), variant)
        assert int(row["isup.message_type"]) == message_code(msg.type, variant), msg.type
        assert int(row["isup.cic"]) == ours.cic, msg.type
        assert (int(row["mtp3.opc"]), int(row["mtp3.dpc"])) == (opc, dpc), msg.type
        called = ours.params.get("called_party_number", {}).get("digits", "")
        calling = ours.params.get("calling_party_number", {}).get("digits", "")
        assert (row["isup.called"], row["isup.calling"]) == (called, calling), msg.type
        cause = ours.params.get("cause_indicators", {}).get("cause")
        theirs = row["isup.cause_indicator"] or row["ansi_isup.cause_indicator"]
        assert (int(theirs) if theirs else None) == cause, msg.type
        assert not row["_ws.malformed"], msg.type


@pytest.mark.parametrize("variant", ["itu", "ansi"])
def test_tshark_agrees_on_mtp3_management_and_link_test(variant):
    _, _, rows, slta = decoded(variant)
    for (name, f), row in zip(MANAGEMENT, rows):
        assert (int(row["mtp3mg.h0"], 0), int(row["mtp3mg.h1"], 0)) == M.SNM_HEADING[name], name
        if "fsn" in f:
            assert int(row["mtp3mg.fsn"]) == f["fsn"], name
        if "changeback_code" in f:
            assert int(row["mtp3mg.cbc"]) == f["changeback_code"], name
        if "destination" in f and variant == "itu":
            assert int(row["mtp3mg.apc"]) == f["destination"], name
        if variant == "ansi" and "slc" in f:
            assert int(row["mtp3mg.slc"]) == f["slc"], name
        assert not row["_ws.malformed"], name
    assert int(slta["mtp3mg.test.h1"], 0) == 2 and not slta["_ws.malformed"]
