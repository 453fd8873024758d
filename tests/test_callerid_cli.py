"""The ``pycallcenter callerid`` command: encode writes audio the decoder reads back; G.711; errors."""
import json

import pytest

from pycallcenter.cli import main
from pycallcenter.dsp.callerid import CallerId


def _lines(capsys):
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


@pytest.mark.parametrize("standard", ["bell202", "v23"])
def test_encode_decode_wav(tmp_path, capsys, standard):
    out = tmp_path / "cid.wav"
    assert main(["callerid", "encode", "-o", str(out), "--number", "5551234", "--name", "ACME SALES",
                 "--date", "11221930", "--standard", standard]) == 0
    assert main(["callerid", "decode", str(out), "--standard", standard]) == 0
    (msg,) = _lines(capsys)
    assert msg["callerid"] == {"number": "5551234", "name": "ACME SALES", "datetime": "11221930"}
    assert msg["bytes"].startswith("80")


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_sdmf_private_as_raw_g711(tmp_path, capsys, law):
    out = tmp_path / f"cid.{law}"
    assert main(["callerid", "encode", "-o", str(out), "--absent", "P", "--date", "01010000", "--format", "sdmf",
                 "--law", law, "--level", "-30"]) == 0
    assert main(["callerid", "decode", str(out), "--law", law]) == 0
    sdmf = CallerId(number_absent_reason="P", datetime=(1, 1, 0, 0)).to_sdmf()
    assert _lines(capsys) == [{"end_ms": pytest.approx(_message_end_ms(out), abs=2), "bytes": sdmf.hex(),
                               "callerid": {"datetime": "01010000", "number_absent_reason": "P"}}]


def _message_end_ms(path):
    # one G.711 byte per sample; the message ends 8 postamble bits before the file does
    return (path.stat().st_size - 8 * 8000 / 1200) / 8.0


def test_mwi_and_dtmf(tmp_path, capsys):
    out = tmp_path / "mwi.wav"
    assert main(["callerid", "encode", "-o", str(out), "--mwi", "on", "--standard", "v23"]) == 0
    assert main(["callerid", "decode", str(out), "--standard", "v23"]) == 0
    assert _lines(capsys)[0]["callerid"] == {"message_waiting": True}
    pytest.importorskip("pycallcenter.dsp.dtmf")
    out = tmp_path / "clip.wav"
    assert main(["callerid", "encode", "-o", str(out), "--number", "0123456789", "--standard", "dtmf"]) == 0
    assert main(["callerid", "decode", str(out), "--standard", "dtmf"]) == 0
    assert _lines(capsys) == [{"number": "0123456789"}]


def test_bad_arguments(tmp_path, capsys):
    out = str(tmp_path / "x.wav")
    assert main(["callerid", "encode", "-o", out, "--number", "1", "--date", "13011200", "--format", "sdmf"]) == 2
    assert "date/time out of range" in capsys.readouterr().err
    assert main(["callerid", "encode", "-o", out, "--number", "1", "--date", "1x"]) == 2
    assert main(["callerid", "encode", "-o", out, "--number", "1", "--format", "sdmf"]) == 2  # SDMF needs a date
    with pytest.raises(SystemExit):
        main(["callerid", "decode", out, "--standard", "bell103"])
