"""The batched fax watcher (packed detector slots, V.21 receiver skipped on near-silent ticks) hears exactly
what a single-leg FaxDetector fed every sample hears: same signal, same sample, on every watched row."""
import types

import numpy as np
import pytest

pytest.importorskip("pycallcenter.fax._spandsp", reason="the spandsp binding is not built (libspandsp-dev)")
from pycallcenter.fax import detect  # noqa: E402
from pycallcenter.fax.detect import BatchedFaxWatcher, FaxDetector  # noqa: E402
from pycallcenter.fax.session import FaxSession  # noqa: E402

RATE = 8000
SECONDS = 12
PEAK_0DBM0 = 22820  # peak of a 0 dBm0 sine in linear int16


def _tone(freq, seconds, dbm0):
    t = np.arange(int(seconds * RATE)) / RATE
    return (PEAK_0DBM0 * 10 ** (dbm0 / 20) * np.sin(2 * np.pi * freq * t)).round().astype(np.int16)


def _v21_preamble(tmp_path, peak):
    """The V.21 flags an answering fax sends after CED (CED itself cut off), scaled to the given peak."""
    s = FaxSession(calling=False, receive=str(tmp_path / "x.tif"))
    audio = np.concatenate([s.tick(np.zeros(160, np.int16)) for _ in range(300)])
    s.close()
    loud = np.abs(audio.astype(np.int32)).reshape(-1, 160).mean(axis=1) > 100
    starts = [i for i in range(1, loud.size) if loud[i] and not loud[i - 1]]
    v21 = audio[starts[-1] * 160:].astype(np.float64)
    return (v21 * peak / np.abs(v21).max()).round().astype(np.int16)


def _put(line, at_seconds, signal):
    at = int(at_seconds * RATE)
    line[at:at + signal.size] = signal[:line.size - at]


def _lines(tmp_path):
    rng = np.random.default_rng(7)
    n = SECONDS * RATE
    speech = (rng.standard_normal(n) * 1500).astype(np.int16)
    lines = {}
    lines["cng_mid_call"] = speech.copy()  # a voice caller, then a fax machine's CNG (voice stops)
    lines["cng_mid_call"][int(3.33 * RATE):] = 0
    _put(lines["cng_mid_call"], 3.33, np.concatenate([_tone(1100, 0.5, -20), np.zeros(3 * RATE, np.int16)] * 2))
    lines["ced_low"] = np.zeros(n, np.int16)
    _put(lines["ced_low"], 2.01, _tone(2100, 3.0, -43))
    lines["v21_alone_low"] = np.zeros(n, np.int16)  # flags only, at the quietest level the receiver finds
    _put(lines["v21_alone_low"], 4.007, _v21_preamble(tmp_path, 150))
    lines["v21_after_voice"] = speech.copy()  # flags right after voice, no quiet tick between
    lines["v21_after_voice"][int(5.5 * RATE):] = 0
    _put(lines["v21_after_voice"], 5.5, _v21_preamble(tmp_path, 3000))
    lines["voice"] = speech.copy()
    lines["silence"] = np.zeros(n, np.int16)
    lines["idle_noise"] = rng.integers(-8, 9, n).astype(np.int16)  # A-law idle: just above zero, not fax
    return lines


def _alone(line, tick):
    det = FaxDetector("etsi")
    for i in range(0, line.size, tick):
        det.process(line[i:i + tick])
    return det.detected, det.at_sample


@pytest.mark.parametrize("tick", [160, 640, 200])
def test_watcher_hears_what_a_lone_detector_hears(tmp_path, tick):
    lines = _lines(tmp_path)
    names = sorted(lines)
    # rows between the watched ones are unwatched noise; short watches end early so slots get repacked
    rows = {name: 2 + 3 * i for i, name in enumerate(names)}
    nrows = 3 * len(names) + 6
    audio = np.zeros((nrows, SECONDS * RATE), np.int16)
    audio[[r for r in range(nrows) if r not in rows.values()]] = 9000
    for name, row in rows.items():
        audio[row] = lines[name]
    # Short watches on noise rows end while the fax signals are under way; the last (fax) slot then moves
    # into the freed one mid-CED and mid-CNG, state and all.
    churn = {1: 2.23, 4: 3.52, 0: 4.05, nrows - 1: 5.6}  # not on a frame boundary at 200-sample ticks
    watcher = BatchedFaxWatcher(types.SimpleNamespace(taps=[]), "etsi", slots=2)
    order = ["idle_noise", "silence", "voice", "v21_after_voice", "v21_alone_low", "cng_mid_call", "ced_low"]
    assert sorted(order) == names
    watches = {name: watcher.watch(rows[name], seconds=None) for name in order[:3]}
    short = [watcher.watch(r, seconds=s) for r, s in churn.items()]
    watches.update({name: watcher.watch(rows[name], seconds=None) for name in order[3:]})
    for i in range(0, audio.shape[1], tick):
        watcher.tap(audio[:, i:i + tick])
    got = {name: (w.detected, w.at_sample) for name, w in watches.items()}
    want = {name: _alone(lines[name], tick) for name in names}
    assert got == want
    assert all(want[name][0] for name in names if "cng" in name or "ced" in name or "v21" in name)
    assert want["v21_alone_low"][0] == "v21" and want["v21_after_voice"][0] == "v21"
    assert want["ced_low"][0] == "ced" and want["cng_mid_call"][0] == "cng"
    assert not any(want[name][0] for name in ("voice", "silence", "idle_noise"))
    assert all(w.detected is None and w.row not in watcher.watches for w in short)
    assert sorted(watcher.slot_of.values()) == list(range(len(watcher.slot_of)))  # heard rows freed their slot
    assert set(watcher.slot_of) == {rows[n] for n in ("voice", "silence", "idle_noise")}


def test_precheck_skips_only_far_below_the_v21_receivers_floor(tmp_path):
    """A preamble at peak 150 (about -44 dBm0) is found, the same 10 dB lower is not, and the pre-check
    only skips ticks quieter still."""
    det_found, det_not = FaxDetector("etsi"), FaxDetector("etsi")
    found = _v21_preamble(tmp_path, 150)
    for i in range(0, found.size, 160):
        det_found.process(found[i:i + 160])
        det_not.process(found[i:i + 160] // 3)
    assert det_found.detected == "v21" and det_not.detected is None
    assert detect.V21_QUIET_PEAK < np.abs(found // 3).max()


def test_a_quiet_tick_restarts_the_v21_receiver(tmp_path, monkeypatch):
    """After a near-silent tick the receiver starts afresh, as feeding it the quiet tick would; the flags
    that follow are found at the same sample as by a receiver fed everything."""
    restarts = []
    free = detect.RowWatch._free_v21
    monkeypatch.setattr(detect.RowWatch, "_free_v21",
                        lambda self: (self._v21 is not None and restarts.append(self.watcher.samples), free(self))[1])
    voice = (np.random.default_rng(1).standard_normal(8000) * 1500).astype(np.int16)
    line = np.concatenate([voice, np.zeros(640, np.int16), _v21_preamble(tmp_path, 3000)])
    watcher = BatchedFaxWatcher(types.SimpleNamespace(taps=[]), "etsi")
    w = watcher.watch(0, seconds=None)
    for i in range(0, line.size, 160):
        watcher.tap(line[None, i:i + 160])
    assert restarts == [8160]  # the first quiet tick after the voice, once
    assert (w.detected, w.at_sample) == _alone(line, 160) and w.detected == "v21"


@pytest.mark.parametrize("tick", [200, 640])
def test_packed_slots_keep_each_rows_detector_state(tick):
    """Through watches starting and ending in any order, each watched row's slot holds exactly the state
    (and part frame) of a lone call-progress detector fed that row since its watch began."""
    from pycallcenter.dsp.progress import CallProgressDetector

    rng = np.random.default_rng(11)
    nrows = 12
    watcher = BatchedFaxWatcher(types.SimpleNamespace(taps=[]), "etsi", slots=2)
    lone = {}
    t = np.arange(tick) / RATE
    for step in range(240):
        if step % 3 == 0:
            row = int(rng.integers(nrows))
            if row in watcher.watches:
                watcher.watches[row].close()
                del lone[row]
            else:
                watcher.watch(row, seconds=None)
                lone[row] = CallProgressDetector(1, plan="etsi")
                if watcher.progress._fill:  # a new slot starts with a zeroed part frame
                    lone[row].process(np.zeros(watcher.progress._fill, np.int16))
        level = rng.choice([0, 30, 3000], size=(nrows, 1))
        block = (rng.standard_normal((nrows, tick)) * level).astype(np.int16)
        block[::4] += (3000 * np.sin(2 * np.pi * 2100 * (t + step * tick / RATE))).astype(np.int16)
        watcher.tap(block)
        heard = {}
        for row, det in lone.items():
            fax = [ev.kind for ev in det.process(block[row]) if ev.kind in ("fax_cng", "fax_ced")]
            if fax:
                heard[row] = fax[0]
        done = {row: "fax_" + w.detected for row, w in watcher.watches.items() if w.detected}
        assert done == heard
        for row in done:  # a heard row has left its slot already; its watch ends when closed
            watcher.watches[row].close()
            del lone[row]
        assert set(watcher.slot_of) == set(lone)
        fill = watcher.progress._fill
        for row, det in lone.items():
            slot = watcher.slot_of[row]
            assert det._fill == fill
            assert np.array_equal(watcher.progress._state[slot], det._state[0])
            assert np.array_equal(watcher.progress._buf[slot, :fill], det._buf[0, :fill])


def test_quiet_rows_end_and_restart_as_when_every_row_is_visited(tmp_path):
    """Rows quiet for a whole tick are not visited unless something is due on them: a watch on a silent
    row still ends on the first tick past its time, and a receiver left running by a loud tick is still
    restarted by the next quiet one, on any row and slot, after slots were repacked."""
    watcher = BatchedFaxWatcher(types.SimpleNamespace(taps=[]), "etsi", slots=2)
    ends = {0: 0.5, 1: 0.73, 2: None, 3: 1.01, 4: None}
    watches = {row: watcher.watch(row, seconds=s) for row, s in ends.items()}
    rng = np.random.default_rng(3)
    closed = {}
    for t in range(100):  # 2 s of 160-sample ticks; rows 2 and 4 loud on some ticks only
        block = np.zeros((5, 160), np.int16)
        if t % 7 in (1, 2):
            block[2] = (rng.standard_normal(160) * 2000).astype(np.int16)
        if t % 5 == 3:
            block[4] = (rng.standard_normal(160) * 2000).astype(np.int16)
        watcher.tap(block)
        for row, w in watches.items():
            if row not in closed and row not in watcher.watches:
                closed[row] = watcher.samples
        assert watcher.listening == {row for row, w in watcher.watches.items() if w._v21 is not None}
        assert (watches[2]._v21 is not None) == (t % 7 in (1, 2)) and (watches[4]._v21 is not None) == (t % 5 == 3)
    # closed on the first tick whose end reaches the watch's end (the tick's samples are counted first)
    assert closed == {row: -(-int(s * RATE) // 160) * 160 for row, s in ends.items() if s is not None}
