"""CTI messages: parsing, the command table (who may send what, with which fields), error frames,
and the per-connection rate limiter.

Every message is one JSON object. Clients send ``{"cmd": NAME, "id": ANY, ...fields}``; the server
answers each with ``{"type": "reply", "id": ..., "ok": true, ...}`` or
``{"type": "error", "id": ..., "code": CODE, "message": TEXT}`` and pushes
``{"type": "event", "event": NAME, ...}`` frames. docs/cti.md is the reference.
"""
import json
import math
import re
import time

from pycallcenter.errors import PyCallCenterError

# error codes
BAD_TOKEN = "bad_token"
NOT_AUTHENTICATED = "not_authenticated"
MALFORMED_JSON = "malformed_json"
BAD_MESSAGE = "bad_message"
UNKNOWN_COMMAND = "unknown_command"
FORBIDDEN = "forbidden"
BAD_STATE = "bad_state"
RATE_LIMITED = "rate_limited"
NOT_SUPPORTED = "not_supported"
INTERNAL = "internal"
LOCKED_OUT = "locked_out"
TOO_LARGE = "too_large"

# One message is at most this many characters and this deep in nested arrays/objects: checked before
# json.loads, whose recursion a thousand '[' would otherwise blow (RecursionError, a dropped connection).
MAX_MESSAGE = 65536
MAX_DEPTH = 16

AGENT, SUPERVISOR = "agent", "supervisor"

# command -> (roles allowed, required fields)
COMMANDS = {
    "auth": ((), ()),  # token, or user and password
    "ping": ((AGENT, SUPERVISOR), ()),
    "login": ((AGENT,), ()),
    "logout": ((AGENT,), ()),
    "ready": ((AGENT,), ()),
    "not_ready": ((AGENT,), ()),
    "end_wrapup": ((AGENT,), ()),
    "answer": ((AGENT,), ()),
    "hangup": ((AGENT,), ()),
    "dial": ((AGENT,), ("number",)),
    "hold": ((AGENT,), ()),
    "retrieve": ((AGENT,), ()),
    "consult": ((AGENT,), ("target",)),
    "transfer": ((AGENT,), ("target",)),
    "conference": ((AGENT,), ("target",)),
    "record_start": ((AGENT,), ()),
    "record_stop": ((AGENT,), ()),
    "pickup": ((AGENT,), ("call",)),
    "dnd": ((AGENT,), ("on",)),
    "message": ((AGENT, SUPERVISOR), ("to", "text")),
    "queue_snapshot": ((SUPERVISOR,), ()),
    "agent_snapshot": ((SUPERVISOR,), ()),
    "monitor": ((SUPERVISOR,), ("agent", "mode")),
    "force_logout": ((SUPERVISOR,), ("agent",)),
    "force_state": ((SUPERVISOR,), ("agent", "state")),
    "set_member": ((SUPERVISOR,), ("queue", "agent")),
    "remove_member": ((SUPERVISOR,), ("queue", "agent")),
    "set_skills": ((SUPERVISOR,), ("agent", "skills")),
    "set_strategy": ((SUPERVISOR,), ("queue", "strategy")),
    "lockouts": ((SUPERVISOR,), ()),
    "unlock": ((SUPERVISOR,), ("source",)),
    "wallboard": ((AGENT, SUPERVISOR), ()),
    # the agent desktop and the supervisor console (docs/cti.md); each takes (who, message) in the back end
    "desk": ((AGENT, SUPERVISOR), ()),
    "wrapup": ((AGENT,), ("code",)),
    "customer": ((AGENT, SUPERVISOR), ("number",)),
    "customer_save": ((AGENT, SUPERVISOR), ("number",)),
    "callback": ((AGENT,), ("number",)),
    "dtmf": ((AGENT,), ("digits",)),
    "record_pause": ((AGENT,), ()),
    "record_resume": ((AGENT,), ()),
    "consult_cancel": ((AGENT,), ()),
    "call_data": ((AGENT,), ("data",)),
    "recordings": ((SUPERVISOR,), ()),
    "recording_open": ((SUPERVISOR,), ("recording",)),
    "quality_check": ((SUPERVISOR,), ("recording", "scores")),
    "quality_report": ((SUPERVISOR,), ()),
}
DESK_COMMANDS = ("desk", "wrapup", "customer", "customer_save", "callback", "dtmf", "record_pause", "record_resume",
                 "consult_cancel", "call_data",
                 "recordings", "recording_open", "quality_check", "quality_report")
_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKET = re.compile(r"[\[\]{}]")


class CtiError(PyCallCenterError):
    """A command refused with an error code (one of this module's constants)."""

    def __init__(self, code, message, msg_id=None):
        self.code = code
        self.msg_id = msg_id  # the offending message's id, when it had one
        super().__init__(message)


def parse(text):
    """Return the message dict of one JSON text; CtiError too_large / malformed_json / bad_message /
    unknown_command."""
    if len(text) > MAX_MESSAGE:
        raise CtiError(TOO_LARGE, f"a message is at most {MAX_MESSAGE} characters")
    # few brackets cannot nest deep: most messages skip the scan (str.count runs in C)
    if text.count("[") + text.count("{") > MAX_DEPTH and nesting(text) > MAX_DEPTH:
        raise CtiError(BAD_MESSAGE, f"a message nests at most {MAX_DEPTH} arrays or objects deep")
    try:
        msg = json.loads(text, parse_constant=_no_constant, parse_float=_finite)
    except (ValueError, UnicodeDecodeError) as exc:
        raise CtiError(MALFORMED_JSON, f"not JSON: {exc}") from None
    if not isinstance(msg, dict):
        raise CtiError(BAD_MESSAGE, "a message is a JSON object")
    cmd = msg.get("cmd")
    if not isinstance(cmd, str):
        raise CtiError(BAD_MESSAGE, "missing string field 'cmd'", msg.get("id"))
    spec = COMMANDS.get(cmd)
    if spec is None:
        raise CtiError(UNKNOWN_COMMAND, f"unknown command {cmd!r}", msg.get("id"))
    missing = [f for f in spec[1] if f not in msg]
    if missing:
        raise CtiError(BAD_MESSAGE, f"{cmd} needs {', '.join(missing)}", msg.get("id"))
    return msg


def _no_constant(name):
    """json.loads hook: NaN and Infinity are not JSON (an id of NaN came back as NaN, which browsers refuse)."""
    raise ValueError(f"{name} is not a JSON number")


def _finite(text):
    """json.loads hook: return the float of a JSON number; ValueError when it overflows (1e999)."""
    value = float(text)
    if value in (math.inf, -math.inf):
        raise ValueError(f"number {text[:20]} is out of range")
    return value


def nesting(text):
    """Return how deep arrays and objects nest in a JSON text (brackets inside strings do not count)."""
    depth = deepest = 0
    for b in _BRACKET.findall(_STRING.sub("", text)):
        if b in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def check_role(cmd, role):
    """Raise CtiError forbidden unless role may send cmd."""
    if role not in COMMANDS[cmd][0]:
        raise CtiError(FORBIDDEN, f"{cmd} is not allowed for role {role}")


def reply(msg_id, **fields):
    """Return a reply frame dict."""
    return {**fields, "type": "reply", "id": msg_id, "ok": True}  # a result field never hides the message id


def error(msg_id, code, message):
    """Return an error frame dict."""
    return {"type": "error", "id": msg_id, "code": code, "message": message}


def event(name, **fields):
    """Return an event frame dict."""
    return {"type": "event", "event": name, **fields}


def dumps(frame):
    """Return the compact JSON text of a frame."""
    return json.dumps(frame, separators=(",", ":"), default=str)


class RateLimiter:
    """A token bucket per connection: ``rate`` messages a second with bursts of ``burst``."""

    def __init__(self, rate=20.0, burst=40, clock=time.monotonic):
        self.rate, self.burst, self.clock = float(rate), float(burst), clock
        self.tokens = float(burst)
        self.last = clock()

    def allow(self):
        """Return True if one more message may pass now (and take a token)."""
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens >= 1.0:
            self.tokens -= 1.0
            return True
        return False
