"""The board driver API contract, checked on the emulator backend: shapes, errors, registry, status fields."""
import os
import re

import numpy as np
import pytest

from pycallcenter.drivers import (Alarm, Board, EventKind, HookOp, Signalling, SpanStatus, get_backend, open_board,
                                  parse_config, register_backend)
from pycallcenter.errors import ChannelClosedError, HardwareError

CONFIG = """
[board]
blocksize = 80
[[span]]
span = 1
framing = "ccs"
crc4 = true
[[span]]
span = 2
kind = "fxs"
channels = 2
[[channels]]
signalling = "bchan"
channels = "1-15,17-31"
[[channels]]
signalling = "dchan"
channels = 16
[[channels]]
signalling = "fxo_ks"
channels = "32-33"
[emulator]
[[emulator.cable]]
kind = "loopback"
span = 1
"""


@pytest.fixture
def board():
    b = open_board(parse_config(CONFIG))
    yield b
    b.close()


def test_board_shape(board):
    assert isinstance(board, Board) and board.backend == "emulator"
    assert [s.number for s in board.spans] == [1, 2]
    assert sorted(board.channels) == list(range(1, 34))
    ch = board.channel(16)
    assert ch.signalling is Signalling.DCHAN and ch.span.number == 1 and ch.offset == 16
    assert board.channel(32).span.number == 2 and board.channel(32).offset == 1
    assert board.blocksize == 80
    with pytest.raises(ValueError, match="no channel 99"):
        board.channel(99)


def test_read_write_shapes(board):
    g = board.open([1, 2, 3])
    block = g.read()
    assert block.dtype == np.uint8 and block.shape == (3, 80)
    g.write(np.full((3, 80), 0x55, np.uint8))
    g.close()
    one = board.open([5])
    one.write(np.zeros(80, np.uint8))  # 1-D is fine for one channel
    assert one.read().shape == (1, 80)
    assert board.open("6-7,9").numbers == (6, 7, 9)


@pytest.mark.parametrize("bad, exc", [
    (np.zeros((3, 79), np.uint8), ValueError),
    (np.zeros((2, 80), np.uint8), ValueError),
    (np.zeros((3, 80), np.int16), TypeError),
    ([[0] * 80] * 3, TypeError),
])
def test_write_wrong_size_is_clear_and_harmless(board, bad, exc):
    g = board.open([1, 2, 3])
    with pytest.raises(exc, match="write"):
        g.write(bad)
    good = np.full((3, 80), 7, np.uint8)
    g.write(good)  # the group still works after the refused write
    g.read()
    assert g.read().shape == (3, 80)


def test_closed_channel_errors(board):
    g = board.open([1, 2])
    ch = board.channel(1)
    g.close()
    with pytest.raises(ChannelClosedError):
        g.read()
    with pytest.raises(ChannelClosedError):
        g.write(np.zeros((2, 80), np.uint8))
    with pytest.raises(ChannelClosedError):
        ch.set_gains(1.0, 0.0)
    d = board.open_hdlc(16)
    d.close()
    with pytest.raises(ChannelClosedError):
        d.write_frame(b"\x00\x01\x03")
    with pytest.raises(ChannelClosedError):
        d.read_frames()
    # nothing else disturbed: other channels open and run
    g2 = board.open([1, 2, 3])
    assert g2.read().shape == (3, 80)


def test_closing_one_channel_of_a_group(board):
    g = board.open([1, 2])
    board.channel(2).close()
    with pytest.raises(ChannelClosedError, match="channel 2"):
        g.read()


def test_board_close_closes_everything(board):
    g = board.open([1])
    board.close()
    with pytest.raises(ChannelClosedError):
        g.read()
    with pytest.raises(ChannelClosedError):
        board.poll_events()


def test_open_errors(board):
    board.open([1])
    with pytest.raises(ValueError, match="already open"):
        board.open([1, 2])
    with pytest.raises(ValueError, match="open_hdlc"):
        board.open([16])
    with pytest.raises(ValueError, match="not dchan"):
        board.open_hdlc(2)
    with pytest.raises(ValueError, match="twice"):
        board.open([3, 3])
    board.open([2])  # the failed opens claimed nothing


def test_controls_check_signalling(board):
    g = board.open([1, 32])
    with pytest.raises(ValueError, match="ring"):
        board.channel(1).ring(True)
    with pytest.raises(ValueError, match="hook"):
        board.channel(1).hook("off")
    with pytest.raises(ValueError):
        board.channel(32).hook("bogus")
    with pytest.raises(ValueError, match="range"):
        board.channel(1).set_gains(30.0, 0.0)
    with pytest.raises(ValueError, match="taps"):
        board.channel(1).set_echo_canceller(True, taps=4)
    with pytest.raises(ValueError, match="dial"):
        board.channel(1).dial("12x")
    board.channel(1).set_echo_canceller(True, taps=256)
    assert board.channel(1).echo_taps == 256
    board.channel(1).set_law("alaw")
    board.channel(32).ring(True)
    board.channel(32).hook(HookOp.OFF)
    g.close()


def test_frames_need_hdlc_channel(board):
    board.open([1])
    d = board.open_hdlc(16)
    with pytest.raises(ValueError):
        board.channel(1).write_frame(b"abc")
    with pytest.raises(TypeError):
        d.write_frame("abc")
    with pytest.raises(ValueError):
        d.write_frame(b"")


def test_events_are_ordered_and_printable(board):
    board.open([32])
    board.channel(32).ring(True)
    board.step(200)
    events = board.poll_events()
    assert events, "ringing an FXS port with nothing attached still runs its ringer"
    times = [e.sample_time for e in events]
    assert times == sorted(times)
    assert all(isinstance(e.kind, EventKind) for e in events)
    assert str(events[0]).split()[1] == events[0].kind.value
    assert board.poll_events() == []


def test_span_status_has_dahdi_spaninfo_fields(board):
    st = board.span(1).status()
    assert isinstance(st, SpanStatus) and st.spanno == 1 and isinstance(st.alarms, Alarm)
    header = [p for p in (os.popen("ls /usr/src/dahdi-*/include/dahdi/user.h 2>/dev/null").read().split())]
    if not header:
        pytest.skip("DAHDI headers are not installed")
    text = open(header[0]).read()
    body = text[text.index("struct dahdi_spaninfo {"):]
    body = body[:body.index("}")]
    fields = re.findall(r"\b(\w+)(?:\[\d+\])?;", body)
    assert fields and set(fields) <= set(SpanStatus.__dataclass_fields__)


def test_alarm_values_are_dahdi_values():
    assert (Alarm.RED, Alarm.YELLOW, Alarm.BLUE, Alarm.LOOPBACK) == (8, 4, 16, 2)
    assert (Alarm.LOS, Alarm.LFA) == (256, 512)
    assert Alarm.names(Alarm.RED | Alarm.LOS) == ["RED", "LOS"]


def test_backend_registry():
    seen = {}

    def factory(config, **options):
        seen["config"], seen["options"] = config, options
        return "a board"

    register_backend("fake_for_test", factory)
    assert open_board(parse_config(CONFIG), backend="fake_for_test", x=1) == "a board"
    assert seen["options"] == {"x": 1}
    assert get_backend("emulator").__module__.startswith("pycallcenter.drivers.emulator")
    with pytest.raises(HardwareError, match="no board backend"):
        open_board(parse_config(CONFIG), backend="nosuchbackend")


def test_open_board_accepts_path_and_dict(tmp_path):
    import tomllib

    p = tmp_path / "b.toml"
    p.write_text(CONFIG)
    with open_board(str(p)) as b:
        assert len(b.spans) == 2
    with open_board(tomllib.loads(CONFIG)) as b:
        assert len(b.channels) == 33
    with pytest.raises(TypeError):
        open_board(42)
