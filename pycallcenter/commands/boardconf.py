"""``pycallcenter boardconf``: convert DAHDI system.conf to board TOML, check a config, export system.conf."""
import sys

# Imports inside functions are deliberate: the CLI imports every command module; each loads its work when run.


def register(subparsers):
    """Add the boardconf command and its convert/check/export actions."""
    parser = subparsers.add_parser("boardconf", help="convert and check board configuration files",
                                   description=__doc__.split(": ", 1)[1])
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    conv = actions.add_parser("convert", help="convert a DAHDI system.conf into board TOML")
    conv.add_argument("system_conf", help="path of system.conf (e.g. /etc/dahdi/system.conf)")
    conv.add_argument("-o", "--output", help="write the TOML here (default: standard output)")
    check = actions.add_parser("check", help="check a board TOML (or system.conf) and summarise it")
    check.add_argument("file")
    export = actions.add_parser("export", help="write the system.conf equivalent of a board TOML")
    export.add_argument("file")
    export.add_argument("-o", "--output", help="write here (default: standard output)")
    parser.set_defaults(func=run)


def _load(path):
    from pycallcenter.drivers.config import load_config, read_config_text
    from pycallcenter.drivers.sysconf import parse_system_conf

    if path.endswith(".toml"):
        return load_config(path)
    return parse_system_conf(read_config_text(path), path)


def _write(text, output):
    if output:
        with open(output, "w", encoding="utf-8") as f:
            f.write(text)
    else:
        sys.stdout.write(text)


def _summary(config):
    from collections import Counter

    lines = [f"{config.path}: OK: {len(config.spans)} spans, blocksize {config.blocksize}, "
             f"law {config.law.value}, tone zone {config.default_tonezone}"]
    for s in config.spans:
        sigs = Counter(config.channels[n].signalling.value for n in s.channel_numbers)
        detail = ", ".join(f"{k} x{v}" for k, v in sorted(sigs.items()))
        framing = f" {s.framing.value}/{s.coding.value}{'/crc4' if s.crc4 else ''}" if s.kind.digital else ""
        lines.append(f"  span {s.number}: {s.kind.value}{framing} channels {s.first_channel}-"
                     f"{s.first_channel + s.channels - 1}: {detail}")
    return "\n".join(lines) + "\n"


def run(args):
    """Run one boardconf action; return the exit status."""
    from pycallcenter.drivers.config import read_config_text
    from pycallcenter.drivers.sysconf import parse_system_conf, to_system_conf, to_toml

    if args.action == "convert":
        config = parse_system_conf(read_config_text(args.system_conf), args.system_conf)
        _write(to_toml(config, comment=f"converted from {args.system_conf} by pycallcenter boardconf"), args.output)
    elif args.action == "check":
        config = _load(args.file)
        if config.emulator:
            from pycallcenter.drivers.emulator import Emulator

            Emulator(config)  # builds the cabling, so a bad cable is reported with its line
        sys.stdout.write(_summary(config))
    else:
        _write(to_system_conf(_load(args.file)), args.output)
    return 0
