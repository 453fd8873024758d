"""G.711 for the board backends: a channel's law to codes and back, through the native kernel.

Backends speak G.711 on the wire but sit below ``pycallcenter.dsp``, whose checked face serves the stack;
they call the same kernel (``pycallcenter._native.g711``, which imports nothing of the stack) on arrays
they build themselves, so the tables stay in one place, the kernel's C.
"""
import numpy as np

from pycallcenter._native import g711 as _kernel

from .base import Law

_LAWS = {Law.ULAW: _kernel.ULAW, Law.ALAW: _kernel.ALAW}


def encode(law, samples):
    """Return the G.711 codes (uint8, same shape) of int16 linear samples in a channel's law."""
    x = np.ascontiguousarray(samples, dtype=np.int16)
    out = np.empty(x.shape, np.uint8)
    _kernel.encode(_LAWS[Law(law)], x.reshape(-1), out.reshape(-1))
    return out


def decode(law, codes):
    """Return the int16 linear samples (same shape) of G.711 codes (uint8 array or bytes) in a channel's law."""
    x = np.frombuffer(codes, np.uint8) if isinstance(codes, (bytes, bytearray)) else np.ascontiguousarray(codes, np.uint8)
    out = np.empty(x.shape, np.int16)
    _kernel.decode(_LAWS[Law(law)], x.reshape(-1), out.reshape(-1))
    return out


def transcode(to_law, codes):
    """Return the codes (uint8, same shape) of G.711 codes of the other law converted to to_law (G.711 Tables 3
    and 4)."""
    x = np.ascontiguousarray(codes, np.uint8)
    out = np.empty(x.shape, np.uint8)
    _kernel.transcode(_LAWS[Law(to_law)], x.reshape(-1), out.reshape(-1))
    return out
