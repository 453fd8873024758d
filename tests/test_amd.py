"""Answering-machine detection on spoken greetings made here with espeak-ng."""
import shutil
import subprocess

import numpy as np
import pytest

from engine_rig import analog_engine
from pycallcenter.dsp.audio import read_audio
from pycallcenter.engine.amd import AmdDetector

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"), reason="espeak-ng is not installed (make test installs it)")

HUMAN = ["Hello?", "Yes?", "Hi, this is Mary."]
MACHINE = ["Hi, you have reached the Johnson family. We are not able to take your call right now, "
           "please leave a message after the tone and we will call you back.",
           "Thank you for calling. Nobody is available to take your call. Please leave your name and number."]


def _speech(tmp_path, text, voice="en-us"):
    path = tmp_path / "s.wav"
    subprocess.run(["espeak-ng", "-v", voice, "-w", str(path), text], check=True, capture_output=True)
    return read_audio(path)


def _verdict(samples, lead_silence=0.3, tail=4.0):
    det = AmdDetector()
    audio = np.concatenate([np.zeros(int(lead_silence * 8000), np.int16), samples, np.zeros(int(tail * 8000), np.int16)])
    for i in range(0, audio.size, 160):
        r = det.feed(audio[i:i + 160])
        if r:
            return r
    return None


@pytest.mark.parametrize("text", HUMAN)
def test_short_greetings_are_people(tmp_path, text):
    assert _verdict(_speech(tmp_path, text)).verdict == "human"


@pytest.mark.parametrize("text", MACHINE)
def test_long_greetings_are_machines(tmp_path, text):
    r = _verdict(_speech(tmp_path, text))
    assert r.verdict == "machine" and r.seconds < 3.0


def test_silence_is_not_a_person():
    assert _verdict(np.zeros(0, np.int16), lead_silence=0, tail=6.0).verdict in ("machine", "silence")


def test_detect_machine_verb_on_an_outgoing_analog_call(tmp_path):
    eng, ends = analog_engine()
    greeting = _speech(tmp_path, MACHINE[0])
    results = []

    async def script(call):
        await call.wait(0.2)
        d = await call.dial("pstn2/5551234", timeout=20)
        results.append(d.outcome)
        results.append(await call.detect_machine(d.leg))

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=5.0)
    ends["pstn3"].answer()
    ends["pstn3"].write_audio(greeting)
    eng.run(seconds=5.0)
    assert results[0] == "answered" and results[1].verdict == "machine"
    assert "amd leg=" in "\n".join(eng.log_lines)
