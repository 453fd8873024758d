"""The emulated SS7 exchange (pycallcenter.sim.ss7) against the engine's Ss7Trunk over a two-link link set: a
simulated caller's call over ISUP, changeover when one signalling timeslot falls silent (the call goes on),
MTP pause when both do (the call is cleared, every circuit reset at both ends before a new call), and a span alarm
(the span's calls cleared, its circuits hardware-blocked both ways with CGB until the alarm clears and CGU)."""
import pycallcenter.ivr  # noqa: F401  registers the script API (IvrCall) the engine runs scripts on
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.ss7 import Ss7Trunk
from pycallcenter.sim.pstn import Caller, PstnSimulator
from pycallcenter.sim.ss7 import Ss7Exchange
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.isup import Isup

BOARD = """
[board]
law = "alaw"
tonezones = ["etsi"]
blocksize = 640
""" + "".join(f"""
[[span]]
span = {n}
kind = "e1"
framing = "ccs"
coding = "hdb3"
crc4 = true
first_channel = {1 + 31 * (n - 1)}
[[channels]]
signalling = "bchan"
channels = "{1 + 31 * (n - 1)}-{15 + 31 * (n - 1)},{17 + 31 * (n - 1)}-{31 + 31 * (n - 1)}"
[[channels]]
signalling = "dchan"
channels = "{16 + 31 * (n - 1)}"
""" for n in (1, 2)) + """
[emulator]
seed = 3
[[emulator.cable]]
kind = "network"
span = 1
name = "ss7-1"
[[emulator.cable]]
kind = "network"
span = 2
name = "ss7-2"
"""


def _rig(pulled=()):
    board = open_board(parse_config(BOARD))
    for span in pulled:  # in red alarm before the centre starts
        board.emulator.pull_cable(span)
        board.emulator.run(2)
    eng = Engine(board)
    trunk = eng.add(Ss7Trunk(eng, None, opc=1, dpc=2, links=[(1, 0, 0), (2, 1, 32)], name="ss7"))
    nets = [board.emulator.far_ends[f"ss7-{n}"] for n in (1, 2)]
    exchange = Ss7Exchange([(nets[0], 0, 0), (nets[1], 1, 32)], pc=2, centre_pc=1)
    pstns = [PstnSimulator(board, far_end=f"ss7-{n}", iface=exchange.interface(n)) for n in (1, 2)]

    async def script(call):
        await call.answer()
        await call.wait(600)

    eng.router = lambda leg: script
    return board, eng, trunk, exchange, pstns


def _run(eng, seconds):
    eng.run(seconds=seconds)
    return eng.now / SAMPLE_RATE


def _log(eng, kind):
    return [line for line in eng.log_lines if f" {kind} " in line]


def test_a_call_over_isup_survives_changeover_and_is_cleared_by_mtp_pause():
    board, eng, trunk, exchange, pstns = _rig()
    now = _run(eng, 2.0)  # align, prove, test both links; both ends reset every circuit (GRS) first
    assert trunk.links_up() == [0, 1] and exchange.links_up() == [0, 1]
    assert not trunk.reset_due and not exchange.reset_due
    assert all(trunk.isup.usable(cic) and exchange.isup.usable(cic) for cic in trunk.cics)
    caller = Caller("2025550100", "5000", now, talk=600.0, patience=600.0)
    pstns[1].add(caller)  # on span 2: its CICs are 33..63
    _run(eng, 1.0)
    (leg,) = eng.legs.values()
    assert leg.tech == "ss7" and leg.state == C.ANSWERED and leg.cic > 32 and caller.answered is not None
    assert exchange.interface(2).channel_calls.keys() == {leg.cic - 32}

    board.emulator.set_dchan_faults(2, loss=1.0)  # span 2's signalling timeslot goes silent; its bearers stay
    _run(eng, 3.0)
    assert trunk.links_up() == [0] and exchange.links_up() == [0]
    assert _log(eng, "ss7_link_down")[0].endswith("trunk=ss7 up=1 why=SUERM_threshold")
    assert leg.state == C.ANSWERED and not _log(eng, "ss7_route_down")  # changeover: the call goes on
    board.emulator.set_dchan_faults(2)
    _run(eng, 3.0)
    assert trunk.links_up() == [0, 1] and exchange.links_up() == [0, 1]  # changed back
    pstns[1]._hangup(next(iter(pstns[1].active)), caller, eng.now / SAMPLE_RATE, "done")  # REL over the link set
    _run(eng, 1.0)
    assert leg.state == C.ENDED and leg.cause == 16 and caller.ended is not None

    second = Caller("2025550101", "5000", eng.now / SAMPLE_RATE, talk=600.0, patience=600.0)
    pstns[0].add(second)
    _run(eng, 1.0)
    (leg,) = [l for l in eng.legs.values() if l.state == C.ANSWERED]
    for span in (1, 2):  # every link of the link set fails: MTP pause
        board.emulator.set_dchan_faults(span, loss=1.0)
    _run(eng, 2.0)
    assert leg.state == C.ENDED and leg.cause == C.TEMPORARY_FAILURE and second.cause == C.TEMPORARY_FAILURE
    assert _log(eng, "ss7_route_down") and trunk.reset_due and exchange.reset_due
    assert trunk.idle_line() is None and eng.originate("ss7/7000") is None and not eng.leaks()
    for span in (1, 2):
        board.emulator.set_dchan_faults(span)
    _run(eng, 3.0)
    assert trunk.links_up() == [0, 1] and not trunk.reset_due and not exchange.reset_due
    assert all(trunk.isup.usable(cic) and exchange.isup.usable(cic) for cic in trunk.cics)  # GRA both ways
    assert _log(eng, "ss7_route_up")[-1].endswith("reset=True trunk=ss7")
    third = Caller("2025550102", "5000", eng.now / SAMPLE_RATE, talk=600.0, patience=600.0)
    pstns[0].add(third)
    _run(eng, 1.0)
    assert third.answered is not None  # calls go through again
    pstns[0]._hangup(next(iter(pstns[0].active)), third, eng.now / SAMPLE_RATE, "done")
    _run(eng, 1.0)
    assert not eng.legs and not exchange.calls


def test_the_centres_own_call_is_answered_by_the_exchange():
    board, eng, trunk, exchange, pstns = _rig()
    for p in pstns:
        p.answer_unknown(mix={"human": 1.0})
    _run(eng, 2.0)
    leg = eng.originate("ss7/7000", caller="100")
    assert leg is not None and leg.cic == 63  # the centre hunts from the highest CIC, the exchange the lowest
    _run(eng, 16.0)  # the callee answers after 3..15 s of ringing
    assert leg.state == C.ANSWERED
    leg.hangup()
    _run(eng, 1.0)
    assert not exchange.calls and trunk.isup.state(63) == I.IDLE


def test_reset_all_sends_a_grs_per_run_of_circuits_and_rsc_for_a_lone_one():
    isup = Isup(1, 2, list(range(1, 16)) + list(range(17, 32)) + [40])
    isup.reset_all(0.0)
    from pycallcenter.ss7.isup_codec import decode_isup

    sent = [decode_isup(data, "itu") for _, data in isup.take_outgoing()]
    assert [(m.type, m.cic, m.params.get("range_and_status", {}).get("range")) for m in sent] == [
        ("GRS", 1, 14), ("GRS", 17, 14), ("RSC", 40, None)]
    assert not any(isup.usable(cic) for cic in isup.circuits)  # until GRA/RLC come back


def test_a_span_alarm_hardware_blocks_its_circuits_both_ways_and_clearing_unblocks_them():
    board, eng, trunk, exchange, pstns = _rig()
    now = _run(eng, 2.0)
    caller = Caller("2025550100", "5000", now, talk=600.0, patience=600.0)
    pstns[1].add(caller)  # on span 2 (CICs 33..63), which also carries signalling link 1
    _run(eng, 1.0)
    (leg,) = eng.legs.values()
    assert leg.state == C.ANSWERED and leg.cic > 32
    span2 = [cic for cic in trunk.cics if cic > 32]

    board.emulator.pull_cable(2)  # red alarm at the centre, RAI towards the exchange
    _run(eng, 2.0)
    assert leg.state == C.ENDED and leg.cause == C.TEMPORARY_FAILURE and caller.cause == C.TEMPORARY_FAILURE
    assert _log(eng, "ss7_span_alarm")[0].endswith("calls=1 span=2 trunk=ss7")
    assert trunk.links_up() == [0] and not _log(eng, "ss7_route_down")  # link 1 changed over to link 0
    for cic in span2:  # CGB acknowledged both ways (CGBA over the remaining link)
        assert trunk.isup.blocked(cic) == ({"hardware"}, {"hardware"})
        assert exchange.isup.blocked(cic) == ({"hardware"}, {"hardware"})
        assert not trunk.isup._group and not exchange.isup._group
    assert all(not any(trunk.isup.blocked(cic)) for cic in trunk.cics if cic < 32)
    assert trunk.offset_of[trunk.idle_line()] < 32 and not exchange.calls and not eng.leaks()
    late = Caller("2025550103", "5000", eng.now / SAMPLE_RATE, talk=600.0, patience=600.0)
    pstns[1].add(late)  # the exchange seizes no circuit we blocked: the caller is refused at the exchange
    _run(eng, 1.0)
    assert late.refused and not eng.legs

    board.emulator.reconnect(2)
    _run(eng, 4.0)
    assert _log(eng, "ss7_span_clear") and trunk.links_up() == [0, 1] and exchange.links_up() == [0, 1]
    assert not trunk.blocked() and all(trunk.isup.usable(cic) and exchange.isup.usable(cic) for cic in trunk.cics)
    again = Caller("2025550104", "5000", eng.now / SAMPLE_RATE, talk=600.0, patience=600.0)
    pstns[1].add(again)
    _run(eng, 1.0)
    assert again.answered is not None and [l.cic for l in eng.legs.values() if l.state == C.ANSWERED][0] > 32
    pstns[1]._hangup(next(iter(pstns[1].active)), again, eng.now / SAMPLE_RATE, "done")
    _run(eng, 1.0)
    assert not eng.legs and not exchange.calls


def test_hardware_blocking_sends_one_cgb_per_run_and_refuses_an_iam_on_a_blocked_circuit():
    from pycallcenter.ss7.isup_codec import decode_isup

    isup = Isup(1, 2, list(range(1, 16)) + list(range(17, 32)) + [40, 41])
    isup.hardware_block(list(range(1, 16)) + list(range(17, 32)) + [40], 0.0)
    sent = [decode_isup(data, "itu") for _, data in isup.take_outgoing()]
    assert [(m.type, m.cic, m.params["circuit_group_supervision_message_type"]["type"],
             m.params["range_and_status"]["status"]) for m in sent] == [
        ("CGB", 1, 1, [1] * 15), ("CGB", 17, 1, [1] * 15), ("CGB", 40, 1, [1, 0])]
    assert not isup.usable(1) and isup.usable(41)  # blocked here at once, before any CGBA
    far = Isup(2, 1, [1, 2])
    far.call(1, "5000", "2025550100", 0.0)  # sent before our CGB reached it
    for _, data in far.take_outgoing():
        isup.receive(data, 0.0)
    (rel,) = [decode_isup(data, "itu") for _, data in isup.take_outgoing()]
    assert (rel.type, rel.cic, rel.params["cause_indicators"]["cause"]) == ("REL", 1, 41)


def test_blocking_sent_while_every_link_is_down_goes_out_when_the_route_returns():
    board, eng, trunk, exchange, pstns = _rig()
    _run(eng, 2.0)
    for span in (1, 2):  # both spans in alarm: no link left, the CGB cannot go out
        board.emulator.pull_cable(span)
    _run(eng, 2.0)
    assert _log(eng, "ss7_route_down") and trunk.isup._group and exchange.isup._group
    assert not any(trunk.isup.blocked(cic)[1] for cic in trunk.cics)  # nothing reached the far end
    board.emulator.reconnect(1)  # the route returns over span 1; span 2 is still in alarm
    _run(eng, 3.0)
    assert trunk.links_up() == [0] and not trunk.reset_due and not exchange.reset_due
    assert all(trunk.isup.usable(cic) and exchange.isup.usable(cic) for cic in trunk.cics if cic < 32)
    for cic in (cic for cic in trunk.cics if cic > 32):  # span 2's CGB, repeated at resume, acknowledged
        assert trunk.isup.blocked(cic) == ({"hardware"}, {"hardware"}) == exchange.isup.blocked(cic)
    board.emulator.reconnect(2)
    _run(eng, 4.0)
    assert trunk.links_up() == [0, 1] and not trunk.blocked() and not trunk.isup._group
    assert all(trunk.isup.usable(cic) and exchange.isup.usable(cic) for cic in trunk.cics)


def test_a_span_already_in_alarm_at_start_is_blocked_once_the_route_is_up():
    board, eng, trunk, exchange, pstns = _rig(pulled=(2,))
    assert not trunk.isup.usable(40)  # blocked here from the start
    _run(eng, 3.0)
    assert trunk.links_up() == [0] and not trunk.reset_due
    for cic in trunk.cics:
        assert trunk.isup.blocked(cic) == (({"hardware"}, {"hardware"}) if cic > 32 else (set(), set()))
    board.emulator.reconnect(2)
    _run(eng, 4.0)
    assert trunk.links_up() == [0, 1] and not trunk.blocked() and not exchange.isup._group
