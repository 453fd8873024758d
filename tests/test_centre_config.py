"""The centre's configuration file: every key typed and checked, one line naming file, line and key for
anything wrong, and the reference in docs/operations.md in step with the schema."""
import os
import re

import pytest

from pycallcenter import cli
from pycallcenter.apps.settings import load_settings, load_text
from pycallcenter.commands.config import BEGIN, END, reference
from pycallcenter.errors import ConfigError

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))

BOARD = """[board]
name = "t"
law = "alaw"

[[span]]
span = 1
kind = "fxs"
channels = 2

[[channels]]
signalling = "fxo_ks"
channels = "1-2"
"""

GOOD = BOARD + """
[centre]
data = "data"

[[queue]]
name = "sales"

[[agent]]
name = "alice"
contact = "channel/1"
queues = { sales = 0 }
"""


def _with(extra):
    """Return the good config with extra tables (keys of [centre] go into its own table)."""
    if extra.startswith("[centre]\n"):
        return GOOD.replace('data = "data"\n', 'data = "data"\n' + extra[len("[centre]\n"):])
    return GOOD + "\n" + extra


def _write(tmp_path, text, name="centre.toml"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


# (table text appended to the good config, the key the error must name)
BAD = [
    ("[centre]\ncti_port = 70000\ncti_users = 'u.toml'\n", "centre.cti_port"),
    ("[centre]\ncti_port = -1\n", "centre.cti_port"),
    ("[centre]\ncti_port = '8080'\n", "centre.cti_port"),
    ("[centre]\nmetrics_port = 1.5\n", "centre.metrics_port"),
    ("[centre]\nstatus_every = 0\n", "centre.status_every"),
    ("[centre]\nstatus_every = 'often'\n", "centre.status_every"),
    ("[centre]\npri_network = 'yes'\n", "centre.pri_network"),
    ("[centre]\nstation_features = 1\n", "centre.station_features"),
    ("[centre]\ndefault_script = 'main menu'\n", "centre.default_script"),
    ("[centre]\ndefault_script = 3\n", "centre.default_script"),
    ("[centre]\noperator_timeout = -5\n", "centre.operator_timeout"),
    ("[centre]\nstart = 'monday'\n", "centre"),
    ("[centre]\ncolour = 'red'\n", "centre.colour"),
    ("[centre]\ncti_port = 8080\n", "centre.cti_port"),
    ("[hours]\nopen = '8-18'\n", "hours.open"),
    ("[hours]\ndays = ['monday']\n", "hours.days[1]"),
    ("[hours]\nholidays = ['25/12/2026']\n", "hours.holidays[1]"),
    ("[language]\nchoices = ['English']\n", "language.choices[1]"),
    ("[service_level]\nseconds = -1\n", "service_level.seconds"),
    ("[service_level]\nmode = 'all'\n", "service_level.mode"),
    ("[[queue]]\nname = 'support'\nring_timeout = 'x'\n", "queue[2].ring_timeout"),
    ("[[queue]]\nname = 'support'\nring_timeout = 0\n", "queue[2].ring_timeout"),
    ("[[queue]]\nname = 'support'\nstrategy = 'fastest'\n", "queue[2].strategy"),
    ("[[queue]]\nname = 'support'\nwrapup = 'later'\n", "queue[2].wrapup"),
    ("[[queue]]\nname = 'support'\nmax_wait = true\n", "queue[2].max_wait"),
    ("[[queue]]\nname = 'support'\noverflow = 'elsewhere'\n", "queue[2].overflow"),
    ("[[queue]]\nname = 'support'\noverflow = 'queue:nowhere'\n", "queue[2].overflow"),
    ("[[queue]]\nname = 'support'\nannounce_every = 1\n", "queue[2].announce_every"),
    ("[[queue]]\nname = 'support'\njoin_empty = 'never'\n", "queue[2].join_empty"),
    ("[[queue]]\nname = 'support'\nhours = '25:00-26:00'\n", "queue[2].hours"),
    ("[[queue]]\nname = 'sales'\n", "queue[2].name"),
    ("[[queue]]\nring_timeout = 10\n", "queue[2]"),
    ("[[agent]]\nname = 'bob'\ncontact = 'phone 2'\n", "agent[2].contact"),
    ("[[agent]]\nname = 'bob'\ncontact = 'channel/2'\nqueues = { nowhere = 0 }\n", "agent[2].queues"),
    ("[[agent]]\nname = 'bob'\ncontact = 'channel/2'\nqueues = { sales = 'first' }\n", "agent[2].queues.sales"),
    ("[[agent]]\nname = 'bob'\ncontact = 'channel/2'\nskills = { english = 11 }\n", "agent[2].skills.english"),
    ("[[agent]]\nname = 'bob'\ncontact = 'channel/2'\nlogin = 'yes'\n", "agent[2].login"),
    ("[[agent]]\nname = 'bob'\n", "agent[2]"),
    ("[[route]]\ncalled = '5000'\n", "route[1]"),
    ("[[route]]\ncalled = 'five'\nscript = 'main_menu'\n", "route[1].called"),
    ("[[route]]\nqueue = 'nowhere'\n", "route[1].queue"),
    ("[[route]]\nscript = 'main_menu'\ndays = 'mon'\n", "route[1].days"),
    ("[callers]\nblocked = [2025550100]\n", "callers.blocked[1]"),
    ("[callers]\nvip_queue = 'nowhere'\n", "callers.vip_queue"),
    ("[[callers.area]]\nprefix = '0203'\n", "callers.area[1]"),
    ("[recording]\ncalls = 'some'\n", "recording.calls"),
    ("[recording]\nretention_days = 0\n", "recording.retention_days"),
    ("[simulate]\ncalls_per_hour = -1\n", "simulate.calls_per_hour"),
    ("[simulate]\nfax_share = 2\n", "simulate.fax_share"),
    ("[simulate]\nagents = ['nobody']\n", "simulate.agents"),
]


@pytest.mark.parametrize("extra, key", BAD, ids=[k for _, k in BAD])
def test_a_wrong_key_is_one_line_naming_file_line_and_key(tmp_path, capsys, extra, key):
    path = _write(tmp_path, _with(extra))
    assert cli.main(["config", "check", path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err, err
    m = re.match(rf"pycallcenter config: error: {re.escape(path)}:(\d+): (\S+?):? ", err)
    assert m, err
    line = int(m.group(1))
    assert m.group(2).startswith(key), err
    # the line named is the key's (or its table's) line in the file
    text = _with(extra).splitlines()[line - 1]
    leaf = key.rsplit(".", 1)[-1].split("[")[0]
    assert leaf in text or text.startswith("["), (text, err)
    # and run refuses it the same way, without starting anything
    assert cli.main(["run", path, "--seconds", "0.1", "--fast"]) == 1
    assert capsys.readouterr().err.count("\n") == 1


def test_the_good_config_checks_and_names_what_it_has(tmp_path, capsys):
    path = _write(tmp_path, GOOD)
    assert cli.main(["config", "check", path]) == 0
    assert "OK (1 span(s), 1 queue(s), 1 agent(s)" in capsys.readouterr().out


def test_toml_syntax_errors_name_the_line(tmp_path):
    with pytest.raises(ConfigError, match=r"centre\.toml:15: "):
        load_settings(_write(tmp_path, GOOD.replace('data = "data"', 'data = "data')))


def test_an_acd_file_is_checked_with_its_own_name_and_lines(tmp_path):
    (tmp_path / "acd.toml").write_text('[[queue]]\nname = "q2"\n\n[[queue]]\nname = "q3"\nretry = "soon"\n')
    with pytest.raises(ConfigError, match=r"acd\.toml:6: queue\[2\]\.retry: expected a number"):
        load_settings(_write(tmp_path, GOOD.replace('data = "data"', 'data = "data"\nacd = "acd.toml"')))


def test_a_script_that_does_not_load_names_its_file_and_line(tmp_path, capsys):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "main.py").write_text("async def main(call):\n    await call.answer(\n")
    path = _write(tmp_path, GOOD.replace('data = "data"', 'data = "data"\nscripts = "scripts"\ndefault_script = "main"'))
    assert cli.main(["config", "check", path]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and re.search(r"scripts/main\.py:2: IVR script 'main' does not load: SyntaxError", err), err


def test_a_missing_default_script_names_the_key(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace('data = "data"', 'data = "data"\ndefault_script = "main"'))
    assert cli.main(["config", "check", path]) == 1
    err = capsys.readouterr().err
    assert re.search(r"centre\.toml:16: centre\.default_script: no IVR script 'main'", err), err


def test_board_errors_keep_the_files_line_numbers(tmp_path, capsys):
    path = _write(tmp_path, GOOD.replace('channels = "1-2"', 'channels = "1-9"'))
    assert cli.main(["config", "check", path]) == 1
    assert re.search(r"centre\.toml:1[0-2]: ", capsys.readouterr().err)


def test_operations_doc_carries_the_reference_of_every_key():
    with open(os.path.join(ROOT, "docs", "operations.md"), encoding="utf-8") as fh:
        doc = fh.read()
    assert BEGIN in doc and END in doc
    block = doc[doc.index(BEGIN):doc.index(END) + len(END)] + "\n"
    assert block == reference(), "docs/operations.md is out of step: paste `pycallcenter config keys` there"
    _, settings = load_text(GOOD)
    for section in ("centre", "hours", "language", "service_level", "route", "queue", "agent", "callers",
                    "announce", "recording", "callbacks", "campaign", "fax", "voicemail", "simulate"):
        assert f"[{section}]" in block


def test_paths_are_relative_to_the_config_file(tmp_path):
    _, settings = load_settings(_write(tmp_path, GOOD))
    assert settings.place(settings.centre.data) == str(tmp_path / "data")


@pytest.mark.parametrize("argv, says", [
    (["run", "/nonexistent/centre.toml"], "No such file"),
    (["config", "check", "/nonexistent/centre.toml"], "No such file"),
    (["demo", "--hours", "-1", "--quiet"], "--hours must be more than 0"),
    (["demo", "--agents", "0", "--quiet"], "--agents must be from 1 to 96"),
    (["demo", "--calls-per-hour", "-5", "--quiet"], "--calls-per-hour"),
    (["wallboard", "--port", "70000", "--seconds", "1"], "--port must be from 0 to 65535"),
    (["reload", "--data", "/nonexistent"], "no running centre"),
    (["run", "CONFIG", "--metrics-port", "70000"], "--metrics-port must be from 0 to 65535"),
    (["run", "CONFIG", "--calls-per-hour", "-1", "--simulate"], "--calls-per-hour must be from 0 to 100000"),
    (["run", "CONFIG", "--calls-per-hour", "1e9", "--simulate"], "--calls-per-hour must be from 0 to 100000"),
    (["run", "CONFIG", "--calls-per-hour", "nan", "--simulate"], "--calls-per-hour must be from 0 to 100000"),
    (["run", "CONFIG", "--seconds", "-1"], "--seconds must be a number of seconds above 0"),
    (["run", "CONFIG", "--seconds", "nan"], "--seconds must be a number of seconds above 0"),
    (["run", "CONFIG", "--seconds", "inf", "--simulate"], "--seconds must be a number of seconds above 0"),
    (["run", "CONFIG", "--seconds", "1e12", "--simulate", "--fast"], "simulated callers, all made at start"),
])
def test_commands_refuse_bad_input_in_one_line(tmp_path, capsys, argv, says):
    config = _write(tmp_path, GOOD)
    argv = [config if a == "CONFIG" else a for a in argv]
    if argv[0] == "demo":
        argv += ["--data", str(tmp_path / "demo")]
    assert cli.main(argv) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "Traceback" not in err and says in err, err
