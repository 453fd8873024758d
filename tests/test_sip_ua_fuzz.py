"""Remote garbage never crashes the user agent: every message of a whole session (the tshark test's: REGISTER
and INVITE with digest, PRACK, 183, UPDATE, re-INVITE, INFO, REFER, NOTIFY, OPTIONS, BYE and their
responses), mutated by header (a value replaced by odd text, a header dropped or doubled) or by byte, is fed
to user agents that are in the middle of that same session (so the in-dialog paths run). receive() and the
timers after it return outputs and never raise; every Send but a stateless 400 (which echoes the bad lines
as sent, RFC 4475) is a message that parses."""
import random

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from pycallcenter.sip import ua as U
from pycallcenter.sip.message import parse_message
from test_sip_tshark import A, B, C, _session

_SESSION = _session()
_WIRE = [(s, d, m.encode()) for _, s, d, m in _SESSION.wire]
_ODD = st.sampled_from(["", " ", "0", "-1", "99999999999", "abc", "<>", "<sip:>", ";", ",", "\"", "sip:x@",
                        "1 INVITE", "x;tag=", "SIP/2.0/UDP", "100rel", "Digest", "0 0 INVITE", "1.5", "*",
                        "<sip:a@192.0.2.9;lr>", "terminated", "refer", "message/sipfrag", "application/sdp"])


def _agents(upto):
    """Return fresh copies of the session's user agents replayed up to message upto (same seeds)."""
    return _session_until(upto)


def _session_until(upto):
    # replay the recorded messages into new agents: the same states the live session went through
    agents = {A: U.UserAgent(A, rng=random.Random(1), user="alice", auth=("alice", "wonderland"),
                             session_expires=120),
              B: U.UserAgent(B, rng=random.Random(2), credentials={"alice": "wonderland"}.get,
                             auth_secret=b"t" * 32, answer_after=None),
              C: U.UserAgent(C, rng=random.Random(3), user="carol")}
    for source, dest, data in _WIRE[:upto]:
        agents[dest].receive(data, source, 0.0)
    return agents


@st.composite
def mutated(draw):
    index = draw(st.integers(0, len(_WIRE) - 1))
    source, dest, data = _WIRE[index]
    head, sep, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.integers(0, 4))
        pos = draw(st.integers(1, len(lines) - 1)) if len(lines) > 1 else 0
        if kind == 0 and pos:  # replace a header's value
            name = lines[pos].split(b":", 1)[0]
            lines[pos] = name + b": " + draw(_ODD).encode()
        elif kind == 1 and pos and len(lines) > 2:  # drop a header
            del lines[pos]
        elif kind == 2 and pos:  # double a header
            lines.insert(pos, lines[pos])
        elif kind == 3:  # flip bytes anywhere in the head
            raw = bytearray(b"\r\n".join(lines))
            at = draw(st.integers(0, len(raw) - 1))
            raw[at] = draw(st.integers(0, 255))
            lines = bytes(raw).split(b"\r\n")
        else:  # cut or spoil the body
            body = body[:draw(st.integers(0, len(body)))] + draw(st.binary(max_size=8))
    return index, source, dest, b"\r\n".join(lines) + sep + body


def _check(case):
    index, source, dest, data = case
    agents = _agents(index)
    outputs = agents[dest].receive(data, source, 1.0)
    outputs += agents[dest].handle_timer(400.0)
    for item in outputs:
        if isinstance(item, U.Send) and not item.data.startswith(b"SIP/2.0 400 "):
            parse_message(item.data)  # a stateless 400 echoes the bad lines as sent; anything else parses


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_session_messages_never_crash_the_user_agent(case):
    _check(case)


@pytest.mark.fuzz
@settings(max_examples=5000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(mutated())
def test_mutated_session_messages_long_run(case):
    _check(case)
