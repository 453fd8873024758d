"""DAHDI system.conf <-> board TOML: read system.conf into a BoardConfig, write TOML and system.conf back.

system.conf does not say which channels belong to which span: DAHDI numbers channels span by span in
hardware order. The reader assumes the same: digital spans (span= lines) in span-number order, 31
channels for E1 framing (cas/ccs), 24 for T1 (esf/d4); analog channels (fxs*/fxo* outside the
digital spans) become analog spans, one per run of consecutive ports of one type (FXS ports carry
fxo_* signalling, FXO ports fxs_*). If the lowest analog channel comes before every digital channel,
the analog ports are placed first, as on boards whose analog module is span 1. The TOML written
always states ``first_channel`` so the mapping is explicit and can be corrected by hand.
"""
from __future__ import annotations

from typing import Optional

from pycallcenter.errors import ConfigError

from .base import Signalling, SpanKind
from .config import BoardConfig, default_span_law, format_channel_list, from_dict, parse_channel_list

_FRAMINGS = {"cas": "e1", "ccs": "e1", "esf": "t1", "d4": "t1", "sf": "t1"}
_SIG_WORDS = {s.system_conf: s for s in Signalling}
_UNSUPPORTED = {"e&m", "e&me1", "em", "em_w", "fxsgs_legacy", "cas", "dacs", "dacsrbs", "nethdlc", "mtp2", "indclear",
                "sf", "fxoks_legacy", "rawhdlc", "fcshdlc", "dynamic"}


def _sig_kind(sig: Signalling) -> Optional[SpanKind]:
    """Return the analog span kind a port with this signalling belongs to."""
    if sig.is_office:
        return SpanKind.FXS
    if sig.is_station:
        return SpanKind.FXO
    return None


def parse_system_conf(text: str, path: Optional[str] = None) -> BoardConfig:
    """Return the BoardConfig a system.conf describes; ConfigError naming the system.conf line if wrong."""
    spans, chan_lines, echo_lines = [], [], []
    zones, default_zone = [], None
    for no, raw in enumerate(text.splitlines(), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if "=" not in line:
            raise ConfigError(f"expected key=value, got {line!r}", path=path, line=no)
        key, value = (p.strip() for p in line.split("=", 1))
        key = key.lower()
        if key == "span":
            parts = [p.strip().lower() for p in value.split(",")]
            if len(parts) < 5:
                raise ConfigError("span needs span,timing,lbo,framing,coding[,crc4][,yellow]", path=path, line=no)
            try:
                number, timing, lbo = int(parts[0]), int(parts[1]), int(parts[2])
            except ValueError:
                raise ConfigError(f"span: number, timing and LBO must be integers in {value!r}",
                                  path=path, line=no) from None
            if parts[3] not in _FRAMINGS or parts[3] == "sf":
                raise ConfigError(f"span: unknown framing {parts[3]!r} (cas, ccs, esf, d4)", path=path, line=no)
            extra = set(parts[5:])
            if extra - {"crc4", "yellow"}:
                raise ConfigError(f"span: unknown options {sorted(extra - {'crc4', 'yellow'})}", path=path, line=no)
            spans.append(dict(span=number, kind=_FRAMINGS[parts[3]], timing=timing, lbo=lbo, framing=parts[3],
                              coding=parts[4], crc4="crc4" in extra, yellow="yellow" in extra, _line=no))
        elif key == "loadzone":
            zones.append(value)
        elif key == "defaultzone":
            default_zone = value
        elif key == "echocanceller":
            name, _, ranges = value.partition(",")
            echo_lines.append((name.strip(), ranges, no))
        elif key in _SIG_WORDS or key.replace("_", "") in _SIG_WORDS:
            chan_lines.append((_SIG_WORDS[key.replace("_", "")], value, no))
        elif key in _UNSUPPORTED:
            raise ConfigError(f"signalling {key!r} is not supported by pycallcenter", path=path, line=no)
        else:
            raise ConfigError(f"unknown system.conf keyword {key!r}", path=path, line=no)

    sig_of: dict[int, tuple] = {}
    for sig, value, no in chan_lines:
        try:
            numbers = parse_channel_list(value, what=sig.system_conf)
        except ValueError as exc:
            raise ConfigError(str(exc), path=path, line=no) from None
        for n in numbers:
            if n in sig_of:
                raise ConfigError(f"channel {n} is configured twice (also on line {sig_of[n][1]})", path=path, line=no)
            sig_of[n] = (sig, no)
    analog = sorted(n for n, (s, _) in sig_of.items() if s.has_hook)
    digital_used = sorted(n for n, (s, _) in sig_of.items() if not s.has_hook)
    next_channel = 1
    if spans and analog and (not digital_used or analog[0] < digital_used[0]):
        before = [n for n in analog if n < (digital_used[0] if digital_used else analog[-1] + 1)]
        next_channel = before[-1] + 1
    in_digital = set()
    for s in sorted(spans, key=lambda s: s["span"]):
        s["first_channel"] = next_channel
        count = 31 if s["kind"] == "e1" else 24
        in_digital.update(range(next_channel, next_channel + count))
        next_channel += count
    runs: list = []
    for n in analog:
        if n in in_digital:
            continue
        kind = _sig_kind(sig_of[n][0])
        if runs and runs[-1]["kind"] == kind.value and runs[-1]["first_channel"] + runs[-1]["channels"] == n:
            runs[-1]["channels"] += 1
        else:
            runs.append(dict(kind=kind.value, first_channel=n, channels=1, _line=sig_of[n][1]))
    used = {s["span"] for s in spans}
    free = (n for n in range(1, 1000) if n not in used)
    for r in runs:
        r["span"] = next(free)
    all_spans = sorted(spans + runs, key=lambda s: s["first_channel"])

    data: dict = {"board": {}, "span": [], "channels": [], "echocanceller": []}
    lines: dict = {}
    if zones or default_zone:
        data["board"]["tonezones"] = zones or [default_zone]
        data["board"]["default_tonezone"] = default_zone or zones[0]
    for i, s in enumerate(all_spans):
        lines[("span", i)] = s.pop("_line")
        data["span"].append(s)
    for i, (sig, value, no) in enumerate(chan_lines):
        data["channels"].append({"signalling": sig.value, "channels": value.replace(" ", "")})
        lines[("channels", i)] = no
    for i, (name, ranges, no) in enumerate(echo_lines):
        data["echocanceller"].append({"name": name, "channels": ranges.replace(" ", "")})
        lines[("echocanceller", i)] = no
    return from_dict(data, path, lines)


def _toml_value(v) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int):
        return str(v)
    if isinstance(v, (list, tuple)):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    return '"' + str(v).replace("\\", "\\\\").replace('"', '\\"') + '"'


def _grouped(config: BoardConfig, key) -> list:
    """Return [(value, [channel numbers])] for channels grouped by key(channel config), in channel order."""
    groups: dict = {}
    for n in sorted(config.channels):
        k = key(config.channels[n])
        if k is not None:
            groups.setdefault(k, []).append(n)
    return sorted(groups.items(), key=lambda kv: kv[1][0])


def to_toml(config: BoardConfig, comment: str = "") -> str:
    """Return TOML text describing config (channels grouped by signalling, echo cancellers by name/taps)."""
    out = [f"# {line}" for line in comment.splitlines()]
    out += ["[board]", f"name = {_toml_value(config.name)}", f"blocksize = {config.blocksize}",
            f"law = {_toml_value(config.law.value)}", f"tonezones = {_toml_value(list(config.tonezones))}",
            f"default_tonezone = {_toml_value(config.default_tonezone)}"]
    for s in config.spans:
        out += ["", "[[span]]", f"span = {s.number}", f"kind = {_toml_value(s.kind.value)}",
                f"first_channel = {s.first_channel}", f"channels = {s.channels}"]
        if s.kind.digital:
            out += [f"timing = {s.timing}", f"lbo = {s.lbo}", f"framing = {_toml_value(s.framing.value)}",
                    f"coding = {_toml_value(s.coding.value)}"]
            if s.kind is SpanKind.E1:
                out.append(f"crc4 = {_toml_value(s.crc4)}")
            if s.yellow:
                out.append("yellow = true")
        if s.law is not default_span_law(s.kind, config.law):
            out.append(f"law = {_toml_value(s.law.value)}")
        if s.name:
            out.append(f"name = {_toml_value(s.name)}")
    for sig, nums in _grouped(config, lambda c: c.signalling if c.signalling is not Signalling.UNUSED else None):
        out += ["", "[[channels]]", f"signalling = {_toml_value(sig.value)}",
                f"channels = {_toml_value(format_channel_list(nums))}"]
    for (name, taps), nums in _grouped(config, lambda c: (c.echo_canceller, c.echo_taps) if c.echo_canceller else None):
        out += ["", "[[echocanceller]]", f"name = {_toml_value(name)}",
                f"channels = {_toml_value(format_channel_list(nums))}", f"taps = {taps}"]
    return "\n".join(out) + "\n"


def to_system_conf(config: BoardConfig) -> str:
    """Return DAHDI system.conf text for config (what dahdi_cfg needs to set up the same board)."""
    out = ["# generated by pycallcenter boardconf export"]
    for s in config.spans:
        if s.kind.digital:
            opts = [str(s.number), str(s.timing), str(s.lbo), s.framing.value, s.coding.value]
            opts += ["crc4"] * s.crc4 + ["yellow"] * s.yellow
            out.append(f"span={','.join(opts)}")
        else:
            out.append(f"# span {s.number}: analog {s.kind.value.upper()} ports, channels "
                       f"{format_channel_list(s.channel_numbers)}")
    for sig, nums in _grouped(config, lambda c: c.signalling if c.signalling is not Signalling.UNUSED else None):
        out.append(f"{sig.system_conf}={format_channel_list(nums)}")
    for (name, taps), nums in _grouped(config, lambda c: (c.echo_canceller, c.echo_taps) if c.echo_canceller else None):
        out.append(f"echocanceller={name},{format_channel_list(nums)}")
    for z in config.tonezones:
        out.append(f"loadzone={z}")
    out.append(f"defaultzone={config.default_tonezone}")
    return "\n".join(out) + "\n"
