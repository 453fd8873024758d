"""The progressive dialler records answering-machine verdicts (webrtcvad AMD) for answered calls."""
import shutil
import subprocess

import pytest

from engine_rig import analog_engine
from pycallcenter.acd import Acd
from pycallcenter.acd.dialler import Dialler
from pycallcenter.acd.engine_binding import AcdBinding
from pycallcenter.dsp.audio import read_audio

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed (make test installs it)")


def _speech(tmp_path, text):
    path = tmp_path / "g.wav"
    subprocess.run(["espeak-ng", "-v", "en-us", "-w", str(path), text], check=True, capture_output=True)
    return read_audio(path)


@pytest.mark.parametrize("greeting, status", [
    ("Hello?", "connected"),
    ("Hi, you have reached the Smith residence. We cannot come to the phone right now, please leave a message "
     "after the tone.", "machine"),
])
def test_answered_calls_are_classified_and_recorded(tmp_path, greeting, status):
    eng, ends = analog_engine()
    binding = AcdBinding(eng, Acd())
    d = Dialler(retry_after=(30.0,), max_attempts=2, machine="done")
    d.add("5551234", now=0.5)
    binding.add_dialler(d, "pstn2", lines=1)
    audio = _speech(tmp_path, greeting)
    line = ends["pstn3"]
    answered, dialled_at = False, None
    for _ in range(15 * 50):
        eng.tick()
        if dialled_at is None and line.digits.endswith("5551234"):  # our port seized the line and dialled
            dialled_at = eng.now
        if not answered and dialled_at is not None and eng.now - dialled_at > 2 * 8000:  # it rang a while
            line.answer()
            line.write_audio(audio)
            answered = True
    assert answered
    (attempt,) = d.attempts
    assert attempt[3] == "answered" and attempt[4] is (status == "machine")
    assert d.targets["5551234"].status == status
    assert f"amd={'machine' if status == 'machine' else 'human'}" in "\n".join(eng.log_lines)
