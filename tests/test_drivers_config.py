"""Board TOML config: every bad input names its line; system.conf conversion round trip; the boardconf command."""
import textwrap

import pytest

from pycallcenter import cli
from pycallcenter.drivers import Coding, Framing, Law, Signalling, SpanKind, parse_config
from pycallcenter.drivers.config import format_channel_list, load_config, parse_channel_list
from pycallcenter.drivers.emulator import Emulator
from pycallcenter.drivers.sysconf import parse_system_conf, to_system_conf, to_toml
from pycallcenter.drivers.tomllines import key_lines
from pycallcenter.errors import ConfigError

GOOD = """\
[board]
blocksize = 160

[[span]]
span = 1
framing = "ccs"
coding = "hdb3"
crc4 = true

[[channels]]
signalling = "bchan"
channels = "1-15,17-31"

[[channels]]
signalling = "dchan"
channels = 16
"""


def error_of(text):
    with pytest.raises(ConfigError) as info:
        parse_config(textwrap.dedent(text), "board.toml")
    return info.value


def test_good_config():
    c = parse_config(GOOD)
    (s,) = c.spans
    assert (s.kind, s.framing, s.coding, s.crc4, s.law) == (SpanKind.E1, Framing.CCS, Coding.HDB3, True, Law.ALAW)
    assert c.channels[16].signalling is Signalling.DCHAN
    assert c.channels[31].signalling is Signalling.BCHAN and c.channels[31].offset == 31


M = "  # <-"  # marks the line an error must name


def marked_line(text):
    """Return the number of the line carrying the marker M."""
    return next(i for i, line in enumerate(text.splitlines(), start=1) if line.endswith(M))


@pytest.mark.parametrize("text, words", [
    # unknown signalling kind
    (f'[[span]]\nspan = 1\nframing = "ccs"\n\n[[channels]]\nsignalling = "fxq_ks"{M}\nchannels = 1\n',
     "unknown signalling"),
    # a channel in two spans
    (f'[[span]]\nspan = 1\nframing = "esf"\n[[span]]{M}\nspan = 2\nframing = "esf"\nfirst_channel = 20\n', "two spans"),
    # blocksize out of range
    (f"[board]\nname = 'x'\nblocksize = 4096{M}\n", "out of range"),
    (f"[board]\nblocksize = 7{M}\n", "out of range"),
    # malformed TOML
    (f'[board]\nname = "x"\nblocksize = = 3{M}\n', "malformed TOML"),
    (f'[[span]{M}\nspan = 1\n', "malformed TOML"),
    # channel configured twice
    (GOOD + f'[[channels]]\nsignalling = "clear"\nchannels = "5"{M}\n', "configured twice"),
    # channel outside every span
    (GOOD.replace('channels = 16', f'channels = "16,40"{M}'), "belongs to no span"),
    # wrong signalling for the port type
    (f'[[span]]\nspan = 1\nkind = "fxs"\nchannels = 2\n[[channels]]\nsignalling = "fxs_ks"{M}\nchannels = "1-2"\n',
     "FXS port"),
    # framing or options that do not fit the span
    (f'[[span]]\nspan = 1\nkind = "t1"\nframing = "ccs"{M}\n', "not valid"),
    (f'[[span]]\nspan = 1\nframing = "esf"\ncrc4 = true{M}\n', "E1 spans only"),
    # unknown key / section / wrong types
    (f'[[span]]\nspan = 1\nframing = "ccs"\nspeed = 3{M}\n', "unknown key"),
    (f'[boards]{M}\nx = 1\n', "unknown section"),
    (f'[[span]]\nspan = 1\nframing = "ccs"\ntiming = "one"{M}\n', "timing must be int"),
    (f'[[span]]\nspan = 1\nframing = "ccs"\n[[channels]]\nsignalling = "bchan"\nchannels = "3-1"{M}\n',
     "bad channel range"),
    (GOOD + f'[[echocanceller]]\nname = "mg2"\nchannels = "16"{M}\n', "not a configured audio channel"),
    (GOOD + f'[[echocanceller]]\nname = "mg2"\nchannels = "1"\ntaps = 3{M}\n', "taps"),
    # robbed-bit signalling on a CCS span
    (f'[[span]]\nspan = 1\nframing = "ccs"\n[[channels]]\nsignalling = "fxs_ks"{M}\nchannels = "1"\n', "cas"),
])
def test_bad_config_names_the_line(text, words):
    err = error_of(text)
    line = marked_line(text)
    assert err.path == "board.toml"
    assert err.line == line, str(err)
    assert words in str(err)
    assert str(err).startswith(f"board.toml:{line}: ")


@pytest.mark.parametrize("extra, words", [
    (f'[[emulator.cable]]\nkind = "rope"{M}\nspans = [1, 2]\n', "unknown cable kind"),
    (f'[[emulator.cable]]\nkind = "crossover"\nspans = [1]{M}\n', "exactly two spans"),
    (f'[[emulator.cable]]{M}\nkind = "loopback"\n', "needs span"),
    (f'[emulator]\nseed = "x"{M}\n', "seed must be int"),
    (f'[emulator.line]\nflash = -1{M}\n', ">= 0"),
    (f'[[emulator.cable]]{M}\nkind = "loopback"\nspan = 9\n', "no span 9"),
    (f'[[emulator.cable]]{M}\nkind = "phone"\nchannels = "1"\n', "not an FXS port"),
])
def test_bad_emulator_section_names_the_line(extra, words):
    text = GOOD + "\n" + extra
    with pytest.raises(ConfigError) as info:
        Emulator(parse_config(text, "board.toml"))
    assert info.value.line == marked_line(text), str(info.value)
    assert words in str(info.value)


def test_key_lines_skip_multiline_values():
    text = 'a = [\n  1,\n  2,\n]\nb = """\nx = 1\n"""\n[t]\nc = 3\n[[arr]]\nd = 1\n[[arr]]\nd = 2\n'
    lines = key_lines(text)
    assert lines[("a",)] == 1 and lines[("b",)] == 5 and lines[("t", "c")] == 9
    assert ("x",) not in lines
    assert lines[("arr", 0, "d")] == 11 and lines[("arr", 1, "d")] == 13


def test_channel_lists():
    assert parse_channel_list("1-3,5") == [1, 2, 3, 5]
    assert parse_channel_list([1, "3-4"]) == [1, 3, 4]
    assert format_channel_list([5, 1, 2, 3, 7, 8]) == "1-3,5,7-8"
    for bad in ("", "a", "0", "4-2", True):
        with pytest.raises(ValueError):
            parse_channel_list(bad)


SYSTEM_CONF = """\
# Autogenerated by dahdi_genconf
# Span 1: TE4/0/1 "T4XXP (PCI) Card 0 Span 1" (MASTER) HDB3/CCS/CRC4
span=1,1,0,ccs,hdb3,crc4
bchan=1-15,17-31
dchan=16
echocanceller=mg2,1-15,17-31

# Span 2: TE4/0/2 "T4XXP (PCI) Card 0 Span 2" B8ZS/ESF robbed bit
span=2,2,0,esf,b8zs
fxsks=32-55

# Span 3: T1 PRI
span = 3,0,0,esf,b8zs,yellow
bchan=56-78
hardhdlc=79

# Span 4: WCTDM/4 "Wildcard TDM800P" 8 analog ports
fxoks=80-83
fxsgs=84-87
echocanceller=oslec,80-87

loadzone=uk
loadzone=us
defaultzone=uk
"""


def test_system_conf_round_trip(tmp_path):
    a = parse_system_conf(SYSTEM_CONF, "system.conf")
    assert [(s.number, s.kind, s.first_channel, s.channels) for s in a.spans] == [
        (1, SpanKind.E1, 1, 31), (2, SpanKind.T1, 32, 24), (3, SpanKind.T1, 56, 24),
        (4, SpanKind.FXS, 80, 4), (5, SpanKind.FXO, 84, 4)]
    assert a.span(3).yellow and a.span(1).crc4 and a.span(2).timing == 2
    assert a.channels[79].signalling is Signalling.HARDHDLC
    assert a.channels[85].signalling is Signalling.FXS_GS and a.channels[85].echo_canceller == "oslec"
    assert a.channels[1].echo_canceller == "mg2" and a.channels[16].echo_canceller is None
    assert a.tonezones == ("uk", "us") and a.default_tonezone == "uk"
    b = parse_config(to_toml(a, comment="converted"), "b.toml")
    assert b == a
    c = parse_system_conf(to_system_conf(b))
    assert c == a


def test_system_conf_analog_first():
    conf = "fxoks=1-4\nspan=2,1,0,ccs,hdb3\nbchan=5-19,21-35\ndchan=20\n"
    c = parse_system_conf(conf)
    assert [(s.number, s.kind, s.first_channel) for s in c.spans] == [(1, SpanKind.FXS, 1), (2, SpanKind.E1, 5)]
    assert c.channels[20].signalling is Signalling.DCHAN


@pytest.mark.parametrize("text, line, words", [
    ("span=1,1,0,ccs,hdb3\nbchan=1-15\nfxq=3\n", 3, "unknown system.conf keyword"),
    ("span=1,1,0,ccs,hdb3\ne&m=1-4\n", 2, "not supported"),
    ("span=1,1,0,xyz,hdb3\n", 1, "unknown framing"),
    ("span=1,1,0\n", 1, "span needs"),
    ("span=1,1,0,ccs,hdb3\nbchan=1-15\nbchan=15\n", 3, "configured twice"),
    ("span=1,1,0,ccs,hdb3\nbchan=1-15\njunk\n", 3, "key=value"),
    ("span=1,1,0,ccs,hdb3\nbchan=1-15,17-40\n", 2, "belongs to no span"),
    ("span=1,1,0,esf,b8zs,crc4\n", 1, "E1 spans only"),
])
def test_system_conf_errors_name_the_line(text, line, words):
    with pytest.raises(ConfigError) as info:
        parse_system_conf(text, "system.conf")
    assert (info.value.path, info.value.line) == ("system.conf", line), str(info.value)
    assert words in str(info.value)


def test_boardconf_command(tmp_path, capsys):
    src = tmp_path / "system.conf"
    src.write_text(SYSTEM_CONF)
    out = tmp_path / "board.toml"
    assert cli.main(["boardconf", "convert", str(src), "-o", str(out)]) == 0
    assert load_config(out) == parse_system_conf(SYSTEM_CONF)
    assert cli.main(["boardconf", "check", str(out)]) == 0
    text = capsys.readouterr().out
    assert "OK: 5 spans" in text and "span 2: t1 esf/b8zs channels 32-55: fxs_ks x24" in text
    assert cli.main(["boardconf", "export", str(out)]) == 0
    assert "span=1,1,0,ccs,hdb3,crc4" in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[board]\nblocksize = 2\n")
    assert cli.main(["boardconf", "check", str(bad)]) == 1
    assert f"{bad}:2:" in capsys.readouterr().err
    bad.write_text(GOOD + '[[emulator.cable]]\nkind = "loopback"\nspan = 9\n')
    assert cli.main(["boardconf", "check", str(bad)]) == 1
    assert f"{bad}:17: no span 9" in capsys.readouterr().err


def test_docs_examples_parse():
    import pathlib
    import re

    doc = pathlib.Path(__file__).resolve().parents[1] / "docs" / "boards.md"
    blocks = re.findall(r"```toml\n(.*?)```", doc.read_text(), re.S)
    boards = [parse_config(b) for b in blocks if b.startswith("[board]")]
    assert [c.name for c in boards] == ["pri-e1", "t1-rbs", "analog8"]
    assert boards[2].channels[5].signalling is Signalling.FXS_KS
    (emulator_block,) = [b for b in blocks if b.startswith("[emulator]")]
    spans = "".join(f'[[span]]\nspan = {n}\nframing = "ccs"\n' for n in (1, 2, 3, 4))
    analog = '[[span]]\nspan = 5\nkind = "fxs"\nchannels = 4\n[[span]]\nspan = 6\nkind = "fxo"\nchannels = 4\n'
    sigs = '[[channels]]\nsignalling = "fxo_ks"\nchannels = "125-128"\n'
    sigs += '[[channels]]\nsignalling = "fxs_ks"\nchannels = "129-132"\n'
    text = (spans + analog + sigs + emulator_block).replace('"32-33"', '"125-126"').replace('"36-37"', '"129-130"')
    text = text.replace('"38-39"', '"131-132"').replace("channels = 34\n", "channels = 127\n")
    emu = Emulator(parse_config(text))
    assert sorted(emu.far_ends) == ["agent1", "pstn", "pstn131", "pstn132"]
