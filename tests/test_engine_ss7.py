"""Calls over SS7 circuits through the engine: our span against a far-end signalling point on an E1 crossover."""
from engine_rig import e1_pair_config
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.ss7 import Ss7Trunk
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.span import Ss7Span
from pycallcenter.ss7.stack import SignallingPoint

CFG = e1_pair_config("ss7-engine", seed=4)


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


def _far_row(eng, far, cic):
    return eng.row_of[far.span.channel_for(cic)]


def test_incoming_continuity_check_is_looped_and_the_call_proceeds():
    from pycallcenter.engine.ss7 import CHECK_TONE, _tone_back

    eng, trunk, far, run = _setup()
    offered = []

    async def script(call):
        offered.append(call.called)
        await call.wait(5)

    eng.router = lambda leg: script
    run(3.0)
    far.events += far.isup.call(7, "5550007", "2025550100", eng.now / SAMPLE_RATE, continuity=True)
    row = _far_row(eng, far, 7)
    heard = 0
    for _ in range(100):  # the far exchange plays 2000 Hz and listens for it coming back
        run(0.02)
        if any(isinstance(e, I.ContinuityCheck) and e.action == "tone" for e in far.events):
            if row not in eng.media.tone_rows:
                eng.media.start_tone(row, CHECK_TONE)
            heard = heard + 1 if _tone_back(eng.media.rx[row]) else 0
            if heard >= 3:
                eng.media.stop_tone(row)
                far.events += far.isup.continuity_result(7, True, eng.now / SAMPLE_RATE)
                break
    assert heard >= 3  # our loop sent the tone back
    run(0.5)
    assert offered == ["5550007"]  # IAM + COT: the call is offered only after the check passed
    log = "\n".join(eng.log_lines)
    assert "continuity action=loop cic=7" in log and "continuity action=remove cic=7" in log
    ours = eng.row_of[trunk.span.channel_for(7)]
    assert ours not in eng.media.listeners_of(ours)  # the loop is gone once the check is over
    run(5.0)  # the script's wait ends; returning clears the call (REL)
    assert not eng.legs and any(isinstance(e, I.Released) for e in far.events)


def test_our_continuity_check_of_an_idle_circuit_passes_over_a_looped_far_end():
    eng, trunk, far, run = _setup()
    run(3.0)
    events = trunk.isup.continuity_check(9, eng.now / SAMPLE_RATE)
    trunk._handle(events)
    row = _far_row(eng, far, 9)
    for _ in range(100):
        run(0.02)
        if any(isinstance(e, I.ContinuityCheck) and e.action == "loop" for e in far.events):
            eng.media.link(row, row)  # the far exchange loops the circuit
        if not trunk.checks and any(" continuity " in l and "action=tone" in l for l in eng.log_lines):
            break
    run(1.0)
    assert "continuity_outcome by=local cic=9 ok=True" in "\n".join(eng.log_lines)
    assert not trunk.checks and trunk.isup.state(9) == I.IDLE


def test_our_continuity_check_fails_when_nothing_comes_back():
    eng, trunk, far, run = _setup()
    run(3.0)
    trunk._handle(trunk.isup.continuity_check(9, eng.now / SAMPLE_RATE))
    run(3.0)  # T24 (2 s) expires without the tone coming back
    assert "continuity_outcome by=local cic=9 ok=False" in "\n".join(eng.log_lines)
    assert not trunk.checks


def test_a_circuit_held_in_a_call_with_no_leg_is_a_leak_until_it_is_released():
    eng, trunk, far, run = _setup()
    eng.router = lambda leg: None
    run(3.0)
    far.events += far.isup.call(7, "5550007", "2025550100", eng.now / SAMPLE_RATE, continuity=True)
    run(0.5)  # the IAM asks for a continuity check: no leg until the COT, which the far end never sends
    assert not eng.legs and eng.leaks() == [f"SS7 span 1: circuit 7 is {trunk.isup.state(7)} with no call on it"]
    far.events += far.isup.release(7, eng.now / SAMPLE_RATE, 16)
    run(1.0)
    assert trunk.isup.state(7) == I.IDLE and eng.leaks() == []
