"""Q.850 cause values and their standard names."""

CAUSES = {
    1: "unallocated number", 2: "no route to specified transit network", 3: "no route to destination",
    6: "channel unacceptable", 7: "call awarded and being delivered in an established channel",
    16: "normal call clearing", 17: "user busy", 18: "no user responding", 19: "no answer from user",
    21: "call rejected", 22: "number changed", 26: "non-selected user clearing", 27: "destination out of order",
    28: "invalid number format", 29: "facility rejected", 30: "response to status enquiry", 31: "normal, unspecified",
    34: "no circuit/channel available", 38: "network out of order", 41: "temporary failure",
    42: "switching equipment congestion", 43: "access information discarded",
    44: "requested circuit/channel not available", 47: "resource unavailable, unspecified",
    49: "quality of service not available", 50: "requested facility not subscribed",
    57: "bearer capability not authorized", 58: "bearer capability not presently available",
    63: "service or option not available, unspecified", 65: "bearer capability not implemented",
    66: "channel type not implemented", 69: "requested facility not implemented",
    70: "only restricted digital information bearer capability is available",
    79: "service or option not implemented, unspecified", 81: "invalid call reference value",
    82: "identified channel does not exist", 83: "a suspended call exists, but this call identity does not",
    84: "call identity in use", 85: "no call suspended", 86: "call having the requested call identity has been cleared",
    88: "incompatible destination", 91: "invalid transit network selection", 95: "invalid message, unspecified",
    96: "mandatory information element is missing", 97: "message type non-existent or not implemented",
    98: "message not compatible with call state or message type non-existent or not implemented",
    99: "information element non-existent or not implemented", 100: "invalid information element contents",
    101: "message not compatible with call state", 102: "recovery on timer expiry",
    111: "protocol error, unspecified", 127: "interworking, unspecified",
}

NORMAL_CLEARING = 16
USER_BUSY = 17
NO_USER_RESPONDING = 18
NO_ANSWER = 19
DESTINATION_OUT_OF_ORDER = 27
INVALID_NUMBER_FORMAT = 28
RESPONSE_TO_STATUS_ENQUIRY = 30
NO_CHANNEL = 34
TEMPORARY_FAILURE = 41
CHANNEL_NOT_AVAILABLE = 44
INVALID_CALL_REFERENCE = 81
MANDATORY_IE_MISSING = 96
MESSAGE_TYPE_NONEXISTENT = 97
IE_NONEXISTENT = 99
INVALID_IE_CONTENTS = 100
WRONG_STATE = 101
RECOVERY_ON_TIMER_EXPIRY = 102


def cause_name(value):
    """Return the Q.850 name of a cause value (or 'cause N')."""
    return CAUSES.get(value, f"cause {value}")
