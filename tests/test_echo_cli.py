"""`pycallcenter echo`: a far and a near recording in, the near one without its echo out, ERLE as JSON."""
import json

import soundfile as sf

from echo_signals import FS, css, echo_of, erle_db, hybrid, noise, resample_to, to_int16
from pycallcenter.cli import main


def _files(tmp_path, far_rate=FS):
    src = css(3.0)
    echo = echo_of(src, hybrid(12.0, 6.0, 12.0))
    near = to_int16(echo + noise(src.size, -75))
    sf.write(tmp_path / "far.wav", resample_to(to_int16(src), far_rate), far_rate, subtype="PCM_16")
    sf.write(tmp_path / "near.wav", near, FS, subtype="PCM_16")
    return echo, near


def test_cancels_and_reports_json(tmp_path, capsys):
    echo, near = _files(tmp_path)
    assert main(["echo", "--far", str(tmp_path / "far.wav"), "--near", str(tmp_path / "near.wav"),
                 "-o", str(tmp_path / "out.wav")]) == 0
    figures = json.loads(capsys.readouterr().out)
    out, rate = sf.read(tmp_path / "out.wav", dtype="int16")
    info = sf.info(str(tmp_path / "out.wav"))
    assert rate == FS and info.channels == 1 and info.subtype == "PCM_16" and out.size == near.size
    assert erle_db(echo, out, 2.0) >= 30.0
    assert figures["erle_with_nlp_db"] >= 30.0 and 10.0 <= figures["erl_db"] <= 14.0
    assert figures["erle_db"] > 15.0 and figures["tail_ms"] == 64 and figures["samples"] == near.size


def test_other_rate_far_file_and_linear_only(tmp_path, capsys):
    echo, near = _files(tmp_path, far_rate=16000)
    assert main(["echo", "--far", str(tmp_path / "far.wav"), "--near", str(tmp_path / "near.wav"),
                 "-o", str(tmp_path / "out.wav"), "--tail-ms", "32", "--no-nlp"]) == 0
    figures = json.loads(capsys.readouterr().out)
    out, _ = sf.read(tmp_path / "out.wav", dtype="int16")
    assert out.size == near.size and figures["tail_ms"] == 32
    assert erle_db(echo, out, 2.0) >= 20.0  # linear only, through a resampled far end


def test_bad_files_give_one_line(tmp_path, capsys):
    (tmp_path / "junk.wav").write_bytes(b"not audio at all")
    _files(tmp_path)
    assert main(["echo", "--far", str(tmp_path / "junk.wav"), "--near", str(tmp_path / "near.wav"),
                 "-o", str(tmp_path / "out.wav")]) == 1
    err = capsys.readouterr().err.strip()
    assert "junk.wav" in err and "\n" not in err and "Traceback" not in err
    assert main(["echo", "--far", str(tmp_path / "far.wav"), "--near", str(tmp_path / "missing.wav"),
                 "-o", str(tmp_path / "out.wav")]) == 1
    err = capsys.readouterr().err.strip()
    assert "missing.wav" in err and "\n" not in err
    assert not (tmp_path / "out.wav").exists()
