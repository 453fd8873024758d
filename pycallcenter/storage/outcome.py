"""What a call came to: the CDR's ``outcome`` column.

A script marks it with the call variable ``outcome`` (``call.set("outcome", "voicemail")``); that always
wins. Otherwise it follows from the queue log (the ACD is the authority on queued calls) and from the
call itself, in this order:

    agent          answered by an ACD agent (the CDR's agent and queue columns say who and where)
    voicemail      a voicemail message was left (``voicemail_id`` set)
    fax_received   a fax came in on the call, fax_sent one went out (``fax_received`` / ``fax_sent``
                   set to 1; set to 0 they give fax_failed)
    callback       a callback was requested (in the queue, or ``callback_id`` set by the callback script)
    abandoned      the caller hung up waiting in a queue (the CDR's queue_wait says after how long)
    left_queue     the call left a queue without an agent (timeout, no agents, closed) and nothing above
    transferred    answered and connected to another party outside the ACD (operator, outside number)
    ivr_only       answered, and only the IVR talked to the caller
    outbound       a call we placed that was answered
    busy, no_answer, refused, failed   never answered (from the Q.850 cause, as the disposition)
"""
from pycallcenter.engine import call as C

OUTCOMES = ("agent", "voicemail", "fax_received", "fax_sent", "fax_failed", "callback", "abandoned",
            "left_queue", "transferred", "ivr_only", "outbound", "busy", "no_answer", "refused", "failed")

_UNANSWERED = {C.USER_BUSY: "busy", C.NO_ANSWER: "no_answer", C.NO_USER_RESPONSE: "no_answer",
               C.NORMAL_CLEARING: "no_answer", C.CALL_REJECTED: "refused"}


class Trail:
    """One call's story in the queue log: its last queue visit, and its agents' talk and hold."""

    @property
    def result(self):
        """Return how the last queue visit ended: answered, abandoned, left (timeout, empty, refused),
        callback (the caller left a number and hung up) or waiting (none of these was logged)."""
        if self.agent is not None:
            return "answered"
        if self.abandoned:
            return "abandoned"
        if self.left is not None:
            return "left"
        return "callback" if self.callback else "waiting"

    __slots__ = ("queue", "agent", "entered", "wait", "abandoned", "left", "callback", "talk", "hold")

    def __init__(self):
        self.queue = self.agent = self.entered = self.wait = self.left = None
        self.abandoned = self.callback = False
        self.talk = self.hold = 0.0

    def feed(self, event, time, queue, agent, data):
        """Account for one queue-log entry of this call."""
        if event == "ENTER":
            # a new visit (overflow to another queue, transfer back into a queue): the last one counts
            self.queue, self.entered, self.wait, self.abandoned, self.left = queue, time, None, False, None
        elif event == "CONNECT":
            self.agent, self.wait = agent, data.get("wait")
        elif event == "ABANDON":
            self.abandoned, self.wait = True, data.get("wait")
        elif event in ("EXITWITHTIMEOUT", "EXITEMPTY"):
            self.left, self.wait = event, data.get("wait")
        elif event == "JOINREFUSED":
            self.queue, self.left = queue, event
        elif event == "CALLBACK":
            self.callback = True
        elif event in ("COMPLETE", "TRANSFER"):
            self.talk += data.get("talk", 0.0)
            self.hold += data.get("hold", 0.0)


def outcome(call, trail=None):
    """Return the outcome of an ended call (see the module's list), given its queue-log Trail if any."""
    v = call.vars
    if v.get("outcome"):
        return str(v["outcome"])
    if trail is not None and trail.agent is not None:
        return "agent"
    if v.get("voicemail_id"):
        return "voicemail"
    for kind in ("fax_received", "fax_sent"):
        if kind in v:
            return kind if v[kind] else "fax_failed"
    if v.get("callback_id") or (trail is not None and trail.callback):
        return "callback"
    if trail is not None and trail.abandoned:
        return "abandoned"
    if trail is not None and trail.left is not None:
        return "left_queue"
    first = call.caller_leg
    answered = [leg for leg in call.legs if leg.answered_at is not None]
    if answered:
        if first is not None and first.direction == "out":
            return "outbound"
        return "transferred" if any(leg is not first for leg in answered) else "ivr_only"
    cause = first.cause if first is not None else None
    return _UNANSWERED.get(cause, "failed")
