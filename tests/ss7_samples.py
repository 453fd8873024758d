"""One ISUP message of every type we build, with realistic parameters (shared by the SS7 tests)."""
from pycallcenter.ss7.isup_codec import IsupMessage

NCI = {"satellite": 0, "continuity_check": 0, "echo_control_device": 1}
FCI = {"national_international": 0, "end_to_end_method": 0, "interworking": 0, "end_to_end_information": 0,
       "isup_indicator": 1, "isup_preference": 1, "isdn_access": 1, "sccp_method": 0}
BCI = {"charge": 2, "called_party_status": 1, "called_party_category": 1, "end_to_end_method": 0,
       "isup_indicator": 1, "isdn_access": 1}
CALLED = {"nature_of_address": 3, "numbering_plan": 1, "inn": 0, "digits": "5551234"}
CALLING = {"nature_of_address": 3, "numbering_plan": 1, "presentation": 0, "screening": 3, "digits": "2025550100"}
CAUSE = {"location": 2, "coding_standard": 0, "cause": 16}


def iam(cic=1, called="5551234", calling="2025550100", variant="itu"):
    """Return an IAM with the parameters the issue lists."""
    params = {"nature_of_connection_indicators": NCI, "forward_call_indicators": FCI,
              "calling_partys_category": {"category": 10}}
    if variant == "itu":
        params["transmission_medium_requirement"] = {"medium": 3}
    else:
        params["user_service_information"] = {"data": bytes.fromhex("8090a2")}
    params["called_party_number"] = dict(CALLED, digits=called)
    params["calling_party_number"] = dict(CALLING, digits=calling)
    params.update({
        "redirecting_number": {"nature_of_address": 3, "numbering_plan": 1, "presentation": 0, "screening": 0,
                               "digits": "5550000"},
        "redirection_information": {"redirecting_indicator": 3, "original_redirection_reason": 1,
                                    "redirection_counter": 1, "redirecting_reason": 1},
        "original_called_number": {"nature_of_address": 3, "numbering_plan": 1, "presentation": 0, "screening": 0,
                                   "digits": "5559999"},
        ("generic_number" if variant == "itu" else "generic_address"): {"qualifier": 6, "nature_of_address": 3, "numbering_plan": 1, "presentation": 0,
                           "screening": 3, "number_incomplete": 0, "digits": "123"},
        "access_transport": {"elements": [{"id": 0x7C, "body": bytes.fromhex("8090a3")}]},
        "optional_forward_call_indicators": {"closed_user_group": 0, "simple_segmentation": 0,
                                             "connected_line_identity_request": 1},
    })
    if variant == "itu":
        params["user_service_information"] = {"data": bytes.fromhex("8090a3")}
    return IsupMessage("IAM", cic, params)


def all_messages(cic=7, variant="itu"):
    """Return one message of each type we build."""
    rs = {"range": 3}
    rs_status = {"range": 3, "status": [1, 0, 1, 1]}
    cgsmt = {"type": 0}
    m = IsupMessage
    return [
        iam(cic, variant=variant),
        m("SAM", cic, {"subsequent_number": {"digits": "4567"}}),
        m("INR", cic, {"information_request_indicators": {"calling_party_address": 1}}),
        m("INF", cic, {"information_indicators": {"calling_party_address_response": 3}, "calling_party_number": CALLING}),
        m("COT", cic, {"continuity_indicators": {"continuity": 1}}),
        m("ACM", cic, {"backward_call_indicators": BCI,
                       "optional_backward_call_indicators": {"inband_information": 1}}),
        m("CON", cic, {"backward_call_indicators": BCI}),
        m("CPG", cic, {"event_information": {"event": 1}, "backward_call_indicators": BCI}),
        m("ANM", cic, {}),
        m("REL", cic, {"cause_indicators": CAUSE}),
        m("RLC", cic, {}),
        m("SUS", cic, {"suspend_resume_indicators": {"initiated_by_network": 0}}),
        m("RES", cic, {"suspend_resume_indicators": {"initiated_by_network": 0}}),
        m("CCR", cic, {}),
        m("BLO", cic, {}), m("BLA", cic, {}), m("UBL", cic, {}), m("UBA", cic, {}), m("RSC", cic, {}),
        m("GRS", cic, {"range_and_status": rs}),
        m("GRA", cic, {"range_and_status": {"range": 3, "status": [0, 0, 0, 0]}}),
        m("CGB", cic, {"circuit_group_supervision_message_type": cgsmt, "range_and_status": rs_status}),
        m("CGBA", cic, {"circuit_group_supervision_message_type": cgsmt, "range_and_status": rs_status}),
        m("CGU", cic, {"circuit_group_supervision_message_type": cgsmt, "range_and_status": rs_status}),
        m("CGUA", cic, {"circuit_group_supervision_message_type": cgsmt, "range_and_status": rs_status}),
        m("CQM", cic, {"range_and_status": rs}),
        m("CQR", cic, {"range_and_status": rs, "circuit_state_indicator": {"data": bytes([0x0C, 0x0C, 0x03, 0x00])}}),
        m("UCIC", cic, {}),
        m("FAC", cic, {}),
        m("USR", cic, {"user_to_user_information": {"data": b"\x04hello"}}),
        m("CFN", cic, {"cause_indicators": dict(CAUSE, cause=97, diagnostics=b"\x77")}),
    ]
