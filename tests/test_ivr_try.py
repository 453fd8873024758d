"""`pycallcenter ivr try`: the bundled scripts on the built-in centre, through the real PRI path."""
import re

import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from pycallcenter.apps.ivr_try import Step, parse_steps
from pycallcenter.cli import main


def try_(capsys, *argv):
    """Return (exit status, transcript lines without their times, stderr lines)."""
    status = main(["ivr", "try", *argv])
    out, err = capsys.readouterr()
    lines = [re.sub(r"^\d\d:\d\d:\d\d\.\d  ", "", line) for line in out.splitlines()[1:]]
    return status, lines, err.splitlines()


def prompts(lines):
    return [line.split(" [")[0][6:] for line in lines if line.startswith("plays ")]


def test_key_1_reaches_the_sales_queue_and_an_agent(capsys):
    status, lines, err = try_(capsys, "main_menu", "--digits", "1")
    assert status == 0, err
    assert "call C1 arrives on pri channel 1, from 2025550100 to 5000" in lines
    assert "caller presses 1" in lines and "the centre hears 1" in lines
    assert "sets menu = 1" in lines and "continues in script queue" in lines
    assert "enters queue sales" in lines
    assert "agent1 takes the call from queue sales after 2.2 s" in lines
    assert "the caller is connected to channel/32 (agent1)" in lines
    assert lines.index("enters queue sales") < lines.index("the caller is connected to channel/32 (agent1)")
    assert "caller hangs up after talking 10 s" in lines
    assert lines[-1].startswith("CDR C1: outcome agent, disposition ANSWERED, queue sales, agent agent1")


def test_key_9_leaves_a_voicemail(capsys, tmp_path):
    status, lines, err = try_(capsys, "main_menu", "--digits", "9,t3", "--data", str(tmp_path))
    assert status == 0, err
    assert prompts(lines) == ["welcome", "main_menu", "vm_default_greeting, vm_leave_message",
                              "a 0.25 s sound", "vm_saved", "goodbye"]
    assert lines.index("caller talks for 3 s") > lines.index("plays a 0.25 s sound")  # after the beep
    assert "sets voicemail_id = 1" in lines
    assert lines[-1].startswith("CDR C1: outcome voicemail")
    messages = list((tmp_path / "voicemail" / "100").glob("*.wav"))  # the centre's general mailbox
    assert len(messages) == 1 and messages[0].stat().st_size > 3 * 8000
    # the kept folder gets the centre's file modes ([centre] umask, 027), as `run` makes them: 0644 before
    for made in (messages[0], tmp_path / "pycallcenter.db", tmp_path / "voicemail" / "100"):
        assert made.stat().st_mode & 0o007 == 0, made


def test_a_wrong_key_then_the_right_one(capsys):
    status, lines, err = try_(capsys, "main_menu", "--digits", "4,2")
    assert status == 0, err
    assert prompts(lines) == ["welcome", "main_menu", "invalid", "main_menu"]
    keys = [line for line in lines if line.startswith(("caller presses", "the centre hears", "menu choice"))]
    assert keys == ["caller presses 4", "the centre hears 4", "caller presses 2", "the centre hears 2", "menu choice 2"]
    assert "enters queue support" in lines
    assert lines[-1].startswith("CDR C1: outcome agent, disposition ANSWERED, queue support, agent agent2")


def test_no_key_ends_with_goodbye_and_the_caller_never_pressed(capsys):
    status, lines, err = try_(capsys, "main_menu", "--seconds", "60")
    assert status == 0, err
    assert prompts(lines) == ["welcome", "main_menu", "no_input"] * 1 + ["main_menu", "no_input"] * 2 + ["goodbye"]
    assert "sets menu = none" in lines
    assert lines[-1].startswith("CDR C1: outcome ivr_only")


def test_keys_the_call_never_waits_for_are_reported(capsys):
    status, lines, err = try_(capsys, "main_menu", "--digits", "0,5")
    assert status == 0, err
    assert "the caller is connected to channel/35 (the operator)" in lines
    assert lines[-1] == "not pressed (the call never waited for them): 5"


def test_a_script_with_a_syntax_error_is_one_line_naming_file_and_line(capsys, tmp_path):
    script = tmp_path / "broken.py"
    script.write_text('async def main(call):\n    await call.answer()\n    await call.play("welcome"\n')
    status, lines, err = try_(capsys, str(script), "--digits", "1")
    assert status == 1
    assert len(err) == 1 and err[0].startswith(f"pycallcenter ivr: error: {script}:3: SyntaxError")
    assert lines == []


def test_a_script_that_raises_shows_its_own_traceback_lines_only(capsys, tmp_path):
    script = tmp_path / "divide.py"
    script.write_text('async def main(call):\n    await call.answer()\n    await call.play("welcome")\n'
                      '    call.set("ratio", 1 / 0)\n')
    status, lines, err = try_(capsys, str(script))
    assert status == 1
    assert err == [f"pycallcenter ivr: error: {script}:4: ZeroDivisionError: division by zero",
                   f'  File "{script}", line 4, in main', '    call.set("ratio", 1 / 0)']
    assert "the script raised ZeroDivisionError" in lines
    assert prompts(lines) == ["welcome"]


def test_a_script_args_and_language(capsys):
    status, lines, err = try_(capsys, "queue", "--arg", "support", "--lang", "zh", "--talk", "3")
    assert status == 0, err
    assert "sets lang = zh" in lines and "sets queue = support" in lines
    assert "agent2 takes the call from queue support after 2.2 s" in lines


def test_an_unknown_script_names_the_folder_and_the_scripts(capsys):
    status, lines, err = try_(capsys, "no_such_script")
    assert status == 1
    assert len(err) == 1 and "no IVR script 'no_such_script' in" in err[0] and "main_menu" in err[0]


def test_the_digits_syntax():
    assert parse_steps("1,4321#,p5,t2.5") == [Step("keys", "1"), Step("keys", "4321#"), Step("pause", 5.0),
                                             Step("talk", 2.5)]
    assert parse_steps("") == []
    with pytest.raises(ValueError, match=r"step 2 'x'"):
        parse_steps("1,x")
    with pytest.raises(ValueError, match=r"step 2 ''"):
        parse_steps("1,,2")


def test_a_centre_without_a_network_cable_is_one_line(capsys, tmp_path):
    config = tmp_path / "analog.toml"
    config.write_text('[board]\nname = "analog"\n\n[[span]]\nspan = 1\nkind = "fxs"\nchannels = 2\n\n'
                      '[[channels]]\nsignalling = "fxo_ks"\nchannels = "1-2"\n\n[[emulator.cable]]\nkind = "phone"\n'
                      'channels = 1\nname = "alice"\n')
    status, lines, err = try_(capsys, "main_menu", "--config", str(config))
    assert status == 1
    assert len(err) == 1 and "simulate.far_end: " in err[0] and "no cable named 'pstn' (have alice)" in err[0]


def test_a_bad_time_is_one_line(capsys):
    status, lines, err = try_(capsys, "main_menu", "--at", "monday")
    assert status == 1 and len(err) == 1 and "monday" in err[0]


def test_after_hours_routing_at_a_given_time(capsys):
    status, lines, err = try_(capsys, "after_hours", "--at", "2026-01-05T20:00", "--digits", "t3")
    assert status == 0, err
    assert prompts(lines)[0] == "welcome, closed"
    assert lines[-1].startswith("CDR C1: outcome voicemail")


def test_your_own_centre_and_its_caller_lists(capsys):
    from pycallcenter import bundled

    config = str(bundled.examples_dir() / "centre.toml")
    status, lines, err = try_(capsys, "main_menu", "--config", config, "--digits", "2")
    assert status == 0, err
    assert "carol takes the call from queue support after 2.2 s" in lines  # the highest support skill
    assert "channel/34 (carol) hears: whisper_support, menu_choice, en/2 [en]" in lines  # [announce] whisper
    status, lines, err = try_(capsys, "main_menu", "--config", config, "--caller", "2025550666")
    assert status == 0, err
    assert "the centre refuses the call (blocked)" in lines and "plays welcome [en]" not in lines
    assert lines[-1].startswith("CDR C1: outcome refused, disposition REJECTED")


def test_prompts_name_their_language(capsys):
    status, lines, err = try_(capsys, "main_menu", "--lang", "zh", "--digits", "1")
    assert status == 0, err
    assert "plays zh/welcome [zh]" in lines and "plays zh/main_menu [zh] (keys 12390 interrupt it)" in lines
    status, lines, err = try_(capsys, "main_menu", "--digits", "1")
    assert "plays welcome [en]" in lines


def test_the_first_steps_answer_a_language_choice(capsys, tmp_path):
    from pycallcenter import bundled

    text = (bundled.examples_dir() / "centre.toml").read_text()
    assert '# choices = ["en", "zh"]' in text
    config = tmp_path / "centre.toml"
    config.write_text(text.replace('# choices = ["en", "zh"]', 'choices = ["en", "zh"]'))
    status, lines, err = try_(capsys, "main_menu", "--config", str(config), "--digits", "2,1")
    assert status == 0, err
    assert prompts(lines)[:3] == ["choose_language, zh/choose_language", "zh/welcome", "zh/main_menu"]
    assert "sets lang = zh" in lines and "enters queue sales" in lines
