"""Numpy twin of the media plane's mixing kernel (pycallcenter._native.mix): int16 rows added into an int32 mix."""


def add_rows(acc, live, dst, block, src, silent=None):
    """Add block[src[i]] into acc[dst[i]] for every pair in order (nothing from a source row flagged in silent)
    and flag every dst row in live; return None."""
    for r, s in zip(dst, src):
        if silent is None or len(silent) == 0 or not silent[s]:
            acc[r] += block[s]
        live[r] = 1
