"""Q.850 cause values <-> SIP response codes, as RFC 3398 gives them, and the Reason header (RFC 3326).

A SIP leg in the engine ends with a Q.850 cause like every other leg, so a gateway call keeps its
meaning across the boundary: a busy PRI subscriber (17) becomes 486 Busy Here on the SIP side, and a
486 from a SIP trunk ends the PRI call with 17. Both directions are tables, one screen each; a value
missing from a table falls back to its class as the RFC says (RFC 3261 8.1.3.2 for unknown responses:
treat them as x00 of their class). A Reason header carrying a Q.850 cause wins over the table, so a
cause crosses a SIP hop unchanged when the far end sends one.
"""
import re

from pycallcenter import causes as q850

# RFC 3398 7.2.4.1: SIP final response received -> Q.850 cause sent on the circuit side
STATUS_TO_CAUSE = {
    400: 41, 401: 21, 402: 21, 403: 21, 404: 1, 405: 63, 406: 79, 407: 21, 408: 102, 410: 22,
    413: 127, 414: 127, 415: 79, 416: 127, 420: 127, 421: 127, 423: 127,
    480: 18, 481: 41, 482: 25, 483: 25, 484: 28, 485: 1, 486: 17,
    488: 31, 500: 41, 501: 79, 502: 38, 503: 41, 504: 102, 505: 127, 513: 127,
    600: 17, 603: 21, 604: 1, 606: 31,
}

# RFC 3398 8.2.6.1: Q.850 cause received from the circuit side -> SIP final response sent.
# 16 (normal clearing) has no response: an answered call ends with BYE, a pending one with CANCEL or 480.
CAUSE_TO_STATUS = {
    1: 404, 2: 404, 3: 404, 17: 486, 18: 408, 19: 480, 20: 480, 21: 403, 22: 410, 23: 410, 26: 404,
    27: 502, 28: 484, 29: 501, 31: 480, 34: 503, 38: 503, 41: 503, 42: 503, 47: 503, 55: 403, 57: 403,
    58: 503, 65: 488, 70: 488, 79: 501, 87: 403, 88: 503, 102: 504, 111: 500, 127: 500,
}

# Q.850 classes (cause value ranges) -> the response a cause missing from the table gets
_CLASS_STATUS = ((31, 480), (47, 503), (63, 503), (79, 501), (127, 500))


_REASON = re.compile(r'\s*Q\.850\s*;(?P<params>.*)', re.IGNORECASE)
_COMMA = re.compile(r',(?=(?:[^"]*"[^"]*")*[^"]*$)')  # commas outside quoted text separate reasons
_CAUSE = re.compile(r'(?:^|;)\s*cause\s*=\s*(\d{1,3})\s*(?:;|$)', re.IGNORECASE)


def cause_of_status(status):
    """Return the Q.850 cause for a SIP final response code (RFC 3398 7.2.4.1; unknown codes as x00)."""
    if status in STATUS_TO_CAUSE:
        return STATUS_TO_CAUSE[status]
    if status == 487:  # Request Terminated: the INVITE was cancelled, so the call was cleared normally
        return 16
    return STATUS_TO_CAUSE.get(status // 100 * 100, 31)


def status_of_cause(cause):
    """Return the SIP final response code for a Q.850 cause (RFC 3398 8.2.6.1; others by cause class)."""
    if cause in CAUSE_TO_STATUS:
        return CAUSE_TO_STATUS[cause]
    for top, status in _CLASS_STATUS:
        if cause is not None and cause <= top:
            return status
    return 500


def reason_header(cause):
    """Return the Reason header value (RFC 3326) carrying a Q.850 cause."""
    text = q850.TEXT.get(int(cause))
    return f"Q.850;cause={int(cause)}" + (f';text="{text}"' if text else "")


def cause_of_reason(values):
    """Return the Q.850 cause of the first Q.850 Reason header value in values (a list of strings), or None."""
    items = [part for value in values or () for part in _COMMA.split(str(value))]
    for value in items:
        m = _REASON.match(value)
        if m:
            c = _CAUSE.search(m.group("params"))
            if c and 0 < int(c.group(1)) < 128:
                return int(c.group(1))
    return None
