"""Adding int16 rows into the media plane's int32 mix; pycallcenter.dsp.mix is the checked public face and
pycallcenter.dsp.reference.mix the numpy twin."""
from libc.stdint cimport int16_t, int32_t, uint8_t


def add_rows(int32_t[:, ::1] acc, uint8_t[::1] live, const Py_ssize_t[::1] dst, const int16_t[:, ::1] block,
             const Py_ssize_t[::1] src, const uint8_t[::1] silent):
    """Add block[src[i]] into acc[dst[i]] for every i (nothing from a source row with silent set; silent may be
    empty: none is) and flag dst[i] in live; return None. A row not yet flagged is zero (the plane's rule), so its
    first addition is a plain copy, without reading the row back."""
    cdef Py_ssize_t n = acc.shape[1], k = dst.shape[0], i, j, r, s
    cdef bint any_silent = silent.shape[0] != 0
    if src.shape[0] != k:
        raise ValueError("dst and src need the same length")
    if block.shape[1] != n or live.shape[0] != acc.shape[0]:
        raise ValueError("block rows must be as long as acc's, live one entry per acc row")
    if any_silent and silent.shape[0] != block.shape[0]:
        raise ValueError("silent needs one entry per block row")
    for i in range(k):
        if not 0 <= dst[i] < acc.shape[0] or not 0 <= src[i] < block.shape[0]:
            raise ValueError(f"pair {i}: row {dst[i]} <- {src[i]} is outside acc or block")
    with nogil:
        for i in range(k):
            r, s = dst[i], src[i]
            if any_silent and silent[s]:
                live[r] = 1  # written (with silence): the row is sent this tick
                continue
            if live[r]:
                for j in range(n):
                    acc[r, j] += block[s, j]
            else:
                for j in range(n):
                    acc[r, j] = block[s, j]
                live[r] = 1


def play_blocks(int32_t[:, ::1] acc, uint8_t[::1] live, dict players, Py_ssize_t block):
    """For every (row, player) of players (media.Player: ``prompts``, a list of 1-D C-contiguous int16 arrays,
    ``index`` and ``pos``) whose next ``block`` samples lie inside its current prompt with at least one more
    after them, add those samples into acc[row], flag the row in live and move ``pos`` on; return the list of
    the other rows (a prompt ending or the queue over: the player's own ``fill`` handles them), in dict order.
    A row not yet flagged is zero (the plane's rule), so its first addition is a plain copy."""
    cdef const int16_t[::1] cur
    cdef Py_ssize_t r, pos, j, rows = acc.shape[0]
    if block != acc.shape[1]:
        raise ValueError("block must be acc's row length")
    slow = []
    for row, player in players.items():
        index = player.index
        prompts = player.prompts
        if index < len(prompts):
            cur = prompts[index]
            pos = player.pos
            if pos + block < cur.shape[0]:
                r = row
                if not 0 <= r < rows or pos < 0:
                    raise ValueError(f"row {r} is outside acc, or its player's position {pos} is negative")
                if live[r]:
                    for j in range(block):
                        acc[r, j] += cur[pos + j]
                else:
                    for j in range(block):
                        acc[r, j] = cur[pos + j]
                    live[r] = 1
                player.pos = pos + block
                continue
        slow.append(row)
    return slow
