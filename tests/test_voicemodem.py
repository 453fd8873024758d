"""The V.253 voice-modem backend against a fake modem answering on a pseudo-terminal."""
import os
import select
import threading
import time

import numpy as np
import pytest

from pycallcenter.drivers.voicemodem import ModemEvent, VoiceModem
from pycallcenter.drivers.voicemodem_proto import DleDecoder, dle_escape, int16_to_u8, parse_cid_line, u8_to_int16
from pycallcenter.errors import HardwareError

DLE, ETX = b"\x10", b"\x03"


class FakeModem(threading.Thread):
    """A scripted V.253 modem on the master side of a pty; records what the host asked of it."""

    def __init__(self, *, voice=True, refuse=()):
        super().__init__(daemon=True)
        self.master, slave = os.openpty()
        self.path = os.ttyname(slave)
        self._slave = slave
        self.voice = voice
        self.refuse = set(refuse)  # commands answered with ERROR
        self.commands = []
        self.dtmf_sent = ""
        self.played = bytearray()  # samples the host transmitted, DLE shielding removed
        self.mode = "command"
        self.hook = 0
        self.stop_flag = False
        self._line = bytearray()
        self._tx = DleDecoder()
        self.lock = threading.Lock()
        self.start()

    def send(self, data):
        with self.lock:
            os.write(self.master, data)

    def say(self, *lines):
        self.send(b"".join(b"\r\n" + line.encode() + b"\r\n" for line in lines))

    def run(self):
        while not self.stop_flag:
            r, _, _ = select.select([self.master], [], [], 0.02)
            if not r:
                continue
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if self.mode == "command":
                self._command_bytes(data)
            else:
                self._stream_bytes(data)

    def _command_bytes(self, data):
        for b in data:
            if b == 0x0D:
                self._handle(bytes(self._line).decode())
                self._line.clear()
            elif b != 0x0A:
                self._line.append(b)

    def _stream_bytes(self, data):
        if self.mode == "receive":  # any DLE ! ends reception
            if DLE + b"!" in data:
                self.mode = "command"
                self.send(DLE + ETX)
                self.say("OK")
            return
        audio, events = self._tx.feed(data)
        self.played += audio
        if any(e.kind == "end" for e in events):
            was = self.mode
            self.mode = "command"
            if was == "duplex":
                self.send(DLE + ETX)
            self.say("OK")

    def _handle(self, cmd):
        cmd = cmd.strip()
        if not cmd:
            return
        self.commands.append(cmd)
        if cmd in self.refuse:
            self.say("ERROR")
        elif cmd == "ATI3":
            self.say("FakeModem V.253 1.0", "OK")
        elif cmd == "AT+FCLASS=?":
            self.say("0,1,2,8" if self.voice else "0,1,2", "OK")
        elif cmd.startswith("AT+VLS="):
            self.hook = int(cmd[7:])
            self.say("OK")
        elif cmd.startswith("AT+VTS="):
            self.dtmf_sent += cmd[7:].replace(",", "")
            self.say("OK")
        elif cmd.startswith("ATD"):
            self.hook = 1
            self.say("VCON")
        elif cmd in ("AT+VRX", "AT+VTR", "AT+VTX"):
            self.mode = {"AT+VRX": "receive", "AT+VTR": "duplex", "AT+VTX": "transmit"}[cmd]
            self._tx = DleDecoder()
            self.say("CONNECT")
        elif cmd == "AT+BAD":
            self.say("ERROR")
        elif cmd == "AT+MUTE":
            pass
        else:
            self.say("OK")

    def close(self):
        self.stop_flag = True
        self.join(1)
        os.close(self.master)
        os.close(self._slave)


@pytest.fixture
def modem_pair():
    fake = FakeModem()
    modem = VoiceModem(fake.path, timeout=2.0)
    yield fake, modem
    modem.close()
    fake.close()


def _wait_for(predicate, seconds=2.0):
    deadline = time.monotonic() + seconds
    while not predicate() and time.monotonic() < deadline:
        time.sleep(0.005)
    return predicate()


def test_setup_puts_modem_in_voice_mode_with_caller_id(modem_pair):
    fake, modem = modem_pair
    assert modem.setup() == "FakeModem V.253 1.0"
    assert fake.commands == ["ATZ", "ATE0", "ATI3", "AT+FCLASS=?", "AT+FCLASS=8", "AT+VCID=1", "AT+VSM=128,8000",
                             "AT+VLS=0"]


def test_non_voice_modem_is_refused():
    fake = FakeModem(voice=False)
    try:
        modem = VoiceModem(fake.path, timeout=2.0)
        with pytest.raises(HardwareError, match="not a voice modem"):
            modem.setup()
        modem.close()
    finally:
        fake.close()


def test_error_and_silence_raise_hardware_error(modem_pair):
    fake, modem = modem_pair
    with pytest.raises(HardwareError, match="ERROR"):
        modem.command("AT+BAD")
    modem.timeout = 0.2
    with pytest.raises(HardwareError, match="did not answer"):
        modem.command("AT+MUTE")


def test_missing_port_names_it():
    with pytest.raises(HardwareError, match="/dev/nonexistent-modem"):
        VoiceModem("/dev/nonexistent-modem")


def test_rings_and_caller_id_are_reported(modem_pair):
    fake, modem = modem_pair
    modem.setup()
    fake.say("RING", "DATE = 0321", "TIME = 1405", "NMBR = 5551234", "NAME = ADA LOVELACE", "RING")
    events = []
    assert _wait_for(lambda: events.extend(modem.poll(0.05)) or len(events) >= 3)
    assert events == [ModemEvent("ring"),
                      ModemEvent("caller_id", date="0321", time="1405", number="5551234", name="ADA LOVELACE"),
                      ModemEvent("ring")]


def test_answer_receive_voice_with_dtmf_and_hang_up(modem_pair):
    fake, modem = modem_pair
    modem.setup()
    modem.go_off_hook()
    assert fake.hook == 1
    modem.start(duplex=False)
    # Audio containing a literal DLE byte (shielded as DLE DLE), a DTMF 5 and a busy report.
    fake.send(bytes([128, 0x10, 0x10, 200]) + DLE + b"5" + bytes([50]) + DLE + b"b")
    got, events = np.zeros(0, np.int16), []
    def more():
        nonlocal got
        s, e = modem.read_voice()
        got = np.concatenate([got, s])
        events.extend(e)
        return len(got) >= 4 and len(events) >= 2
    assert _wait_for(more)
    assert list(got) == list(u8_to_int16(bytes([128, 0x10, 200, 50])))
    assert events == [ModemEvent("dtmf", digit="5"), ModemEvent("busy")]
    modem.go_on_hook()
    assert modem.mode == "command" and fake.hook == 0


def test_duplex_transmit_is_dle_shielded(modem_pair):
    fake, modem = modem_pair
    modem.setup()
    modem.go_off_hook()
    modem.start(duplex=True)
    samples = np.array([0, 4096, -32768, (0x10 - 128) << 8, 32767], np.int16)
    modem.write_voice(samples)
    modem.stop()
    assert bytes(fake.played) == int16_to_u8(samples)
    assert modem.mode == "command"


def test_play_and_send_dtmf_and_dial(modem_pair):
    fake, modem = modem_pair
    modem.setup()
    modem.dial("5551234")
    assert fake.commands[-1] == "ATD5551234" and modem.off_hook
    modem.send_dtmf("12#")
    assert fake.dtmf_sent == "12#"
    tone = (8000 * np.sin(np.arange(400) * 0.3)).astype(np.int16)
    modem.play(tone)
    assert bytes(fake.played) == int16_to_u8(tone)
    with pytest.raises(ValueError):
        modem.send_dtmf("12x")


def test_dle_decoder_splits_across_reads():
    dec = DleDecoder()
    a1, e1 = dec.feed(b"ab" + DLE)
    a2, e2 = dec.feed(DLE + b"c" + DLE + b"#" + DLE)
    a3, e3 = dec.feed(ETX + b"\r\nOK\r\n")
    assert a1 + a2 + a3 == b"ab\x10c"
    assert [(e.kind, e.digit, e.offset) for e in e2 + e3] == [("dtmf", "#", 4), ("end", "", 4)]
    assert dec.leftover == b"\r\nOK\r\n"
    assert dle_escape(b"\x10a\x10") == b"\x10\x10a\x10\x10"


def test_cid_lines_and_u8_conversion():
    assert parse_cid_line("NMBR=5551234") == ("number", "5551234")
    assert parse_cid_line("NAME = O'BRIEN") == ("name", "O'BRIEN")
    assert parse_cid_line("RING") is None and parse_cid_line("FOO = 1") is None
    assert int16_to_u8(np.array([-32768, 0, 32767], np.int16)) == bytes([0, 128, 255])


# --- the modem as a board of the driver API ---------------------------------------------------------
MODEM_BOARD = """
[[span]]
span = 1
kind = "fxo"
channels = 1
[[channels]]
signalling = "fxs_ks"
channels = "1"
law = "ulaw"
"""


@pytest.fixture
def modem_board():
    from pycallcenter.drivers import open_board, parse_config

    fake = FakeModem()
    board = open_board(parse_config(MODEM_BOARD), backend="voicemodem", port=fake.path)
    yield fake, board
    board.close()
    fake.close()


def _poll_until(board, pred, seconds=2.0):
    got = []
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        got += board.poll_events()
        if pred(got):
            break
        time.sleep(0.01)
    return got


def test_board_reports_rings_and_caller_id_as_ring_events(modem_board):
    from pycallcenter.drivers import EventKind

    fake, board = modem_board
    assert board.span(1).status().desc.startswith("V.253 voice modem on ")
    fake.say("RING", "DATE = 0321", "TIME = 1405", "NMBR = 5551234", "NAME = ADA", "RING")
    events = _poll_until(board, lambda ev: len(ev) >= 3)
    assert [e.kind for e in events] == [EventKind.RING_BEGIN, EventKind.RING_END, EventKind.RING_BEGIN]
    assert events[1].data == {"date": "0321", "time": "1405", "number": "5551234", "name": "ADA"}
    assert all(e.channel == 1 and e.span == 1 for e in events)


def test_board_answers_streams_g711_both_ways_and_hangs_up(modem_board):
    from pycallcenter.drivers import EventKind, HookOp
    from pycallcenter.dsp import g711

    fake, board = modem_board
    group = board.open([1])
    line = board.channel(1)
    line.hook(HookOp.OFF)
    assert fake.hook == 1 and fake.mode == "duplex"
    incoming = bytes(range(60, 220)) + DLE + b"7" + bytes(range(70, 230)) + DLE + b"l"
    fake.send(incoming)
    first, second = group.read(), group.read()
    want = g711.ulaw_encode(u8_to_int16(bytes(range(60, 220))))
    assert np.array_equal(first[0], want)
    events = _poll_until(board, lambda ev: len(ev) >= 2)
    assert [(e.kind, e.data) for e in events] == [(EventKind.DTMF, {"digit": "7"}), (EventKind.ON_HOOK, {})]
    out = g711.ulaw_encode((np.arange(160) * 100 - 8000).astype(np.int16))
    group.write(out.reshape(1, -1))
    line.hook(HookOp.ON)
    assert fake.hook == 0 and board.modem.mode == "command"
    assert bytes(fake.played) == int16_to_u8(g711.ulaw_decode(out))
    assert second.shape == (1, 160)


def test_board_refuses_what_a_modem_cannot_do_and_bad_configs(modem_board):
    from pycallcenter.drivers import HookOp, open_board, parse_config

    fake, board = modem_board
    board.open([1])
    with pytest.raises(HardwareError, match="cannot apply gains"):
        board.channel(1).set_gains(3.0, 0.0)
    with pytest.raises(HardwareError, match="cannot signal flash"):
        board.channel(1).hook(HookOp.FLASH)
    board.channel(1).dial("12")
    assert fake.dtmf_sent == "12"
    two = MODEM_BOARD.replace("channels = 1", "channels = 2").replace('channels = "1"', 'channels = "1-2"')
    fake2 = FakeModem()
    try:
        with pytest.raises(ValueError, match="one span"):
            open_board(parse_config(two), backend="voicemodem", port=fake2.path)
    finally:
        fake2.close()


def test_caller_id_falls_back_to_the_rockwell_command():
    fake = FakeModem(refuse={"AT+VCID=1"})
    try:
        modem = VoiceModem(fake.path, timeout=2.0)
        modem.setup()
        assert modem.caller_id == "AT#CID=1" and "AT#CID=1" in fake.commands
        modem.close()
        fake.refuse.add("AT#CID=1")
        modem = VoiceModem(fake.path, timeout=2.0)
        modem.setup()  # a modem with no caller ID still works as a line
        assert modem.caller_id is None
        modem.close()
    finally:
        fake.close()
