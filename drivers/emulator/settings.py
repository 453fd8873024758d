"""The ``[emulator]`` section of a board config: seed, pacing, line timings and cabling.

::

    [emulator]
    seed = 1
    realtime = false
    buffers = 4                  # blocks each open channel buffers each way

    [emulator.line]              # analog / robbed-bit line timings (ms) and network behaviour
    debounce = 30
    flash = 750
    rxflash = 1250
    wink = 150
    polarity_on_answer = false
    disconnect_supervision = true

    [[emulator.cable]]
    kind = "crossover"           # crossover | loopback | network | pair | pstn_line | phone
    spans = [1, 2]
    # loopback/network: span = N (network: name = "pstn")
    # pair: fxs = "32-35", fxo = "36-39" (channels, paired in order)
    # pstn_line / phone: channels = "36-39" (names: name + channel number, default pstn36 / phone32)

    [[emulator.echo]]            # hybrid echo on these channels' lines (none by default; see echo.py)
    channels = "1-23"
    erl = 12                     # dB, 6..60
    delay = 4                    # ms, 0..100
    dispersion = 6               # ms, 1..30
    seed = 0
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields

from ..config import parse_channel_list
from .analog import LineTiming
from .echo import DEFAULTS, LIMITS

_TOP = {"seed", "realtime", "buffers", "line", "cable", "echo"}
_CABLE_KEYS = {
    "crossover": {"spans"}, "loopback": {"span"}, "network": {"span", "name"}, "pair": {"fxs", "fxo"},
    "pstn_line": {"channels", "name"}, "phone": {"channels", "name"},
}


@dataclass
class CableSpec:
    """One [[emulator.cable]] entry, with its index for error messages."""

    kind: str
    index: int
    args: dict = field(default_factory=dict)


@dataclass
class EchoSpec:
    """One [[emulator.echo]] entry: channels, erl, delay, dispersion, seed; index for error messages."""

    channels: list
    erl: float
    delay: float
    dispersion: float
    seed: int
    index: int


@dataclass
class EmulatorSettings:
    """Parsed [emulator] section."""

    seed: int = 0
    realtime: bool = False
    buffers: int = 4
    timing: LineTiming = field(default_factory=LineTiming)
    cables: list = field(default_factory=list)
    echoes: list = field(default_factory=list)


def parse_settings(config) -> EmulatorSettings:
    """Return the EmulatorSettings of a BoardConfig; ConfigError naming the line if wrong."""
    raw = config.emulator or {}
    err = config.error
    for k in raw:
        if k not in _TOP:
            raise err(f"unknown key {k!r} in [emulator]; allowed: {', '.join(sorted(_TOP))}", "emulator", k)

    def typed(table, key, types, default, *kp):
        v = table.get(key, default)
        if (isinstance(v, bool) and bool not in types) or not isinstance(v, types):
            raise err(f"{key} must be {'/'.join(t.__name__ for t in types)}, got {v!r}", *kp, key)
        return v

    out = EmulatorSettings(seed=typed(raw, "seed", (int,), 0, "emulator"),
                           realtime=typed(raw, "realtime", (bool,), False, "emulator"),
                           buffers=typed(raw, "buffers", (int,), 4, "emulator"))
    if not 1 <= out.buffers <= 64:
        raise err(f"buffers {out.buffers} out of range 1..64", "emulator", "buffers")
    line = raw.get("line", {})
    if not isinstance(line, dict):
        raise err("emulator.line must be a table", "emulator", "line")
    names = {f.name: f for f in fields(LineTiming)}
    kw = {}
    for k, v in line.items():
        if k not in names:
            raise err(f"unknown key {k!r} in [emulator.line]; allowed: {', '.join(names)}", "emulator", "line", k)
        want = (bool,) if names[k].type in ("bool", bool) else (int,)
        kw[k] = typed(line, k, want, None, "emulator", "line")
        if want == (int,) and kw[k] < 0:
            raise err(f"{k} must be >= 0 ms", "emulator", "line", k)
    out.timing = LineTiming(**kw)
    cables = raw.get("cable", [])
    if not isinstance(cables, list):
        raise err("use [[emulator.cable]] for cables", "emulator", "cable")
    for i, c in enumerate(cables):
        kp = ("emulator", "cable", i)
        if not isinstance(c, dict) or "kind" not in c:
            raise err("each [[emulator.cable]] needs kind", *kp)
        kind = c["kind"]
        if kind not in _CABLE_KEYS:
            raise err(f"unknown cable kind {kind!r}; known: {', '.join(_CABLE_KEYS)}", *kp, "kind")
        args = {}
        for k, v in c.items():
            if k == "kind":
                continue
            if k not in _CABLE_KEYS[kind]:
                raise err(f"unknown key {k!r} for a {kind} cable; allowed: {', '.join(sorted(_CABLE_KEYS[kind]))}",
                          *kp, k)
            if k == "name":
                args[k] = typed(c, k, (str,), None, *kp)
            elif k == "span":
                args[k] = typed(c, k, (int,), None, *kp)
            else:
                try:
                    args[k] = parse_channel_list(v, what=k)
                except ValueError as exc:
                    raise err(str(exc), *kp, k) from None
        missing = _CABLE_KEYS[kind] - set(args) - {"name"}
        if missing:
            raise err(f"a {kind} cable needs {', '.join(sorted(missing))}", *kp)
        if kind == "crossover" and len(args["spans"]) != 2:
            raise err("a crossover joins exactly two spans: spans = [A, B]", *kp, "spans")
        if kind == "pair" and len(args["fxs"]) != len(args["fxo"]):
            raise err("pair: fxs and fxo must list the same number of channels", *kp, "fxo")
        out.cables.append(CableSpec(kind, i, args))
    out.echoes = _parse_echoes(raw.get("echo", []), err, typed)
    return out


def _parse_echoes(entries, err, typed):
    """Return the EchoSpecs of the [[emulator.echo]] entries; ConfigError naming the entry and key if wrong."""
    if not isinstance(entries, list):
        raise err("use [[emulator.echo]] for hybrid echo", "emulator", "echo")
    out = []
    for i, e in enumerate(entries):
        kp = ("emulator", "echo", i)
        if not isinstance(e, dict) or "channels" not in e:
            raise err("each [[emulator.echo]] needs channels", *kp)
        for k in e:
            if k not in {"channels", *DEFAULTS}:
                raise err(f"unknown key {k!r} in [[emulator.echo]]; allowed: channels, {', '.join(DEFAULTS)}", *kp, k)
        try:
            channels = parse_channel_list(e["channels"], what="channels")
        except ValueError as exc:
            raise err(str(exc), *kp, "channels") from None
        values = {}
        for k, (lo, hi) in LIMITS.items():
            values[k] = float(typed(e, k, (int, float), DEFAULTS[k], *kp))
            if not lo <= values[k] <= hi:
                raise err(f"{k} {values[k]:g} out of range {lo:g}..{hi:g}", *kp, k)
        seed = typed(e, "seed", (int,), DEFAULTS["seed"], *kp)
        out.append(EchoSpec(channels, values["erl"], values["delay"], values["dispersion"], seed, i))
    return out
