"""The prompt cache: keyed by what a file holds, never by its name or time."""
import os

import numpy as np

from pycallcenter.dsp.audio import write_audio
from pycallcenter.engine.prompts import PromptLibrary, content_key

SAME_TIME = 1_700_000_000


def _tone(hz, seconds=0.3):
    t = np.arange(int(seconds * 8000)) / 8000
    return (8000 * np.sin(2 * np.pi * hz * t)).astype(np.int16)


def _peak_hz(x):
    spec = np.abs(np.fft.rfft(x.astype(float)))
    return np.argmax(spec) * 8000 / x.size


def _prompt(folder, lang, hz):
    path = folder / lang / "1.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    write_audio(str(path), _tone(hz))
    os.utime(path, (SAME_TIME, SAME_TIME))
    return path


def test_two_languages_with_the_same_file_name_and_time_never_swap(tmp_path):
    en, zh = _prompt(tmp_path / "prompts", "en", 500), _prompt(tmp_path / "prompts", "zh", 1500)
    assert os.path.getmtime(en) == os.path.getmtime(zh) and os.path.basename(en) == os.path.basename(zh)
    cache = tmp_path / "cache"
    # one library per language sharing one cache folder, as two centres on one box would
    first = PromptLibrary(str(tmp_path / "prompts" / "en"), cache_dir=str(cache)).get("1")
    second = PromptLibrary(str(tmp_path / "prompts" / "zh"), cache_dir=str(cache)).get("1")
    assert abs(_peak_hz(first) - 500) < 20 and abs(_peak_hz(second) - 1500) < 20
    assert len(os.listdir(cache)) == 2
    # and a cold library finds each in the cache under its content's key
    both = PromptLibrary(str(tmp_path / "prompts"), cache_dir=str(cache))
    assert abs(_peak_hz(both.get("zh/1")) - 1500) < 20 and abs(_peak_hz(both.get("en/1")) - 500) < 20
    assert sorted(os.listdir(cache)) == sorted(f"{content_key(p.read_bytes())}.ul" for p in (en, zh))


def test_the_cache_is_used_and_an_edited_prompt_is_converted_again(tmp_path):
    path = _prompt(tmp_path, "en", 700)
    cache = tmp_path / "cache"
    lib = PromptLibrary(str(tmp_path), cache_dir=str(cache))
    assert abs(_peak_hz(lib.get("en/1")) - 700) < 20
    (cached,) = cache.iterdir()
    # the cached copy is what a new library plays: replace its content to see it is read, not the source
    fake = np.frombuffer(cached.read_bytes(), np.uint8)[::-1].copy()
    cached.write_bytes(fake.tobytes())
    from pycallcenter.dsp import g711

    assert np.array_equal(PromptLibrary(str(tmp_path), cache_dir=str(cache)).get("en/1"), g711.ulaw_decode(fake))
    write_audio(str(path), _tone(1100))  # re-recorded in place, time set back as a copy tool might
    os.utime(path, (SAME_TIME, SAME_TIME))
    assert abs(_peak_hz(lib.get("en/1")) - 1100) < 20  # the same library notices the new content
    assert len(os.listdir(cache)) == 2
