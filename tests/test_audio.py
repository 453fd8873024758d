import numpy as np
import pytest

from pycallcenter.dsp import _validate
from pycallcenter.dsp.audio import read_audio, resample, write_audio


def _tone(freq, rate, seconds=1.0, amp=8000.0):
    t = np.arange(int(rate * seconds)) / rate
    return amp * np.sin(2 * np.pi * freq * t)


@pytest.mark.parametrize("rate", [11025, 16000, 44100, 48000])
def test_resampled_tone_keeps_frequency_and_level(rate):
    y = resample(_tone(1000, rate), rate)
    assert abs(y.size - 8000) <= 1
    core = y[400:-400]
    spectrum = np.abs(np.fft.rfft(core * np.hanning(core.size)))
    peak_hz = np.argmax(spectrum) * 8000 / core.size
    assert abs(peak_hz - 1000) < 2
    assert np.sqrt(np.mean(core ** 2)) == pytest.approx(8000 / np.sqrt(2), rel=0.01)


def test_resampling_removes_content_above_the_new_nyquist():
    y = resample(_tone(6000, 48000), 48000)
    assert np.sqrt(np.mean(y[400:-400] ** 2)) < 8000 * 0.01


def test_wav_round_trip_at_other_rate_and_stereo(tmp_path):
    import soundfile as sf

    stereo = np.stack([_tone(697, 16000), _tone(697, 16000)], axis=1) / 32768
    sf.write(str(tmp_path / "a.wav"), stereo, 16000)
    x = read_audio(tmp_path / "a.wav")
    assert x.dtype == np.int16 and abs(x.size - 8000) <= 1
    write_audio(tmp_path / "b.flac", x)
    assert np.array_equal(read_audio(tmp_path / "b.flac"), x)


def test_non_audio_file_is_a_clear_error(tmp_path):
    bad = tmp_path / "notes.wav"
    bad.write_bytes(b"this is not audio at all" * 10)
    with pytest.raises(ValueError, match="notes.wav"):
        read_audio(bad)


def test_nan_or_infinite_samples_are_refused_naming_the_first(tmp_path):
    import soundfile as sf

    for bad, shown in ((np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf")):
        x = np.zeros((16000, 2))
        x[1234, 1] = bad
        sf.write(str(tmp_path / "f.wav"), x, 16000, subtype="FLOAT")
        with pytest.raises(ValueError, match=f"f.wav: sample 1234 \\(channel 2\\) is {shown}, not a number"):
            read_audio(tmp_path / "f.wav")
    x[1234, 1] = 1e30  # finite: clipped to full scale, as any loud sample
    sf.write(str(tmp_path / "f.wav"), x, 8000, subtype="FLOAT")
    assert read_audio(tmp_path / "f.wav").max() == 32767


def test_write_refuses_float(tmp_path):
    with pytest.raises(TypeError):
        write_audio(tmp_path / "x.wav", np.zeros(10))


def test_an_output_file_that_cannot_be_written_is_one_line_naming_it(tmp_path, capsys):
    from pycallcenter.cli import main

    x = np.zeros(160, np.int16)
    with pytest.raises(ValueError, match="no-such-folder/out.wav: cannot write audio"):
        write_audio(tmp_path / "no-such-folder" / "out.wav", x)
    with pytest.raises(ValueError, match="out.xyz: unknown audio suffix"):
        write_audio(tmp_path / "out.xyz", x)
    with pytest.raises(ValueError, match="unknown audio suffix"):
        write_audio(tmp_path / "out", x)  # no suffix at all
    write_audio(tmp_path / "far.wav", x)
    # the echo CLI writes its output with write_audio: before, a missing folder was a libsndfile traceback
    status = main(["echo", "--far", str(tmp_path / "far.wav"), "--near", str(tmp_path / "far.wav"),
                   "-o", str(tmp_path / "missing" / "o.wav")])
    err = capsys.readouterr().err
    assert status == 1 and err.count("\n") == 1 and "missing/o.wav: cannot write audio" in err


@pytest.mark.parametrize(
    "value, error",
    [
        ([1, 2, 3], TypeError),
        (np.zeros(4, np.float32), TypeError),
        (np.zeros((2, 2, 2), np.int16), ValueError),
        (np.zeros((0,), np.int16), ValueError),
    ],
)
def test_batch_validation_errors(value, error):
    with pytest.raises(error):
        _validate.as_batch(value, np.int16)


def test_batch_validation_rejects_nan_and_wrong_channel_count():
    with pytest.raises(ValueError, match="NaN"):
        _validate.as_batch(np.array([1.0, np.nan]), np.float64)
    with pytest.raises(ValueError, match="channels"):
        _validate.as_batch(np.zeros((3, 160), np.int16), np.int16, channels=2)
    batch, was_1d = _validate.as_batch(np.arange(5, dtype=np.int16)[::2], np.int16)
    assert was_1d and batch.shape == (1, 3) and batch.flags.c_contiguous
