"""`pycallcenter decode`: print signalling messages (hex or a pcap file) as JSON, one object per message."""
import importlib
import json
import sys

from pycallcenter.errors import DecodeError
from pycallcenter.trace import pcap

# proto name -> module whose decode_frame(proto, data[, variant]) returns {"layer": {...}, ...}
PROTOCOLS = {
    "lapd": "pycallcenter.isdn.trace",
    "q931": "pycallcenter.isdn.trace",
    "mtp2": "pycallcenter.ss7.trace",
    "mtp3": "pycallcenter.ss7.trace",
    "isup": "pycallcenter.ss7.trace",
}
SS7_PROTOCOLS = {"mtp2", "mtp3", "isup"}
# pcap link type -> (proto, bytes of pseudo-header to strip)
LINKTYPES = {
    pcap.LINKTYPE_LAPD: ("lapd", 0),
    pcap.LINKTYPE_LINUX_LAPD: ("lapd", 16),
    pcap.LINKTYPE_MTP2: ("mtp2", 0),
    pcap.LINKTYPE_MTP2_WITH_PHDR: ("mtp2", 4),
    pcap.LINKTYPE_MTP3: ("mtp3", 0),
}


def register(subparsers):
    p = subparsers.add_parser("decode", help="decode LAPD/Q.931 or MTP2/MTP3/ISUP messages to JSON lines")
    p.add_argument("hex", nargs="?", help="one message as hex (spaces and colons allowed)")
    p.add_argument("--proto", choices=sorted(PROTOCOLS), help="layer the hex starts at")
    p.add_argument("--pcap", metavar="FILE", help="decode every frame of a pcap/pcapng file (link types 203, 177, 139, 140, 141)")
    p.add_argument("--variant", choices=["itu", "ansi"], default="itu", help="SS7 variant (point code size, ISUP)")
    p.set_defaults(func=run)


def decode(proto, data, variant="itu"):
    """Return the JSON-able layers of one message; raises DecodeError."""
    module = importlib.import_module(PROTOCOLS[proto])
    if proto in SS7_PROTOCOLS:
        return module.decode_frame(proto, data, variant=variant)
    return module.decode_frame(proto, data)


def _parse_hex(text):
    cleaned = "".join(text.replace(":", " ").replace("-", " ").split())
    if cleaned.lower().startswith("0x"):
        cleaned = cleaned[2:]
    try:
        return bytes.fromhex(cleaned)
    except ValueError:
        bad = next((i for i, ch in enumerate(cleaned) if ch not in "0123456789abcdefABCDEF"), len(cleaned))
        raise DecodeError("not hexadecimal" if bad < len(cleaned) else "odd number of hex digits",
                          element="hex input", offset=bad // 2) from None


def run(args):
    try:
        return _run(args)
    except BrokenPipeError:  # `pycallcenter decode --pcap F | head`: the reader left, nothing is wrong
        sys.stderr.close()
        return 0


def _run(args):
    if bool(args.hex) == bool(args.pcap):
        print("pycallcenter decode: give either HEX (with --proto) or --pcap FILE", file=sys.stderr)
        return 2
    if args.hex:
        if not args.proto:
            print("pycallcenter decode: --proto is required with HEX", file=sys.stderr)
            return 2
        try:
            print(json.dumps(decode(args.proto, _parse_hex(args.hex), args.variant)))
        except DecodeError as exc:
            print(f"pycallcenter decode: error: {exc}", file=sys.stderr)
            return 1
        return 0
    failures = 0
    for number, packet in enumerate(pcap.read_packets(args.pcap), start=1):
        if packet.linktype not in LINKTYPES:
            print(f"pycallcenter decode: frame {number}: link type {packet.linktype} is not supported", file=sys.stderr)
            failures += 1
            continue
        proto, strip = LINKTYPES[packet.linktype]
        try:
            print(json.dumps(decode(proto, packet.data[strip:], args.variant)))
        except DecodeError as exc:
            print(f"pycallcenter decode: frame {number}: error: {exc}", file=sys.stderr)
            failures += 1
    return 1 if failures else 0
