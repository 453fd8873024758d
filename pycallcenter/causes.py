"""Q.850 cause values: the one table every protocol and the engine use.

ITU-T Q.850 defines the cause values Q.931 (PRI) and ISUP carry as they are; the engine keeps them as a
leg's outcome, analog outcomes map into them and SIP statuses map to and from them. ``Cause`` names every
value of the recommendation (Table 1, with the later additions), ``CauseClass`` the seven classes its
upper three bits select, and ``text()`` the recommendation's wording for traces and transcripts.

``Cause`` members compare, hash, format and repr as the plain numbers they are, so an event or a log
line that carries one reads exactly as it did when causes were bare ints.
"""
import enum


class Cause(enum.IntEnum):
    """A Q.850 cause value, named as in the recommendation."""

    # class 000/001: normal event
    UNALLOCATED_NUMBER = 1
    NO_ROUTE_TO_TRANSIT_NETWORK = 2
    NO_ROUTE_TO_DESTINATION = 3
    SEND_SPECIAL_INFORMATION_TONE = 4
    MISDIALLED_TRUNK_PREFIX = 5
    CHANNEL_UNACCEPTABLE = 6
    CALL_AWARDED_IN_ESTABLISHED_CHANNEL = 7
    PREEMPTION = 8
    PREEMPTION_CIRCUIT_RESERVED = 9
    QOR_PORTED_NUMBER = 14
    NORMAL_CALL_CLEARING = 16
    USER_BUSY = 17
    NO_USER_RESPONDING = 18
    NO_ANSWER_FROM_USER = 19
    SUBSCRIBER_ABSENT = 20
    CALL_REJECTED = 21
    NUMBER_CHANGED = 22
    REDIRECTION_TO_NEW_DESTINATION = 23
    CALL_REJECTED_BY_FEATURE_AT_DESTINATION = 24
    EXCHANGE_ROUTING_ERROR = 25
    NON_SELECTED_USER_CLEARING = 26
    DESTINATION_OUT_OF_ORDER = 27
    INVALID_NUMBER_FORMAT = 28
    FACILITY_REJECTED = 29
    RESPONSE_TO_STATUS_ENQUIRY = 30
    NORMAL_UNSPECIFIED = 31
    # class 010: resource unavailable
    NO_CIRCUIT_CHANNEL_AVAILABLE = 34
    NETWORK_OUT_OF_ORDER = 38
    PERMANENT_FRAME_MODE_OUT_OF_SERVICE = 39
    PERMANENT_FRAME_MODE_OPERATIONAL = 40
    TEMPORARY_FAILURE = 41
    SWITCHING_EQUIPMENT_CONGESTION = 42
    ACCESS_INFORMATION_DISCARDED = 43
    REQUESTED_CIRCUIT_CHANNEL_NOT_AVAILABLE = 44
    PRECEDENCE_CALL_BLOCKED = 46
    RESOURCE_UNAVAILABLE_UNSPECIFIED = 47
    # class 011: service or option not available
    QUALITY_OF_SERVICE_NOT_AVAILABLE = 49
    REQUESTED_FACILITY_NOT_SUBSCRIBED = 50
    OUTGOING_CALLS_BARRED_WITHIN_CUG = 53
    INCOMING_CALLS_BARRED_WITHIN_CUG = 55
    BEARER_CAPABILITY_NOT_AUTHORIZED = 57
    BEARER_CAPABILITY_NOT_PRESENTLY_AVAILABLE = 58
    INCONSISTENT_OUTGOING_ACCESS_AND_SUBSCRIBER_CLASS = 62
    SERVICE_OR_OPTION_NOT_AVAILABLE = 63
    # class 100: service or option not implemented
    BEARER_CAPABILITY_NOT_IMPLEMENTED = 65
    CHANNEL_TYPE_NOT_IMPLEMENTED = 66
    REQUESTED_FACILITY_NOT_IMPLEMENTED = 69
    ONLY_RESTRICTED_DIGITAL_BEARER_AVAILABLE = 70
    SERVICE_OR_OPTION_NOT_IMPLEMENTED = 79
    # class 101: invalid message
    INVALID_CALL_REFERENCE = 81
    IDENTIFIED_CHANNEL_DOES_NOT_EXIST = 82
    SUSPENDED_CALL_EXISTS_BUT_NOT_THIS_IDENTITY = 83
    CALL_IDENTITY_IN_USE = 84
    NO_CALL_SUSPENDED = 85
    CALL_IDENTITY_CLEARED = 86
    USER_NOT_MEMBER_OF_CUG = 87
    INCOMPATIBLE_DESTINATION = 88
    NON_EXISTENT_CUG = 90
    INVALID_TRANSIT_NETWORK_SELECTION = 91
    INVALID_MESSAGE_UNSPECIFIED = 95
    # class 110: protocol error
    MANDATORY_IE_MISSING = 96
    MESSAGE_TYPE_NONEXISTENT = 97
    MESSAGE_NOT_COMPATIBLE_OR_NONEXISTENT = 98
    IE_OR_PARAMETER_NONEXISTENT = 99
    INVALID_IE_CONTENTS = 100
    MESSAGE_NOT_COMPATIBLE_WITH_STATE = 101
    RECOVERY_ON_TIMER_EXPIRY = 102
    PARAMETER_NONEXISTENT_PASSED_ON = 103
    MESSAGE_WITH_UNRECOGNIZED_PARAMETER_DISCARDED = 110
    PROTOCOL_ERROR_UNSPECIFIED = 111
    # class 111: interworking
    INTERWORKING_UNSPECIFIED = 127

    # a cause travels through events, traces and CDRs as its number: keep those byte-identical
    __repr__ = int.__repr__
    __str__ = int.__repr__


class CauseClass(enum.IntEnum):
    """A Q.850 cause class: the upper three bits of the 7-bit value (classes 000 and 001 are both normal)."""

    NORMAL_EVENT = 0
    RESOURCE_UNAVAILABLE = 2
    SERVICE_OR_OPTION_NOT_AVAILABLE = 3
    SERVICE_OR_OPTION_NOT_IMPLEMENTED = 4
    INVALID_MESSAGE = 5
    PROTOCOL_ERROR = 6
    INTERWORKING = 7


# The recommendation's wording, lower case as traces print it.
_TEXT = {
    Cause.UNALLOCATED_NUMBER: "unallocated number",
    Cause.NO_ROUTE_TO_TRANSIT_NETWORK: "no route to specified transit network",
    Cause.NO_ROUTE_TO_DESTINATION: "no route to destination",
    Cause.SEND_SPECIAL_INFORMATION_TONE: "send special information tone",
    Cause.MISDIALLED_TRUNK_PREFIX: "misdialled trunk prefix",
    Cause.CHANNEL_UNACCEPTABLE: "channel unacceptable",
    Cause.CALL_AWARDED_IN_ESTABLISHED_CHANNEL: "call awarded and being delivered in an established channel",
    Cause.PREEMPTION: "preemption",
    Cause.PREEMPTION_CIRCUIT_RESERVED: "preemption, circuit reserved for reuse",
    Cause.QOR_PORTED_NUMBER: "QoR: ported number",
    Cause.NORMAL_CALL_CLEARING: "normal call clearing",
    Cause.USER_BUSY: "user busy",
    Cause.NO_USER_RESPONDING: "no user responding",
    Cause.NO_ANSWER_FROM_USER: "no answer from user",
    Cause.SUBSCRIBER_ABSENT: "subscriber absent",
    Cause.CALL_REJECTED: "call rejected",
    Cause.NUMBER_CHANGED: "number changed",
    Cause.REDIRECTION_TO_NEW_DESTINATION: "redirection to new destination",
    Cause.CALL_REJECTED_BY_FEATURE_AT_DESTINATION: "call rejected due to feature at the destination",
    Cause.EXCHANGE_ROUTING_ERROR: "exchange routing error",
    Cause.NON_SELECTED_USER_CLEARING: "non-selected user clearing",
    Cause.DESTINATION_OUT_OF_ORDER: "destination out of order",
    Cause.INVALID_NUMBER_FORMAT: "invalid number format",
    Cause.FACILITY_REJECTED: "facility rejected",
    Cause.RESPONSE_TO_STATUS_ENQUIRY: "response to status enquiry",
    Cause.NORMAL_UNSPECIFIED: "normal, unspecified",
    Cause.NO_CIRCUIT_CHANNEL_AVAILABLE: "no circuit/channel available",
    Cause.NETWORK_OUT_OF_ORDER: "network out of order",
    Cause.PERMANENT_FRAME_MODE_OUT_OF_SERVICE: "permanent frame mode connection out of service",
    Cause.PERMANENT_FRAME_MODE_OPERATIONAL: "permanent frame mode connection operational",
    Cause.TEMPORARY_FAILURE: "temporary failure",
    Cause.SWITCHING_EQUIPMENT_CONGESTION: "switching equipment congestion",
    Cause.ACCESS_INFORMATION_DISCARDED: "access information discarded",
    Cause.REQUESTED_CIRCUIT_CHANNEL_NOT_AVAILABLE: "requested circuit/channel not available",
    Cause.PRECEDENCE_CALL_BLOCKED: "precedence call blocked",
    Cause.RESOURCE_UNAVAILABLE_UNSPECIFIED: "resource unavailable, unspecified",
    Cause.QUALITY_OF_SERVICE_NOT_AVAILABLE: "quality of service not available",
    Cause.REQUESTED_FACILITY_NOT_SUBSCRIBED: "requested facility not subscribed",
    Cause.OUTGOING_CALLS_BARRED_WITHIN_CUG: "outgoing calls barred within CUG",
    Cause.INCOMING_CALLS_BARRED_WITHIN_CUG: "incoming calls barred within CUG",
    Cause.BEARER_CAPABILITY_NOT_AUTHORIZED: "bearer capability not authorized",
    Cause.BEARER_CAPABILITY_NOT_PRESENTLY_AVAILABLE: "bearer capability not presently available",
    Cause.INCONSISTENT_OUTGOING_ACCESS_AND_SUBSCRIBER_CLASS:
        "inconsistency in designated outgoing access information and subscriber class",
    Cause.SERVICE_OR_OPTION_NOT_AVAILABLE: "service or option not available, unspecified",
    Cause.BEARER_CAPABILITY_NOT_IMPLEMENTED: "bearer capability not implemented",
    Cause.CHANNEL_TYPE_NOT_IMPLEMENTED: "channel type not implemented",
    Cause.REQUESTED_FACILITY_NOT_IMPLEMENTED: "requested facility not implemented",
    Cause.ONLY_RESTRICTED_DIGITAL_BEARER_AVAILABLE: "only restricted digital information bearer capability is available",
    Cause.SERVICE_OR_OPTION_NOT_IMPLEMENTED: "service or option not implemented, unspecified",
    Cause.INVALID_CALL_REFERENCE: "invalid call reference value",
    Cause.IDENTIFIED_CHANNEL_DOES_NOT_EXIST: "identified channel does not exist",
    Cause.SUSPENDED_CALL_EXISTS_BUT_NOT_THIS_IDENTITY: "a suspended call exists, but this call identity does not",
    Cause.CALL_IDENTITY_IN_USE: "call identity in use",
    Cause.NO_CALL_SUSPENDED: "no call suspended",
    Cause.CALL_IDENTITY_CLEARED: "call having the requested call identity has been cleared",
    Cause.USER_NOT_MEMBER_OF_CUG: "user not member of CUG",
    Cause.INCOMPATIBLE_DESTINATION: "incompatible destination",
    Cause.NON_EXISTENT_CUG: "non-existent CUG",
    Cause.INVALID_TRANSIT_NETWORK_SELECTION: "invalid transit network selection",
    Cause.INVALID_MESSAGE_UNSPECIFIED: "invalid message, unspecified",
    Cause.MANDATORY_IE_MISSING: "mandatory information element is missing",
    Cause.MESSAGE_TYPE_NONEXISTENT: "message type non-existent or not implemented",
    Cause.MESSAGE_NOT_COMPATIBLE_OR_NONEXISTENT:
        "message not compatible with call state or message type non-existent or not implemented",
    # Q.931 prints this one without Q.850's "/parameter"; traces keep the Q.931 wording they always had
    Cause.IE_OR_PARAMETER_NONEXISTENT: "information element non-existent or not implemented",
    Cause.INVALID_IE_CONTENTS: "invalid information element contents",
    Cause.MESSAGE_NOT_COMPATIBLE_WITH_STATE: "message not compatible with call state",
    Cause.RECOVERY_ON_TIMER_EXPIRY: "recovery on timer expiry",
    Cause.PARAMETER_NONEXISTENT_PASSED_ON: "parameter non-existent or not implemented, passed on",
    Cause.MESSAGE_WITH_UNRECOGNIZED_PARAMETER_DISCARDED: "message with unrecognized parameter, discarded",
    Cause.PROTOCOL_ERROR_UNSPECIFIED: "protocol error, unspecified",
    Cause.INTERWORKING_UNSPECIFIED: "interworking, unspecified",
}

# plain-int keys: the decoders look a received value up on every cause IE
TEXT = {int(cause): words for cause, words in _TEXT.items()}


def text(cause):
    """Return the recommendation's wording for a cause value (or 'cause N' for a value Q.850 does not define)."""
    return TEXT.get(cause, f"cause {cause}")


def cause_class(cause):
    """Return the CauseClass of a 7-bit cause value (its upper three bits; 000 and 001 are both normal)."""
    bits = (int(cause) >> 4) & 0x07
    return CauseClass.NORMAL_EVENT if bits <= 1 else CauseClass(bits)


def lookup(cause):
    """Return the Cause member for a value, or None when Q.850 does not define it."""
    try:
        return Cause(cause)
    except ValueError:
        return None
