"""Line echo cancellation in the engine, end to end on the emulator: a hybrid returns the echo of the prompt
the engine plays, on an analog line and on a PRI span; the engine's canceller takes it out of what the engine
hears (the media plane's received audio, which DTMF detection, recordings and bridges use)."""
import numpy as np
import pytest

from echo_signals import css, level_db, to_int16
from engine_rig import ANALOG, PRI, Network, hang_up
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine.engine import Engine

PROMPT = to_int16(css(4.0, level=-12.0, seed=2))
ECHO = """
[[emulator.echo]]
channels = "{channels}"
erl = {erl}
delay = {delay}
dispersion = 6
"""


class Heard:
    """A media tap keeping what one row received each tick (after echo cancellation)."""

    def __init__(self, row):
        self.row, self.blocks = row, []

    def tap(self, rx):
        self.blocks.append(rx[self.row].copy())

    def audio(self):
        return np.concatenate(self.blocks) if self.blocks else np.zeros(0, np.int16)


def _prompt_script(eng, channel, cancel):
    """Route calls to a script that switches cancellation on or off, answers and plays PROMPT; return the tap of
    the channel's received audio and the dict where the script marks the prompt's first and last tick."""
    heard = Heard(eng.row_of[channel])
    eng.media.taps.append(heard)
    marks = {}

    async def script(call):
        assert await call.echo_cancel(cancel) is True
        await call.answer()
        marks["start"] = len(heard.blocks)
        await call.play(PROMPT)
        marks["end"] = len(heard.blocks)
        await call.hangup()

    eng.router = lambda leg: script
    return heard, marks


def _run_analog(cancel, erl=10, delay=5):
    board = open_board(parse_config(ANALOG.format(seed=1) + ECHO.format(channels="3", erl=erl, delay=delay)))
    eng = Engine(board)
    eng.auto_trunks()
    heard, marks = _prompt_script(eng, 3, cancel)
    pstn = board.emulator.far_ends["pstn3"]
    pstn.call("2025550123", "JANE DOE")
    eng.run(seconds=16.0, until=lambda: "end" in marks)
    hang_up(eng, pstn)
    return eng, heard.audio()[marks["start"] * 160: marks["end"] * 160]


def _run_pri(cancel, erl=10, delay=5):
    board = open_board(parse_config(PRI.format(seed=1) + ECHO.format(channels="5", erl=erl, delay=delay)))
    net = Network(board)
    eng = Engine(board, tone_plan="etsi")
    eng.auto_trunks()
    heard, marks = _prompt_script(eng, 5, cancel)
    eng.run(seconds=1.0)
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=5)
    eng.run(seconds=8.0, until=lambda: "end" in marks)
    eng.run(seconds=1.0)
    return eng, heard.audio()[marks["start"] * 160: marks["end"] * 160]


@pytest.mark.parametrize("run", [_run_analog, _run_pri], ids=["analog", "pri"])
def test_the_echo_the_engine_hears_is_reduced_by_the_target(run):
    _, raw = run(cancel=False)
    eng, cancelled = run(cancel=True)
    prompt_level = level_db(PROMPT)
    echo_level = level_db(raw[SAMPLE_RATE:])
    assert 8.0 <= prompt_level - echo_level <= 14.0  # the hybrid's 10 dB ERL, seen through G.711 and the CSS
    steady = slice(SAMPLE_RATE, None)  # after the first second of the prompt
    reduction = echo_level - level_db(cancelled[steady])
    first = echo_level - level_db(cancelled[int(0.9 * SAMPLE_RATE): SAMPLE_RATE])
    print(f"{run.__name__}: echo {echo_level:.1f} dBm0, reduced by {reduction:.1f} dB (from 1 s), "
          f"{first:.1f} dB at 0.9-1.0 s")
    assert reduction >= 30.0
    assert first >= 20.0


def test_counters_and_the_off_switch():
    eng, _ = _run_analog(cancel=True)
    row = eng.row_of[3]
    c = eng.media.echo_counters()[row]
    assert c["tail_ms"] == 64 and 8.0 <= c["erl_db"] <= 14.0 and c["erle_db"] >= 15.0 and not c["running"]
    eng2, _ = _run_analog(cancel=False)
    assert eng2.media.echo_counters()[row]["state"] == "disabled"


def test_rows_without_echo_pass_unchanged_when_nothing_is_sent():
    """A canceller on a line without echo leaves what the far end says alone (no NLP without echo)."""
    board = open_board(parse_config(ANALOG.format(seed=1)))
    eng = Engine(board)
    eng.auto_trunks()
    row = eng.row_of[3]
    heard = Heard(row)
    eng.media.taps.append(heard)
    talk = to_int16(css(2.0, level=-20.0, seed=5))
    state = {}

    async def script(call):
        await call.answer()
        state["start"] = len(heard.blocks)
        await call.wait(3.0)
        await call.hangup()

    eng.router = lambda leg: script
    pstn = board.emulator.far_ends["pstn3"]
    pstn.call("2025550123", "JANE DOE")
    eng.run(seconds=10.0, until=lambda: "start" in state)
    pstn.write_audio(talk)
    eng.run(seconds=3.0)
    got = heard.audio()[state["start"] * 160:]
    assert abs(level_db(got) - level_db(talk) - 10 * np.log10(2.0 / (len(got) / SAMPLE_RATE))) < 1.5
    assert eng.media.echo_counters()[row]["resets"] == 0
    hang_up(eng, pstn)


def test_board_config_sets_tails_and_leaves_ss7_style_bearers_alone():
    from pycallcenter.engine.media import echo_tails

    text = PRI.format(seed=1) + '\n[[echocanceller]]\nname = "mg2"\nchannels = "1-3"\ntaps = 256\n'
    board = open_board(parse_config(text))
    numbers = sorted(n for n in board.channels if board.channels[n].signalling.is_audio)
    tails = echo_tails(board, numbers)
    assert tails[numbers.index(1)] == 32 and tails[numbers.index(5)] == 64 and len(tails) == 30
    plain = open_board(parse_config(PRI.format(seed=1).replace('[[channels]]\nsignalling = "dchan"\nchannels = "16"\n', "")))
    nums = sorted(n for n in plain.channels if plain.channels[n].signalling.is_audio)
    assert echo_tails(plain, nums) == {}


def test_status_metrics_and_spans_show_the_cancellers(tmp_path, capsys):
    import json

    from pycallcenter.cli import main
    from pycallcenter.metrics import CentreCollector, snapshot

    board = open_board(parse_config(ANALOG.format(seed=1) + ECHO.format(channels="3", erl=10, delay=5)))
    eng = Engine(board)
    eng.auto_trunks()
    done = {}

    async def script(call):
        await call.answer()
        await call.play(PROMPT[: 2 * SAMPLE_RATE])
        done["played"] = True
        await call.wait(30.0)

    eng.router = lambda leg: script
    pstn = board.emulator.far_ends["pstn3"]
    pstn.call("2025550123", "JANE DOE")
    eng.run(seconds=12.0, until=lambda: "played" in done)
    snap = snapshot(eng)
    rows = {r["channel"]: r for r in snap["echo"]}
    assert set(rows) == {1, 2, 3, 4} and rows[3]["running"] and not rows[4]["running"]
    assert rows[3]["state"] in ("converged", "converging") and rows[3]["erle_db"] > 15.0
    families = {f.name: f for f in CentreCollector(lambda: snap).collect()}
    samples = {(s.name, tuple(sorted(s.labels.items()))): s.value for f in families.values() for s in f.samples}
    assert samples[("pycc_echo_erle_db", (("channel", "3"),))] == rows[3]["erle_db"]
    assert samples[("pycc_echo_state", (("channel", "3"), ("state", rows[3]["state"])))] == 1
    assert not any(k[0].startswith("pycc_echo") and ("channel", "4") in k[1] for k in samples)
    (tmp_path / "status.json").write_text(json.dumps(snap))
    config = tmp_path / "board.toml"
    config.write_text(ANALOG.format(seed=1))
    assert main(["spans", "--config", str(config), "--echo", "--data", str(tmp_path)]) == 0
    table = capsys.readouterr().out.split("\n\n")[1].splitlines()
    assert table[0].split()[:4] == ["chan", "span", "tail", "state"]
    line3 = [l.split() for l in table[1:] if l.split()[0] == "3"][0]
    assert line3[2:5] == ["64", "ms", rows[3]["state"]] and float(line3[6]) == rows[3]["erle_db"]
    hang_up(eng, pstn)
    (tmp_path / "status.json").write_text("{broken")
    assert main(["spans", "--config", str(config), "--echo", "--data", str(tmp_path)]) == 2
    assert "status.json" in capsys.readouterr().err
