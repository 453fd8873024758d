"""Calls over SS7 circuits through the engine: our span against a far-end signalling point on an E1 crossover."""
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.ss7 import Ss7Trunk
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.span import Ss7Span
from pycallcenter.ss7.stack import SignallingPoint

CFG = """
[board]
law = "alaw"
[[span]]
span = 1
framing = "ccs"
crc4 = true
[[span]]
span = 2
framing = "ccs"
crc4 = true
[[channels]]
signalling = "bchan"
channels = "1-15,17-31,32-46,48-62"
[[channels]]
signalling = "dchan"
channels = "16,47"
[emulator]
seed = 4
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
"""


class FarEnd:
    """The other exchange: point code 2 on span 2, serving the same CICs."""

    def __init__(self, board):
        self.sp = SignallingPoint(2, "itu")
        self.span = Ss7Span(board, 2, self.sp, 0, 1)
        self.isup = self.sp.add_circuits(1, self.span.cics)
        self.events = []
        self.events += self.span.start()

    def tick(self):
        self.events += self.span.service()

    def kinds(self):
        return [type(e).__name__ + (f":{e.kind}" if isinstance(e, I.CallProgress) else "") for e in self.events]


def _setup():
    board = open_board(parse_config(CFG))
    eng = Engine(board)
    trunk = eng.add(Ss7Trunk(eng, 1, opc=1, dpc=2))
    far = FarEnd(board)

    def run(seconds):
        for _ in range(int(seconds * 50)):
            eng.tick()
            far.tick()

    return eng, trunk, far, run


def test_incoming_iam_is_answered_by_a_script_and_released_by_the_far_end():
    eng, trunk, far, run = _setup()
    seen = []

    async def script(call):
        seen.append((call.caller, call.called, call.leg.channel))
        await call.answer()
        await call.wait(30)

    eng.router = lambda leg: script
    run(3.0)  # MTP2 alignment and proving
    assert trunk.isup.available and far.isup.available
    far.events += far.isup.call(5, "5551234", "2025550100", eng.now / SAMPLE_RATE)
    run(1.0)
    assert seen == [("2025550100", "5551234", 5)]
    assert "CallProgress:ACM" in far.kinds() and "Answered" in far.kinds()
    (leg,) = eng.legs.values()
    assert leg.state == C.ANSWERED and leg.tech == "ss7"
    far.events += far.isup.release(5, eng.now / SAMPLE_RATE, 16)
    run(1.0)
    assert leg.state == C.ENDED and leg.cause == 16
    assert not eng.calls and trunk.isup.state(5) == I.IDLE


def test_outgoing_call_on_a_circuit_answered_by_the_far_end_then_cleared_by_us():
    eng, trunk, far, run = _setup()
    run(3.0)
    leg = eng.originate("ss71/7000", caller="100")
    assert leg is not None and leg.channel == trunk.span.channel_for(31)  # highest free CIC first
    run(0.5)
    incoming = [e for e in far.events if isinstance(e, I.IncomingCall)]
    assert [(e.cic, e.called, e.calling) for e in incoming] == [(31, "7000", "100")]
    far.events += far.isup.alert(31, eng.now / SAMPLE_RATE)
    run(0.3)
    assert leg.state == C.ALERTING
    far.events += far.isup.answer(31, eng.now / SAMPLE_RATE)
    run(0.3)
    assert leg.state == C.ANSWERED
    leg.hangup(16)
    run(1.0)
    assert any(isinstance(e, I.Released) and e.cic == 31 for e in far.events)
    assert trunk.isup.state(31) == I.IDLE


def test_no_circuit_while_the_link_is_down():
    eng, trunk, far, run = _setup()
    assert eng.originate("ss71/7000") is None  # not aligned yet: no route to the far end
