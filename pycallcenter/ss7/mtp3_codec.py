"""MTP3 codecs (Q.704, T1.111): service information octet, routing label, network management (SNM) and
signalling link test (SLTM/SLTA) messages."""
from pycallcenter.errors import DecodeError
from pycallcenter.ss7.fields import Fields, ShortBody

SIO = Fields([("si", 4), ("priority", 2), ("ni", 2)])
LABEL = {"itu": Fields([("dpc", 14), ("opc", 14), ("sls", 4)]),
         "ansi": Fields([("dpc", 24), ("opc", 24), ("sls", 8)])}
LABEL_SIZE = {"itu": 4, "ansi": 7}
SI_SNM, SI_TEST_ITU, SI_TEST_ANSI, SI_SCCP, SI_ISUP = 0, 1, 2, 3, 5
SERVICE = {0: "SNM", 1: "MTN", 2: "MTNS", 3: "SCCP", 4: "TUP", 5: "ISUP"}
HEADING = Fields([("h0", 4), ("h1", 4)])

# (h0, h1) -> name, separately for SNM and link test; bodies after the heading, per variant
SNM_MESSAGES = {(1, 1): "COO", (1, 2): "COA", (1, 5): "CBD", (1, 6): "CBA", (2, 1): "ECO", (2, 2): "ECA",
                (3, 1): "RCT", (3, 2): "TFC", (4, 1): "TFP", (4, 3): "TFR", (4, 5): "TFA", (5, 1): "RST",
                (5, 2): "RSR", (6, 1): "LIN", (6, 2): "LUN", (6, 3): "LIA", (6, 4): "LUA", (6, 5): "LID",
                (6, 6): "LFU", (6, 7): "LLT", (6, 8): "LRT", (7, 1): "TRA", (10, 1): "UPU"}
TEST_MESSAGES = {(1, 1): "SLTM", (1, 2): "SLTA"}
SNM_HEADING = {name: h for h, name in SNM_MESSAGES.items()}
TEST_HEADING = {name: h for h, name in TEST_MESSAGES.items()}
_DEST = {"itu": Fields([("destination", 14), ("spare", 2)]), "ansi": Fields([("destination", 24)])}
SNM_BODIES = {
    "itu": {"COO": Fields([("fsn", 7), ("spare", 1)]), "COA": Fields([("fsn", 7), ("spare", 1)]),
            "CBD": Fields([("changeback_code", 8)]), "CBA": Fields([("changeback_code", 8)]),
            "TFP": _DEST["itu"], "TFR": _DEST["itu"], "TFA": _DEST["itu"], "RST": _DEST["itu"],
            "RSR": _DEST["itu"], "TFC": Fields([("destination", 14), ("congestion", 2)])},
    "ansi": {"COO": Fields([("slc", 4), ("fsn", 7), ("spare", 5)]), "COA": Fields([("slc", 4), ("fsn", 7), ("spare", 5)]),
             "CBD": Fields([("slc", 4), ("changeback_code", 8), ("spare", 4)]),
             "CBA": Fields([("slc", 4), ("changeback_code", 8), ("spare", 4)]),
             "TFP": _DEST["ansi"], "TFR": _DEST["ansi"], "TFA": _DEST["ansi"], "RST": _DEST["ansi"],
             "RSR": _DEST["ansi"], "TFC": Fields([("destination", 24), ("congestion", 2), ("spare", 6)])},
}
# link inhibiting: ITU names the link in the label's SLS only; ANSI also in the body
for _name in ("LIN", "LUN", "LIA", "LUA", "LID", "LFU", "LLT", "LRT"):
    SNM_BODIES["ansi"][_name] = Fields([("slc", 4), ("spare", 4)])
# SLTM/SLTA: ITU puts the SLC in the label's SLS; ANSI also in the low nibble here
TEST_BODY = {"itu": Fields([("spare", 4), ("length", 4)], tail="bytes"),
             "ansi": Fields([("slc", 4), ("length", 4)], tail="bytes")}


def label_tuple(msu, variant="itu"):
    """Return (si, ni, dpc, opc, sls) of an MSU, or None if it is too short: the hot-path twin of decode_msu."""
    if variant == "itu":
        if len(msu) < 5:
            return None
        v = int.from_bytes(msu[1:5], "little")
        return msu[0] & 0x0F, msu[0] >> 6, v & 0x3FFF, (v >> 14) & 0x3FFF, v >> 28
    if len(msu) < 8:
        return None
    return (msu[0] & 0x0F, msu[0] >> 6, int.from_bytes(msu[1:4], "little"), int.from_bytes(msu[4:7], "little"),
            msu[7])


def decode_msu(msu, variant="itu"):
    """Return (sio+label dict, user part octets after the label); raises DecodeError."""
    size = LABEL_SIZE[variant]
    if len(msu) < 1 + size:
        raise DecodeError(f"{len(msu)} octets, an MSU needs SIO and a {size}-octet label", element="MTP3 routing label",
                          offset=min(len(msu), 1))
    head = SIO.decode(msu)
    head.update(LABEL[variant].decode(msu[1:1 + size]))
    return head, msu[1 + size:]


def encode_msu(si, ni, dpc, opc, sls, user, variant="itu", priority=0):
    """Return an MSU (SIO, routing label, user part octets)."""
    return (SIO.encode({"si": si, "ni": ni, "priority": priority})
            + LABEL[variant].encode({"dpc": dpc, "opc": opc, "sls": sls}) + user)


def decode_management(si, data, variant="itu"):
    """Return {"message_type": ..., body fields} for an SNM (si 0) or link test (si 1/2) message."""
    if not data:
        raise DecodeError("no heading octet", element="MTP3 heading", offset=0)
    heading = HEADING.decode(data)
    key = (heading["h0"], heading["h1"])
    if si == SI_SNM:
        name = SNM_MESSAGES.get(key)
        body = SNM_BODIES[variant].get(name)
    else:
        name = TEST_MESSAGES.get(key)
        body = TEST_BODY[variant] if name else None
    out = {"message_type": name or f"unknown_h0_{key[0]}_h1_{key[1]}"}
    if body is not None:
        try:
            out.update(body.decode(data[1:]))
        except ShortBody as exc:
            raise DecodeError(f"needs {exc.args[0]} octets after the heading", element=name, offset=1) from None
    elif name is None:
        out["data"] = bytes(data[1:])
    if name in TEST_HEADING and len(out["data"]) != out["length"]:
        raise DecodeError(f"length {out['length']} but {len(out['data'])} octets of pattern", element=name, offset=1)
    return out


def encode_management(name, variant="itu", **fields):
    """Return the octets (heading onward) of an SNM or link test message."""
    if name in TEST_HEADING:
        h0, h1 = TEST_HEADING[name]
        pattern = bytes(fields.get("data", b""))
        body = TEST_BODY[variant].encode(dict(fields, length=len(pattern), data=pattern))
    else:
        h0, h1 = SNM_HEADING[name]
        codec = SNM_BODIES[variant].get(name)
        body = codec.encode(fields) if codec else b""
    return bytes([h0 | h1 << 4]) + body
