"""baresip (Debian baresip-core, its g722 module) judges G.722 on SIP legs in real time: offering only G.722
(audio_codecs g722) it calls the IVR, hears the prompt through its own wideband decoder (its sndfile dump is
at 16 kHz), its tone file reaches the script, and its key press (RFC 4733) reaches collect; the engine calls
it through a trunk offering G.722 first and tones cross both ways."""
import numpy as np
import pytest
import soundfile as sf

from g722_phone import WIDE, power_at, wide_tone
from pycallcenter.engine.sip import Peer
from pycallcenter.media import g722
from test_sip_engine_baresip import Baresip, _call_baresip, _ivr, _key_after_prompt, engine, realtime  # noqa: F401

pytestmark = pytest.mark.skipif(not g722.AVAILABLE, reason="the g722 extra (G722 package) is not installed")


class G722Baresip(Baresip):
    """Baresip with its G.722 codec module and nothing else to offer (audio_codecs g722)."""

    def __init__(self, folder, **kw):
        super().__init__(folder, **kw)
        sf.write(folder / "tone.wav", wide_tone(600, 30.0), WIDE, subtype="PCM_16")  # aufile: the codec's rate
        config = (folder / "config").read_text().replace("module\t\t\tg711.so", "module\t\t\tg722.so")
        (folder / "config").write_text(config + "audio_codecs\t\tg722\n")

    def heard_at(self):
        """Return (what baresip decoded from us, its sample rate) from its sndfile dump."""
        dumps = sorted(self.folder.glob("dump-*-dec.wav"))
        assert dumps, self.text()[-2000:]
        samples, rate = sf.read(dumps[-1], dtype="int16")
        return samples, rate


def test_baresip_offering_only_g722_calls_the_ivr_hears_the_prompt_and_its_key_works(engine, tmp_path):
    eng, add = engine
    trunk = add(guests=True, codecs=["PCMU", "PCMA", "G722"])
    got = _ivr(eng)
    phone = G722Baresip(tmp_path)
    phone.start(f"/dial sip:100@127.0.0.1:{trunk.address[1]}")
    _key_after_prompt(eng, phone, got)
    text = phone.text()
    assert "Set audio encoder: G722" in text and "Set audio decoder: G722" in text, text[-2000:]
    assert got["digits"] == "4"  # baresip's key press came as an RFC 4733 event
    assert got["heard"] > 2000  # baresip's tone file, through its G.722 encoder and our decoder
    heard, rate = phone.heard_at()
    assert rate == WIDE  # baresip ran G.722 wideband; our 8 kHz-mode stream is ordinary G.722 to it
    assert power_at(heard, 1000, rate) > 20 * power_at(heard, 1700, rate)  # the prompt reached baresip
    assert power_at(heard, 1400, rate) > 20 * power_at(heard, 1700, rate)
    assert power_at(heard, 1000, rate) > 100 * power_at(heard, 6000, rate)  # nothing of ours above 4 kHz
    assert trunk.stats["calls_in"] == 1


def test_the_engine_calls_baresip_with_g722_first_and_tones_cross(engine, tmp_path):
    eng, add = engine
    phone = G722Baresip(tmp_path, user="2001", answer=True)
    trunk = add(peers=[Peer("desk", "127.0.0.1", phone.port)], codecs=["G722", "PCMU"])
    got = _call_baresip(eng, phone, "sip/desk/2001", lambda: realtime(eng, 1.0) or True)
    assert got["outcome"] == "answered"
    assert got["600"] > 1e9  # baresip's 600 Hz tone reached the engine
    heard, rate = phone.heard_at()
    assert rate == WIDE and power_at(heard, 900, rate) > 20 * power_at(heard, 1700, rate)
    assert trunk.stats["calls_out"] == 1 and "Set audio decoder: G722" in phone.text()
    assert np.abs(heard).max() > 1000
