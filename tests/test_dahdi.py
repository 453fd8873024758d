"""The DAHDI backend end to end against the fake DAHDI kernel, itself backed by the emulated board.

The backend speaks real ioctl numbers and struct bytes (from <dahdi/user.h>); the fake decodes them
with the same cffi module and answers from the emulator, so these tests exercise every ioctl the
backend issues and check the data each one carries.
"""
import os

import numpy as np
import pytest

pytest.importorskip("pycallcenter.drivers.dahdi._dahdi_cffi", reason="DAHDI binding not built (no <dahdi/user.h>)")

from pycallcenter.drivers import Alarm, EventKind, HookOp, Law, open_board, parse_config  # noqa: E402
from pycallcenter.drivers.dahdi._binding import ffi, lib  # noqa: E402
from pycallcenter.drivers.dahdi.device import IOCTLS_USED, DahdiChannelFile  # noqa: E402
from pycallcenter.drivers.dahdi.fake import FakeDahdiKernel  # noqa: E402
from pycallcenter.errors import HardwareError  # noqa: E402

BENCH = """
[board]
blocksize = 160
law = "alaw"
[[span]]
span = 1
kind = "e1"
timing = 1
framing = "ccs"
coding = "hdb3"
[[span]]
span = 2
kind = "e1"
framing = "ccs"
coding = "hdb3"
[[span]]
span = 3
kind = "fxs"
channels = 2
first_channel = 63
[[span]]
span = 4
kind = "fxo"
channels = 2
first_channel = 65
[[channels]]
signalling = "bchan"
channels = "1-15,17-31,32-46,48-62"
[[channels]]
signalling = "dchan"
channels = "16,47"
[[channels]]
signalling = "fxo_ks"
channels = "63-64"
law = "ulaw"
[[channels]]
signalling = "fxs_ks"
channels = "65-66"
law = "ulaw"
[[echocanceller]]
name = "mg2"
channels = "1-3"
taps = 256
[emulator]
seed = 7
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
[[emulator.cable]]
kind = "pair"
fxs = "63-64"
fxo = "65-66"
"""


class RecordingSys:
    """Wraps the fake kernel and records the request number of every ioctl that passes the seam."""

    def __init__(self, inner):
        self.inner = inner
        self.requests = []

    def ioctl(self, fd, request, buf):
        self.requests.append(request)
        return self.inner.ioctl(fd, request, buf)

    def __getattr__(self, name):
        return getattr(self.inner, name)


@pytest.fixture
def rig():
    config = parse_config(BENCH)
    emu_board = open_board(config, backend="emulator")
    kernel = FakeDahdiKernel(emu_board)
    seam = RecordingSys(kernel)
    board = open_board(config, backend="dahdi", sys=seam)
    yield board, emu_board, kernel, seam
    board.close()
    emu_board.close()


def _run(board, group, ticks, tx=None):
    """Run ticks through the DAHDI board, writing tx (or idle); return the blocks read, concatenated."""
    out = []
    for i in range(ticks):
        if tx is not None:
            group.write(tx[:, i * board.blocksize:(i + 1) * board.blocksize])
        out.append(group.read())
    return np.concatenate(out, axis=1)


def _events(board, ticks=1):
    board.step(ticks)
    return board.poll_events()


def test_every_ioctl_the_backend_uses_goes_through_the_fake_and_back(rig):
    board, emu_board, kernel, seam = rig
    group = board.open([1, 2, 3, 32, 63])
    stations = board.open([65])
    d = board.open_hdlc(16)
    board.open_hdlc(47)
    board.channel(1).set_gains(6.0, -3.0)
    board.channel(2).set_law("ulaw")
    board.channel(3).set_echo_canceller(True, 512)
    board.channel(63).set_polarity(True)
    board.channel(63).ring(True)
    board.channel(65).hook(HookOp.OFF)
    board.channel(32).dial("12")
    d.write_frame(b"\x00\x01\x03hello")
    group.write(np.full((5, 160), 0xD5, np.uint8))
    group.read()
    board.step(20)
    board.poll_events()
    board.channel(1).file.get_gains()
    board.span(1).status()
    names = {n: getattr(lib, n) for n in IOCTLS_USED}
    hit = set(seam.requests)
    assert {n for n, req in names.items() if req in hit} == set(IOCTLS_USED)
    assert hit <= set(names.values()), "the backend issued an ioctl it does not declare in IOCTLS_USED"
    assert set(kernel.ioctls) == set(IOCTLS_USED)
    group.close()
    stations.close()


def test_channel_params_and_law_come_back_in_dahdi_params(rig):
    board, emu_board, kernel, _ = rig
    board.open([33])
    f = board.channel(33).file
    p = f.get_params()
    assert (p.channo, p.spanno, p.chanpos) == (33, 2, 2)
    assert p.sigtype == lib.DAHDI_SIG_CLEAR and p.curlaw == lib.DAHDI_LAW_ALAW and p.name == "FAKE/2/2"
    board.channel(33).set_law(Law.ULAW)
    assert f.get_params().curlaw == lib.DAHDI_LAW_MULAW
    assert emu_board.channel(33).law is Law.ULAW
    d = board.open_hdlc(16)
    assert d.file.is_hdlc and d.file.params.sigtype == lib.DAHDI_SIG_HDLCFCS


def test_spanstat_carries_the_emulator_status(rig):
    board, emu_board, _, _ = rig
    board.step(100)
    for n in (1, 2, 3):
        got, want = board.span(n).status(), emu_board.span(n).status()
        assert (got.spanno, got.name, got.desc, got.alarms, got.numchans, got.totalchans, got.spantype) == (
            want.spanno, want.name, want.desc, want.alarms, want.numchans, want.totalchans, want.spantype)
        assert got.totalspans == 4
    assert board.span(1).status().alarms == Alarm.NONE


def test_gains_echo_canceller_and_params_reach_the_board(rig):
    board, emu_board, kernel, _ = rig
    board.open([1, 2, 3])
    board.channel(2).set_gains(rx_db=6.0, tx_db=-3.0)
    emu = emu_board.channel(2)
    assert (emu.rx_gain_db, emu.tx_gain_db) == (6.0, -3.0)
    rx, tx = board.channel(2).file.get_gains()
    assert rx != bytes(range(256)) and len(rx) == len(tx) == 256
    # From the config: echo canceller mg2 with 256 taps on channels 1-3, sent at open.
    assert emu_board.channel(1).echo_taps == 256
    board.channel(3).file.echocancel(128, {"aggressive": 1, "nlp_thresh": -24})
    fd = board.channel(3).file.fd
    assert kernel.files[fd].echo == (128, {"aggressive": 1, "nlp_thresh": -24})
    assert emu_board.channel(3).echo_taps == 128
    board.channel(3).set_echo_canceller(False)
    assert kernel.files[fd].echo == (0, {}) and emu_board.channel(3).echo_taps == 0


def test_audio_crosses_the_crossover_byte_for_byte(rig):
    board, _, _, _ = rig
    group = board.open([5, 36])
    rng = np.random.default_rng(1)
    tx = np.full((2, 160 * 30), 0xD5, np.uint8)
    tx[0, :160 * 20] = rng.integers(0, 256, 160 * 20)
    rx = _run(board, group, 30, tx)
    sent = tx[0, :160 * 20].tobytes()
    assert sent in rx[1].tobytes(), "channel 5's bytes did not arrive on channel 36"


def test_ring_hook_polarity_and_dial_events_translate_both_ways(rig):
    board, _, _, _ = rig
    board.open([63, 64])
    board.open([65, 66])
    board.channel(63).ring(True)
    ev = _events(board, 10)
    assert [(e.kind, e.channel) for e in ev if e.channel == 65][:1] == [(EventKind.RING_BEGIN, 65)]
    board.channel(63).ring(False)
    ev = _events(board, 20)
    assert (EventKind.RING_END, 65) in [(e.kind, e.channel) for e in ev]
    board.channel(65).hook(HookOp.OFF)
    ev = _events(board, 10)
    assert (EventKind.OFF_HOOK, 63) in [(e.kind, e.channel) for e in ev]
    board.channel(63).set_polarity(True)
    ev = _events(board, 10)
    pol = [e for e in ev if e.kind is EventKind.POLARITY and e.channel == 65]
    assert pol and pol[0].data == {"reversed": True}
    board.channel(64).dial("5#")
    ev = _events(board, 50)
    done = [e for e in ev if e.kind is EventKind.DIAL_COMPLETE]
    assert [(e.channel, e.data) for e in done] == [(64, {"digits": "5#"})]
    board.channel(65).hook(HookOp.ON)
    ev = _events(board, 100)
    assert (EventKind.ON_HOOK, 63) in [(e.kind, e.channel) for e in ev]


def test_d_channel_frames_cross_with_fcs_handled_by_the_kernel(rig):
    board, _, kernel, _ = rig
    a, b = board.open_hdlc(16), board.open_hdlc(47)
    # Up to the API's largest frame: DAHDI holds one frame per buffer, so the buffers must fit it.
    frames = [bytes([i]) * (i + 3) for i in range(10)] + [b"\x7e\x7d\x10" * 50, bytes(range(256)) * 4]
    for f in frames:
        a.write_frame(f)
    got = []
    for _ in range(50):
        board.step(1)
        got += b.read_frames()
    assert got == frames
    assert kernel.files[b.file.fd].bufinfo[:2] == (16, 1026)


def test_cable_pull_raises_and_clears_span_alarms(rig):
    board, emu_board, _, _ = rig
    board.open([1])
    board.step(100)
    board.poll_events()
    emu_board.emulator.pull_cable(1)
    ev = _events(board, 100)
    raised = [e for e in ev if e.kind is EventKind.ALARM and e.span == 1]
    assert raised and "RED" in {e.data["alarm"] for e in raised}
    assert board.span(1).status().alarms & Alarm.RED
    emu_board.emulator.reconnect(1)
    ev = _events(board, 1000)
    assert any(e.kind is EventKind.ALARM_CLEARED and e.span == 1 for e in ev)
    assert board.span(1).status().alarms == Alarm.NONE


def test_same_inputs_give_the_same_event_log():
    def log():
        config = parse_config(BENCH)
        emu_board = open_board(config, backend="emulator")
        board = open_board(config, backend="dahdi", sys=FakeDahdiKernel(emu_board))
        board.open([63])
        board.open([65])
        board.channel(63).ring(True)
        board.step(400)
        board.channel(65).hook(HookOp.OFF)
        board.step(50)
        return [str(e) for e in board.poll_events()]

    first = log()
    assert first and first == log()


def test_config_that_disagrees_with_dahdi_is_refused(rig):
    board, emu_board, kernel, _ = rig
    wrong = parse_config(BENCH.replace('signalling = "fxo_ks"', 'signalling = "fxo_ls"'))
    other = open_board(wrong, backend="dahdi", sys=kernel)
    with pytest.raises(HardwareError, match="fxo_ls"):
        other.open([63])


def test_kernel_errors_become_hardware_errors(rig):
    board, _, kernel, _ = rig
    with pytest.raises(HardwareError, match="DAHDI_SPECIFY on DAHDI channel 999"):
        DahdiChannelFile(999, sys=kernel)
    board.open([1])
    with pytest.raises(HardwareError, match="blocksize"):
        DahdiChannelFile(2, sys=kernel, blocksize=80)
    with pytest.raises(OSError) as info:
        kernel.open("/dev/dahdi/pseudo", os.O_RDWR)
    assert info.value.errno == 2
    fd = kernel.open("/dev/dahdi/channel", os.O_RDWR)
    with pytest.raises(OSError, match="before DAHDI_SPECIFY"):
        kernel.ioctl(fd, lib.DAHDI_HOOK, ffi.buffer(ffi.new("int *", 1)))
    with pytest.raises(OSError, match="needs 136 bytes"):
        kernel.ioctl(fd, lib.DAHDI_GET_PARAMS, bytearray(8))


def test_pending_event_is_fetched_before_audio_is_read_or_written(rig):
    board, _, kernel, _ = rig
    board.open([63])
    station = board.open([65])
    f = kernel.files[board.channel(65).file.fd]
    board.channel(63).ring(True)
    for _ in range(10):
        kernel.tick()
    assert f.events, "the fake queued no DAHDI event for the ringing line"
    station.write(np.full((1, 160), 0x7F, np.uint8))  # ELAST first: the backend drains, then writes
    assert not f.events and bytes(f.tx[:160]) == b"\x7f" * 160
    board.channel(63).ring(False)
    for _ in range(5):
        kernel.tick()
    assert f.events
    assert station.read().shape == (1, 160)  # ELAST on read: drained, then the block
    kinds = [e.kind for e in board.poll_events() if e.channel == 65]
    # 15 ticks nobody read: more than the 4 buffers, so DAHDI dropped blocks and said so.
    assert EventKind.READ_OVERRUN in kinds
    assert [k for k in kinds if k is not EventKind.READ_OVERRUN][:2] == [EventKind.RING_BEGIN, EventKind.RING_END]


def test_dial_string_reaches_the_board_tone_generator(rig):
    from pycallcenter.dsp import dtmf, g711

    board, _, kernel, _ = rig
    board.open([32])
    far = board.open([1])
    board.channel(32).dial("159#")
    det = dtmf.DtmfDetector(1)
    heard = ""
    for _ in range(60):
        block = g711.alaw_decode(far.read()[0])
        heard += "".join(e.digit for e in det.process(block) if e.kind == "begin")
    assert heard == "159#"
    assert kernel.files[board.channel(32).file.fd].dialling == "159#"


def test_closing_gives_the_channel_back(rig):
    board, emu_board, kernel, _ = rig
    group = board.open([7])
    fd = board.channel(7).file.fd
    group.close()
    assert fd not in kernel.files and not emu_board.channel(7).is_open
    again = board.open([7])  # DAHDI_SPECIFY would say EBUSY had the fake kept it
    assert again.read().shape == (1, 160)


@pytest.mark.parametrize("law", ["ulaw", "alaw"])
def test_gain_tables_apply_the_gain_asked(law):
    from pycallcenter.drivers.dahdi.gains import gain_table, table_gain_db

    from pycallcenter.dsp import g711

    decode = g711.ulaw_decode if law == "ulaw" else g711.alaw_decode
    codes = np.arange(256, dtype=np.uint8)
    same = decode(np.frombuffer(gain_table(0.0, law), dtype=np.uint8).copy())
    assert np.array_equal(same, decode(codes))  # 0 dB keeps every level (mu-law's -0 may become +0)
    for db in (-24.0, -9.5, -3.0, 1.0, 6.0, 12.0, 24.0):
        assert abs(table_gain_db(gain_table(db, law), law) - db) <= 0.2
