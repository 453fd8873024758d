"""SS7 trace support: decode one frame to JSON-able layers, one-line log text, pcap link types."""
from pycallcenter.errors import DecodeError
from pycallcenter.ss7 import mtp3_codec as M
from pycallcenter.ss7.isup_codec import decode_isup
from pycallcenter.ss7.su import decode_su

LINKTYPE_MTP2 = 140
LINKTYPE_MTP3 = 141


def _jsonable(value):
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value).hex()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def isup_layer(msg):
    """Return the JSON-able dict of an IsupMessage."""
    out = {"cic": msg.cic, "message_type": msg.type,
           "parameters": [dict(name=name, **_jsonable(value)) for name, value in msg.params.items()]}
    if msg.raw is not None:
        out["raw"] = msg.raw.hex()
    return out


def decode_frame(proto, data: bytes, variant="itu") -> dict:
    """Return {"mtp2": .., "mtp3": .., "isup"/"mtp3mg"/service: ..} for the layers present in data."""
    if proto not in ("mtp2", "mtp3", "isup"):
        raise ValueError(f"proto must be mtp2, mtp3 or isup, not {proto!r}")
    if variant not in M.LABEL:
        raise ValueError(f"variant must be 'itu' or 'ansi', not {variant!r}")
    data = bytes(data)
    out = {}
    if proto == "isup":
        out["isup"] = isup_layer(decode_isup(data, variant))
        return out
    if proto == "mtp2":
        head, data = decode_su(data)
        out["mtp2"] = head
        if head["type"] != "MSU":
            return out
        base = 3
    else:
        base = 0
    label, user = M.decode_msu(data, variant)
    label["service"] = M.SERVICE.get(label["si"], f"si_{label['si']}")
    out["mtp3"] = label
    user_offset = base + 1 + M.LABEL_SIZE[variant]
    try:
        if label["si"] == M.SI_ISUP:
            out["isup"] = isup_layer(decode_isup(user, variant))
        elif label["si"] in (M.SI_SNM, M.SI_TEST_ITU, M.SI_TEST_ANSI):
            out["mtp3mg"] = _jsonable(M.decode_management(label["si"], user, variant))
        else:
            out[label["service"].lower()] = {"data": user.hex()}
    except DecodeError as exc:  # report offsets from the start of what the caller gave us
        raise DecodeError(str(exc).split(": ", 1)[-1], element=exc.element,
                          offset=None if exc.offset is None else exc.offset + user_offset) from None
    return out


def log_line(layers):
    """Return one line of text summarising decode_frame's result."""
    parts = []
    if "mtp2" in layers:
        h = layers["mtp2"]
        parts.append(f"{h.get('status', h['type'])} bsn={h['bib']}/{h['bsn']} fsn={h['fib']}/{h['fsn']}")
    if "mtp3" in layers:
        m = layers["mtp3"]
        parts.append(f"{m['opc']}->{m['dpc']} sls={m['sls']} {m['service']}")
    if "mtp3mg" in layers:
        parts.append(layers["mtp3mg"]["message_type"])
    if "isup" in layers:
        i = layers["isup"]
        extra = []
        for p in i["parameters"]:
            if "digits" in p:
                extra.append(f"{p['name'].split('_')[0]}={p['digits']}")
            elif p["name"] == "cause_indicators":
                extra.append(f"cause={p['cause']}")
        parts.append(" ".join([f"{i['message_type']} cic={i['cic']}"] + extra))
    return " | ".join(parts)
