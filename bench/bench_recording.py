"""The recordings' hand-over at appliance size: one second of audio for each of 300 recordings (what the
RecorderBank hands over each second at 32 spans and 500 agents), mixed, G.711-encoded, written, the header
rewritten, the caller's voice counted by webrtcvad.

Yardstick in the same run: libsndfile doing the file part (sf_write_raw of the same codes, its
SFC_UPDATE_HEADER_NOW each second: how the recorder wrote before) with webrtcvad on every 30 ms frame of
the linear mix (how the voice was counted before, digital silence skipped the same way).

    .venv/bin/python -m pytest -p no:cacheprovider bench/bench_recording.py --benchmark-only \
        --benchmark-timer time.process_time     # the process's CPU, every thread
    ... --benchmark-timer time.thread_time        # the calling thread's: the engine's tick

"ours" writes on the calling thread (a Recorder without a bank); "ours, writer thread" as the RecorderBank
feeds them, the mix, encode, file writes and webrtcvad on its FileWorker thread (each round waits for it, so
process time counts its work).

The audio: per second, one recording in 9 carries the caller's voice, one in 9 the agent's over the
caller's low noise, the others that noise alone (an echo canceller's residue within one G.711 step, which
the file holds as one code: digital silence for the recorder, not for the yardstick, which judges the
linear mix). In the soak's recordings at that size 77% of the 30 ms frames are one code throughout.
"""
import numpy as np
import pytest
import soundfile as sf
import webrtcvad
from soundfile import _ffi, _snd

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.engine.recording import VAD_FRAME, FileWorker, Recorder, mix

RECORDINGS = 300
SFC_UPDATE_HEADER_NOW = 0x1060  # sndfile.h


def _seconds(n=RECORDINGS, seed=5):
    rng = np.random.default_rng(seed)
    t = np.arange(SAMPLE_RATE)
    out = []
    for i in range(n):
        voice = (rng.standard_normal(SAMPLE_RATE) * 3000 * (1 + np.sin(t / 200))).astype(np.int16)
        hiss = rng.integers(12, 20, SAMPLE_RATE).astype(np.int16)
        caller = voice if i % 9 == 0 else hiss
        heard = voice if i % 9 == 1 else np.zeros(SAMPLE_RATE, np.int16)
        out.append((caller, heard))
    return out


class LibsndfileRecorder:
    """The yardstick: libsndfile writes the codes and the header; webrtcvad sees every linear frame that is
    not digital silence."""

    def __init__(self, path):
        self.f = sf.SoundFile(path, "w", samplerate=SAMPLE_RATE, channels=1, subtype="ULAW", format="WAV")
        self.vad = webrtcvad.Vad(2)
        self.voice = 0

    def write_chunk(self, frames):
        codes = g711.ulaw_encode(np.ascontiguousarray(frames))
        _snd.sf_write_raw(self.f._file, _ffi.from_buffer(codes), codes.size)
        n = frames.size // VAD_FRAME
        blocks = frames[:n * VAD_FRAME].reshape(n, VAD_FRAME)
        for i in np.flatnonzero(blocks.min(axis=1) != blocks.max(axis=1)).tolist():
            self.voice += self.vad.is_speech(blocks[i].tobytes(), SAMPLE_RATE)
        _snd.sf_command(self.f._file, SFC_UPDATE_HEADER_NOW, _ffi.NULL, 0)

    def stop(self):
        self.f.close()


@pytest.mark.parametrize("who", ["ours", "ours, writer thread", "libsndfile"])
def test_hand_over_of_300_recordings(benchmark, tmp_path, who):
    seconds = _seconds()
    worker = FileWorker()
    recs = []
    for i in range(RECORDINGS):
        if who == "libsndfile":
            recs.append(LibsndfileRecorder(str(tmp_path / f"r{i}.wav")))
            continue
        recs.append(Recorder(str(tmp_path / f"r{i}.wav"), i, subtype="ULAW"))
        if who == "ours, writer thread":
            recs[-1].worker = worker
    turn = [0]

    def hand_over():  # each round shifts which recording gets which second, as calls move on
        k = turn[0] = turn[0] + 1
        for i, rec in enumerate(recs):
            caller, heard = seconds[(i + k) % RECORDINGS]
            if who == "libsndfile":
                rec.write_chunk(mix(caller, heard))
            else:  # as the RecorderBank hands a second over: the mix too is on the writer thread if any
                rec.hand_over(caller, heard)
        worker.wait()

    benchmark.pedantic(hand_over, rounds=8, warmup_rounds=1)
    for rec in recs:
        rec.stop()
    worker.close()
