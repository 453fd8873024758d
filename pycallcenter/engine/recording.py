"""Call recording: per leg, mixed mono or stereo (caller left, what the caller hears right), WAV or FLAC.

Crash safety: a recording in progress is a WAV file named ``*.part.wav`` flushed every second, so a
process killed with SIGKILL leaves a file readable up to the last flushed second.
``recover(folder)`` turns such leftovers into finished recordings; a clean stop converts the part
file to the requested format (FLAC is encoded at the end, since a FLAC stream header is only
complete when the encoder closes).
"""
import datetime as _dt
import os

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE

PART = ".part.wav"


def recording_path(folder, call_id, leg_id, when=None, queue=None, agent=None, fmt="wav"):
    """Return folder/YYYY/MM/DD/YYYYmmdd-HHMMSS_queue_agent_call_leg.fmt (parts left out when unknown)."""
    when = when or _dt.datetime(2000, 1, 1)
    parts = [when.strftime("%Y%m%d-%H%M%S")] + [p for p in (queue, agent) if p] + [call_id, leg_id]
    name = "_".join(str(p).replace(os.sep, "-").replace(" ", "-") for p in parts)
    return os.path.join(folder, when.strftime("%Y"), when.strftime("%m"), when.strftime("%d"), f"{name}.{fmt}")


class Recorder:
    """Records one media row: rx (the leg's own voice) and tx (what it hears: agent, prompts)."""

    def __init__(self, path, row, stereo=False, beep_every=None, flush_seconds=1.0, vad_mode=2, caller_only=False):
        import soundfile as sf

        fmt = os.path.splitext(path)[1].lower().lstrip(".")
        if fmt not in ("wav", "flac"):
            raise ValueError(f"recordings are .wav or .flac, got {path!r}")
        self.path, self.fmt, self.row, self.stereo = path, fmt, row, stereo
        self.caller_only = caller_only  # voicemail: only what the caller says
        self.part = path[: -len(fmt) - 1] + PART
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        self._file = sf.SoundFile(self.part, "w", samplerate=SAMPLE_RATE, channels=2 if stereo else 1,
                                  subtype="PCM_16", format="WAV")
        self.paused = False
        self.samples = 0
        self._since_flush = 0
        self._flush_every = int(flush_seconds * SAMPLE_RATE)
        self.beep_every = None if beep_every is None else int(beep_every * SAMPLE_RATE)
        self._beep = (2000 * np.sin(2 * np.pi * 1400 * np.arange(int(0.2 * SAMPLE_RATE)) / SAMPLE_RATE)).astype(np.int16)
        import webrtcvad

        self._vad = webrtcvad.Vad(vad_mode)
        self.voice_frames = 0
        self.silence_frames = 0
        self.closed = False

    def beep_due(self, block):
        """Return the beep samples to mix into this block of what the caller hears, or None."""
        if self.beep_every is None or self.paused:
            return None
        pos = self.samples % self.beep_every
        if pos < self._beep.size:
            n = min(block, self._beep.size - pos)
            out = np.zeros(block, np.int16)
            out[:n] = self._beep[pos:pos + n]
            return out
        return None

    def write_tick(self, rx, tx):
        """Append this tick's audio of the row (called by the media plane after mixing)."""
        if self.paused or self.closed:
            return
        caller, heard = rx[self.row], tx[self.row]
        if self.caller_only:
            frame = caller
        elif self.stereo:
            frame = np.stack([caller, heard], axis=1)
        else:
            frame = np.clip(caller.astype(np.int32) + heard, -32768, 32767).astype(np.int16)
        self._file.write(frame)
        if caller.size in (80, 160, 240):  # webrtcvad takes 10, 20 or 30 ms frames
            if self._vad.is_speech(caller.tobytes(), SAMPLE_RATE):
                self.voice_frames += 1
            else:
                self.silence_frames += 1
        self.samples += caller.size
        self._since_flush += caller.size
        if self._since_flush >= self._flush_every:
            self._file.flush()
            self._since_flush = 0

    def pause(self):
        """Stop writing until resume() (the file keeps no gap)."""
        self.paused = True

    def resume(self):
        """Write again after pause()."""
        self.paused = False

    def stop(self, trim=False):
        """Finish the file (convert to FLAC if asked, optionally trim silence at both ends); return its stats."""
        if not self.closed:
            self._file.close()
            self.closed = True
            finish(self.part, self.path, trim=trim)
        total = self.voice_frames + self.silence_frames
        return {"path": self.path, "seconds": self.samples / SAMPLE_RATE,
                "voice_ratio": self.voice_frames / total if total else 0.0}


def finish(part, path, trim=False):
    """Turn a part file into the finished recording at path (format from its suffix)."""
    import soundfile as sf

    if not trim and path.endswith(".wav"):
        os.replace(part, path)
        return
    data, rate = sf.read(part, dtype="int16", always_2d=True)
    if trim and data.size:
        data = _trim(data, rate)
    tmp = path + ".tmp"
    sf.write(tmp, data, rate, format="FLAC" if path.endswith(".flac") else "WAV", subtype="PCM_16")
    os.replace(tmp, path)
    os.remove(part)


def _trim(data, rate, frame_ms=20):
    """Return data without the silent (non-speech per webrtcvad) frames at both ends."""
    import webrtcvad

    vad = webrtcvad.Vad(2)
    n = rate * frame_ms // 1000
    mono = data.mean(axis=1).astype(np.int16)
    voiced = [vad.is_speech(mono[i:i + n].tobytes(), rate) for i in range(0, mono.size - n + 1, n)]
    if not any(voiced):
        return data[:0]
    first = voiced.index(True)
    last = len(voiced) - 1 - voiced[::-1].index(True)
    return data[first * n:(last + 1) * n]


def recover(folder, fmt="wav"):
    """Finish every part file left under folder by a crash; return the finished paths."""
    done = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith(PART):
                part = os.path.join(root, name)
                path = part[: -len(PART)] + "." + fmt
                finish(part, path)
                done.append(path)
    return done
