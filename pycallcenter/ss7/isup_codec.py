"""ISUP message codec (Q.763, T1.113): hand-written fixed/variable/optional parameter loop over the
compiled parameter bodies of isup_params. Unknown parameters (and message types) are kept raw."""
from pycallcenter.errors import DecodeError
from pycallcenter.ss7 import isup_params as P
from pycallcenter.ss7.fields import ShortBody

_IAM_F = ("nature_of_connection_indicators", "forward_call_indicators", "calling_partys_category",
          "transmission_medium_requirement")
_CGS = ("circuit_group_supervision_message_type",)
_RS = ("range_and_status",)
# name: (code, mandatory fixed, mandatory variable, optional part present)
MESSAGES = {
    "IAM": (0x01, _IAM_F, ("called_party_number",), True),
    "SAM": (0x02, (), ("subsequent_number",), True),
    "INR": (0x03, ("information_request_indicators",), (), True),
    "INF": (0x04, ("information_indicators",), (), True),
    "COT": (0x05, ("continuity_indicators",), (), False),
    "ACM": (0x06, ("backward_call_indicators",), (), True),
    "CON": (0x07, ("backward_call_indicators",), (), True),
    "FOT": (0x08, (), (), True),
    "ANM": (0x09, (), (), True),
    "REL": (0x0C, (), ("cause_indicators",), True),
    "SUS": (0x0D, ("suspend_resume_indicators",), (), True),
    "RES": (0x0E, ("suspend_resume_indicators",), (), True),
    "RLC": (0x10, (), (), True),
    "CCR": (0x11, (), (), False),
    "RSC": (0x12, (), (), False),
    "BLO": (0x13, (), (), False),
    "UBL": (0x14, (), (), False),
    "BLA": (0x15, (), (), False),
    "UBA": (0x16, (), (), False),
    "GRS": (0x17, (), _RS, False),
    "CGB": (0x18, _CGS, _RS, False),
    "CGU": (0x19, _CGS, _RS, False),
    "CGBA": (0x1A, _CGS, _RS, False),
    "CGUA": (0x1B, _CGS, _RS, False),
    "LPA": (0x24, (), (), False),
    "GRA": (0x29, (), _RS, False),
    "CQM": (0x2A, (), _RS, False),
    "CQR": (0x2B, (), _RS + ("circuit_state_indicator",), False),
    "CPG": (0x2C, ("event_information",), (), True),
    "USR": (0x2D, (), ("user_to_user_information",), True),
    "UCIC": (0x2E, (), (), False),
    "CFN": (0x2F, (), ("cause_indicators",), True),
    "FAC": (0x33, (), (), True),
}
ANSI_MESSAGES = dict(MESSAGES)
ANSI_MESSAGES["IAM"] = (0x01, _IAM_F[:3], ("user_service_information", "called_party_number"), True)
ANSI_MESSAGES["RLC"] = (0x10, (), (), False)  # T1.113 RLC has no optional part (libss7 ANSI agrees)
FIXED_LENGTH = {
    "nature_of_connection_indicators": 1, "forward_call_indicators": 2, "calling_partys_category": 1,
    "transmission_medium_requirement": 1, "information_request_indicators": 2, "information_indicators": 2,
    "continuity_indicators": 1, "backward_call_indicators": 2, "suspend_resume_indicators": 1,
    "circuit_group_supervision_message_type": 1, "event_information": 1,
}
CIC_MASK = {"itu": 0x0FFF, "ansi": 0x3FFF}


def _tables(messages, params):
    """Return (decode table by code, encode table by name) with each message's parameter bodies resolved."""
    by_code, by_name = {}, {}
    codes = {name: code for code, (name, _) in params.items()}
    for name, (code, fixed, var, opt) in messages.items():
        fixed_bodies = tuple((p, params[codes[p]][1], FIXED_LENGTH[p]) for p in fixed)
        var_bodies = tuple((p, params[codes[p]][1]) for p in var)
        by_code[code] = (name, fixed_bodies, var_bodies, opt)
        by_name[name] = (code, fixed_bodies, var_bodies, opt, frozenset(fixed) | frozenset(var))
    return by_code, by_name


_VARIANTS = {
    "itu": _tables(MESSAGES, P.PARAMETERS) + (P.PARAMETERS, P.CODES),
    "ansi": _tables(ANSI_MESSAGES, P.ANSI_PARAMETERS) + (P.ANSI_PARAMETERS, P.ANSI_CODES),
}


class IsupMessage:
    """One ISUP message: type name ("IAM"), CIC, parameters by name in wire order (values are dicts)."""

    __slots__ = ("type", "cic", "params", "raw", "has_unknown")

    def __init__(self, type, cic, params=None, raw=None, has_unknown=False):
        self.type = type
        self.cic = cic
        self.params = {} if params is None else params
        self.raw = raw  # body after the message type, for unrecognised message types only
        self.has_unknown = has_unknown  # decode found parameters it does not know (kept raw)

    def __eq__(self, other):
        return (isinstance(other, IsupMessage) and self.type == other.type and self.cic == other.cic
                and self.params == other.params and self.raw == other.raw)

    def __repr__(self):
        return f"IsupMessage({self.type!r}, cic={self.cic}, params={self.params!r})"


def _variant(variant):
    try:
        return _VARIANTS[variant]
    except KeyError:
        raise ValueError(f"variant must be 'itu' or 'ansi', not {variant!r}") from None


def _body(name, body, data, offset):
    try:
        return body.decode(data)
    except ShortBody as exc:
        raise DecodeError(f"{len(data)} octets, needs at least {exc.args[0]}", element=name, offset=offset) from None
    except (ValueError, IndexError) as exc:
        raise DecodeError(str(exc), element=name, offset=offset) from None


def _optional(data, pos, params, table, into):
    """Decode the optional part starting at pos into the dict ``into``; returns True if a parameter was unknown."""
    unknown = False
    end = len(data)
    while True:
        if pos >= end:
            raise DecodeError("optional part has no end-of-optional-parameters octet", element="optional part",
                              offset=pos)
        code = data[pos]
        if code == 0:
            return unknown
        if pos + 2 > end or pos + 2 + data[pos + 1] > end:
            name = table[code][0] if code in table else P.unknown_name(code)
            raise DecodeError("parameter runs past the end of the message", element=name, offset=pos)
        length = data[pos + 1]
        entry = table.get(code)
        if entry is None:
            into[P.unknown_name(code)] = {"data": bytes(data[pos + 2:pos + 2 + length])}
            unknown = True
        else:
            into[entry[0]] = _body(entry[0], entry[1], data[pos + 2:pos + 2 + length], pos)
        pos += 2 + length


def decode_isup(data, variant="itu"):
    """Return the IsupMessage in data (CIC onward); raises DecodeError naming the parameter and offset."""
    by_code, _, params_table, _ = _variant(variant)
    if len(data) < 3:
        raise DecodeError("shorter than CIC and message type", element="ISUP header", offset=len(data))
    cic = (data[0] | data[1] << 8) & CIC_MASK[variant]
    spec = by_code.get(data[2])
    if spec is None:
        return _decode_unknown(data, cic, params_table)
    name, fixed, var, opt = spec
    params = {}
    pos = 3
    end = len(data)
    pname = None
    # one try around the whole loop (not per body): the error names whichever parameter was being read
    try:
        for pname, body, length in fixed:
            if pos + length > end:
                raise DecodeError(f"message ends inside this {length}-octet parameter", element=pname, offset=pos)
            params[pname] = body.decode(data[pos:pos + length])
            pos += length
        if opt and pos + len(var) == end:
            opt = False  # tolerate peers (and older versions) that leave out an empty optional part's pointer
        if pos + len(var) + opt > end:
            raise DecodeError("message ends inside the pointers", element="pointer", offset=pos)
        for i, (pname, body) in enumerate(var):
            ptr = pos + i
            start = ptr + data[ptr]
            if data[ptr] == 0 or start >= end or start + 1 + data[start] > end:
                raise DecodeError("pointer or length points past the end of the message", element=pname,
                                  offset=ptr)
            pos_err = start
            params[pname] = body.decode(data[start + 1:start + 1 + data[start]])
        pname = None
    except (ShortBody, ValueError, IndexError) as exc:
        if isinstance(exc, DecodeError):
            raise
        where = pos_err if pname in dict(var) else pos
        text = f"needs at least {exc.args[0]} octets" if isinstance(exc, ShortBody) else str(exc)
        raise DecodeError(text, element=pname, offset=where) from None
    unknown = False
    if opt:
        ptr = pos + len(var)
        if data[ptr]:
            if ptr + data[ptr] > end:  # name the pointer itself: the offset it points at is outside the message
                raise DecodeError(f"pointer {data[ptr]} points past the end of the {end}-octet message",
                                  element="optional part pointer", offset=ptr)
            unknown = _optional(data, ptr + data[ptr], params, params_table, params)
    return IsupMessage(name, cic, params, None, unknown)


def _decode_unknown(data, cic, params_table):
    """An unrecognised message type: Q.763 gives new messages an optional part only; read it if it parses."""
    params = {}
    if len(data) > 3 and data[3]:
        try:
            _optional(data, 3 + data[3], params, params_table, params)
        except DecodeError:
            params = {}
    return IsupMessage(f"unknown_0x{data[2]:02x}", cic, params, raw=bytes(data[3:]))


def encode_isup(msg, variant="itu"):
    """Return the octets (CIC onward) of an IsupMessage; raises ValueError if a mandatory parameter is missing."""
    _, by_name, params_table, codes = _variant(variant)
    cic = msg.cic
    if not 0 <= cic <= CIC_MASK[variant]:
        raise ValueError(f"CIC {cic} out of range for {variant}")
    if msg.type.startswith("unknown_0x"):
        return bytes([cic & 0xFF, cic >> 8, int(msg.type[10:], 16)]) + (msg.raw or b"")
    try:
        code, fixed, var, opt, mandatory = by_name[msg.type]
    except KeyError:
        raise ValueError(f"unknown ISUP message type {msg.type!r}") from None
    params = msg.params
    if not params and not fixed and not var:
        return bytes((cic & 0xFF, cic >> 8, code, 0)) if opt else bytes((cic & 0xFF, cic >> 8, code))
    try:
        out = [bytes((cic & 0xFF, cic >> 8, code))]
        for pname, body, length in fixed:
            data = body.encode(params[pname])
            if len(data) != length:
                raise ValueError(f"{pname} must be {length} octets")
            out.append(data)
        var_bodies = [body.encode(params[pname]) for pname, body in var]
    except KeyError as exc:
        raise ValueError(f"mandatory parameter {exc.args[0]} of {msg.type} is missing") from None
    optional = []
    if opt:
        for pname, value in params.items():
            if pname in mandatory:
                continue
            if pname.startswith("unknown_0x"):
                pcode, data = int(pname[10:], 16), bytes(value["data"])
            else:
                pcode = codes.get(pname)
                if pcode is None:
                    raise ValueError(f"unknown ISUP parameter {pname!r}")
                data = params_table[pcode][1].encode(value)
            if len(data) > 255:
                raise ValueError(f"{pname} is longer than 255 octets")
            optional.append(bytes((pcode, len(data))))
            optional.append(data)
        if optional:
            optional.append(b"\x00")
    nptr = len(var) + opt
    pointers = bytearray()
    offset = nptr
    for i, data in enumerate(var_bodies):
        if len(data) > 255:
            raise ValueError(f"{var[i][0]} is longer than 255 octets")
        pointers.append(offset - i)
        offset += 1 + len(data)
    if opt:
        pointers.append(offset - len(var) if optional else 0)
    if any(p > 255 for p in pointers):
        raise ValueError("mandatory variable part too long for 8-bit pointers")
    out.append(bytes(pointers))
    for data in var_bodies:
        out.append(bytes((len(data),)))
        out.append(data)
    return b"".join(out + optional)


def message_code(name, variant="itu"):
    """Return the message type code of a message name."""
    return _variant(variant)[1][name][0]
