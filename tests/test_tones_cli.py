"""The ``pycallcenter tones`` command: files it writes decode to the right tones; list; detect; errors."""
import numpy as np
import pytest

from pycallcenter.cli import main
from pycallcenter.dsp import tones
from pycallcenter.dsp.audio import read_audio


def test_writes_busy_wav_and_detects_it(tmp_path, capsys):
    out = tmp_path / "busy.wav"
    assert main(["tones", "--plan", "us", "--tone", "busy", "--seconds", "5", "-o", str(out)]) == 0
    x = read_audio(out)
    assert np.array_equal(x, tones.generate("us", "busy", 5))
    capsys.readouterr()
    assert main(["tones", "--plan", "us", "--detect", str(out)]) == 0
    assert "busy" in capsys.readouterr().out


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_raw_g711_output(tmp_path, capsys, law):
    from pycallcenter.dsp import g711

    out = tmp_path / f"ring.{law}"
    assert main(["tones", "--plan", "eu", "--tone", "ringback", "--seconds", "2", "--law", law, "-o", str(out)]) == 0
    data = np.frombuffer(out.read_bytes(), np.uint8)
    assert data.size == 16000
    encode = g711.ulaw_encode if law == "ulaw" else g711.alaw_encode
    assert np.array_equal(data, encode(tones.generate("etsi", "ringback", 2)))
    capsys.readouterr()
    assert main(["tones", "--plan", "etsi", "--detect", str(out), "--input-law", law]) == 0
    assert "no call-progress events" in capsys.readouterr().out  # 2 s is shorter than one ringback cycle


def test_dtmf_flac(tmp_path):
    out = tmp_path / "digits.flac"
    assert main(["tones", "--dtmf", "147", "--on-ms", "60", "--off-ms", "40", "-o", str(out)]) == 0
    assert np.array_equal(read_audio(out), tones.dtmf_signal("147", on_ms=60, off_ms=40))


def test_list_names_plans_tones_and_ring_cadence(capsys):
    assert main(["tones", "--list"]) == 0
    text = capsys.readouterr().out
    for word in ("us:", "etsi:", "cn:", "stutter_dial", "call_waiting", "sit_vacant_code", "2000/4000", "425 Hz"):
        assert word in text


@pytest.mark.parametrize("argv", [
    ["tones", "--tone", "busy"],
    ["tones", "-o", "x.wav"],
    ["tones", "--plan", "mars", "--tone", "busy", "-o", "{tmp}/x.wav"],
    ["tones", "--tone", "nonsense", "-o", "{tmp}/x.wav"],
    ["tones", "--tone", "busy", "-o", "{tmp}/x.nosuchformat"],
    ["tones", "--tone", "busy", "--seconds", "-1", "-o", "{tmp}/x.wav"],
    ["tones", "--dtmf", "12Z", "-o", "{tmp}/x.wav"],
    ["tones", "--detect", "{tmp}/missing.wav"],
])
def test_errors_exit_1_with_a_message(tmp_path, capsys, argv):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    assert main(argv) == 1
    assert "pycallcenter tones: error:" in capsys.readouterr().err
