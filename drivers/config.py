"""Board configuration in TOML, carrying the meanings of DAHDI's system.conf; errors name the line.

Format (see docs/boards.md for full examples)::

    [board]
    name = "pri-box"
    blocksize = 160                 # samples per tick, 8..1024
    law = "alaw"                    # law of analog ports (E1 spans default to alaw, T1 to ulaw)
    tonezones = ["uk"]              # system.conf loadzone
    default_tonezone = "uk"         # system.conf defaultzone

    [[span]]                        # system.conf span=1,1,0,ccs,hdb3,crc4
    span = 1
    kind = "e1"                     # e1 | t1 | fxs | fxo (e1/t1 inferred from framing if omitted)
    timing = 1                      # 0: never our clock source; 1..: priority
    lbo = 0
    framing = "ccs"                 # e1: ccs | cas; t1: esf | d4
    coding = "hdb3"                 # e1: hdb3 | ami; t1: b8zs | ami
    crc4 = true
    channels = 31                   # optional for e1 (31) / t1 (24); number of ports for analog
    first_channel = 1               # optional: global number of its first channel

    [[channels]]                    # system.conf bchan=1-15,17-31
    signalling = "bchan"
    channels = "1-15,17-31"

    [[echocanceller]]               # system.conf echocanceller=mg2,1-15,17-31
    name = "mg2"
    channels = "1-15,17-31"
    taps = 128

    [emulator]                      # only the emulator backend reads this (drivers/emulator/config.py)
"""
from __future__ import annotations

import os
import tomllib
from dataclasses import dataclass, field
from typing import Optional

from pycallcenter.errors import ConfigError

from .base import (DEFAULT_BLOCKSIZE, Coding, Framing, Law, Signalling, SpanKind, check_blocksize)
from .channels import MAX_CHANNEL, format_channel_list, parse_channel_list  # noqa: F401 (part of this module's API)
from .tomllines import decode_error_line, key_lines, line_of

DEFAULT_TONEZONE = "us"


@dataclass(frozen=True)
class SpanConfig:
    """One span as configured."""

    number: int
    kind: SpanKind
    first_channel: int
    channels: int
    timing: int = 0
    lbo: int = 0
    framing: Optional[Framing] = None
    coding: Optional[Coding] = None
    crc4: bool = False
    yellow: bool = False
    law: Law = Law.ULAW
    name: str = ""

    @property
    def channel_numbers(self) -> range:
        """Return the global channel numbers of this span."""
        return range(self.first_channel, self.first_channel + self.channels)


@dataclass(frozen=True)
class ChannelConfig:
    """One channel as configured (unconfigured channels are Signalling.UNUSED)."""

    number: int
    span: int
    offset: int
    signalling: Signalling
    law: Law
    echo_canceller: Optional[str] = None
    echo_taps: int = 0


@dataclass(frozen=True)
class BoardConfig:
    """A whole board: spans, channels, tone zones and backend-specific sections (``emulator``)."""

    name: str = "board"
    blocksize: int = DEFAULT_BLOCKSIZE
    law: Law = Law.ULAW
    tonezones: tuple = (DEFAULT_TONEZONE,)
    default_tonezone: str = DEFAULT_TONEZONE
    spans: tuple = ()
    channels: dict = field(default_factory=dict)  # number -> ChannelConfig, every channel of every span
    emulator: dict = field(default_factory=dict, compare=False)  # raw [emulator] table
    path: Optional[str] = field(default=None, compare=False)
    lines: dict = field(default_factory=dict, compare=False, repr=False)

    def error(self, message: str, *key_path) -> ConfigError:
        """Return a ConfigError for message located at key_path (e.g. "emulator", "cable", 0, "kind")."""
        return ConfigError(message, path=self.path, line=line_of(self.lines, key_path))

    def span(self, number: int) -> SpanConfig:
        """Return span ``number``'s SpanConfig; KeyError if none."""
        for s in self.spans:
            if s.number == number:
                return s
        raise KeyError(number)


_TOP = {"board", "span", "channels", "echocanceller", "emulator"}
_BOARD_KEYS = {"name", "blocksize", "law", "tonezones", "default_tonezone"}
_SPAN_KEYS = {"span", "kind", "timing", "lbo", "framing", "coding", "crc4", "yellow", "channels",
              "first_channel", "law", "name"}
_CHAN_KEYS = {"signalling", "channels", "law"}
_EC_KEYS = {"name", "channels", "taps"}
_FRAMING_OF = {SpanKind.E1: (Framing.CCS, Framing.CAS), SpanKind.T1: (Framing.ESF, Framing.D4)}
_CODING_OF = {SpanKind.E1: (Coding.HDB3, Coding.AMI), SpanKind.T1: (Coding.B8ZS, Coding.AMI)}


def default_span_law(kind: SpanKind, board_law: Law) -> Law:
    """Return the law a span uses unless configured: A-law on E1, mu-law on T1, the board's on analog."""
    return {SpanKind.E1: Law.ALAW, SpanKind.T1: Law.ULAW}.get(kind, board_law)


class _Parser:
    def __init__(self, data: dict, path, lines):
        self.data, self.path, self.lines = data, path, lines

    def err(self, message, *key_path):
        return ConfigError(message, path=self.path, line=line_of(self.lines, key_path))

    def table(self, value, *key_path) -> dict:
        if not isinstance(value, dict):
            raise self.err(f"{'.'.join(map(str, key_path))} must be a table", *key_path)
        return value

    def tables(self, name) -> list:
        value = self.data.get(name, [])
        if not isinstance(value, list):
            raise self.err(f"use [[{name}]] (an array of tables) for {name}", name)
        return [self.table(v, name, i) for i, v in enumerate(value)]

    def keys(self, table, allowed, *key_path):
        for k in table:
            if k not in allowed:
                raise self.err(f"unknown key {k!r} in {key_path[0]}; allowed: {', '.join(sorted(allowed))}",
                               *key_path, k)

    def typed(self, table, key, types, default, *key_path):
        if key not in table:
            return default
        v = table[key]
        if isinstance(v, bool) and bool not in types or not isinstance(v, types):
            names = "/".join(t.__name__ for t in types)
            raise self.err(f"{key} must be {names}, got {v!r}", *key_path, key)
        return v

    def enum(self, cls, table, key, default, *key_path):
        if key not in table:
            return default
        v = table[key]
        try:
            return cls.parse(v) if hasattr(cls, "parse") else cls(str(v).lower())
        except ValueError:
            known = ", ".join(m.value for m in cls)
            raise self.err(f"unknown {key} {v!r}; known: {known}", *key_path, key) from None

    def parse(self) -> BoardConfig:
        for k in self.data:
            if k not in _TOP:
                raise self.err(f"unknown section {k!r}; allowed: {', '.join(sorted(_TOP))}", k)
        board = self.table(self.data.get("board", {}), "board")
        self.keys(board, _BOARD_KEYS, "board")
        blocksize = self.typed(board, "blocksize", (int,), DEFAULT_BLOCKSIZE, "board")
        try:
            check_blocksize(blocksize)
        except ValueError as exc:
            raise self.err(str(exc), "board", "blocksize") from None
        law = self.enum(Law, board, "law", Law.ULAW, "board")
        zones = self.typed(board, "tonezones", (list,), None, "board")
        default_zone = self.typed(board, "default_tonezone", (str,), None, "board")
        zones = tuple(str(z) for z in zones) if zones else ((default_zone,) if default_zone else (DEFAULT_TONEZONE,))
        default_zone = default_zone or zones[0]
        if default_zone not in zones:
            zones = zones + (default_zone,)

        spans = self.parse_spans(law)
        channels = self.parse_channels(spans)
        self.parse_echo(channels)
        emulator = self.table(self.data.get("emulator", {}), "emulator")
        return BoardConfig(name=self.typed(board, "name", (str,), "board", "board"), blocksize=blocksize,
                           law=law, tonezones=zones, default_tonezone=default_zone, spans=tuple(spans),
                           channels=channels, emulator=emulator, path=self.path, lines=self.lines)

    def parse_spans(self, default_law) -> list[SpanConfig]:
        spans: list[SpanConfig] = []
        next_channel = 1
        owner: dict[int, int] = {}
        for i, t in enumerate(self.tables("span")):
            kp = ("span", i)
            self.keys(t, _SPAN_KEYS, *kp)
            if "span" not in t:
                raise self.err("span needs a span number (span = N)", *kp)
            number = self.typed(t, "span", (int,), None, *kp)
            if number < 1 or any(s.number == number for s in spans):
                raise self.err(f"span number {number} is invalid or used twice", *kp, "span")
            framing = self.enum(Framing, t, "framing", None, *kp)
            kind = self.enum(SpanKind, t, "kind", None, *kp)
            if kind is None:
                if framing is None:
                    raise self.err("span needs kind (e1, t1, fxs, fxo) or a framing", *kp)
                kind = SpanKind.E1 if framing in _FRAMING_OF[SpanKind.E1] else SpanKind.T1
            coding = self.enum(Coding, t, "coding", None, *kp)
            crc4 = self.typed(t, "crc4", (bool,), False, *kp)
            if kind.digital:
                framing = framing or _FRAMING_OF[kind][0]
                coding = coding or _CODING_OF[kind][0]
                if framing not in _FRAMING_OF[kind]:
                    raise self.err(f"framing {framing.value} is not valid on a {kind.value} span", *kp, "framing")
                if coding not in _CODING_OF[kind]:
                    raise self.err(f"coding {coding.value} is not valid on a {kind.value} span", *kp, "coding")
                if crc4 and kind is not SpanKind.E1:
                    raise self.err("crc4 applies to E1 spans only", *kp, "crc4")
            elif framing or coding or crc4:
                raise self.err(f"framing/coding/crc4 do not apply to an analog {kind.value} span", *kp)
            count = self.typed(t, "channels", (int,), kind.default_channels, *kp)
            if count < 1 or (kind.digital and count > kind.default_channels):
                raise self.err(f"span {number}: bad channel count {count}", *kp, "channels")
            first = self.typed(t, "first_channel", (int,), next_channel, *kp)
            if first < 1:
                raise self.err(f"first_channel must be >= 1, got {first}", *kp, "first_channel")
            if first + count - 1 > MAX_CHANNEL:  # checked before the span's channels are listed one by one
                key = "channels" if count > MAX_CHANNEL else "first_channel" if "first_channel" in t else "channels"
                raise self.err(f"span {number}: channels {first}-{first + count - 1} go above the highest channel "
                               f"number {MAX_CHANNEL}", *kp, key)
            for ch in range(first, first + count):
                if ch in owner:
                    raise self.err(f"channel {ch} is in two spans ({owner[ch]} and {number})", *kp)
                owner[ch] = number
            spans.append(SpanConfig(
                number=number, kind=kind, first_channel=first, channels=count,
                timing=self.typed(t, "timing", (int,), 0, *kp), lbo=self.typed(t, "lbo", (int,), 0, *kp),
                framing=framing if kind.digital else None, coding=coding if kind.digital else None,
                crc4=crc4, yellow=self.typed(t, "yellow", (bool,), False, *kp),
                law=self.enum(Law, t, "law", default_span_law(kind, default_law), *kp),
                name=self.typed(t, "name", (str,), "", *kp)))
            next_channel = first + count
        return spans

    def parse_channels(self, spans) -> dict[int, ChannelConfig]:
        where = {}
        for s in spans:
            for off, ch in enumerate(s.channel_numbers, start=1):
                where[ch] = (s, off)
        chans = {ch: ChannelConfig(ch, s.number, off, Signalling.UNUSED, s.law) for ch, (s, off) in where.items()}
        set_at: dict[int, int] = {}
        for i, t in enumerate(self.tables("channels")):
            kp = ("channels", i)
            self.keys(t, _CHAN_KEYS, *kp)
            if "signalling" not in t or "channels" not in t:
                raise self.err("[[channels]] needs signalling and channels", *kp)
            sig = self.enum(Signalling, t, "signalling", None, *kp)
            try:
                numbers = parse_channel_list(t["channels"])
            except ValueError as exc:
                raise self.err(str(exc), *kp, "channels") from None
            for n in numbers:
                if n not in where:
                    raise self.err(f"channel {n} belongs to no span", *kp, "channels")
                if n in set_at:
                    raise self.err(f"channel {n} is configured twice (also on line {set_at[n]})", *kp, "channels")
                set_at[n] = line_of(self.lines, kp + ("channels",)) or 0
                span, off = where[n]
                self.check_fits(sig, span, n, kp)
                chans[n] = ChannelConfig(n, span.number, off, sig, self.enum(Law, t, "law", span.law, *kp))
        return chans

    def check_fits(self, sig, span, n, kp):
        if span.kind is SpanKind.FXS and sig not in (Signalling.FXO_LS, Signalling.FXO_KS, Signalling.FXO_GS,
                                                     Signalling.UNUSED):
            raise self.err(f"channel {n} is an FXS port: it takes fxo_ls/fxo_ks/fxo_gs signalling, not {sig.value}",
                           *kp, "signalling")
        if span.kind is SpanKind.FXO and sig not in (Signalling.FXS_LS, Signalling.FXS_KS, Signalling.FXS_GS,
                                                     Signalling.UNUSED):
            raise self.err(f"channel {n} is an FXO port: it takes fxs_ls/fxs_ks/fxs_gs signalling, not {sig.value}",
                           *kp, "signalling")
        if span.kind.digital and sig.has_hook and span.framing is Framing.CCS:
            raise self.err(f"channel {n}: robbed-bit/CAS signalling {sig.value} needs a cas (E1) span, not ccs",
                           *kp, "signalling")

    def parse_echo(self, chans):
        for i, t in enumerate(self.tables("echocanceller")):
            kp = ("echocanceller", i)
            self.keys(t, _EC_KEYS, *kp)
            name = self.typed(t, "name", (str,), "mg2", *kp)
            taps = self.typed(t, "taps", (int,), 128, *kp)
            if not 16 <= taps <= 1024:
                raise self.err(f"echo canceller taps {taps} out of range 16..1024", *kp, "taps")
            if "channels" not in t:
                raise self.err("[[echocanceller]] needs channels", *kp)
            try:
                numbers = parse_channel_list(t["channels"])
            except ValueError as exc:
                raise self.err(str(exc), *kp, "channels") from None
            for n in numbers:
                if n not in chans or not chans[n].signalling.is_audio:
                    raise self.err(f"echo canceller on channel {n}, which is not a configured audio channel",
                                   *kp, "channels")
                c = chans[n]
                chans[n] = ChannelConfig(c.number, c.span, c.offset, c.signalling, c.law, name, taps)


def parse_config(text: str, path: Optional[str] = None) -> BoardConfig:
    """Return the BoardConfig described by TOML text; ConfigError naming path and line if it is wrong."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"malformed TOML: {exc}", path=path, line=decode_error_line(exc)) from None
    return _Parser(data, path, key_lines(text)).parse()


# A configuration file (board, centre, users, system.conf) is read whole, so it is bounded: `config check
# /dev/zero` ran out of memory. The largest real ones (4,096 channels, hundreds of agents) are a few hundred KB.
MAX_CONFIG_CHARS = 16 << 20


def read_config_text(path):
    """Return the text of a configuration file (UTF-8); ConfigError naming it when it is not UTF-8 or longer
    than MAX_CONFIG_CHARS characters. OSError (no such file, ...) is left to the caller."""
    with open(path, encoding="utf-8") as f:
        try:
            text = f.read(MAX_CONFIG_CHARS + 1)
        except UnicodeDecodeError as exc:
            raise ConfigError(f"not UTF-8 text (byte {exc.start})", path=path) from None
    if len(text) > MAX_CONFIG_CHARS:
        raise ConfigError(f"more than {MAX_CONFIG_CHARS:,} characters: not a configuration file", path=path)
    return text


def load_config(path) -> BoardConfig:
    """Return the BoardConfig in the TOML file at path."""
    path = os.fspath(path)
    return parse_config(read_config_text(path), path)


def from_dict(data: dict, path: Optional[str] = None, lines: Optional[dict] = None) -> BoardConfig:
    """Return the BoardConfig for already-parsed TOML data; lines maps key paths to source lines for errors."""
    return _Parser(data, path, lines or {}).parse()

