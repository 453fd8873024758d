"""SS7: ISUP IAM decode/build, and MSUs per second through MTP2 + MTP3 + ISUP call control, against
tshark (one run over a pcap of IAMs) and, when importable, pycrate, in the same run."""
import shutil
import subprocess
import tempfile
import time

import pytest

from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.isup_codec import IsupMessage, decode_isup, encode_isup
from pycallcenter.ss7.stack import SignallingPoint
from pycallcenter.ss7.su import encode_su

IAM = bytes.fromhex("0100010060010a000208060310551532f40a070311025255100000")  # libss7's IAM (CIC 1)
MSUS = 2000


def test_iam_decode(benchmark):
    assert benchmark(decode_isup, IAM).type == "IAM"


def test_iam_build(benchmark):
    msg = decode_isup(IAM)
    assert benchmark(encode_isup, msg) == IAM


def test_iam_decode_pycrate(benchmark):
    isup = pytest.importorskip("pycrate_mobile.ISUP", reason="pycrate is not installed (yardstick only)")
    msg = benchmark(lambda: isup.parse_ISUP(IAM))
    assert msg is not None


def _aligned_point(n_cics):
    """Return a SignallingPoint (pc 2) whose link is in service and available towards pc 1."""
    from pycallcenter.ss7 import mtp2
    sp = SignallingPoint(2)
    sp.add_link(0, 1)
    sp.add_circuits(1, range(1, n_cics + 1))
    link = sp.mtp3.links[0]
    link.mtp2.state = mtp2.IN_SERVICE
    link.available = True
    sp.mtp3.prohibited.clear()
    return sp


def _call_msus(count, n_cics=1000):
    """Return count signal units from pc 1: IAM then REL on successive CICs, FSN in sequence."""
    rel = IsupMessage("REL", 1, {"cause_indicators": {"location": 2, "cause": 16}})
    out = []
    for i in range(count):
        cic = 1 + (i // 2) % n_cics
        if i % 2 == 0:
            body = IAM[:0] + bytes([cic & 0xFF, cic >> 8]) + IAM[2:]
        else:
            rel.cic = cic
            body = encode_isup(rel)
        msu = M.encode_msu(M.SI_ISUP, 2, 2, 1, cic & 15, body)
        out.append(encode_su(127, 1, i % 128, 1, msu))
    return out


def through_stack(sp, sus):
    """Feed signal units to a signalling point; returns the number of events it produced."""
    now = 1.0
    n = 0
    for su in sus:
        n += len(sp.receive(0, su, now))
    return n


def test_msus_through_mtp2_mtp3_isup(benchmark):
    """MSUs/s = 2000 / time per round (a fresh signalling point each round, made outside the timing).
    Each IAM yields IncomingCall, each REL Released plus an RLC queued for MTP3."""
    sus = _call_msus(MSUS)
    counts = []

    def run(sp):
        counts.append(through_stack(sp, sus))

    benchmark.pedantic(run, setup=lambda: ((_aligned_point(1000),), {}), rounds=30)
    assert set(counts) == {MSUS}


@pytest.mark.skipif(not (shutil.which("tshark") and shutil.which("text2pcap")), reason="tshark not installed")
def test_iam_decode_tshark(benchmark):
    """tshark decoding 20,000 IAMs (pcap, link type 141) in one run, start-up included."""
    n = 20000
    msu = M.encode_msu(M.SI_ISUP, 2, 2, 1, 1, IAM)
    text = "000000 " + " ".join(f"{b:02x}" for b in msu) + "\n"
    with tempfile.NamedTemporaryFile(suffix=".pcap") as f:
        subprocess.run(["text2pcap", "-q", "-l", "141", "-", f.name], input=(text * n).encode(), check=True)

        def run():
            subprocess.run(["tshark", "-r", f.name, "-T", "fields", "-e", "isup.called"], check=True,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

        benchmark.pedantic(run, rounds=3, iterations=1)
