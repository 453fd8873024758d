"""One ISUP circuit (CIC): its call and continuity states (Q.764 2.1, 2.1.8) and what it holds."""
from pycallcenter.causes import Cause

IDLE, OUT_IAM, OUT_ACM, IN_IAM, IN_COT, IN_ACM, ANSWERED, RELEASING, RESETTING = (
    "idle", "outgoing_wait_acm", "outgoing_wait_anm", "incoming_wait_acm", "incoming_wait_cot",
    "incoming_alerting", "answered", "releasing", "resetting")
CALL_STATES = (OUT_IAM, OUT_ACM, IN_IAM, IN_COT, IN_ACM, ANSWERED)
# continuity re-check (Q.764 2.1.8): we test with a tone after CCR; the far end's test failed and we wait for its
# CCR; we loop back for the far end's re-check
COT_TESTING, COT_WAIT_CCR, COT_LOOPED = "continuity_test", "incoming_wait_ccr", "incoming_continuity_test"
COT_STATES = (COT_TESTING, COT_WAIT_CCR, COT_LOOPED)
STATES = (IDLE,) + CALL_STATES + (RELEASING, RESETTING) + COT_STATES


class Circuit:
    """A CIC's call state, blocking (ours and the far end's), maintenance messages awaiting acknowledgement,
    direction of its call, cause of its release and the bearer attachment of a continuity check."""

    __slots__ = ("cic", "state", "local", "remote", "pending", "outgoing", "cause", "cot")

    def __init__(self, cic):
        self.cic = cic
        self.state = IDLE
        self.local = set()   # {"maintenance", "hardware"}: we blocked it
        self.remote = set()  # the far end blocked it
        self.pending = set()  # maintenance messages awaiting acknowledgement: "BLO", "UBL", "RSC"
        self.outgoing = False
        self.cause = Cause.NORMAL_CALL_CLEARING
        self.cot = None  # bearer attachment for a continuity check: None, "tone" or "loop"
