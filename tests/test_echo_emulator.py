"""Hybrid echo in the board emulator ([[emulator.echo]]): the echo of what a channel sends comes back in what it
receives, at the configured loss and delay; the config is checked key by key; no entry, no echo."""
import numpy as np
import pytest

from echo_signals import FS, css, level_db, to_int16
from engine_rig import PRI
from pycallcenter.drivers import Law, open_board, parse_config
from pycallcenter.drivers.emulator import media
from pycallcenter.errors import ConfigError

ECHO = '\n[[emulator.echo]]\nchannels = "{channels}"\nerl = {erl}\ndelay = {delay}\n'


def _round_trip(extra, channel=5, seconds=2.0):
    """Send CSS on a PRI bearer channel facing the emulated network; return (sent, received) linear samples."""
    board = open_board(parse_config(PRI.format(seed=1) + extra))
    g = board.open([channel])
    x = to_int16(css(seconds, level=-12.0))
    got = []
    for i in range(0, x.size, 160):
        g.write(media.encode(x[i:i + 160], Law.ALAW)[None])
        got.append(media.decode(g.read()[0], Law.ALAW))
    return x, np.concatenate(got)


@pytest.mark.parametrize("erl,delay", [(6, 0), (12, 10), (24, 40)])
def test_echo_comes_back_at_the_loss_and_delay_configured(erl, delay):
    x, y = _round_trip(ECHO.format(channels="5", erl=erl, delay=delay))
    n = FS // 2
    corr = [np.dot(y[lag:lag + n].astype(float), x[:n].astype(float)) for lag in range(0, 800)]
    lag = int(np.argmax(np.abs(corr)))  # samples between a sample sent and the peak of its echo
    assert delay * 8 <= lag <= delay * 8 + 40  # the pure delay, then the dispersive part's peak
    assert abs(level_db(x) - level_db(y) - erl) <= 4.0  # ERL is for white noise; the CSS's spectrum moves it a little


def test_no_entry_no_echo_and_other_channels_stay_clean():
    _, y = _round_trip("")
    assert np.all(np.abs(y) <= 8)  # A-law idle decodes to +-8
    _, y6 = _round_trip(ECHO.format(channels="6", erl=10, delay=2))
    assert np.all(np.abs(y6) <= 8)  # the echo is on channel 6, we listened on 5


@pytest.mark.parametrize("entry,message", [
    ('channels = "5"\nloss = 3', "unknown key 'loss'"),
    ('channels = "5"\nerl = 3', "erl 3 out of range"),
    ('channels = "5"\ndelay = 101', "delay 101 out of range"),
    ('channels = "5"\ndispersion = "long"', "dispersion must be"),
    ('erl = 12', "needs channels"),
    ('channels = "5-x"', "channels"),
    ('channels = "16"', "carries no audio"),
])
def test_bad_entries_name_the_line(entry, message):
    text = PRI.format(seed=1) + "\n[[emulator.echo]]\n" + entry + "\n"
    with pytest.raises(ConfigError, match=message) as info:
        open_board(parse_config(text))
    assert info.value.line is not None
