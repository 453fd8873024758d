"""MTP2 signal units (Q.703 clause 2): FISU, LSSU and MSU headers, without flags and FCS."""
from pycallcenter.errors import DecodeError
from pycallcenter.ss7.fields import Fields

HEADER = Fields([("bsn", 7), ("bib", 1), ("fsn", 7), ("fib", 1), ("li", 6), ("spare", 2)])
LSSU_STATUS = {0: "SIO", 1: "SIN", 2: "SIE", 3: "SIOS", 4: "SIPO", 5: "SIB"}
STATUS_CODE = {name: code for code, name in LSSU_STATUS.items()}
MAX_SIF = 272


def su_type(li):
    """Return "FISU", "LSSU" or "MSU" for a length indicator."""
    return "FISU" if li == 0 else "LSSU" if li < 3 else "MSU"


def decode_su(data):
    """Return (header dict with "type" and, for an LSSU, "status"; payload: the MSU from the SIO or b"")."""
    if len(data) < 3:
        raise DecodeError(f"{len(data)} octets, a signal unit has at least 3", element="MTP2 header", offset=0)
    head = HEADER.decode(data)
    li = head["li"]
    rest = len(data) - 3
    # LI is 63 for any MSU of 62 octets or more (Q.703 2.3.3)
    if (li < 63 and rest != li) or (li == 63 and rest < 63):
        raise DecodeError(f"length indicator {li} but {rest} octets follow", element="MTP2 length indicator",
                          offset=2)
    if rest > MAX_SIF + 1 + 1:  # SIF plus SIO; some links carry up to 273+1 octets
        raise DecodeError(f"{rest} octets exceed the MTP2 maximum", element="MTP2 signal unit", offset=3)
    kind = su_type(li)
    head["type"] = kind
    if kind == "LSSU":
        head["status"] = LSSU_STATUS.get(data[3] & 0x07, f"unknown_{data[3] & 0x07}")
        return head, b""
    return head, bytes(data[3:]) if kind == "MSU" else b""


def encode_su(bsn, bib, fsn, fib, payload=b"", status=None):
    """Return a signal unit: an LSSU if status is given, an MSU if payload is, else a FISU."""
    if status is not None:
        payload = bytes([STATUS_CODE[status]])
    li = min(len(payload), 63)
    return HEADER.encode({"bsn": bsn, "bib": bib, "fsn": fsn, "fib": fib, "li": li}) + payload
