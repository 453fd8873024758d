"""The per-channel pass/fail table and the failure list."""
from __future__ import annotations

from .checks import COLUMNS, FAIL, PASS, SKIP

_RANK = {PASS: 0, SKIP: 1, FAIL: 2}


def cells(board, results):
    """Return {channel: {column: status}}, a channel taking the worst status of the results naming it."""
    table = {n: {} for n, c in board.channels.items() if c.signalling.is_audio or c.signalling.is_hdlc}
    for r in results:
        for n in r.channels:
            row = table.setdefault(n, {})
            if _RANK[r.status] >= _RANK.get(row.get(r.check), -1):
                row[r.check] = r.status
    return table


def render(board, results, title):
    """Return the report text: header, one row per channel, then failures and skips with their reasons."""
    table = cells(board, results)
    used = [c for c in COLUMNS if any(c in row for row in table.values())]
    head = f"{'chan':>5} {'span/pos':>8} {'signalling':<10} " + " ".join(f"{c:<8}" for c in used)
    lines = [title, "", head, "-" * len(head)]
    for n in sorted(table):
        ch = board.channel(n)
        row = table[n]
        lines.append(f"{n:>5} {f'{ch.span.number}/{ch.offset}':>8} {ch.signalling.value:<10} "
                     + " ".join(f"{row.get(c, '-'):<8}" for c in used))
    fails = [r for r in results if r.status == FAIL]
    skips = [r for r in results if r.status == SKIP]
    if fails:
        lines += ["", "Failures:"] + [f"  {r.check:<8} {_chans(r.channels)}: {r.detail}" for r in fails]
    if skips:
        lines += ["", "Skipped:"] + [f"  {r.check:<8} {_chans(r.channels)}: {r.detail}" for r in skips]
    passed = [r for r in results if r.status == PASS]
    lines += ["", f"hwtests: {len(passed)} passed, {len(fails)} failed, {len(skips)} skipped"]
    return "\n".join(lines)


def _chans(numbers):
    if len(numbers) > 4:
        return f"channels {numbers[0]}..{numbers[-1]} ({len(numbers)})"
    return "channel" + ("s " if len(numbers) > 1 else " ") + ",".join(str(n) for n in numbers)
