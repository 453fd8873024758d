"""Line numbers for TOML keys: tomllib gives none, so a small pass over the source text finds them.

``key_lines(text)`` maps key paths such as ``("span", 0, "framing")`` (array-of-tables elements
are indexed) to 1-based line numbers; table headers map their own path. Values spanning lines
(arrays, multi-line strings) are skipped over so their contents are not mistaken for keys.
"""
from __future__ import annotations

import re
import tomllib

_BARE = re.compile(r"[A-Za-z0-9_-]+")


def _split_key(text: str) -> list[str]:
    """Return the parts of a dotted key (bare or quoted parts)."""
    parts, i, text = [], 0, text.strip()
    while i < len(text):
        c = text[i]
        if c in " \t.":
            i += 1
        elif c in "\"'":
            j = text.index(c, i + 1) if c in text[i + 1:] else len(text)
            parts.append(text[i + 1:j])
            i = j + 1
        else:
            m = _BARE.match(text, i)
            if not m:
                break
            parts.append(m.group())
            i = m.end()
    return parts


def _bracket_delta(value: str) -> int:
    """Return the net count of [ and { minus ] and } outside strings and comments."""
    depth, quote = 0, None
    for c in value:
        if quote:
            if c == quote:
                quote = None
        elif c in "\"'":
            quote = c
        elif c == "#":
            break
        elif c in "[{":
            depth += 1
        elif c in "]}":
            depth -= 1
    return depth


def key_lines(text: str) -> dict[tuple, int]:
    """Return {key path: line number} for every table header and key in TOML text."""
    lines: dict[tuple, int] = {}
    aot: dict[tuple, int] = {}
    current: tuple = ()
    depth = 0
    in_multiline = None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if in_multiline:
            if raw.count(in_multiline) % 2 == 1:
                in_multiline = None
            continue
        if depth > 0:
            depth += _bracket_delta(line)
            continue
        if not line or line.startswith("#"):
            continue
        if line.startswith("["):
            is_aot = line.startswith("[[")
            inner = line[2:line.index("]]")] if is_aot and "]]" in line else line[1:line.find("]")]
            names = tuple(_split_key(inner))
            if is_aot:
                aot[names] = aot.get(names, 0) + 1
            path: list = []
            for i, name in enumerate(names):
                path.append(name)
                prefix = names[: i + 1]
                if prefix in aot:
                    path.append(aot[prefix] - 1)
            current = tuple(path)
            lines.setdefault(current, no)
            continue
        if "=" not in line:
            continue
        key, value = line.split("=", 1)
        path = current + tuple(_split_key(key))
        lines.setdefault(path, no)
        value = value.strip()
        for delim in ('"""', "'''"):
            if value.startswith(delim) and value.count(delim) == 1:
                in_multiline = delim
        if not in_multiline:
            depth = max(0, _bracket_delta(value))
    return lines


def line_of(lines: dict[tuple, int], path: tuple):
    """Return the line of path, or of its nearest enclosing table/key; None if unknown."""
    path = tuple(path)
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None


def decode_error_line(exc: tomllib.TOMLDecodeError):
    """Return the line number tomllib put in its error message, or None."""
    m = re.search(r"line (\d+)", str(exc))
    return int(m.group(1)) if m else None
