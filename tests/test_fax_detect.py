"""Fax detection on a voice call: CNG, CED, V.21 preamble; voice is not fax; the IVR op on a live call."""
import numpy as np
import pytest

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.fax.detect import FaxDetector  # noqa: E402
from pycallcenter.fax.session import FaxSession  # noqa: E402

RATE = 8000


def _tone(freq, seconds, level=6000):
    t = np.arange(int(seconds * RATE)) / RATE
    return (level * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def _feed(det, x):
    for i in range(0, x.size, 160):
        det.process(x[i:i + 160])
    return det.detected


def test_cng_cadence_is_fax():
    cng = np.concatenate([_tone(1100, 0.5), np.zeros(3 * RATE, np.int16)] * 2)
    assert _feed(FaxDetector(), cng) == "cng"


def test_ced_is_fax():
    assert _feed(FaxDetector(), _tone(2100, 3.0)) == "ced"


def test_v21_preamble_alone_is_fax(tmp_path):
    # an answering terminal sends CED then the V.21 DIS; keep only the V.21 burst
    s = FaxSession(calling=False, receive=str(tmp_path / "x.tif"))
    audio = np.concatenate([s.tick(np.zeros(160, np.int16)) for _ in range(300)])
    s.close()
    loud = np.abs(audio.astype(np.int32)).reshape(-1, 160).mean(axis=1) > 100
    starts = [i for i in range(1, loud.size) if loud[i] and not loud[i - 1]]
    assert len(starts) >= 1
    v21 = audio[starts[-1] * 160:]
    assert _feed(FaxDetector(), v21) == "v21"


def test_voice_and_dial_tone_are_not_fax():
    rng = np.random.default_rng(3)
    speechlike = (rng.standard_normal(4 * RATE) * 2000).astype(np.int16)
    assert _feed(FaxDetector(), speechlike) is None
    assert _feed(FaxDetector(), _tone(350, 2.0) + _tone(440, 2.0)) is None


def test_detect_fax_op_hears_a_calling_fax_machine():
    from pycallcenter.fax.ivr import detect_fax
    from pycallcenter.fax.loopback import BOARD
    from pycallcenter.drivers import open_board, parse_config
    from pycallcenter.engine.engine import Engine

    board = open_board(parse_config(BOARD.format(law="ulaw", seed=1)))
    eng = Engine(board)
    eng.auto_trunks()
    line = board.emulator.far_ends["pstn"]
    got = {}

    async def script(call):
        await call.answer()
        got["first"] = await detect_fax(call, 2.0)
        got["second"] = await detect_fax(call, 10.0)

    eng.router = lambda leg: script
    line.call()
    eng.run(until=lambda: line.off_hook, seconds=30)
    eng.run(seconds=3.0)  # nothing sent yet: the first listen times out
    line.write_audio(np.concatenate([_tone(1100, 0.5), np.zeros(3 * RATE, np.int16)] * 2))
    eng.run(seconds=8.0)
    assert got == {"first": None, "second": "cng"}


def test_batched_watcher_slots_grow_reset_and_time_out():
    """The shared watcher hears CNG on whichever rows are watched, however many, and lets voice calls go."""
    import numpy as np

    from pycallcenter.engine.media import MediaPlane
    from pycallcenter.fax.detect import BatchedFaxWatcher

    media = MediaPlane(["ulaw"] * 20, 160)
    watcher = BatchedFaxWatcher(media, "us", slots=2)
    watches = {row: watcher.watch(row, seconds=8.0) for row in (3, 7, 11, 19)}  # grows 2 -> 4 slots
    assert watcher.progress.channels == 4
    t = np.arange(4000) / 8000
    cng = np.concatenate([(6000 * np.sin(2 * np.pi * 1100 * t)).astype(np.int16), np.zeros(28000, np.int16)])
    codes = np.full((20, 160), 0xFF, np.uint8)
    from pycallcenter.dsp import g711

    for tick in range(0, 2 * cng.size, 160):
        block = np.zeros((20, 160), np.int16)
        seg = cng[tick % cng.size:tick % cng.size + 160]
        block[7, :seg.size] = seg  # only row 7 is a fax machine
        block[19, :seg.size] = seg // 3 + 1  # and row 19, quieter
        codes[:] = g711.ulaw_encode(block)
        media.receive(codes)
    assert watches[7].detected == "cng" and watches[19].detected == "cng"
    assert watches[3].detected is None and watches[11].detected is None
    assert 3 not in watcher.watches and 11 not in watcher.watches  # 8 s without a fax signal: released
    again = watcher.watch(3)
    assert again.detected is None and len(watcher.free) + len(watcher.slot_of) == watcher.progress.channels
