"""Argument checks shared by every kernel wrapper: dtype, shape, NaN, emptiness."""
import numpy as np


def as_batch(x, dtype, name="samples", *, allow_empty=False, channels=None):
    """Return ``(array2d, was_1d)``: x as a C-contiguous (channels, samples) array of dtype.

    Integer inputs must already have the exact dtype (no silent narrowing); float inputs are
    refused for integer kernels. Raises TypeError for the wrong type/dtype and ValueError for
    the wrong shape, NaN/inf, or an empty array.
    """
    dtype = np.dtype(dtype)
    if not isinstance(x, np.ndarray):
        if isinstance(x, (bytes, bytearray, memoryview)) and dtype == np.uint8:
            x = np.frombuffer(x, dtype=np.uint8)
        else:
            raise TypeError(f"{name}: expected a numpy array of {dtype}, got {type(x).__name__}")
    if x.dtype != dtype:
        raise TypeError(f"{name}: expected dtype {dtype}, got {x.dtype}")
    if x.ndim not in (1, 2):
        raise ValueError(f"{name}: expected a 1-D (samples) or 2-D (channels x samples) array, got {x.ndim}-D")
    if dtype.kind == "f" and x.size and not np.isfinite(x).all():
        raise ValueError(f"{name}: contains NaN or infinity")
    was_1d = x.ndim == 1
    x2 = x.reshape(1, -1) if was_1d else x
    if not allow_empty and x2.size == 0:
        raise ValueError(f"{name}: empty array")
    if channels is not None and x2.shape[0] != channels:
        raise ValueError(f"{name}: expected {channels} channels, got {x2.shape[0]}")
    return np.ascontiguousarray(x2), was_1d


def unbatch(y, was_1d):
    """Undo ``as_batch``'s promotion of a 1-D input."""
    return y[0] if was_1d else y
