"""SS7 on the board emulator: MTP2 over the spans' HDLC channels, CICs mapped to bearer channels that carry audio."""
import numpy as np
import pytest

from pycallcenter.drivers import open_board
from pycallcenter.ss7 import isup as I
from pycallcenter.ss7.span import Ss7Span
from pycallcenter.ss7.stack import SignallingPoint

from engine_rig import e1_pair_config

CONFIG = e1_pair_config("ss7-back-to-back", seed=1)


@pytest.fixture
def rig(tmp_path):
    path = tmp_path / "board.toml"
    path.write_text(CONFIG)
    board = open_board(str(path))
    a, b = SignallingPoint(1), SignallingPoint(2)
    span_a, span_b = Ss7Span(board, 1, a, 0, 2), Ss7Span(board, 2, b, 0, 1)
    rig = {"board": board, "spans": {"a": span_a, "b": span_b}, "isup": {}, "events": {"a": [], "b": []}}
    rig["isup"]["a"] = a.add_circuits(2, span_a.cics)
    rig["isup"]["b"] = b.add_circuits(1, span_b.cics)
    span_a.start()
    span_b.start()
    yield rig
    board.close()


def run(rig, ticks):
    board = rig["board"]
    for _ in range(ticks):
        board.step(1)
        for ev in board.poll_events():
            for side in "ab":
                rig["events"][side] += rig["spans"][side].handle_board_event(ev)
        for side in "ab":
            rig["events"][side] += rig["spans"][side].service()


def test_call_over_the_board_gets_mapped_bearer_channels_that_carry_audio(rig):
    span_a, span_b = rig["spans"]["a"], rig["spans"]["b"]
    assert span_a.cics == list(range(1, 16)) + list(range(17, 32))
    run(rig, 100)
    assert span_a.sp.mtp3.route_available(2) and span_b.sp.mtp3.route_available(1)
    rig["isup"]["a"].call(5, "5551234", "2025550100", span_a.now())
    run(rig, 5)
    (inc,) = [e for e in rig["events"]["b"] if isinstance(e, I.IncomingCall)]
    assert inc.cic == 5 and inc.called == "5551234"
    ch_a, ch_b = span_a.channel_for(5), span_b.channel_for(inc.cic)
    assert (ch_a, ch_b) == (5, 36) and span_b.cic_for(36) == 5
    rig["isup"]["b"].answer(5, span_b.now())
    run(rig, 5)
    assert I.Answered(5) in rig["events"]["a"]
    board = rig["board"]
    ga, gb = board.open([ch_a]), board.open([ch_b])
    pattern = np.arange(board.blocksize, dtype=np.uint8).reshape(1, -1) ^ 0x55
    seen = False
    for _ in range(6):
        ga.write(pattern)
        gb.write(np.full((1, board.blocksize), 0xD5, np.uint8))
        run(rig, 1)
        gb_block = gb.read()
        ga.read()
        seen = seen or np.array_equal(gb_block, pattern)
    assert seen


def test_pulled_cable_takes_the_link_down_and_reconnect_restores_it(rig):
    from pycallcenter.ss7 import mtp3
    run(rig, 100)
    span_a = rig["spans"]["a"]
    rig["board"].emulator.pull_cable(2)
    run(rig, 10)
    assert mtp3.RouteUnavailable(1) in rig["events"]["b"]
    assert not rig["spans"]["b"].sp.mtp3.route_available(1)
    rig["board"].emulator.reconnect(2)
    run(rig, 200)
    assert span_a.sp.mtp3.route_available(2) and rig["spans"]["b"].sp.mtp3.route_available(1)


T1_CONFIG = """
[board]
name = "ss7-t1"
[[span]]
span = 1
kind = "t1"
framing = "esf"
coding = "b8zs"
[[span]]
span = 2
kind = "t1"
framing = "esf"
coding = "b8zs"
[[channels]]
signalling = "bchan"
channels = "1-23,25-47"
[[channels]]
signalling = "dchan"
channels = "24,48"
[emulator]
seed = 1
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
"""


def test_t1_spans_in_ansi_map_cics_from_a_base(tmp_path):
    path = tmp_path / "t1.toml"
    path.write_text(T1_CONFIG)
    board = open_board(str(path))
    try:
        a, b = SignallingPoint(0x010203, "ansi"), SignallingPoint(0x010204, "ansi")
        span_a = Ss7Span(board, 1, a, 0, 0x010204, first_cic=100)
        span_b = Ss7Span(board, 2, b, 0, 0x010203, first_cic=100)
        assert span_a.cics == list(range(101, 124))
        ia, ib = a.add_circuits(0x010204, span_a.cics), b.add_circuits(0x010203, span_b.cics)
        rig = {"board": board, "spans": {"a": span_a, "b": span_b}, "events": {"a": [], "b": []}}
        span_a.start()
        span_b.start()
        run(rig, 100)
        ia.call(123, "2125551234", "", span_a.now())
        run(rig, 5)
        (inc,) = [e for e in rig["events"]["b"] if isinstance(e, I.IncomingCall)]
        assert inc.cic == 123 and span_b.channel_for(123) == 47
    finally:
        board.close()
