"""Emulated boards for engine tests: analog phones and PSTN lines, and an E1 PRI span whose far end is
our own network-side Q.931 stack (the emulated PSTN)."""
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.engine import Engine
import pycallcenter.ivr  # noqa: F401,I001  registers the script API (IvrCall) the engines here run scripts on
from pycallcenter.isdn import call as q

ANALOG = """
[board]
law = "ulaw"
tonezones = ["us"]
[[span]]
span = 1
kind = "fxs"
channels = 2
[[span]]
span = 2
kind = "fxo"
channels = 2
[[channels]]
signalling = "fxo_ks"
channels = "1-2"
[[channels]]
signalling = "fxs_ks"
channels = "3-4"
[emulator]
seed = {seed}
[emulator.line]
polarity_on_answer = true
[[emulator.cable]]
kind = "phone"
channels = 1
name = "alice"
[[emulator.cable]]
kind = "phone"
channels = 2
name = "bob"
[[emulator.cable]]
kind = "pstn_line"
channels = "3-4"
name = "pstn"
"""

PRI = """
[board]
law = "alaw"
tonezones = ["etsi"]
[[span]]
span = 1
framing = "ccs"
crc4 = true
[[channels]]
signalling = "bchan"
channels = "1-15,17-31"
[[channels]]
signalling = "dchan"
channels = "16"
[emulator]
seed = {seed}
[[emulator.cable]]
kind = "network"
span = 1
name = "net"
"""


E1_PAIR = """
[board]
name = "{name}"
law = "{law}"
[[span]]
span = 1
kind = "e1"
framing = "ccs"
coding = "hdb3"
crc4 = true
[[span]]
span = 2
kind = "e1"
framing = "ccs"
coding = "hdb3"
crc4 = true
[[channels]]
signalling = "bchan"
channels = "1-15,17-31,32-46,48-62"
[[channels]]
signalling = "dchan"
channels = "16,47"
[emulator]
seed = {seed}
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
"""


def e1_pair_config(name="back-to-back", seed=1, law="alaw"):
    """Return the TOML of two E1 spans (30 B + D each) joined by a crossover cable."""
    return E1_PAIR.format(name=name, seed=seed, law=law)


def analog_engine(seed=1):
    """Return (engine, far ends dict) for two phones (channels 1-2) and two PSTN lines (3-4)."""
    board = open_board(parse_config(ANALOG.format(seed=seed)))
    eng = Engine(board)
    eng.auto_trunks()
    return eng, board.emulator.far_ends


class Network:
    """The network side of the PRI span, driven by the emulator every tick; records its Q.931 events."""

    def __init__(self, board):
        self.far = board.emulator.far_ends["net"]
        self.iface = q.Interface(network=True)
        self.events = []
        self.far.handler = self._tick
        self.events += self.iface.start(0.0)

    def _tick(self, far, now):
        s = now / SAMPLE_RATE
        for frame in far.read_frames():
            self.events += self.iface.receive(frame, s)
        deadline = self.iface.next_deadline()
        if deadline is not None and deadline <= s:
            self.events += self.iface.handle_timer(s)
        for frame in self.iface.pop_frames():
            far.write_frame(frame)

    def kinds(self):
        """Return the names of the Q.931 events seen so far."""
        return [type(e).__name__ for e in self.events]


def pri_engine(seed=1):
    """Return (engine, Network) for one E1 PRI span (user side) facing the emulated network."""
    board = open_board(parse_config(PRI.format(seed=seed)))
    net = Network(board)
    eng = Engine(board, tone_plan="etsi")
    eng.auto_trunks()
    return eng, net


def hang_up(eng, *ends, seconds=2.0):
    """End a test's calls as their callers would: put phones on hook and hang up outside lines (PSTN
    line ends), then tick until no leg is left; AssertionError naming what is still held otherwise."""
    for end in ends:
        if hasattr(end, "on_hook"):
            end.on_hook()
        else:
            end.hangup()
    eng.run(seconds=seconds, until=lambda: not eng.legs)
    assert not eng.legs and not eng.calls, eng.leaks()
