"""Property tests for the board config and emulator: random inputs never escape as anything but ConfigError,
channel lists round-trip, and a crossover is transparent for any blocksize."""
import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from pycallcenter.drivers import open_board, parse_config
from pycallcenter.drivers.config import format_channel_list, parse_channel_list
from pycallcenter.drivers.sysconf import parse_system_conf
from pycallcenter.errors import ConfigError

GOOD = """[board]
blocksize = 160
law = "alaw"
[[span]]
span = 1
framing = "ccs"
crc4 = true
[[span]]
span = 2
framing = "ccs"
[[span]]
span = 3
kind = "fxs"
channels = 2
[[channels]]
signalling = "bchan"
channels = "1-15,17-31,32-46,48-62"
[[channels]]
signalling = "dchan"
channels = "16,47"
[[channels]]
signalling = "fxo_ks"
channels = "63-64"
[[echocanceller]]
name = "mg2"
channels = "1-15"
[emulator]
seed = 1
[[emulator.cable]]
kind = "crossover"
spans = [1, 2]
[[emulator.cable]]
kind = "phone"
channels = "63-64"
"""

SYSTEM_CONF = "span=1,1,0,ccs,hdb3,crc4\nbchan=1-15,17-31\ndchan=16\nfxoks=32-35\nechocanceller=mg2,1-15\n"


def _mutate(text, data):
    lines = text.splitlines()
    for _ in range(data.draw(st.integers(1, 3))):
        i = data.draw(st.integers(0, len(lines) - 1))
        choice = data.draw(st.integers(0, 3))
        if choice == 0:
            del lines[i]
        elif choice == 1:
            lines[i] = data.draw(st.text(alphabet="[]=\"',.-_ 0123456789abcdefgsxk#", max_size=30))
        elif choice == 2:
            lines.insert(i, lines[data.draw(st.integers(0, len(lines) - 1))])
        else:
            line = lines[i]
            j = data.draw(st.integers(0, len(line)))
            lines[i] = line[:j] + data.draw(st.sampled_from(["0", "9", "-", ",", "\"", "]", " ", "x"])) + line[j:]
    return "\n".join(lines) + "\n"


@given(st.data())
def test_mutated_toml_gives_a_config_or_a_config_error_with_a_line(data):
    text = _mutate(GOOD, data)
    try:
        config = parse_config(text, "m.toml")
        from pycallcenter.drivers.emulator import Emulator

        Emulator(config)
    except ConfigError as exc:
        assert exc.path == "m.toml"
        assert exc.line is None or 1 <= exc.line <= len(text.splitlines())


@given(st.data())
def test_mutated_system_conf_gives_a_config_or_a_config_error_with_a_line(data):
    text = _mutate(SYSTEM_CONF, data)
    try:
        parse_system_conf(text, "s.conf")
    except ConfigError as exc:
        assert exc.path == "s.conf" and exc.line is not None and 1 <= exc.line <= len(text.splitlines())


@given(st.sets(st.integers(1, 200), min_size=1))
def test_channel_lists_round_trip(numbers):
    assert parse_channel_list(format_channel_list(numbers)) == sorted(numbers)


@given(st.integers(8, 1024), st.integers(1, 5), st.integers(0, 2**32 - 1))
def test_crossover_is_transparent_for_any_blocksize(blocksize, ticks, seed):
    board = open_board(parse_config(GOOD.replace("blocksize = 160", f"blocksize = {blocksize}")))
    a, z = board.open(range(1, 16)), board.open(range(32, 47))
    rng = np.random.default_rng(seed)
    for _ in range(ticks):
        x = rng.integers(0, 256, (15, blocksize), dtype=np.uint8)
        a.write(x)
        assert np.array_equal(z.read(), x)
        a.read()
