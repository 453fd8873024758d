"""DTMF talk-off: false digits on speech (espeak-ng, many voices/languages, long texts, noise) and music-like audio.

The full hour runs with `make talkoff` (marker talkoff) and prints ours and spandsp's counts; a 90-second version
runs in the default suite. A music-like chord that really holds a DTMF pair (two notes within 1.5% of a row and a
column frequency, e.g. F5 + F#6 = 698.5 + 1480 Hz) must be accepted by Q.24; such detections are counted apart.
"""
import pytest

from talkoff_corpus import as_channels, count_false, count_false_spandsp, have_tools, music_like, speech
from pycallcenter.dsp.dtmf import DtmfDetector

pytestmark = pytest.mark.skipif(have_tools() is not None, reason=f"talk-off corpus needs espeak-ng and sox ({have_tools()})")


def test_talkoff_short_speech_and_music():
    x = as_channels(speech(75, seed=7), 15)
    y = as_channels(music_like(15, seed=8), 15)
    assert count_false(x, DtmfDetector) == (0, 0)
    assert count_false(y, DtmfDetector)[0] == 0


@pytest.mark.talkoff
def test_talkoff_one_hour(spandsp):
    sp = as_channels(speech(3600, seed=0), 60)
    mu = as_channels(music_like(900, seed=1), 60)
    (ours_sp, gen_sp), (ours_mu, gen_mu) = count_false(sp, DtmfDetector), count_false(mu, DtmfDetector)
    ref_sp, ref_mu = count_false_spandsp(sp, spandsp), count_false_spandsp(mu, spandsp)
    print(f"\ntalk-off: speech {sp.size / 8000 / 60:.0f} min: ours {ours_sp} false (+{gen_sp} genuine pairs), "
          f"spandsp {ref_sp} digits; music-like {mu.size / 8000 / 60:.0f} min: ours {ours_mu} false "
          f"(+{gen_mu} genuine pairs), spandsp {ref_mu} digits")
    assert ours_sp == 0 and ours_mu == 0
