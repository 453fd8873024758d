"""G.711 A-law and mu-law: encode, decode and A<->mu transcoding of one sample or a whole tick.

Bit-exact with the ITU-T G.191 reference codec. Every function takes a 1-D (samples) or 2-D
(channels x samples) array and returns the same shape; pass ``out=`` (C-contiguous, right dtype
and shape) to reuse a buffer in the tick loop. The numpy twin is ``pycallcenter.dsp.reference.g711``.
"""
import numpy as np

from pycallcenter._native import g711 as _native
from pycallcenter.dsp._validate import as_batch

__all__ = ["ulaw_encode", "ulaw_decode", "alaw_encode", "alaw_decode", "alaw_to_ulaw", "ulaw_to_alaw", "mix_out",
           "send_copies"]

ULAW, ALAW = _native.ULAW, _native.ALAW  # a row's law in mix_out's laws (a negative law: the row has no codes)


def _output(out, shape, dtype):
    """Return a flat view of out (allocating when None) after checking it can take the result."""
    if out is None:
        return np.empty(shape, dtype=dtype)
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out: expected a numpy array of {np.dtype(dtype)}, got {type(out).__name__}")
    if out.dtype != dtype:
        raise TypeError(f"out: expected dtype {np.dtype(dtype)}, got {out.dtype}")
    if out.shape != shape:
        raise ValueError(f"out: expected shape {shape}, got {out.shape}")
    if not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError("out: must be a writeable C-contiguous array")
    return out


def _kernel(kernel, law, in_dtype, out_dtype, name, doc):
    """Return a public function running one native kernel over a checked batch."""

    def run(x, out=None):
        batch, _ = as_batch(x, in_dtype, name)
        shape = np.shape(x) if isinstance(x, np.ndarray) else (batch.size,)
        result = _output(out, shape, out_dtype)
        kernel(law, batch.reshape(-1), result.reshape(-1))
        return result

    run.__doc__ = doc
    return run


ulaw_encode = _kernel(_native.encode, _native.ULAW, np.int16, np.uint8, "samples",
                      "Return the mu-law codes (uint8) of int16 samples.")
alaw_encode = _kernel(_native.encode, _native.ALAW, np.int16, np.uint8, "samples",
                      "Return the A-law codes (uint8) of int16 samples.")
ulaw_decode = _kernel(_native.decode, _native.ULAW, np.uint8, np.int16, "codes",
                      "Return the int16 linear samples of mu-law codes (uint8 array or bytes).")
alaw_decode = _kernel(_native.decode, _native.ALAW, np.uint8, np.int16, "codes",
                      "Return the int16 linear samples of A-law codes (uint8 array or bytes).")
ulaw_to_alaw = _kernel(_native.transcode, _native.ALAW, np.uint8, np.uint8, "codes",
                       "Return A-law codes for mu-law codes, as G.711 Table 3 converts them.")
alaw_to_ulaw = _kernel(_native.transcode, _native.ULAW, np.uint8, np.uint8, "codes",
                       "Return mu-law codes for A-law codes, as G.711 Table 4 converts them.")


def mix_out(acc, tx, codes, laws, live, dirty):
    """Send one tick's mix to the line in place (live rows of int32 acc saturated into int16 tx and encoded into
    codes with each row's law, rows fallen silent set to silence; see the twin); return None."""
    rows = np.shape(acc)[0] if np.ndim(acc) == 2 else -1
    for name, a, dtype, ndim in (("acc", acc, np.int32, 2), ("tx", tx, np.int16, 2), ("codes", codes, np.uint8, 2),
                                 ("laws", laws, np.int8, 1), ("live", live, np.uint8, 1),
                                 ("dirty", dirty, np.uint8, 1)):
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != ndim:
            raise TypeError(f"{name}: expected a {ndim}-D numpy array of {np.dtype(dtype)}")
        if not a.flags.c_contiguous or not (a.flags.writeable or name == "laws"):
            raise ValueError(f"{name}: must be a writeable C-contiguous array")
    if rows < 0 or tx.shape != acc.shape or len(laws) != rows or len(live) != rows or len(dirty) != rows:
        raise ValueError(f"acc {acc.shape}, tx {tx.shape}, laws, live, dirty: need the same rows")
    _native.mix_out(acc, tx, codes, laws, live, dirty)


def send_copies(rx, tx, codes, laws, live, dst, src):
    """Send rx[src[i]] as row dst[i] of the tick (int16 tx, codes in the row's law) without going through the mix,
    marking the row sent in live for mix_out (rows already written into the mix are refused); return None."""
    for name, a, dtype, ndim in (("rx", rx, np.int16, 2), ("tx", tx, np.int16, 2), ("codes", codes, np.uint8, 2),
                                 ("laws", laws, np.int8, 1), ("live", live, np.uint8, 1), ("dst", dst, np.intp, 1),
                                 ("src", src, np.intp, 1)):
        if not isinstance(a, np.ndarray) or a.dtype != dtype or a.ndim != ndim:
            raise TypeError(f"{name}: expected a {ndim}-D numpy array of {np.dtype(dtype)}")
    _native.send_copies(rx, tx, codes, laws, live, dst, src)


for _name in __all__:
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
