"""The recorder's own WAV writer: files byte-identical to those libsndfile wrote, while recording and after.

The recorder used to write through libsndfile (sf_write for PCM, sf_write_raw of our G.711 kernel's codes,
SFC_UPDATE_HEADER_NOW each second, sf_close). Here libsndfile writes the same samples the old way and the
bytes are compared: after each second's header update (what a process killed then leaves) and at the end.
"""
import os
import stat

import numpy as np
import pytest
import soundfile as sf
from soundfile import _ffi, _snd

from pycallcenter.dsp import SAMPLE_RATE, g711, recwrite
from pycallcenter.engine.recording import PART, Recorder, WavWriter, wav_header

SFC_UPDATE_HEADER_NOW = 0x1060  # sndfile.h


class LibsndfileWav:
    """The old way: a WAV written by libsndfile, G.711 as our kernel's codes through sf_write_raw."""

    def __init__(self, path, subtype, channels):
        self.f = sf.SoundFile(path, "w", samplerate=SAMPLE_RATE, channels=channels, subtype=subtype, format="WAV")
        self.encode = {"ULAW": g711.ulaw_encode, "ALAW": g711.alaw_encode}.get(subtype)

    def write(self, frames):
        if self.encode is None:
            self.f.write(frames)
            return
        codes = self.encode(np.ascontiguousarray(frames))
        assert _snd.sf_write_raw(self.f._file, _ffi.from_buffer(codes), codes.size) == codes.size

    def update(self):
        assert _snd.sf_command(self.f._file, SFC_UPDATE_HEADER_NOW, _ffi.NULL, 0) == 0

    def close(self):
        self.f.close()


def _audio(rng, n, channels):
    x = rng.integers(-32768, 32768, n * channels).astype(np.int16)
    return x if channels == 1 else x.reshape(n, channels)


@pytest.mark.parametrize("subtype", ["PCM_16", "ULAW", "ALAW"])
@pytest.mark.parametrize("stereo", [False, True])
@pytest.mark.parametrize("chunks", [[], [160], [161], [8000, 8000, 3200], [8000, 4001, 4000, 7]])
def test_recordings_are_byte_identical_to_libsndfile_while_written_and_when_closed(tmp_path, subtype, stereo, chunks):
    rng = np.random.default_rng(len(chunks) + sum(chunks))
    channels = 2 if stereo else 1
    rec = Recorder(str(tmp_path / "r.wav"), 0, stereo=stereo, subtype=subtype)
    old = LibsndfileWav(str(tmp_path / "old.wav"), subtype, channels)
    since = 0
    for n in chunks:
        frames = _audio(rng, n, channels)
        rec.write_chunk(frames)
        old.write(frames)
        since += n
        if since >= SAMPLE_RATE:  # the recorder rewrote its header: as libsndfile's command does
            since = 0
            old.update()
            with open(rec.part, "rb") as a, open(tmp_path / "old.wav", "rb") as b:
                assert a.read() == b.read()
    stats = rec.stop()
    old.close()
    assert rec.error is None and not os.path.exists(rec.part)
    with open(stats["path"], "rb") as a, open(tmp_path / "old.wav", "rb") as b:
        assert a.read() == b.read()
    assert stats["seconds"] == sum(chunks) / SAMPLE_RATE


def test_the_part_file_keeps_libsndfiles_mode_and_a_full_disk_cuts_back_to_whole_frames(tmp_path, monkeypatch):
    old_mask = os.umask(0o027)
    try:
        w = WavWriter(str(tmp_path / ("x" + PART)), "PCM_16", 2)
    finally:
        os.umask(old_mask)
    assert stat.S_IMODE(os.stat(w.path).st_mode) == 0o640  # 0666 less the umask, as libsndfile made it
    w.append(np.ones((100, 2), np.int16))
    real = os.write

    def half_then_full(fd, data):  # a write that gets half its bytes out, then ENOSPC
        if fd != w.fd:
            return real(fd, data)
        monkeypatch.setattr(os, "write", fail)
        return real(fd, bytes(data)[:len(data) // 2 + 1])

    def fail(fd, data):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(OSError, match="No space"):
        w.append(np.ones((50, 2), np.int16))
    monkeypatch.setattr(os, "write", real)
    w.close()
    data, _ = sf.read(w.path, dtype="int16")
    assert data.shape == (100, 2) and os.path.getsize(w.path) == len(wav_header("PCM_16", 2, 0)) + 400


def test_a_recorder_that_cannot_write_its_header_stops_recording_and_the_call_goes_on(tmp_path, monkeypatch):
    rec = Recorder(str(tmp_path / "h.wav"), 0, subtype="ULAW")

    def full(fd, data, offset):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "pwrite", full)
    rec.write_chunk(np.zeros(SAMPLE_RATE, np.int16))  # a second: the header is rewritten, and cannot be
    assert "No space" in rec.error
    monkeypatch.undo()
    rec.write_chunk(np.zeros(800, np.int16))  # nothing more is written
    stats = rec.stop()
    assert stats["error"] == rec.error and stats["seconds"] == 1.0


def _placeholder_and_part(tmp_path, samples=SAMPLE_RATE):
    from pycallcenter.engine.recording import claim

    path = claim(str(tmp_path / "2026" / "20260101-000000_C1_L1.wav"))
    rec = Recorder(path, 0, subtype="ULAW")
    rec.write_chunk(np.full(samples, 3000, np.int16))
    return rec


def test_a_finished_recording_takes_its_placeholders_name_without_a_replacing_rename(tmp_path, monkeypatch):
    """A rename over the placeholder makes ext4 write the recording's dirty pages out inside the tick; the
    placeholder is unlinked and the part file linked in its place instead."""
    rec = _placeholder_and_part(tmp_path)

    def refused(*args):
        raise AssertionError("a rename replaced the placeholder")

    monkeypatch.setattr(os, "replace", refused)
    monkeypatch.setattr(os, "rename", refused)
    stats = rec.stop()
    assert stats["path"] == rec.path and os.listdir(os.path.dirname(rec.path)) == [os.path.basename(rec.path)]
    data, _ = sf.read(rec.path, dtype="int16")
    assert data.size == SAMPLE_RATE


def test_a_name_claimed_by_another_process_in_between_is_not_overwritten(tmp_path, monkeypatch):
    rec = _placeholder_and_part(tmp_path)
    theirs = rec.path
    real_link = os.link

    def other_process_claims_first(src, dst):
        with open(dst, "wb") as fh:  # their placeholder, made between our unlink and our link
            fh.write(b"")
        return real_link(src, dst)

    monkeypatch.setattr(os, "link", other_process_claims_first)
    stats = rec.stop()
    assert stats["path"] != theirs and stats["path"].endswith("20260101-000000-2_C1_L1.wav")
    assert os.path.getsize(theirs) == 0 and sf.read(stats["path"], dtype="int16")[0].size == SAMPLE_RATE


def test_without_hard_links_the_part_file_is_renamed_onto_the_freed_name(tmp_path, monkeypatch):
    rec = _placeholder_and_part(tmp_path)

    def unsupported(src, dst):
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", unsupported)
    stats = rec.stop()
    assert os.listdir(os.path.dirname(stats["path"])) == [os.path.basename(rec.path)]
    assert sf.read(stats["path"], dtype="int16")[0].size == SAMPLE_RATE


def test_a_process_killed_while_the_name_is_linked_leaves_what_recover_finishes(tmp_path, monkeypatch):
    from pycallcenter.engine.recording import recover

    rec = _placeholder_and_part(tmp_path, samples=2 * SAMPLE_RATE)
    real_unlink = os.unlink

    class Killed(BaseException):
        pass

    def killed_after_the_link(path):
        if path.endswith(PART):
            raise Killed
        return real_unlink(path)

    monkeypatch.setattr(os, "unlink", killed_after_the_link)
    with pytest.raises(Killed):
        rec.stop()
    monkeypatch.undo()
    assert os.path.exists(rec.part) and os.path.samefile(rec.part, rec.path)
    assert recover(str(tmp_path)) == [rec.path]
    assert os.listdir(os.path.dirname(rec.path)) == [os.path.basename(rec.path)]
    assert sf.read(rec.path, dtype="int16")[0].size == 2 * SAMPLE_RATE


def _bank_with(tmp_path, n):
    from pycallcenter.engine.recording import RecorderBank

    bank = RecorderBank(160)
    recs = [Recorder(str(tmp_path / f"b{i}.wav"), i, subtype="ULAW") for i in range(n)]
    for rec in recs:
        bank.add(rec)
    return bank, recs


def _threads():
    import threading

    return [t for t in threading.enumerate() if t.name == "recording-files"]


def test_a_banks_file_writes_run_on_its_worker_thread_which_ends_with_the_last_recorder(tmp_path, monkeypatch):
    import threading

    bank, recs = _bank_with(tmp_path, 3)
    writers = set()
    real = WavWriter.append

    def append(self, data):
        writers.add(threading.current_thread().name)
        return real(self, data)

    monkeypatch.setattr(WavWriter, "append", append)
    real_native = recwrite.hand_over

    def hand_over(*args):  # the native path writes in one call (dsp/recwrite.py)
        writers.add(threading.current_thread().name)
        return real_native(*args)

    monkeypatch.setattr(recwrite, "hand_over", hand_over)
    rng = np.random.default_rng(1)
    for _ in range(120):  # 2.4 s
        bank.tick(rng.integers(-9000, 9000, (3, 160), dtype=np.int16), np.zeros((3, 160), np.int16))
    bank.worker.wait()
    assert writers == {"recording-files"} and len(_threads()) == 1
    for rec in recs[:2]:
        bank.remove(rec)
        rec.stop()
    assert len(_threads()) == 1  # a recorder is still fed
    bank.remove(recs[2])
    assert _threads() == [] and bank.worker.idle()
    stats = recs[2].stop()
    assert stats["seconds"] == 2.4 and sf.read(stats["path"], dtype="int16")[0].size == 120 * 160


def test_a_write_failing_on_the_worker_lands_in_the_recorders_error(tmp_path, monkeypatch):
    bank, (ok, full) = _bank_with(tmp_path, 2)
    dev_full = os.open("/dev/full", os.O_WRONLY)  # every write fails with ENOSPC, as on a full disk
    os.dup2(dev_full, full._file.fd)
    os.close(dev_full)
    for _ in range(100):
        bank.tick(np.full((2, 160), 3000, np.int16), np.zeros((2, 160), np.int16))
    for rec in (ok, full):
        bank.remove(rec)
    good, bad = ok.stop(), full.stop()
    assert "error" not in good and good["seconds"] == 2.0
    assert "No space" in bad["error"] and bad["seconds"] == 0.0


def test_an_unexpected_error_on_the_worker_stops_that_recording_and_no_stop_waits_forever(tmp_path, monkeypatch):
    bank, (rec,) = _bank_with(tmp_path, 1)

    def broken(*args):
        raise ValueError("a bug in the writer")

    monkeypatch.setattr(WavWriter, "append", broken)
    monkeypatch.setattr(recwrite, "hand_over", broken)
    for _ in range(60):
        bank.tick(np.full((1, 160), 3000, np.int16), np.zeros((1, 160), np.int16))
    bank.remove(rec)
    stats = rec.stop()
    assert stats["error"] == "ValueError: a bug in the writer" and _threads() == []


def test_a_stop_does_its_own_queued_writes_at_once_not_after_the_others_backlog(tmp_path):
    """The writer thread held back (on a busy machine it lags the hand-overs): one recording's stop writes
    that recording's queued seconds itself, in order, and leaves the others' to the thread."""
    import threading

    bank, recs = _bank_with(tmp_path, 3)
    gate = threading.Event()
    bank.worker.submit(None, gate.wait)  # the thread is busy until the gate opens
    rng = np.random.default_rng(4)
    sent = []
    for _ in range(150):  # 3 s: three hand-overs each, all queued behind the gate
        rx = rng.integers(-9000, 9000, (3, 160), dtype=np.int16)
        sent.append(rx[1].copy())
        bank.tick(rx, np.zeros((3, 160), np.int16))
    bank.remove(recs[1])
    stats = recs[1].stop()  # returns although the thread has not written anything yet
    assert not bank.worker.idle()
    data, _ = sf.read(stats["path"], dtype="int16")
    want = g711.ulaw_decode(g711.ulaw_encode(np.concatenate(sent)))  # the recordings are mu-law
    assert np.array_equal(data, want) and stats["seconds"] == 3.0
    gate.set()
    for rec in (recs[0], recs[2]):
        bank.remove(rec)
        assert rec.stop()["seconds"] == 3.0
    assert _threads() == []
