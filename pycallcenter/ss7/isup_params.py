"""ISUP parameter bodies (Q.763 clause 3, T1.113 where it differs): code <-> name <-> construct body."""
from pycallcenter import causes
from pycallcenter.errors import DecodeError
from pycallcenter.isdn import ie as q931_ie
from pycallcenter.ss7.fields import Body, Fields, Raw, ShortBody

_ODD_NAI = [("nature_of_address", 7), ("odd", 1)]
# called-type numbers (INN indicator) and calling-type numbers (presentation/screening)
CALLED = Fields(_ODD_NAI + [("spare", 4), ("numbering_plan", 3), ("inn", 1)], tail="digits")
CALLING = Fields(_ODD_NAI + [("screening", 2), ("presentation", 2), ("numbering_plan", 3), ("number_incomplete", 1)],
                 tail="digits")
REDIRECTING = Fields(_ODD_NAI + [("screening", 2), ("presentation", 2), ("numbering_plan", 3), ("spare", 1)],
                     tail="digits")
LOCATION = Fields(_ODD_NAI + [("screening", 2), ("presentation", 2), ("numbering_plan", 3), ("inn", 1)],
                  tail="digits")
GENERIC_NUMBER = Fields([("qualifier", 8)] + _ODD_NAI +
                        [("screening", 2), ("presentation", 2), ("numbering_plan", 3), ("number_incomplete", 1)],
                        tail="digits")


def one_octet(name):
    """Return a body holding one 8-bit value under name."""
    return Fields([(name, 8)])


class Cause(Body):
    """Cause indicators (Q.850): location, coding standard, optional recommendation, value, diagnostics."""

    _octet1 = Fields([("location", 4), ("spare", 1), ("coding_standard", 2), ("spare_ext", 1)])

    def decode(self, data):
        if len(data) < 2:
            raise ShortBody(2)
        value = self._octet1.decode(data)
        pos = 1
        if not data[0] & 0x80:
            value["recommendation"] = data[1] & 0x7F
            pos = 2
            if len(data) < 3:
                raise ShortBody(3)
        value["cause"] = data[pos] & 0x7F
        value["diagnostics"] = bytes(data[pos + 1:])
        return value

    def encode(self, value):
        out = bytearray(self._octet1.encode(value))
        if "recommendation" in value:
            out.append(value["recommendation"] & 0x7F | 0x80)
        else:
            out[0] |= 0x80
        out.append(0x80 | (value.get("cause", causes.Cause.NORMAL_CALL_CLEARING) & 0x7F))
        return bytes(out) + bytes(value.get("diagnostics", b""))


class RangeStatus(Body):
    """Range and status: range (circuits after the CIC) and, where present, one status bit per circuit."""

    def decode(self, data):
        if len(data) < 1:
            raise ShortBody(1)
        value = {"range": data[0]}
        if len(data) > 1:
            bits = int.from_bytes(data[1:], "little")
            value["status"] = [(bits >> i) & 1 for i in range(data[0] + 1)]
        return value

    def encode(self, value):
        rng = value["range"]
        if not 0 <= rng <= 255:
            raise ValueError(f"range {rng} is not 0-255")
        status = value.get("status")
        if status is None:
            return bytes([rng])
        if len(status) != rng + 1:
            raise ValueError(f"status has {len(status)} bits, range {rng} needs {rng + 1}")
        bits = sum((1 << i) for i, s in enumerate(status) if s)
        return bytes([rng]) + bits.to_bytes((rng + 8) // 8, "little")


_INSTR = Fields([("transit", 1), ("release_call", 1), ("send_notification", 1), ("discard_message", 1),
                 ("discard_parameter", 1), ("pass_on_not_possible", 2), ("ext", 1)])
MESSAGE_COMPAT = Fields([("transit", 1), ("release_call", 1), ("send_notification", 1), ("discard_message", 1),
                         ("pass_on_not_possible", 1), ("broadband", 2), ("ext", 1)], tail="bytes")


class BearerCapability(Body):
    """User service information: a Q.931 bearer capability body ("data"), with the PRI stack's view ("ie")."""

    def decode(self, data):
        value = {"data": bytes(data)}
        view = _q931_view(0x04, value["data"])
        if view is not None:
            value["ie"] = view
        return value

    def encode(self, value):
        return bytes(value.get("data", b""))


class ParameterCompat(Body):
    """Parameter compatibility information: per named parameter code, its instruction indicators."""

    def decode(self, data):
        entries, pos = [], 0
        while pos < len(data):
            if pos + 2 > len(data):
                raise ShortBody(pos + 2)
            entry = {"code": data[pos]}
            entry.update(_INSTR.decode(data[pos + 1:pos + 2]))
            pos += 2
            while data[pos - 1] & 0x80 == 0 and pos < len(data):  # more instruction octets: skip
                pos += 1
            entries.append(entry)
        return {"entries": entries}

    def encode(self, value):
        out = b""
        for entry in value["entries"]:
            instr = dict(entry, ext=1)
            out += bytes([entry["code"]]) + _INSTR.encode(instr)
        return out


def _q931_view(ident, body):
    """Return the PRI stack's JSON view of a Q.931 IE (codeset 0), or None if its body does not parse."""
    try:
        name, fields = q931_ie.parse_body(0, ident, body, 0)
    except DecodeError:
        return None  # end-to-end content: a bad IE inside stays raw rather than failing the ISUP message
    return q931_ie.IE(0, ident, body, fields, name).view()


class InformationElements(Body):
    """Q.931 information elements in order (access transport): identifier and body, which rebuild the
    parameter, plus "ie", the PRI stack's decoded view of the element where it parses."""

    def decode(self, data):
        elements, pos = [], 0
        while pos < len(data):
            ident = data[pos]
            if ident & 0x80:  # single-octet IE
                elements.append({"id": ident, "body": b"", "ie": q931_ie.IE(0, ident).view()})
                pos += 1
                continue
            if pos + 2 > len(data) or pos + 2 + data[pos + 1] > len(data):
                raise ShortBody(pos + 2)
            body = bytes(data[pos + 2:pos + 2 + data[pos + 1]])
            element = {"id": ident, "body": body}
            view = _q931_view(ident, body)
            if view is not None:
                element["ie"] = view
            elements.append(element)
            pos += 2 + data[pos + 1]
        return {"elements": elements}

    def encode(self, value):
        out = bytearray()
        for element in value["elements"]:
            out.append(element["id"])
            if not element["id"] & 0x80:
                out.append(len(element["body"]))
                out += element["body"]
        return bytes(out)


# code: (name, body). Bodies shared by several parameters are the same object.
PARAMETERS = {
    0x01: ("call_reference", Raw()),
    0x02: ("transmission_medium_requirement", one_octet("medium")),
    0x03: ("access_transport", InformationElements()),
    0x04: ("called_party_number", CALLED),
    0x05: ("subsequent_number", Fields([("spare", 7), ("odd", 1)], tail="digits")),
    0x06: ("nature_of_connection_indicators",
           Fields([("satellite", 2), ("continuity_check", 2), ("echo_control_device", 1), ("spare", 3)])),
    0x07: ("forward_call_indicators",
           Fields([("national_international", 1), ("end_to_end_method", 2), ("interworking", 1),
                   ("end_to_end_information", 1), ("isup_indicator", 1), ("isup_preference", 2),
                   ("isdn_access", 1), ("sccp_method", 2), ("spare", 1), ("national_use", 4)])),
    0x08: ("optional_forward_call_indicators",
           Fields([("closed_user_group", 2), ("simple_segmentation", 1), ("spare", 4),
                   ("connected_line_identity_request", 1)])),
    0x09: ("calling_partys_category", one_octet("category")),
    0x0A: ("calling_party_number", CALLING),
    0x0B: ("redirecting_number", REDIRECTING),
    0x0C: ("redirection_number", CALLED),
    0x0E: ("information_request_indicators",
           Fields([("calling_party_address", 1), ("holding", 1), ("spare", 1), ("calling_partys_category", 1),
                   ("charge_information", 1), ("spare2", 2), ("malicious_call_identification", 1),
                   ("spare3", 4), ("national_use", 4)])),
    0x0F: ("information_indicators",
           Fields([("calling_party_address_response", 2), ("hold_provided", 1), ("spare", 2),
                   ("calling_partys_category_response", 1), ("charge_information_response", 1),
                   ("solicited_information", 1), ("spare2", 4), ("national_use", 4)])),
    0x10: ("continuity_indicators", Fields([("continuity", 1), ("spare", 7)])),
    0x11: ("backward_call_indicators",
           Fields([("charge", 2), ("called_party_status", 2), ("called_party_category", 2),
                   ("end_to_end_method", 2), ("interworking", 1), ("end_to_end_information", 1),
                   ("isup_indicator", 1), ("holding", 1), ("isdn_access", 1), ("echo_control_device", 1),
                   ("sccp_method", 2)])),
    0x12: ("cause_indicators", Cause()),
    0x13: ("redirection_information",
           Fields([("redirecting_indicator", 3), ("spare", 1), ("original_redirection_reason", 4),
                   ("redirection_counter", 3), ("spare2", 1), ("redirecting_reason", 4)])),
    0x15: ("circuit_group_supervision_message_type", Fields([("type", 2), ("spare", 6)])),
    0x16: ("range_and_status", RangeStatus()),
    0x18: ("facility_indicator", one_octet("facility")),
    0x1D: ("user_service_information", BearerCapability()),
    0x1E: ("signalling_point_code", Fields([("point_code", 14), ("spare", 2)])),
    0x20: ("user_to_user_information", Raw()),
    0x21: ("connected_number", REDIRECTING),
    0x22: ("suspend_resume_indicators", Fields([("initiated_by_network", 1), ("spare", 7)])),
    0x23: ("transit_network_selection", Raw()),
    0x24: ("event_information", Fields([("event", 7), ("presentation_restricted", 1)])),
    0x26: ("circuit_state_indicator", Raw()),
    0x27: ("automatic_congestion_level", one_octet("level")),
    0x28: ("original_called_number", REDIRECTING),
    0x29: ("optional_backward_call_indicators",
           Fields([("inband_information", 1), ("call_diversion_may_occur", 1), ("simple_segmentation", 1),
                   ("mlpp_user", 1), ("spare", 4)])),
    0x2A: ("user_to_user_indicators", Raw()),
    0x31: ("propagation_delay_counter", Fields([("delay_ms", 16)])),
    0x38: ("message_compatibility_information", MESSAGE_COMPAT),
    0x39: ("parameter_compatibility_information", ParameterCompat()),
    0x3F: ("location_number", LOCATION),
    0xC0: ("generic_number", GENERIC_NUMBER),
    0xC1: ("generic_digits", Raw()),
}
# T1.113 reuses 0xC0 for the generic address and adds its own codes; they stay raw unless named here
ANSI_PARAMETERS = dict(PARAMETERS)
ANSI_PARAMETERS.update({
    0xC0: ("generic_address", GENERIC_NUMBER),
    0xEA: ("originating_line_information", one_octet("ani2")),
    0xEB: ("charge_number", Fields(_ODD_NAI + [("spare", 4), ("numbering_plan", 3), ("spare2", 1)], tail="digits")),
})
CODES = {name: code for code, (name, _) in PARAMETERS.items()}
ANSI_CODES = {name: code for code, (name, _) in ANSI_PARAMETERS.items()}


def unknown_name(code):
    """Return the name under which an unrecognised parameter code is kept raw."""
    return f"unknown_0x{code:02x}"
