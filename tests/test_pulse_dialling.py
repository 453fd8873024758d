"""Loop-disconnect (pulse) dialling: Channel.dial("P...") as DAHDI_DIAL takes it, pulses on the emulated line,
the PSTN counting them, and FXO trunks that dial that way."""
import pytest

from engine_rig import ANALOG
from pycallcenter.drivers import EventKind, open_board, parse_config
from pycallcenter.engine import call as C
from pycallcenter.engine.analog import FxoTrunks
from pycallcenter.engine.engine import Engine


def _board():
    board = open_board(parse_config(ANALOG.format(seed=2)))
    return board, board.emulator.far_ends


def test_pstn_counts_the_pulses_of_each_digit_including_zero():
    board, ends = _board()
    group = board.open([3])
    ch = board.channel(3)
    ch.hook("off")
    board.step(10)
    ch.dial("P5094")
    events = []
    for _ in range(300):  # 5+10+9+4 pulses at 10/s plus 3 gaps of 0.7 s: about 3.9 s
        group.read()
        events += board.poll_events()
    assert ends["pstn3"].digits == "5094"
    assert [e.kind for e in events if e.channel == 3].count(EventKind.DIAL_COMPLETE) == 1


def test_a_hook_flash_is_not_a_pulse():
    board, ends = _board()
    group = board.open([3])
    ch = board.channel(3)
    ch.hook("off")
    board.step(10)
    ch.hook("flash")  # 750 ms on hook
    for _ in range(100):
        group.read()
    assert ends["pstn3"].digits == ""
    assert any(k is EventKind.FLASH and d.get("ms", 0) > 600 for k, _, d in ends["pstn3"].events)


@pytest.mark.parametrize("digits, error", [("P12*", "pulse"), ("P", "allowed"), ("Tx", "allowed")])
def test_bad_dial_strings_are_refused(digits, error):
    board, _ = _board()
    board.open([3])
    with pytest.raises(ValueError, match=error):
        board.channel(3).dial(digits)


def test_fxo_trunk_pulse_dials_an_outgoing_call():
    board, ends = _board()
    eng = Engine(board)
    trunk = eng.add(FxoTrunks(eng, [3, 4], name="pulse", dial_mode="pulse", dialtone_wait_ms=500))
    leg = eng.originate("pulse/2025")
    eng.run(seconds=5.0)
    assert ends["pstn3"].digits == "2025"
    ends["pstn3"].answer()
    eng.run(seconds=0.5)
    assert leg.state == C.ANSWERED
    with pytest.raises(ValueError):
        FxoTrunks(eng, [4], dial_mode="rotary-ish")
    assert trunk.dial_mode == "pulse"
    leg.hangup()  # the test placed the call: it ends it
    eng.run(seconds=0.5)
    assert not eng.legs and not ends["pstn3"].off_hook


def test_dahdi_backend_passes_pulse_dialling_to_the_driver():
    from test_dahdi import BENCH

    from pycallcenter.drivers.dahdi.fake import FakeDahdiKernel

    config = parse_config(BENCH)
    emu_board = open_board(config, backend="emulator")
    kernel = FakeDahdiKernel(emu_board)
    board = open_board(config, backend="dahdi", sys=kernel)
    try:
        group = board.open([63, 65])
        board.channel(65).hook("off")
        for _ in range(10):
            group.read()
        board.channel(65).dial("P12")
        assert kernel.files[board.channel(65).file.fd].dialling == "12"
        flashes = []
        for _ in range(60):
            group.read()
            flashes += [e for e in board.poll_events() if e.channel == 63 and e.kind is EventKind.FLASH]
        assert len(flashes) == 3  # the FXS port wired to it saw 1 + 2 loop breaks
    finally:
        board.close()
        emu_board.close()
