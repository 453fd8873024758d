"""DAHDI gain tables: DAHDI applies gain by mapping every G.711 code through a 256-entry table."""
import numpy as np

from .. import g711

_CODES = np.arange(256, dtype=np.uint8)


def gain_table(db, law):
    """Return the 256-byte table mapping each G.711 code to the code of its level raised by db decibels."""
    scaled = np.rint(g711.decode(law, _CODES).astype(np.float64) * 10.0 ** (float(db) / 20.0))
    return g711.encode(law, np.clip(scaled, -32768, 32767).astype(np.int16)).tobytes()


def table_gain_db(table, law):
    """Return the gain in dB (to 0.1 dB) a table applies, measured on codes that neither clip nor vanish."""
    lin = g711.decode(law, _CODES).astype(np.int32)
    out = g711.decode(law, bytes(table)).astype(np.int32)
    b, a = np.abs(lin), np.abs(out)
    use = (b > 300) & (a > 300) & (b < 30000) & (a < 30000)
    if not use.any():
        return 0.0
    return float(round(20.0 * np.log10(np.median(a[use] / b[use])), 1))
