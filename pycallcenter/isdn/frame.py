"""Q.921 LAPD frame codec: address (SAPI, C/R, TEI), control field (I, S and U formats) and information."""
from pycallcenter.errors import DecodeError

SAPI_CALL_CONTROL = 0
SAPI_TEI_MANAGEMENT = 63

# unnumbered control octets with the P/F bit (0x10) cleared
U_FORMATS = {0x6F: "SABME", 0x0F: "DM", 0x03: "UI", 0x43: "DISC", 0x63: "UA", 0x87: "FRMR", 0xAF: "XID"}
U_CODES = {name: code for code, name in U_FORMATS.items()}
S_FORMATS = {0x01: "RR", 0x05: "RNR", 0x09: "REJ"}
S_CODES = {name: code for code, name in S_FORMATS.items()}


class Frame:
    """One LAPD frame; ns/nr are None where the format has none."""

    __slots__ = ("sapi", "cr", "tei", "kind", "pf", "ns", "nr", "info")

    def __init__(self, kind, sapi=0, tei=0, cr=0, pf=0, ns=None, nr=None, info=b""):
        self.kind = kind
        self.sapi = sapi
        self.tei = tei
        self.cr = cr
        self.pf = pf
        self.ns = ns
        self.nr = nr
        self.info = info

    def encode(self):
        """Return the frame's bytes from the address field (no FCS)."""
        addr = bytes(((self.sapi << 2) | (self.cr << 1), (self.tei << 1) | 1))
        kind = self.kind
        if kind == "I":
            return addr + bytes((self.ns << 1, (self.nr << 1) | self.pf)) + self.info
        if kind in S_CODES:
            return addr + bytes((S_CODES[kind], (self.nr << 1) | self.pf))
        return addr + bytes((U_CODES[kind] | (0x10 if self.pf else 0),)) + self.info

    def view(self):
        """Return a JSON-able dict of the frame's fields."""
        out = {"sapi": self.sapi, "cr": self.cr, "tei": self.tei, "frame_type": self.kind, "pf": self.pf}
        if self.ns is not None:
            out["ns"] = self.ns
        if self.nr is not None:
            out["nr"] = self.nr
        if self.info:
            out["info_length"] = len(self.info)
        return out

    def __repr__(self):
        extra = "".join(f" {k}={getattr(self, k)}" for k in ("ns", "nr") if getattr(self, k) is not None)
        return f"<{self.kind} sapi={self.sapi} tei={self.tei} cr={self.cr} pf={self.pf}{extra} +{len(self.info)}>"


def decode(data):
    """Return the Frame in data (address field first, FCS removed); raises DecodeError."""
    data = bytes(data)
    n = len(data)
    if n < 3:
        raise DecodeError(f"frame of {n} bytes is shorter than address + control", element="lapd", offset=0)
    a0, a1 = data[0], data[1]
    if a0 & 1 or not a1 & 1:
        raise DecodeError("address field extension bits are wrong (need EA0=0, EA1=1)", element="lapd_address",
                          offset=0 if a0 & 1 else 1)
    sapi, cr, tei = a0 >> 2, (a0 >> 1) & 1, a1 >> 1
    c = data[2]
    if not c & 1:
        if n < 4:
            raise DecodeError("I frame ends inside its control field", element="lapd_control", offset=2)
        return Frame("I", sapi, tei, cr, data[3] & 1, c >> 1, data[3] >> 1, data[4:])
    if c & 3 == 1:
        kind = S_FORMATS.get(c)
        if kind is None:
            raise DecodeError(f"unknown supervisory control 0x{c:02x}", element="lapd_control", offset=2)
        if n != 4:
            raise DecodeError(f"{kind} frame must be 4 bytes, got {n}", element="lapd_control", offset=min(n, 4))
        return Frame(kind, sapi, tei, cr, data[3] & 1, None, data[3] >> 1)
    kind = U_FORMATS.get(c & ~0x10)
    if kind is None:
        raise DecodeError(f"unknown unnumbered control 0x{c:02x}", element="lapd_control", offset=2)
    if n > 3 and kind not in ("UI", "FRMR", "XID"):
        raise DecodeError(f"{kind} frame carries {n - 3} unexpected information bytes", element="lapd_control", offset=3)
    return Frame(kind, sapi, tei, cr, (c >> 4) & 1, None, None, data[3:])
