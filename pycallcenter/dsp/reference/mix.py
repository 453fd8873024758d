"""Numpy twin of the media plane's mixing kernel (pycallcenter._native.mix): int16 rows added into an int32 mix."""


def add_rows(acc, live, dst, block, src, silent=None):
    """Add block[src[i]] into acc[dst[i]] for every pair in order (nothing from a source row flagged in silent)
    and flag every dst row in live; return None."""
    for r, s in zip(dst, src):
        if silent is None or len(silent) == 0 or not silent[s]:
            acc[r] += block[s]
        live[r] = 1


def play_blocks(acc, live, players, block):
    """Add each player's next block from its current prompt into acc[row] when the prompt holds it with a sample
    to spare (flagging the row in live and moving the player on); return the other rows, in dict order."""
    slow = []
    for row, player in players.items():
        if player.index < len(player.prompts):
            cur, pos = player.prompts[player.index], player.pos
            if pos + block < cur.size:
                acc[row] += cur[pos:pos + block]
                live[row] = 1
                player.pos = pos + block
                continue
        slow.append(row)
    return slow
