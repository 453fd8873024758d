"""The fax verbs on IvrCall delegate to pycallcenter.fax.ivr."""
import numpy as np

from engine_rig import analog_engine


def test_detect_fax_verb_hears_cng_from_the_caller():
    eng, ends = analog_engine()
    heard = []

    async def script(call):
        eng.media.stop_tone(call.leg.row)
        heard.append(await call.detect_fax(6.0))
        heard.append(await call.detect_fax(1.0))

    eng.router = lambda leg: script
    ends["alice"].off_hook()
    eng.run(seconds=0.3)
    t = np.arange(4000) / 8000
    cng = (6000 * np.sin(2 * np.pi * 1100 * t)).astype(np.int16)
    ends["alice"].write_audio(np.concatenate([cng, np.zeros(24000, np.int16), cng]))
    eng.run(seconds=8.0)
    assert heard[0] == "cng"
    assert heard[1] is None  # one second of silence: nothing
