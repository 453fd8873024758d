"""webrtcvad's detector over many 30 ms frames of one recording in one call, without the GIL: the loop that
pycallcenter.dsp.vad otherwise runs in Python, one is_speech() call a frame. The detector is webrtcvad's own
C function (WebRtcVad_Process, found in its already-loaded extension module) on the recorder's own
webrtcvad.Vad state, so the decisions are webrtcvad's; pycallcenter.dsp.reference.vad is the specification."""
from cpython.pycapsule cimport PyCapsule_GetName, PyCapsule_GetPointer
from libc.stdint cimport int16_t

cdef extern from "dlfcn.h" nogil:
    void *dlopen(const char *filename, int flag)
    void *dlsym(void *handle, const char *symbol)
    int RTLD_NOW
    int RTLD_NOLOAD

ctypedef int (*process_t)(void *handle, int fs, const int16_t *frame, size_t length) noexcept nogil

cdef process_t _process = NULL


def bind(str path):
    """Find WebRtcVad_Process in webrtcvad's extension module at path (already imported); return None."""
    global _process
    cdef void *lib = dlopen(path.encode(), RTLD_NOW | RTLD_NOLOAD)
    if lib == NULL:
        raise ImportError(f"{path}: not loaded")
    cdef void *sym = dlsym(lib, b"WebRtcVad_Process")
    if sym == NULL:
        raise ImportError(f"{path}: no WebRtcVad_Process")
    _process = <process_t>sym


def address():
    """Return the address of the bound WebRtcVad_Process (0 before bind()), for other kernels to call it."""
    return <size_t>_process


def count_speech(object handle, const int16_t[:, ::1] frames, const long[::1] ask, int rate):
    """Run the detector whose state is handle (webrtcvad.Vad()._vad) over frames[ask[0]], frames[ask[1]],
    ... in that order; return how many it called speech."""
    if _process == NULL:
        raise RuntimeError("bind() first")
    cdef void *inst = PyCapsule_GetPointer(handle, PyCapsule_GetName(handle))
    cdef Py_ssize_t i, n = ask.shape[0], rows = frames.shape[0]
    cdef size_t length = frames.shape[1]
    cdef int voiced = 0, r = 0
    for i in range(n):
        if ask[i] < 0 or ask[i] >= rows:
            raise IndexError(f"frame {ask[i]} of {rows}")
    with nogil:
        for i in range(n):
            r = _process(inst, rate, &frames[ask[i], 0], length)
            if r < 0:
                break
            voiced += r
    if r < 0:
        raise ValueError(f"webrtcvad refused a frame of {length} samples at {rate} Hz")
    return voiced
