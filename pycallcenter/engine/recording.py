"""Call recording: per leg, mixed mono or stereo (caller left, what the caller hears right), WAV or FLAC.

Crash safety: a recording in progress is a WAV file named ``*.part.wav`` whose header is rewritten every
second to count the samples written, so a process killed with SIGKILL leaves a file readable up to the
last second. ``recover(folder)`` turns such leftovers into finished recordings; a clean stop converts the
part file to the requested format (FLAC is encoded at the end, since a FLAC stream header is only
complete when the encoder closes).

The part file is written with plain system calls (``WavWriter``): the header bytes libsndfile writes for
the same format, then the samples; the header's counts are one ``pwrite`` each second. libsndfile's own
write path and its header command cost several times more for each of hundreds of recordings a second.
Fed by the media plane's RecorderBank, a recording's writes and its voice count run on the bank's writer
thread (``FileWorker``), off the engine's tick; a killed process then also loses what that thread had not
yet written (it follows the hand-overs by milliseconds when the tick leaves it a core).
"""
import collections
import os
import struct
import threading

import numpy as np
# np.unique imports numpy.ma on its first call (about 20 ms); loaded here so no call's first tick pays it
import numpy.ma  # noqa: F401

from pycallcenter.dsp import SAMPLE_RATE, g711, recwrite
from pycallcenter.dsp import vad as voice

PART = ".part.wav"
# subtype -> (WAVE format tag, bytes per sample): PCM, mu-law, A-law as libsndfile writes them
WAV_FORMATS = {"PCM_16": (1, 2), "ULAW": (7, 1), "ALAW": (6, 1)}
VAD_FRAME = 240  # 30 ms: the longest frame webrtcvad takes, so the fewest calls per second of audio
# webrtcvad keeps saying "voice" for a few frames after a talker stops (its hangover: at most 3 frames of
# 30 ms in mode 2); frames of digital silence later than this are counted as silence without asking it
VAD_HANGOVER = 4


# the periodic beep a recorded caller hears: 200 ms of 1400 Hz (one array for every recorder, read only)
BEEP = (2000 * np.sin(2 * np.pi * 1400 * np.arange(int(0.2 * SAMPLE_RATE)) / SAMPLE_RATE)).astype(np.int16)
BEEP.flags.writeable = False


def mix(caller, heard):
    """Return caller + heard (int16 arrays) as int16, clipped to its range: a mono recording's samples."""
    # the ufuncs straight, not np.clip, whose Python-level wrapper cost more than the sums of a second's
    # audio for each of hundreds of recordings handed over each second
    total = np.add(caller, heard, dtype=np.int32)
    np.minimum(total, 32767, out=total)
    np.maximum(total, -32768, out=total)
    return total.astype(np.int16)


def recording_path(folder, call_id, leg_id, when, queue=None, agent=None, fmt="wav"):
    """Return folder/YYYY/MM/DD/YYYYmmdd-HHMMSS_queue_agent_call_leg.fmt for a call that started at `when`
    (a datetime: the engine gives the call's wall-clock start, UTC); queue and agent are left out when unknown."""
    parts = [when.strftime("%Y%m%d-%H%M%S")] + [p for p in (queue, agent) if p] + [call_id, leg_id]
    name = "_".join(str(p).replace(os.sep, "-").replace(" ", "-") for p in parts)
    return os.path.join(folder, when.strftime("%Y"), when.strftime("%m"), when.strftime("%d"), f"{name}.{fmt}")


def _create(path, flags, mode):
    """Return os.open(path, flags, mode), making its folder first if it is missing. A recording's start is on
    the engine's tick: the folder (the day's) is nearly always there, and asking costs two system calls."""
    try:
        return os.open(path, flags, mode)
    except FileNotFoundError:
        os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
        return os.open(path, flags, mode)


def claim(path, attempts=10000):
    """Create path as an empty file that no one else has (O_EXCL), or the first free variant with -2, -3,
    ... after its time stamp (the part before the first '_'), so the call and leg ids stay last; return it.
    The recording later replaces this placeholder, so an existing recording is never overwritten, not even
    by a second run started in the same second or by another process."""
    folder, base = os.path.split(path)
    stem, ext = os.path.splitext(base)
    stamp, sep, rest = stem.partition("_")
    for n in range(1, attempts + 1):
        name = base if n == 1 else f"{stamp}-{n}{sep}{rest}{ext}"
        candidate = os.path.join(folder, name)
        try:
            os.close(_create(candidate, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644))
        except FileExistsError:
            continue
        return candidate
    raise FileExistsError(f"{path}: {attempts} recordings of that name already exist")


def wav_header(subtype, channels, frames, closing=False):
    """Return the WAV header libsndfile writes for `frames` sample frames of subtype (PCM_16, ULAW, ALAW)
    at 8 kHz: RIFF, fmt (18 bytes with a fact chunk for G.711), data. When closing, the RIFF size counts
    the pad byte that ends an odd-sized data chunk, as libsndfile's close does."""
    tag, width = WAV_FORMATS[subtype]
    align = channels * width
    data = frames * align
    if tag == 1:
        fmt = struct.pack("<4sIHHIIHH", b"fmt ", 16, tag, channels, SAMPLE_RATE, SAMPLE_RATE * align, align, 16)
        fact = b""
    else:
        fmt = struct.pack("<4sIHHIIHHH", b"fmt ", 18, tag, channels, SAMPLE_RATE, SAMPLE_RATE * align, align, 8, 0)
        fact = struct.pack("<4sII", b"fact", 4, frames)
    body = b"WAVE" + fmt + fact + struct.pack("<4sI", b"data", data)
    return b"RIFF" + struct.pack("<I", len(body) + data + (data & 1 if closing else 0)) + body


class WavWriter:
    """An 8 kHz WAV file written with plain system calls: append() adds sample bytes, update() rewrites the
    header to count them (one pwrite), close() pads an odd data chunk and writes the final header. The file
    is byte-identical to what libsndfile writes for the same samples."""

    def __init__(self, path, subtype, channels):
        self.path, self.subtype, self.channels = path, subtype, channels
        self.frame_bytes = channels * WAV_FORMATS[subtype][1]
        self.frames = 0
        # libsndfile's mode for a new file (0666 less the umask), so the files' permissions stay as they were
        self.fd = _create(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o666)
        try:
            self._header = len(wav_header(subtype, channels, 0))
            self._write(wav_header(subtype, channels, 0))
        except OSError:
            os.close(self.fd)
            raise

    def _write(self, data):
        view = memoryview(data).cast("B")
        while view:
            view = view[os.write(self.fd, view):]

    def append(self, data):
        """Append whole sample frames (a C-contiguous array of the file's sample type); on a failed write
        the file is cut back to the last whole frame written, so the data chunk never ends in a partial
        frame. Returns None."""
        try:
            self._write(data)
        except OSError:
            try:
                os.ftruncate(self.fd, self._header + self.frames * self.frame_bytes)
            except OSError:
                pass
            raise
        self.frames += data.nbytes // self.frame_bytes

    def update(self):
        """Rewrite the header to count every frame appended (the crash safety point); returns None."""
        os.pwrite(self.fd, wav_header(self.subtype, self.channels, self.frames), 0)

    def close(self):
        """Pad an odd-sized data chunk, write the final header and close; returns None."""
        if self.fd is None:
            return
        fd, self.fd = self.fd, None
        try:
            if self.frames * self.frame_bytes & 1:
                os.pwrite(fd, b"\0", self._header + self.frames * self.frame_bytes)
            os.pwrite(fd, wav_header(self.subtype, self.channels, self.frames, closing=True), 0)
        finally:
            os.close(fd)


class FileWorker:
    """A thread doing recordings' file work (the writes, the header's counts, webrtcvad) off the engine's
    tick, each recorder's jobs in the order given: a write(2) of a second of audio costs 40-70 us in the
    kernel and webrtcvad a few us a 30 ms frame, for each of hundreds of recordings a second. A bank's
    hand-over is one native call that holds no GIL (dsp/recwrite.py), so the thread takes the GIL only
    between jobs and runs beside the tick. The thread starts with the first job and ends at close().
    settle(owner) finishes one recorder's jobs at once, without waiting behind the others'."""

    def __init__(self):
        self._jobs = collections.deque()  # (owner, job, args), oldest first
        self._cv = threading.Condition()
        self._thread = None
        self._running = None  # the owner of the job the thread is running
        self._submitted = 0
        self._done = 0
        self._waiters = 0  # settle() and wait() calls waiting for the thread

    def submit(self, owner, job, *args):
        """Queue job(*args) for owner (jobs must catch their own errors); returns None."""
        with self._cv:
            self._jobs.append((owner, job, args))
            self._submitted += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="recording-files", daemon=True)
                self._thread.start()
            self._cv.notify()

    def submit_many(self, jobs):
        """Queue (owner, job, args) triples in order under one lock, waking the thread once: waking it costs
        a system call (about 25 us on the engine's thread), so a tick's hand-overs wake it once. Returns None."""
        if not jobs:
            return
        with self._cv:
            self._jobs.extend(jobs)
            self._submitted += len(jobs)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="recording-files", daemon=True)
                self._thread.start()
            self._cv.notify()

    def settle(self, owner):
        """Run owner's queued jobs on the calling thread, in order, after the one the thread may be running
        for it; return None. A recording's stop waits for its own writes only, not for the backlog of
        hundreds of others the thread has not reached yet (on a busy machine, a tenth of a second)."""
        with self._cv:
            while self._running is owner:
                self._waiters += 1
                self._cv.wait()
                self._waiters -= 1
            mine = [item for item in self._jobs if item is not None and item[0] is owner]
            if mine:
                self._jobs = collections.deque(item for item in self._jobs if item is None or item[0] is not owner)
        for _, job, args in mine:
            job(*args)
        if mine:
            with self._cv:
                self._done += len(mine)
                self._cv.notify_all()

    def wait(self):
        """Return once every job submitted so far has run."""
        with self._cv:
            while self._done < self._submitted:
                self._waiters += 1
                self._cv.wait()
                self._waiters -= 1

    def idle(self):
        """Return True when no job is queued or running."""
        with self._cv:
            return self._done == self._submitted

    def close(self):
        """Run what is queued, then end the thread; returns None. A later submit() starts a new one."""
        with self._cv:
            thread, self._thread = self._thread, None
            if thread is not None:
                self._jobs.append(None)  # the thread's last job
                self._cv.notify()
        if thread is not None:
            thread.join()

    def _run(self):
        # One lock round a job: a job's end is booked in the round that takes the next one, and waiters are
        # woken only when there are any. Each round holds the GIL, and what the writer runs holding it the
        # engine's tick may wait for (also while the OS has preempted the writer on a busy host).
        item = None
        while True:
            with self._cv:
                if item is not None:
                    self._running = None
                    self._done += 1
                    if self._waiters:
                        self._cv.notify_all()
                while not self._jobs:
                    self._cv.wait()
                item = self._jobs.popleft()
                if item is None:
                    return
                self._running = item[0]
            try:
                item[1](*item[2])
            except BaseException:  # jobs catch their own errors; settle() and wait() must not wait forever
                with self._cv:
                    self._running = None
                    self._done += 1
                    self._cv.notify_all()
                raise


class Recorder:
    """Records one media row: rx (the leg's own voice) and tx (what it hears: agent, prompts)."""

    def __init__(self, path, row, stereo=False, beep_every=None, flush_seconds=1.0, vad_mode=2, caller_only=False,
                 subtype="PCM_16"):
        fmt = os.path.splitext(path)[1].lower().lstrip(".")
        if fmt not in ("wav", "flac"):
            raise ValueError(f"recordings are .wav or .flac, got {path!r}")
        self.path, self.fmt, self.row, self.stereo = path, fmt, row, stereo
        self.caller_only = caller_only  # voicemail: only what the caller says
        self.part = path[: -len(fmt) - 1] + PART
        # subtype "ULAW" stores G.711 as the line carried it (8 kB/s); finish() keeps it for WAV output
        if subtype not in ("PCM_16", "ULAW", "ALAW"):
            raise ValueError(f"recording subtype must be PCM_16, ULAW or ALAW, got {subtype!r}")
        self.subtype = subtype
        try:
            self._file = WavWriter(self.part, subtype, 2 if stereo else 1)
        except OSError as exc:  # a full disk, a folder in the way: one line naming the file
            raise OSError(f"cannot record to {self.part}: {exc.strerror or exc}") from None
        self.error = None  # why writing stopped (disk full): the call goes on unrecorded from there
        self.paused = False
        self.samples = 0
        self._since_flush = 0
        self._flush_every = int(flush_seconds * SAMPLE_RATE)
        self.beep_every = None if beep_every is None else int(beep_every * SAMPLE_RATE)
        self._beep = BEEP
        import webrtcvad

        self._vad = webrtcvad.Vad(vad_mode)
        self.voice_frames = 0
        self.silence_frames = 0
        self._still_run = 0  # frames of digital silence since the last frame that was not
        # the G.711 encoder (our kernel): the file holds its codes, and the voice statistics are taken on
        # what the file holds (see _stored)
        self._g711 = {"ULAW": g711.ulaw_encode, "ALAW": g711.alaw_encode}.get(subtype)
        self._decode = {"ULAW": g711.ulaw_decode, "ALAW": g711.alaw_decode}.get(subtype)
        # the writer thread's hand-overs in one native call without the GIL (dsp/recwrite.py), or None: the
        # Python path below, which is its specification
        self._native = None
        if recwrite.NATIVE and not (caller_only and stereo):
            self._native = (recwrite.CALLER if caller_only else recwrite.STEREO if stereo else recwrite.MONO,
                            {"ULAW": recwrite.ULAW, "ALAW": recwrite.ALAW}.get(subtype, recwrite.PCM))
        self.closed = False
        self.bank = None  # the RecorderBank feeding it, if any
        self.worker = None  # the FileWorker writing its file (set by the bank), or None: written at once

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

    def frames_of(self, rx, tx):
        """Return this recorder's samples for one tick of rx/tx rows (1-D mono or (n, 2) stereo)."""
        return self.frames(rx[self.row], tx[self.row])

    def frames(self, caller, heard):
        """Return this recorder's samples for a stretch of the row's two directions: the caller alone,
        both as stereo columns, or their mix."""
        if self.caller_only:
            return caller
        if self.stereo:
            return np.stack([caller, heard], axis=1)
        return mix(caller, heard)

    def write_tick(self, rx, tx):
        """Append one tick of the row's audio directly (the media plane batches this through a RecorderBank)."""
        if not (self.paused or self.closed):
            self.write_chunk(self.frames_of(rx, tx))

    def write_chunk(self, frames):
        """Append samples (mono 1-D or stereo (n, 2)); update the header each second; count voice frames of
        the caller in what the file holds."""
        if self.closed or self.error is not None or not len(frames):
            return
        header = self._account(len(frames))
        if self.worker is not None:  # a copy: the frames may be a view of the bank's ring, which moves on
            self.worker.submit(self, self._encode_and_write, np.array(frames), header)
        else:
            self._encode_and_write(frames, header)

    def hand_over(self, caller, heard, owned=False):
        """Append a stretch of the row's two directions (the bank's hand-over): mixed, encoded, written and
        counted on the worker thread when there is one, so the tick only copies them out of the ring
        (owned: the arrays are the recorder's already, no copy is needed)."""
        if self.closed or self.error is not None or not len(caller):
            return
        if self.worker is None:
            self.write_chunk(self.frames(caller, heard))
            return
        header = self._account(len(caller))
        if not owned:
            caller, heard = np.array(caller), np.array(heard)
        self.worker.submit(self, self._mix_and_write, caller, heard, header)

    def handed(self, caller, heard, split=0):
        """Return the writer thread's job (owner, job, args) for a stretch of the row's two directions that
        the bank copied out of its ring for this recorder (rotated: the stretch starts at split and goes on
        from the arrays' start), or None when nothing is to be written."""
        if self.closed or self.error is not None or not len(caller):
            return None
        return (self, self._mix_and_write, (caller, heard, self._account(len(caller)), split))

    def _account(self, n):
        # the samples handed over (the beep's clock) and whether this stretch ends a second: the header's
        # counts are rewritten after it
        self.samples += n
        self._since_flush += n
        if self._since_flush < self._flush_every:
            return False
        self._since_flush = 0
        return True

    def _mix_and_write(self, caller, heard, header, split=0):
        if self._native is not None:
            self._native_write(caller, heard, header, split)
            return
        try:
            if split:  # the ring's two ends, put in order
                caller = np.concatenate((caller[split:], caller[:split]))
                heard = np.concatenate((heard[split:], heard[:split]))
            frames = self.frames(caller, heard)
        except Exception as exc:  # on the worker nothing else would see it
            self.error = f"{type(exc).__name__}: {exc}"
            return
        self._encode_and_write(frames, header)

    def _native_write(self, caller, heard, header, split):
        # _mix_and_write's work in one call that holds no GIL: the writer thread takes the GIL back once a
        # hand-over instead of after every numpy operation, write and detector call
        if self.error is not None:
            return
        f, n = self._file, len(caller)
        mode, law = self._native
        try:
            stage, err, voiced, counted, self._still_run = recwrite.hand_over(
                caller, heard, split, mode, law, f.fd,
                wav_header(self.subtype, f.channels, f.frames + n) if header else b"",
                f._header + f.frames * f.frame_bytes, self._vad._vad, self._still_run, VAD_HANGOVER, VAD_FRAME,
                SAMPLE_RATE)
        except Exception as exc:  # on the worker nothing else would see it
            self.error = f"{type(exc).__name__}: {exc}"
            return
        if stage != recwrite.WRITE_FAILED:
            f.frames += n
        if stage in (recwrite.WRITE_FAILED, recwrite.HEADER_FAILED):  # a full disk
            self.error = str(OSError(err, os.strerror(err)))
        elif stage == recwrite.DETECTOR_REFUSED:
            self.error = f"ValueError: webrtcvad refused a frame of {VAD_FRAME} samples at {SAMPLE_RATE} Hz"
        else:
            self.voice_frames += voiced
            self.silence_frames += counted - voiced

    def _encode_and_write(self, frames, header):
        if self.error is not None:
            return
        try:
            stored = self._g711(np.ascontiguousarray(frames)) if self._g711 is not None else \
                np.ascontiguousarray(frames, dtype="<i2")
        except (OSError, RuntimeError) as exc:  # disk full mid-call: raised out of the tick it would stop every call
            self.error = str(exc)
            return
        except Exception as exc:  # on the worker nothing else would see it
            self.error = f"{type(exc).__name__}: {exc}"
            return
        self._write(stored, header)

    def _write(self, stored, header):
        # Append the samples, then (each second) rewrite the header to count them: the crash safety
        # point. The samples are then in the OS's page cache, so a process killed now loses nothing:
        # no fsync on every second of every call. Then count the caller's voice in what was written.
        # Run by the bank's FileWorker (the write and the detector release the GIL, so both go on
        # beside the tick), or at once without one.
        if self.error is not None:  # a write failed: the call goes on unrecorded from there
            return
        try:
            self._file.append(stored)
            if header:
                self._file.update()
            self._count_voice(self._stored(stored if stored.ndim == 1 else stored[:, 0]))
        except OSError as exc:  # a full disk
            self.error = str(exc)
        except Exception as exc:  # on the worker nothing else would see it: the recording stops, and says why
            self.error = f"{type(exc).__name__}: {exc}"

    def _stored(self, caller):
        """Return the caller's samples as the file holds them: decoded G.711 codes, or the PCM itself."""
        # The voice statistics judge the recording, so they are reproducible from the file alone. For
        # G.711 it also drops what the file cannot hold: noise below the codec's smallest step (an echo
        # canceller's residue, a line's hiss) varies the linear samples but is one code in the file, so
        # such frames are digital silence and cost no detector call.
        return caller if self._decode is None else self._decode(np.ascontiguousarray(caller))

    def _count_voice(self, caller):
        # webrtcvad takes 10, 20 or 30 ms frames; a chunk's tail shorter than a frame is not counted
        n = caller.size // VAD_FRAME
        if not n:
            return
        if self._still_run > VAD_HANGOVER and caller.min() == caller.max():  # a whole chunk of it, the usual case
            self.silence_frames += n
            return
        frames = np.ascontiguousarray(caller[:n * VAD_FRAME]).reshape(n, VAD_FRAME)
        # Digital silence (a constant frame: an idle line, a muted party) is most of a recorded call; past
        # webrtcvad's hangover it is silence whatever the detector says, so only the other frames cost a call.
        still = frames.min(axis=1) == frames.max(axis=1)
        index = np.arange(n)
        last_sound = np.maximum.accumulate(np.where(still, -1 - self._still_run, index))
        ask = np.flatnonzero(index - last_sound <= VAD_HANGOVER)
        self._still_run = min(n - 1 - int(last_sound[-1]), VAD_HANGOVER + 1)
        voiced = voice.count_speech(self._vad, frames, ask)
        self.voice_frames += voiced
        self.silence_frames += n - voiced

    def pause(self):
        """Stop writing until resume() (the file keeps no gap)."""
        if self.bank is not None:
            self.bank.set_paused(self, True)
        self.paused = True

    def resume(self):
        """Write again after pause()."""
        if self.bank is not None:
            self.bank.set_paused(self, False)
        self.paused = False

    def stop(self, trim=False):
        """Finish the file (convert to FLAC if asked, optionally trim silence at both ends); return its stats."""
        if self.worker is not None:  # its writes are done before the file is closed
            self.worker.settle(self)
        kept = self._file.frames  # what reached the file (less than handed over when a write failed)
        if not self.closed:
            self.closed = True
            try:
                self._file.close()  # no fsync: against a killed process the page cache is enough
                kept, self.path = finish(self.part, self.path, trim=trim, subtype=self.subtype)
            except (OSError, RuntimeError) as exc:  # disk still full: the part file stays for `recover`
                self.error = self.error or str(exc)
        total = self.voice_frames + self.silence_frames
        stats = {"path": self.path, "seconds": (kept if kept is not None else self._file.frames) / SAMPLE_RATE,
                 "voice_ratio": self.voice_frames / total if total else 0.0}
        if self.error is not None:
            stats["error"] = self.error
        return stats


class RecorderBank:
    """Every active recorder's audio, gathered each tick with one fancy-indexed copy into a per-slot ring
    of one second, and handed to its Recorder once a second. Recorders start their seconds on different
    ticks (and the first second is shortened by the slot number), so the file writes of many recorders
    spread over the ticks instead of landing on one. The writes themselves are done by the bank's
    FileWorker thread, which ends when the last recorder is removed.

    The per-tick bookkeeping is arrays by slot (ticks buffered, ticks until the next hand-over), so a
    tick runs no Python per recorder: only the recorders whose second is due are visited, their seconds
    copied out of the ring together and queued for the thread under one lock."""

    def __init__(self, blocksize, seconds=1.0, slots=64):
        self.blocksize = blocksize
        self.ticks = max(1, int(round(seconds * SAMPLE_RATE / blocksize)))
        self._ring = np.zeros((slots, 2, self.ticks * blocksize), np.int16)
        self._free = list(range(slots - 1, -1, -1))
        self._recs = [None] * slots  # slot -> Recorder
        self._buffered = np.zeros(slots, np.int64)  # ticks in the ring since the slot's last hand-over
        self._countdown = np.zeros(slots, np.int64)  # ticks until the slot's next hand-over
        self._live = np.zeros(slots, bool)  # fed this tick: taken and not paused
        self._rowof = np.zeros(slots, np.intp)  # the media row each slot records
        self.active = {}  # Recorder -> slot
        self.beeping = set()  # the recorders whose callers hear a periodic beep (the media plane mixes it)
        self._dirty = True
        self._pos = 0  # ring position (tick) shared by every slot
        self.worker = FileWorker()

    def add(self, rec):
        """Start feeding a recorder."""
        if not self._free:
            self._grow()
        slot = self._free.pop()
        # the first hand-over comes early by the slot number, so recorders that start together flush on
        # different ticks
        self._buffered[slot] = 0
        self._countdown[slot] = self.ticks - slot % self.ticks
        self._recs[slot] = rec
        self._live[slot] = not rec.paused
        self._rowof[slot] = rec.row
        self.active[rec] = slot
        if rec.beep_every is not None:
            self.beeping.add(rec)
        rec.bank = self
        rec.worker = self.worker
        self._dirty = True

    def remove(self, rec):
        """Stop feeding a recorder, handing it what is still buffered."""
        slot = self.active.pop(rec, None)
        if slot is not None:
            if not rec.paused:
                self._drain(rec, slot)
            self._recs[slot] = None
            self._live[slot] = False
            self._free.append(slot)
            self.beeping.discard(rec)
            rec.bank = None
            self._dirty = True
            if not self.active:  # no thread is left behind once nothing is recorded
                self.worker.close()

    def set_paused(self, rec, paused):
        """Pause or resume a recorder; what it had buffered is written first."""
        slot = self.active.get(rec)
        if slot is not None and paused and not rec.paused:
            self._drain(rec, slot)
        if slot is not None:
            self._live[slot] = not paused
        rec.paused = paused
        self._dirty = True

    def _grow(self):
        slots = self._ring.shape[0]
        self._ring = np.concatenate([self._ring, np.zeros_like(self._ring)])
        self._buffered = np.concatenate([self._buffered, np.zeros(slots, np.int64)])
        self._countdown = np.concatenate([self._countdown, np.zeros(slots, np.int64)])
        self._live = np.concatenate([self._live, np.zeros(slots, bool)])
        self._rowof = np.concatenate([self._rowof, np.zeros(slots, np.intp)])
        self._recs.extend([None] * slots)
        self._free = list(range(2 * slots - 1, slots - 1, -1))

    def _rebuild(self):
        # after a start, stop or pause (about one tick in two at 300 recordings): from the arrays by slot,
        # not a walk over every recorder
        self._slots = np.flatnonzero(self._live)
        self._rows = self._rowof[self._slots]
        self._dirty = False

    def tick(self, rx, tx):
        """Take one tick of every live recorder's row; hand full seconds to their recorders."""
        if not self.active:
            return
        if self._dirty:
            self._rebuild()
        slots = self._slots
        if not len(slots):
            return
        bs = self.blocksize
        lo = self._pos * bs
        if rx.dtype == tx.dtype == np.int16 and rx.flags.c_contiguous and tx.flags.c_contiguous:
            recwrite.gather(rx, tx, self._rows, self._ring, slots, lo)  # one copy, no temporary
        else:  # its specification
            self._ring[slots, 0, lo:lo + bs] = rx[self._rows]
            self._ring[slots, 1, lo:lo + bs] = tx[self._rows]
        self._pos = (self._pos + 1) % self.ticks
        self._buffered[slots] += 1
        left = self._countdown[slots] - 1
        self._countdown[slots] = left
        due = slots[left <= 0]
        if len(due):
            self._countdown[due] = self.ticks
            self._hand_over(due)

    def _seconds(self, slots, n):
        """Return the last n ticks of the slots' rings, oldest first: a (slots, 2, n * blocksize) copy."""
        bs = self.blocksize
        end = self._pos * bs
        start = end - n * bs  # the ring wraps when start < 0
        if start >= 0:
            return self._ring[slots, :, start:end]
        both = np.empty((len(slots), 2, n * bs), np.int16)  # filled from the ring's two ends
        both[:, :, :-start] = self._ring[slots, :, start:]
        both[:, :, -start:] = self._ring[slots, :, :end]
        return both

    def _hand_over(self, due):
        # the due slots hand over together: one copy for those with the same ticks buffered, one lock and
        # one wake of the thread for all. A full second is the slot's whole ring, taken as it lies (one
        # plain copy of each slot) with the position its oldest tick starts at: the writer thread puts the
        # two ends in order, so the tick copies each second once, never through a wrapped fancy index
        counts = np.minimum(self._buffered[due], self.ticks)
        self._buffered[due] = 0
        jobs = []
        recs = self._recs
        for n in np.unique(counts).tolist():
            if n <= 0:
                continue
            group = due[counts == n]
            if n == self.ticks:
                both, split = np.take(self._ring, group, axis=0), self._pos * self.blocksize
            else:
                both, split = self._seconds(group, n), 0
            for i, slot in enumerate(group.tolist()):
                job = recs[slot].handed(both[i, 0], both[i, 1], split)
                if job is not None:
                    jobs.append(job)
        self.worker.submit_many(jobs)

    def _drain(self, rec, slot):
        n = min(int(self._buffered[slot]), self.ticks)
        self._buffered[slot] = 0
        if n <= 0:
            return
        both = self._seconds(np.array([slot], np.intp), n)
        rec.hand_over(both[0, 0], both[0, 1], owned=True)


def publish(part, path):
    """Give the finished part file the name path in place of what is there (claim()'s empty placeholder);
    return the name it got: path, or the next free variant if another process claimed path meanwhile."""
    # Not rename(part, path): on ext4 a rename that replaces a file writes the renamed file's dirty pages
    # out first (auto_da_alloc), in this process and inside the engine's tick: 0.05-20 ms for a recording
    # whose last second is still in the page cache. Removing the placeholder and linking the part file in
    # its place does no such flush, and link() refuses a name someone took in between, as claim() would.
    # A process killed between the steps leaves the part file, which recover() finishes under the same
    # name (also after the link: the part file and the recording are then one file).
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
    try:
        os.link(part, path)
    except FileExistsError:  # claimed by another process between the unlink and the link
        path = claim(path)
        os.replace(part, path)
        return path
    except OSError:  # a file system without hard links: the name is free now, a plain rename takes it
        os.rename(part, path)
        return path
    os.unlink(part)
    return path


def finish(part, path, trim=False, subtype="PCM_16"):
    """Turn a part file into the finished recording at path (format from its suffix); return (the number
    of sample frames it holds, or None when the part file was only given its name; the path it got)."""
    import soundfile as sf

    if not trim and path.endswith(".wav"):
        return None, publish(part, path)
    data, rate = sf.read(part, dtype="int16", always_2d=True)
    if trim and data.size:
        data = _trim(data, rate)
    tmp = path + ".tmp"
    flac = path.endswith(".flac")
    sf.write(tmp, data, rate, format="FLAC" if flac else "WAV", subtype="PCM_16" if flac else subtype)
    os.replace(tmp, path)
    os.remove(part)
    return len(data), path


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
    """Finish every part file left under folder by a crash; return the finished paths. A part whose name
    was claimed (an empty placeholder beside it, see claim()) becomes that file, in its format; others
    become `fmt`."""
    done = []
    for root, _, files in os.walk(folder):
        for name in sorted(files):
            if name.endswith(PART):
                part = os.path.join(root, name)
                stem = part[: -len(PART)]
                claimed = [stem + ext for ext in (".wav", ".flac")
                           if os.path.isfile(stem + ext) and os.path.getsize(stem + ext) == 0]
                path = claimed[0] if claimed else f"{stem}.{fmt}"
                done.append(finish(part, path)[1])
    return done
