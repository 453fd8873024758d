"""Numpy twin of the G.711 kernels: the quantisation rules of ITU-T G.711 as G.191 implements them.

Linear audio is int16 (G.191's 16-bit scale: mu-law uses the top 14 bits, A-law the top 13).
Codes are the octets sent on the line (mu-law magnitude bits inverted, A-law even bits inverted).
"""
import numpy as np

ULAW_CLIP = 0x1FFF  # largest biased 14-bit mu-law magnitude
ULAW_BIAS = 33  # moves each mu-law segment's start onto a power of two

# G.711 Tables 3/4 compare the laws on a common level scale: A-law's 4096 units are +3.14 dBm0,
# mu-law's 8159 units +3.17 dBm0 (G.191's 16-bit scale counts one A-law unit as two mu-law ones).
ULAW_TO_ALAW_SCALE = (2 * 4096 / 8159) * 10 ** ((3.17 - 3.14) / 20)


def _magnitude(x):
    """G.191 takes the one's complement of negative samples, so -1 and 0 share a magnitude."""
    x = np.asarray(x).astype(np.int32)
    return np.where(x < 0, ~x, x)


def _top_bit(v):
    """Index of the highest set bit of each positive integer."""
    return np.frexp(v.astype(np.float64))[1] - 1


def ulaw_encode(samples):
    """Return the mu-law codes (uint8, same shape) of int16 samples."""
    x = np.asarray(samples, dtype=np.int16)
    biased = np.minimum((_magnitude(x) >> 2) + ULAW_BIAS, ULAW_CLIP)
    seg = _top_bit(biased) - 5
    mant = (biased >> (seg + 1)) & 0x0F
    code = 0x7F ^ ((seg << 4) | mant)
    return np.where(x >= 0, code | 0x80, code).astype(np.uint8)


def alaw_encode(samples):
    """Return the A-law codes (uint8, same shape) of int16 samples."""
    x = np.asarray(samples, dtype=np.int16)
    m = _magnitude(x) >> 4
    seg = np.where(m < 16, 0, _top_bit(np.maximum(m, 1)) - 3)
    mant = np.where(seg == 0, m, m >> np.maximum(seg - 1, 0)) & 0x0F
    code = (seg << 4) | mant
    code = np.where(x >= 0, code | 0x80, code)
    return (code ^ 0x55).astype(np.uint8)


def ulaw_decode(codes):
    """Return the int16 decoder output (middle of the interval) of mu-law codes."""
    c = ~np.asarray(codes, dtype=np.uint8).astype(np.int32) & 0xFF
    seg = (c >> 4) & 7
    mag = 4 * (((2 * (c & 0x0F) + ULAW_BIAS) << seg) - ULAW_BIAS)
    return np.where(c & 0x80, -mag, mag).astype(np.int16)


def alaw_decode(codes):
    """Return the int16 decoder output (middle of the interval) of A-law codes."""
    c = np.asarray(codes, dtype=np.uint8).astype(np.int32) ^ 0x55
    seg = (c >> 4) & 7
    mant = c & 0x0F
    mag = np.where(seg == 0, 16 * mant + 8, (16 * (mant + 16) + 8) << np.maximum(seg - 1, 0))
    return np.where(c & 0x80, mag, -mag).astype(np.int16)


def _transcode_table(decode, encode, scale):
    """256-entry table: each code's decoder output, scaled, falls in the target code's interval."""
    codes = np.arange(256, dtype=np.uint8)
    v = decode(codes).astype(np.float64)
    # 16-bit decision values are integers; no scaled output is within 0.1 of one, so flooring
    # the magnitude picks the right interval
    mag = np.minimum(np.floor(np.abs(v * scale)), 32767).astype(np.int16)
    out = encode(mag)
    negative = (v < 0) | ((v == 0) & (codes < 0x80))
    return np.where(negative, out & 0x7F, out).astype(np.uint8)


ULAW_TO_ALAW = _transcode_table(ulaw_decode, alaw_encode, ULAW_TO_ALAW_SCALE)
ALAW_TO_ULAW = _transcode_table(alaw_decode, ulaw_encode, 1 / ULAW_TO_ALAW_SCALE)


def ulaw_to_alaw(codes):
    """Return A-law codes for mu-law codes (G.711 Table 3)."""
    return ULAW_TO_ALAW[np.asarray(codes, dtype=np.uint8)]


def alaw_to_ulaw(codes):
    """Return mu-law codes for A-law codes (G.711 Table 4)."""
    return ALAW_TO_ULAW[np.asarray(codes, dtype=np.uint8)]


SENT = 2  # live's mark of a row send_copies sent (PYCC_G711_SENT)
_ENCODERS = {0: ulaw_encode, 1: alaw_encode}  # the native kernel's law numbers (PYCC_G711_ULAW, PYCC_G711_ALAW)


def mix_out(acc, tx, codes, laws, live, dirty):
    """Send one tick's mix to the line in place; return None.

    Every live row: its int32 sum in acc saturated to int16 into tx, encoded with the row's law into codes (a
    negative law: no codes, e.g. a packet row), and cleared in acc for the next tick; a row marked SENT (by
    send_copies) is sent already. Every row written last tick (dirty) and not this one: silence in tx and codes,
    which stays valid until the row is written again, so the other rows are not touched. Then dirty takes live's
    flags and live is cleared.
    """
    laws = np.asarray(laws)
    written = np.flatnonzero((live != 0) & (live != SENT))
    quiet = np.flatnonzero(~live.astype(bool) & dirty.astype(bool))
    tx[written] = np.clip(acc[written], -32768, 32767)
    acc[written] = 0
    tx[quiet] = 0
    for law, encode in _ENCODERS.items():
        rows = written[laws[written] == law]
        codes[rows] = encode(tx[rows])
        codes[quiet[laws[quiet] == law]] = encode(np.int16(0))
    dirty[:] = live != 0
    live[:] = 0


def send_copies(rx, tx, codes, laws, live, dst, src):
    """Send rx[src[i]] as row dst[i] of the tick: tx takes it as it is (an int16 row needs no saturation), codes
    its encoding in the row's law (none for a negative law), live marks it SENT for mix_out; a row already
    written into the mix this tick, or listed twice, is refused (ValueError) before anything is written. The row
    leaves as it would had it been added alone into the mix. Returns None."""
    dst, src = np.asarray(dst), np.asarray(src)
    if len(set(dst.tolist())) != len(dst) or (len(dst) and live[dst].any()):
        raise ValueError("a row is written already this tick (or listed twice)")
    for d, s in zip(dst.tolist(), src.tolist()):
        tx[d] = rx[s]
        if laws[d] >= 0:
            codes[d] = _ENCODERS[int(laws[d])](tx[d])
        live[d] = SENT
