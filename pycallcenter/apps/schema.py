"""Typed configuration tables: dataclasses whose annotations say what each TOML key must hold.

A section is a dataclass; each field is one key. ``load(cls, table, where)`` checks every key against
its annotation and returns the dataclass, or raises one ConfigError naming the file, the line and the
key. Annotations understood: ``int``, ``float``, ``bool``, ``str``, ``Optional[X]``, ``list[X]``,
``dict[str, X]``, a nested dataclass (a sub-table), ``list[Dataclass]`` (an array of tables), and
``Annotated[X, check, ...]`` where a check is a :class:`Range`, a :class:`OneOf`, a :class:`Match`
or any callable that returns the converted value or raises ValueError with the reason.

Lines come from :class:`Locator`, a small scanner of the TOML text (tomllib keeps no positions).
"""
import dataclasses
import re
import tomllib
import types
import typing
from typing import Annotated, Any, Optional

from pycallcenter.errors import ConfigError

# ---------------------------------------------------------------------------------------------- checks


@dataclasses.dataclass(frozen=True)
class Range:
    """A number between lo and hi (either may be None: no bound)."""

    lo: Optional[float] = None
    hi: Optional[float] = None

    def __call__(self, value):
        if (self.lo is not None and value < self.lo) or (self.hi is not None and value > self.hi):
            lo = "" if self.lo is None else f"{self.lo:g}"
            hi = "" if self.hi is None else f"{self.hi:g}"
            if self.hi is None:
                raise ValueError(f"must be at least {lo}")
            if self.lo is None:
                raise ValueError(f"must be at most {hi}")
            raise ValueError(f"must be from {lo} to {hi}")
        return value


@dataclasses.dataclass(frozen=True)
class OneOf:
    """One of a fixed set of strings."""

    choices: tuple

    def __call__(self, value):
        if value not in self.choices:
            raise ValueError(f"must be one of {', '.join(map(repr, self.choices))}")
        return value


@dataclasses.dataclass(frozen=True)
class Match:
    """A string matching a regular expression (``what`` says what it should look like)."""

    pattern: str
    what: str

    def __call__(self, value):
        if not re.fullmatch(self.pattern, value):
            raise ValueError(f"must look like {self.what}")
        return value


def clock_range(value):
    """Return (open, close) seconds of the day from 'HH:MM-HH:MM'."""
    m = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", value)
    if not m:
        raise ValueError("must look like '08:00-18:00'")
    h1, m1, h2, m2 = map(int, m.groups())
    if h1 > 24 or h2 > 24 or m1 > 59 or m2 > 59:
        raise ValueError("has an hour or minute out of range")
    return (h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60)


Port = Annotated[int, Range(0, 65535)]
Seconds = Annotated[float, Range(0, None)]
Fraction = Annotated[float, Range(0, 1)]
Count = Annotated[int, Range(0, None)]
def _clock_text(value):
    clock_range(value)  # raises ValueError naming what is wrong
    return value


Hours = Annotated[str, Match(r"\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*", "'08:00-18:00'"), _clock_text]
Digits = Annotated[str, Match(r"[0-9*#+]*", "digits (0-9, *, #, +)")]

# ---------------------------------------------------------------------------------------------- lines

_STRINGS = re.compile(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'')
_HEADER = re.compile(r"^\s*(\[\[?)\s*([^\]]+?)\s*\]\]?\s*(?:#.*)?$")
_KEY = re.compile(r"^\s*((?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_\-]+|\"[^\"]*\"|'[^']*'))*)\s*=")


def _dotted(text):
    return tuple(part.strip().strip("\"'") for part in re.findall(r"\"[^\"]*\"|'[^']*'|[^.]+", text))


class Locator:
    """Line numbers of tables and keys in one TOML text: ``line(table_path, key)``.

    ``table_path`` is a tuple of names and, for arrays of tables, indexes: ("queue", 1) is the second
    [[queue]]; ("centre",) is [centre]."""

    def __init__(self, text):
        self.lines = {}
        counts = {}
        table = ()
        skip_until = None
        depth = 0
        for n, raw in enumerate(text.splitlines(), 1):
            line = raw
            if skip_until is not None:  # inside a multi-line string
                if skip_until in line:
                    skip_until = None
                continue
            if depth > 0:  # inside a multi-line array or inline table
                depth += self._depth(line)
                continue
            m = _HEADER.match(line)
            if m and not _KEY.match(line):
                names = _dotted(m.group(2))
                if m.group(1) == "[[":
                    i = counts.get(names, 0)
                    counts[names] = i + 1
                    table = self._expand(names, counts) + (i,)
                else:
                    table = self._expand(names, counts)
                self.lines.setdefault(table, n)
                continue
            k = _KEY.match(line)
            if k:
                path = table + _dotted(k.group(1))
                self.lines.setdefault(path, n)
                rest = line[k.end():]
                for quote in ('"""', "'''"):
                    if rest.count(quote) == 1:
                        skip_until = quote
                depth = max(0, self._depth(rest))

    @staticmethod
    def _depth(text):
        text = _STRINGS.sub("", text.split("#", 1)[0] if '"' not in text and "'" not in text else text)
        return text.count("[") + text.count("{") - text.count("]") - text.count("}")

    @staticmethod
    def _expand(names, counts):
        # [[queue]] then [queue.hours]: the sub-table belongs to the latest queue
        out = ()
        for i, name in enumerate(names):
            out += (name,)
            prefix = names[: i + 1]
            if prefix in counts and i < len(names) - 1:
                out += (counts[prefix] - 1,)
        return out

    def line(self, path):
        """Return the line of path, or of its nearest enclosing table, or None."""
        path = tuple(path)
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return None


@dataclasses.dataclass
class Where:
    """Where a table sits: its file, its path in the file and the file's locator."""

    file: Optional[str]
    path: tuple = ()
    locator: Optional[Locator] = None

    def child(self, *names):
        """Return the Where of a sub-table or key."""
        return Where(self.file, self.path + tuple(names), self.locator)

    def name(self):
        """Return the path as a reader writes it: queue[2].ring_timeout."""
        out = ""
        for p in self.path:
            out += f"[{p + 1}]" if isinstance(p, int) else (f".{p}" if out else str(p))
        return out or "(top level)"

    def error(self, message):
        """Return a ConfigError for this place."""
        line = self.locator.line(self.path) if self.locator else None
        return ConfigError(f"{self.name()}: {message}", path=self.file, line=line)


# ---------------------------------------------------------------------------------------------- loading

_TYPE_NAMES = {int: "an integer", float: "a number", bool: "true or false", str: "a string"}


def _describe(tp):
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *checks = typing.get_args(tp)
        for check in checks:
            if isinstance(check, OneOf):
                return "one of " + ", ".join(f'"{c}"' for c in check.choices)
            if isinstance(check, Range):
                lo = "" if check.lo is None else f"{check.lo:g}"
                hi = "" if check.hi is None else f"{check.hi:g}"
                return f"{_describe(base)} ({lo}..{hi})" if hi else f"{_describe(base)} (>= {lo})"
            if isinstance(check, Match):
                return f"{_describe(base)} like {check.what}"
        return _describe(base)
    if tp in _TYPE_NAMES:
        return _TYPE_NAMES[tp]
    if origin in (list, tuple):
        return f"a list, each {_describe(typing.get_args(tp)[0])}"
    if origin is dict:
        return f"a table, each value {_describe(typing.get_args(tp)[1])}"
    if dataclasses.is_dataclass(tp):
        return "a table"
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_describe(a) for a in typing.get_args(tp) if a is not type(None))
    return getattr(tp, "__name__", str(tp))


def _show(value):
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def convert(tp, value, where):
    """Return value checked and converted to the annotation tp, or raise where.error(...)."""
    origin = typing.get_origin(tp)
    if origin is Annotated:
        base, *checks = typing.get_args(tp)
        value = convert(base, value, where)
        for check in checks:
            if callable(check):
                try:
                    value = check(value)
                except ValueError as exc:
                    raise where.error(f"{exc}, got {_show(value)}") from None
        return value
    if origin in (typing.Union, types.UnionType):
        options = [a for a in typing.get_args(tp) if a is not type(None)]
        if value is None and len(options) < len(typing.get_args(tp)):
            return None
        errors = []
        for option in options:
            try:
                return convert(option, value, where)
            except ConfigError as exc:
                errors.append(exc)
        if len(errors) == 1:
            raise errors[0]
        raise where.error(f"expected {_describe(tp)}, got {_show(value)}")
    if tp is Any:
        return value
    if tp is bool:
        if not isinstance(value, bool):
            raise where.error(f"expected true or false, got {_show(value)}")
        return value
    if tp is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise where.error(f"expected an integer, got {_show(value)}")
        return value
    if tp is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise where.error(f"expected a number, got {_show(value)}")
        if value != value or value in (float("inf"), float("-inf")):
            raise where.error(f"expected a finite number, got {_show(value)}")
        return float(value)
    if tp is str:
        if not isinstance(value, str):
            raise where.error(f"expected a string, got {_show(value)}")
        return value
    if origin in (list, tuple):
        if not isinstance(value, list):
            raise where.error(f"expected a list, got {_show(value)}")
        (item,) = typing.get_args(tp)[:1] or (Any,)
        items = [convert(item, v, where.child(i)) for i, v in enumerate(value)]
        return items if origin is list else tuple(items)
    if origin is dict:
        if not isinstance(value, dict):
            raise where.error(f"expected a table, got {_show(value)}")
        _, item = typing.get_args(tp)
        return {str(k): convert(item, v, where.child(k)) for k, v in value.items()}
    if dataclasses.is_dataclass(tp):
        if not isinstance(value, dict):
            raise where.error(f"expected a table, got {_show(value)}")
        return load(tp, value, where)
    raise TypeError(f"unsupported annotation {tp!r}")


def load(cls, table, where):
    """Return cls (a dataclass) filled from the TOML table, every key checked; unknown keys are errors."""
    hints = typing.get_type_hints(cls, include_extras=True)
    names = {f.name: f for f in dataclasses.fields(cls) if f.init and not f.name.startswith("_")}
    unknown = [k for k in table if k not in names]
    if unknown:
        raise where.child(unknown[0]).error(f"unknown key; allowed: {', '.join(sorted(names))}")
    values = {}
    for name, f in names.items():
        if name in table:
            values[name] = convert(hints[name], table[name], where.child(name))
        elif f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING:
            raise where.error(f"missing key {name!r}")
    try:
        obj = cls(**values)
    except (ValueError, TypeError) as exc:
        raise where.error(str(exc)) from None
    check = getattr(obj, "check", None)
    if check is not None:
        try:
            check()
        except ValueError as exc:
            raise where.error(str(exc)) from None
    return obj


def parse(text, file=None):
    """Return (table dict, Locator) of TOML text, or raise ConfigError naming the file and line."""
    try:
        table = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        m = re.search(r"\(at line (\d+), column \d+\)", str(exc))
        raise ConfigError(re.sub(r"\s*\(at line.*\)", "", str(exc)), path=file,
                          line=int(m.group(1)) if m else None) from None
    return table, Locator(text)


def keys_doc(cls, prefix=""):
    """Return (key, type description, default, doc) rows of a section, for the documentation test."""
    hints = typing.get_type_hints(cls, include_extras=True)
    rows = []
    for f in dataclasses.fields(cls):
        if not f.init or f.name.startswith("_"):
            continue
        default = (f.default if f.default is not dataclasses.MISSING else
                   f.default_factory() if f.default_factory is not dataclasses.MISSING else None)
        rows.append((prefix + f.name, _describe(hints[f.name]), default, f.metadata.get("doc", "")))
    return rows
