"""Channel lists as written in board files ("1-15,17-31"): parsed to numbers and written back."""
from __future__ import annotations

MAX_CHANNEL = 4096  # highest channel number a board may have (DAHDI numbers a system's channels in one space)


def parse_channel_list(value, *, what: str = "channels") -> list[int]:
    """Return channel numbers from "1-15,17-31", an int, or a list of ints/range strings; ValueError if bad."""
    if isinstance(value, bool):
        raise ValueError(f"{what}: expected channel numbers, got {value!r}")
    if isinstance(value, int):
        items = [value]
    elif isinstance(value, str):
        items = [p for p in value.replace(" ", "").split(",")]
    elif isinstance(value, list):
        items = value
    else:
        raise ValueError(f"{what}: expected a range string like \"1-15,17-31\" or a list, got {value!r}")
    out: list[int] = []
    for item in items:
        if isinstance(item, bool):
            raise ValueError(f"{what}: bad channel {item!r}")
        if isinstance(item, int):
            lo = hi = item
        else:
            text = str(item).strip()
            try:
                if "-" in text:
                    a, b = text.split("-", 1)
                    lo, hi = int(a), int(b)
                else:
                    lo = hi = int(text)
            except ValueError:
                raise ValueError(f"{what}: bad channel range {text!r}") from None
        if lo < 1 or hi < lo:
            raise ValueError(f"{what}: bad channel range {item!r}")
        if hi > MAX_CHANNEL:  # checked before the range is expanded: "1-100000000" must not allocate
            raise ValueError(f"{what}: channel {hi} is above the highest channel number {MAX_CHANNEL}")
        out.extend(range(lo, hi + 1))
    if not out:
        raise ValueError(f"{what}: no channels given")
    return out


def format_channel_list(numbers) -> str:
    """Return sorted channel numbers as a compact range string ("1-15,17-31")."""
    nums = sorted(set(numbers))
    parts, i = [], 0
    while i < len(nums):
        j = i
        while j + 1 < len(nums) and nums[j + 1] == nums[j] + 1:
            j += 1
        parts.append(str(nums[i]) if i == j else f"{nums[i]}-{nums[j]}")
        i = j + 1
    return ",".join(parts)
