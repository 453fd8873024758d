import io
import shutil
import subprocess

import pytest

from pycallcenter.cli import main
from pycallcenter.errors import DecodeError
from pycallcenter.trace.pcap import LINKTYPE_LAPD, LINKTYPE_MTP2, PcapWriter, read_packets


def _write(frames, linktype):
    buf = io.BytesIO()
    w = PcapWriter(buf, linktype)
    for i, (data, inbound) in enumerate(frames):
        w.write(data, ts=10 + i / 1000, inbound=inbound)
    w.flush()
    return buf.getvalue()


def test_pcapng_round_trip_keeps_bytes_time_and_direction():
    frames = [(b"\x02\x01\x7f", True), (b"\x00\x01\x73", False), (b"\x00\x01\x01\x02\x03", None)]
    got = list(read_packets(_write(frames, LINKTYPE_LAPD)))
    assert [(p.data, p.inbound) for p in got] == frames
    assert [p.linktype for p in got] == [LINKTYPE_LAPD] * 3
    assert got[1].ts == pytest.approx(10.001)


def test_reads_the_shared_libpri_and_libss7_traces(testdata):
    lapd = list(read_packets(testdata("traces", "libpri_euroisdn_call.pcapng")))
    mtp2 = list(read_packets(testdata("traces", "libss7_itu_call.pcapng")))
    assert {p.linktype for p in lapd} == {203} and len(lapd) == 19
    assert {p.linktype for p in mtp2} == {140} and len(mtp2) == 11
    assert lapd[0].inbound is True and lapd[1].inbound is False


@pytest.mark.parametrize("cut", [3, 20, 40, 60])
def test_truncated_capture_raises_decode_error_with_offset(cut):
    raw = _write([(b"\x02\x01\x7f" * 5, True)] * 2, LINKTYPE_MTP2)
    with pytest.raises(DecodeError) as err:
        list(read_packets(raw[:cut]))
    assert err.value.offset is not None


def test_not_a_capture_is_rejected():
    with pytest.raises(DecodeError, match="magic"):
        list(read_packets(b"RIFF0000WAVEfmt "))


@pytest.mark.skipif(not shutil.which("tshark"), reason="tshark is not installed (make test installs it)")
def test_tshark_reads_our_direction_marks(tmp_path):
    # The same C/R=1 SABME bytes are a command from the network side (inbound) and a response from the user side.
    path = tmp_path / "sabme.pcapng"
    path.write_bytes(_write([(b"\x02\x01\x7f", True), (b"\x02\x01\x7f", False)], LINKTYPE_LAPD))
    out = subprocess.run(["tshark", "-r", str(path), "-T", "fields", "-e", "lapd.control.u_modifier_cmd",
                          "-e", "lapd.control.u_modifier_resp"],
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert out == ["0x1b\t", "\t0x1b"]


def test_decode_command_rejects_bad_hex_with_offset(capsys):
    assert main(["decode", "--proto", "lapd", "02 01 zz"]) == 1
    assert "offset 2" in capsys.readouterr().err


def test_decode_command_needs_input(capsys):
    assert main(["decode", "--proto", "lapd"]) == 2
