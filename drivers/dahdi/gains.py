"""DAHDI gain tables: DAHDI applies gain by mapping every G.711 code through a 256-entry table.

The table arithmetic is the emulator's (drivers/emulator/media.py), so both backends round alike.
"""
import numpy as np

from ..base import Law
from ..emulator.media import decode_table, gain_table as _gain_table


def gain_table(db, law):
    """Return the 256-byte table mapping each G.711 code to the code of its level raised by db decibels."""
    return _gain_table(Law(law), float(db)).astype(np.uint8).tobytes()


def table_gain_db(table, law):
    """Return the gain in dB (to 0.1 dB) a table applies, measured on codes that neither clip nor vanish."""
    lin = decode_table(Law(law)).astype(np.int32)
    out = lin[np.frombuffer(bytes(table), dtype=np.uint8)]
    b, a = np.abs(lin), np.abs(out)
    use = (b > 300) & (a > 300) & (b < 30000) & (a < 30000)
    if not use.any():
        return 0.0
    return float(round(20.0 * np.log10(np.median(a[use] / b[use])), 1))
