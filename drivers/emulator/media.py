"""G.711 lookups the emulator applies per tick: gain, law conversion, decode/encode for noise and tones.

Gain and law conversion are 256-entry tables indexed by the code, so a whole block is one
``table[block]``; the codec itself is the backends' G.711 (``drivers/g711.py``, over the native kernel), as
for the DAHDI gains: the emulator sits in the drivers layer and needs nothing of ``pycallcenter.dsp``.
"""
from __future__ import annotations

import functools

import numpy as np

from .. import g711
from ..base import Law

_CODES = np.arange(256, dtype=np.uint8)


@functools.lru_cache(maxsize=None)
def decode_table(law: Law) -> np.ndarray:
    """Return int16[256]: the linear value of each G.711 code of law."""
    return g711.decode(law, _CODES)


def encode(linear: np.ndarray, law: Law) -> np.ndarray:
    """Return uint8 G.711 codes (law) for linear samples of any numeric dtype (clipped to int16)."""
    x = np.clip(np.asarray(linear), -32768, 32767).astype(np.int16)
    return g711.encode(law, x)


def decode(codes: np.ndarray, law: Law) -> np.ndarray:
    """Return int16 linear samples for uint8 G.711 codes."""
    return decode_table(law)[codes]


@functools.lru_cache(maxsize=None)
def gain_table(law: Law, gain_db: float) -> np.ndarray:
    """Return uint8[256] mapping each code to the code of the same sample scaled by gain_db."""
    lin = decode_table(law).astype(np.float64) * 10.0 ** (gain_db / 20.0)
    return encode(np.rint(lin), law)


@functools.lru_cache(maxsize=None)
def convert_table(src: Law, dst: Law) -> np.ndarray:
    """Return uint8[256] converting src-law codes to dst-law codes (G.711 Tables 3/4; identity when equal)."""
    if src is dst:
        return _CODES
    return g711.transcode(dst, _CODES)
