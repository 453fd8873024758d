# distutils: sources = _native/src/g711.c
"""A recording's hand-over in one call without the GIL: a second of the row's two directions (taken from
the recorder bank's ring as it lies, the oldest sample at `split`) mixed or interleaved, G.711-encoded when
the file holds codes, appended to the part file, the WAV header's counts rewritten, and the voice in what
the file holds counted by webrtcvad's own detector past its hangover. The writer thread otherwise took and
gave back the GIL a dozen times a hand-over (each numpy operation, write and detector call), and every time
it took it back while the engine's tick ran, the tick waited. pycallcenter.engine.recording's Python path
(a Recorder's _mix_and_write) is the specification."""
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.errno cimport EINTR, errno
from libc.stdint cimport int16_t, int32_t, uint8_t
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy

cdef extern from "unistd.h" nogil:
    ssize_t write(int fd, const void *buf, size_t count)
    ssize_t pwrite(int fd, const void *buf, size_t count, long long offset)
    int ftruncate(int fd, long long length)

cdef extern from "pycc_g711.h":
    int PYCC_G711_ULAW
    int PYCC_G711_ALAW
    void pycc_g711_init() nogil
    void pycc_g711_encode(int law, const int16_t *inp, uint8_t *out, size_t n) nogil
    void pycc_g711_decode(int law, const uint8_t *inp, int16_t *out, size_t n) nogil

ctypedef int (*process_t)(void *handle, int fs, const int16_t *frame, size_t length) noexcept nogil

pycc_g711_init()
cdef process_t _process = NULL

cdef enum:
    C_CALLER = 0  # what the file holds: the caller alone, the mix, or both as two channels
    C_MONO = 1
    C_STEREO = 2
    C_PCM = -1
    C_OK = 0
    C_WRITE_FAILED = 1
    C_HEADER_FAILED = 2
    C_DETECTOR_REFUSED = 3

CALLER, MONO, STEREO = C_CALLER, C_MONO, C_STEREO
PCM, ULAW, ALAW = C_PCM, PYCC_G711_ULAW, PYCC_G711_ALAW
OK, WRITE_FAILED, HEADER_FAILED, DETECTOR_REFUSED = C_OK, C_WRITE_FAILED, C_HEADER_FAILED, C_DETECTOR_REFUSED


def bind(size_t address):
    """Take webrtcvad's WebRtcVad_Process at address (pycallcenter._native.vadbatch.address()); return None."""
    global _process
    if address == 0:
        raise ImportError("webrtcvad's detector is not bound")
    _process = <process_t>address


cdef int _write_all(int fd, const uint8_t *p, size_t n) noexcept nogil:
    """Write n bytes (retrying short writes and EINTR); return 0 or the errno."""
    cdef ssize_t r
    while n:
        r = write(fd, p, n)
        if r < 0:
            if errno == EINTR:
                continue
            return errno
        p += r
        n -= <size_t>r
    return 0


def hand_over(const int16_t[::1] caller, const int16_t[::1] heard, Py_ssize_t split, int mode, int law, int fd,
              const uint8_t[::1] header, long long keep, object vad, int still_run, int hangover, int frame,
              int rate):
    """Write one stretch of a recording (see the module) to fd; return (stage, errno, voiced frames, frames
    counted, still_run). stage: OK; WRITE_FAILED (the file cut back to keep bytes, nothing counted);
    HEADER_FAILED (the samples are in the file); DETECTOR_REFUSED. header: the bytes written at offset 0
    after the samples (empty: none). still_run: frames of digital silence before this stretch, as returned
    for the last one (0 at the start)."""
    cdef Py_ssize_t n = caller.shape[0], i, j, f, m, last
    if heard.shape[0] != n:
        raise ValueError("caller and heard must have the same length")
    if n and not 0 <= split < n:
        raise ValueError(f"split {split} is outside 0..{n - 1}")
    if mode not in (CALLER, MONO, STEREO) or law not in (PCM, ULAW, ALAW):
        raise ValueError(f"unknown mode {mode} or law {law}")
    if frame <= 0:
        raise ValueError("frame must be positive")
    if _process == NULL:
        raise RuntimeError("bind() first")
    cdef void *inst = PyCapsule_GetPointer(vad, PyCapsule_GetName(vad))
    cdef Py_ssize_t ch = 2 if mode == STEREO else 1, total = n * ch
    cdef size_t hlen = header.shape[0]
    cdef const uint8_t *hp = &header[0] if hlen else NULL
    cdef int stage = 0, err = 0, voiced = 0, r = 0, counted = 0, s
    cdef int16_t *lin
    cdef int16_t *voice
    cdef uint8_t *codes = NULL
    cdef const int16_t *p
    if not n:
        return OK, 0, 0, 0, still_run
    lin = <int16_t *>malloc(total * sizeof(int16_t))
    voice = <int16_t *>malloc(n * sizeof(int16_t))
    if law != PCM:
        codes = <uint8_t *>malloc(total)
    if lin == NULL or voice == NULL or (law != PCM and codes == NULL):
        free(lin)
        free(voice)
        free(codes)
        raise MemoryError()
    with nogil:
        for i in range(n):
            j = i + split
            if j >= n:
                j -= n
            if mode == C_CALLER:
                lin[i] = caller[j]
            elif mode == C_MONO:
                s = <int>caller[j] + <int>heard[j]
                lin[i] = <int16_t>(32767 if s > 32767 else (-32768 if s < -32768 else s))
            else:
                lin[2 * i] = caller[j]
                lin[2 * i + 1] = heard[j]
        if law == C_PCM:  # little-endian int16: the file's byte order on the hosts this runs on
            err = _write_all(fd, <const uint8_t *>lin, total * sizeof(int16_t))
        else:
            pycc_g711_encode(law, lin, codes, total)
            err = _write_all(fd, codes, total)
        if err:
            ftruncate(fd, keep)  # never a partial frame at the data chunk's end
            stage = C_WRITE_FAILED
        elif hlen and pwrite(fd, hp, hlen, 0) < 0:
            err = errno
            stage = C_HEADER_FAILED
        else:
            # the voice in what the file holds: channel 0 (the caller, or the mix), decoded if G.711
            for i in range(n):
                if law == C_PCM:
                    voice[i] = lin[i * ch]
                else:
                    pycc_g711_decode(law, &codes[i * ch], &voice[i], 1)
            m = n // frame
            last = -1 - still_run  # the last frame that was not digital silence
            for f in range(m):
                p = voice + f * frame
                for i in range(1, frame):
                    if p[i] != p[0]:
                        last = f
                        break
                if f - last <= hangover:  # within webrtcvad's hangover: its word counts
                    r = _process(inst, rate, p, <size_t>frame)
                    if r < 0:
                        stage = C_DETECTOR_REFUSED
                        break
                    voiced += r
            if stage == C_OK and m:
                counted = m
                still_run = m - 1 - last if m - 1 - last < hangover + 1 else hangover + 1
    free(lin)
    free(voice)
    free(codes)
    return stage, err, voiced, counted, still_run


def gather(const int16_t[:, ::1] rx, const int16_t[:, ::1] tx, const Py_ssize_t[::1] rows, int16_t[:, :, ::1] ring,
           const Py_ssize_t[::1] slots, Py_ssize_t lo):
    """Copy rx[rows[i]] to ring[slots[i], 0, lo:] and tx[rows[i]] to ring[slots[i], 1, lo:] (one tick of each
    recorded row into its slot's ring); return None. One pass with no temporary, where numpy's fancy
    indexing copies twice; the GIL is kept: the writer thread would take it and the tick wait for it back."""
    cdef Py_ssize_t i, n = rows.shape[0], bs = rx.shape[1], r, s
    if slots.shape[0] != n or tx.shape[0] != rx.shape[0] or tx.shape[1] != bs:
        raise ValueError("rows and slots, rx and tx must match")
    if not 0 <= lo <= ring.shape[2] - bs or ring.shape[1] != 2:
        raise ValueError(f"a tick of {bs} at {lo} does not fit the ring")
    for i in range(n):
        r, s = rows[i], slots[i]
        if not (0 <= r < rx.shape[0] and 0 <= s < ring.shape[0]):
            raise IndexError(f"row {r} or slot {s} out of range")
    for i in range(n):
        memcpy(&ring[slots[i], 0, lo], &rx[rows[i], 0], bs * sizeof(int16_t))
        memcpy(&ring[slots[i], 1, lo], &tx[rows[i], 0], bs * sizeof(int16_t))
