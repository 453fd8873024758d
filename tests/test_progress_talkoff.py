"""Call-progress talk-off (``make talkoff``): minutes of synthetic speech in six languages, four pitches and
three levels must never be reported as a tone by any plan's detector."""
import shutil
import subprocess

import numpy as np
import pytest

from pycallcenter.dsp import progress
from pycallcenter.dsp import toneplans as tp
from pycallcenter.dsp.audio import read_audio

TEXTS = {
    "en-us": "Thank you for calling. All of our agents are busy right now. Please stay on the line and your call "
             "will be answered in the order it was received. Press one for sales, two for support, or zero.",
    "en": "Good morning, this is the front desk. Please hold the line while I try to transfer you. Hello? Hello?",
    "de": "Guten Tag, Sie sind verbunden mit dem Kundendienst. Bitte warten Sie, "
          "der nächste Mitarbeiter ist gleich da.",
    "fr": "Bonjour, vous êtes bien sur la messagerie vocale. Veuillez laisser votre message après le bip sonore.",
    "cmn": "您好，欢迎致电客户服务中心。请稍候，我们将尽快为您接通。",
    "ja": "お電話ありがとうございます。ただいま電話が大変混み合っております。",
}


@pytest.mark.talkoff
def test_speech_is_never_a_call_progress_tone(tmp_path):
    if not shutil.which("espeak-ng"):
        pytest.skip("espeak-ng is not installed")
    seconds, false = 0.0, []
    for voice, text in TEXTS.items():
        for pitch in (30, 50, 80, 99):
            wav = tmp_path / "speech.wav"
            subprocess.run(["espeak-ng", "-v", voice, "-p", str(pitch), "-w", str(wav), text], check=True,
                           capture_output=True)
            x = read_audio(wav).astype(float)
            x /= np.sqrt(np.mean(x ** 2))
            batch = np.array([np.clip(np.rint(x * tp.amplitude(lvl) / np.sqrt(2)), -32768, 32767)
                              for lvl in (-10, -20, -35)]).astype(np.int16)
            for plan in tp.plan_names():
                evs = progress.CallProgressDetector(3, plan).process(batch)
                false += [(voice, pitch, plan, e) for e in evs if e.kind not in ("voice", "silence")]
            seconds += 3 * x.size / 8000
    print(f"\ncall-progress talk-off: {seconds * len(tp.plan_names()):.0f} s of speech, {len(false)} false tones")
    assert not false, false[:10]
