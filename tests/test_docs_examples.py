"""The examples users copy work as written: the example configurations that ship in the package, and
every fenced example of docs/ivr.md (its scripts through `ivr try`, its programs as subprocesses, its
`ivr try` command lines and the transcript it shows)."""
import os
import pathlib
import re
import subprocess
import sys

import pytest
from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once

from pycallcenter import bundled
from pycallcenter.apps.settings import load_settings
from pycallcenter.cli import main
from pycallcenter.dsp import SAMPLE_RATE

ROOT = pathlib.Path(__file__).resolve().parent.parent
IVR_DOC = ROOT / "docs" / "ivr.md"
STAMP = re.compile(r"^\d\d:\d\d:\d\d\.\d  ")


def blocks(lang):
    """Return the fenced blocks of docs/ivr.md in a language ('' for the plain ones)."""
    return [body for found, body in re.findall(r"^```(\w*)\n(.*?)^```", IVR_DOC.read_text(), re.S | re.M)
            if found == lang]


def named(lang):
    """Return {file name: text} of the blocks whose first line names their file ('# NAME.py...')."""
    out = {}
    for body in blocks(lang):
        m = re.match(r"# (?:ivr_scripts/)?([\w.]+\.py)\b", body)
        assert m, f"a python example of docs/ivr.md does not say which file it is:\n{body}"
        out[m.group(1)] = body
    return out


def try_lines(capsys, argv):
    """Run `pycallcenter ivr try` (argv after 'try'); return (status, transcript lines without the header)."""
    status = main(["ivr", "try", *argv])
    out, err = capsys.readouterr()
    assert status == 0, err
    return status, out.splitlines()[1:]


def with_prompts(folder, cache):
    """Let a program's centre in folder/data find the prompt set already generated in cache."""
    (folder / "data").mkdir()
    os.symlink(cache, folder / "data" / "prompts")


def test_the_example_configurations_load():
    board_text, s = load_settings(bundled.examples_dir() / "centre.toml")
    assert "[[span]]" in board_text
    assert [q.name for q in s.queue] == ["sales", "support", "vip"]
    assert {a.name: a.skills for a in s.agent}["carol"] == {"support": 9}
    assert s.callers.vip_queue == "vip" and s.callbacks.enabled and s.voicemail.box[0].extension == "channel/32"
    assert [r.called for r in s.route] == ["5000", "5001", "_59XX"]
    _, acd = load_settings(bundled.examples_dir() / "acd.toml")
    assert [q.name for q in acd.queue] == ["billing", "escalations"]
    assert [a.name for a in acd.agent] == ["heidi", "ivan", "judy", "mallory"]


def test_an_acd_file_adds_its_queues_and_agents_to_a_centre(tmp_path):
    centre = tmp_path / "centre.toml"
    centre.write_text(f'[centre]\nacd = "{bundled.examples_dir() / "acd.toml"}"\n\n[[queue]]\nname = "sales"\n')
    _, s = load_settings(centre)
    assert [q.name for q in s.queue] == ["sales", "billing", "escalations"]
    assert {a.name: dict(a.queues) for a in s.agent}["heidi"] == {"billing": 0, "escalations": 1}


def test_the_example_centre_runs_a_simulated_minute(tmp_path, prompt_cache):
    from pycallcenter.apps.centre import Centre
    from pycallcenter.apps.simulation import Simulation

    with_prompts(tmp_path, prompt_cache)
    board_text, settings = load_settings(bundled.examples_dir() / "centre.toml")
    settings.centre.cti_port = 0  # the example's pages are on 8443, which a centre running beside may hold
    centre = Centre(board_text, settings, data=tmp_path / "data")
    try:
        sim = Simulation(centre, hours=1 / 60)
        assert sim.offered >= 3
        while centre.engine.now < 60 * SAMPLE_RATE:
            sim.tick()
        callers = sim.pstn.done + list(sim.pstn.active.values())
        assert all(c.answered is not None for c in callers if c.placed is not None)
        assert any(c.agent_at is not None for c in callers), [c.log for c in callers]
        assert centre.engine.errors == []
    finally:
        centre.close()
    assert centre.writer.written == len(callers)
    assert centre.leaks() == []


# what each script example of docs/ivr.md is tried with, and a line its transcript must have
SCRIPTS = {
    "example_hello.py": ("3,1", "sets choice = 1"),
    "example_pin.py": ("1234#", "sets pin_ok = 1"),
    "example_say.py": ("", "plays en/1, en/thousand, en/2, en/hundred, en/and, en/30, en/4 [en]"),
    "example_fallback.py": ("t2", "sets voicemail_id = 1"),
}


def test_every_script_example_runs_through_ivr_try(capsys, tmp_path, monkeypatch):
    scripts = {name: body for name, body in named("python").items() if body.startswith("# ivr_scripts/")}
    assert set(scripts) == set(SCRIPTS)
    monkeypatch.chdir(tmp_path)
    for name, body in scripts.items():
        (tmp_path / name).write_text(body)
        digits, expected = SCRIPTS[name]
        _, lines = try_lines(capsys, [name, "--digits", digits])
        bare = [STAMP.sub("", line) for line in lines]
        assert expected in bare and bare[-1].startswith("CDR C1: "), (name, lines)


def test_the_say_example_plays_what_its_comments_say(capsys, tmp_path, monkeypatch):
    body = named("python")["example_say.py"]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example_say.py").write_text(body)
    _, lines = try_lines(capsys, ["example_say.py"])
    played = [STAMP.sub("", line)[6:].split(" [")[0].split(", ") for line in lines if "  plays " in line]
    for comment in re.findall(r"# ((?:\w\w/\w+ ?)+)", body):
        words = comment.split()
        assert any(p[:len(words)] == words for p in played), (comment, played)


def test_the_documented_transcript_is_what_ivr_try_prints(capsys, tmp_path, monkeypatch):
    shown = next(b for b in blocks("") if b.startswith("$ pycallcenter ivr try")).splitlines()
    argv = shown[0].split()[4:]
    monkeypatch.chdir(tmp_path)
    (tmp_path / "example_hello.py").write_text(named("python")["example_hello.py"])
    _, lines = try_lines(capsys, argv)
    assert lines == shown[2:]


def test_the_documented_try_commands_run(capsys, monkeypatch):
    commands = [line.split("#")[0].split() for b in blocks("") for line in b.splitlines()
                if line.startswith("pycallcenter ivr try ") and " SCRIPT " not in line]  # not the synopsis
    assert len(commands) >= 5
    monkeypatch.chdir(ROOT)  # the paths they name are the source tree's
    for argv in commands:
        _, lines = try_lines(capsys, argv[3:])
        assert STAMP.sub("", lines[-1]).startswith("CDR C1: "), (argv, lines)


@pytest.mark.parametrize("name, expected", [("place_a_call.py", r"reached alice after [\d.]+ s\nC1 agent sales alice"),
                                            ("mailboxes.py", r"^\(0, 0\)$")])
def test_the_program_examples_run_as_written(tmp_path, prompt_cache, name, expected):
    (tmp_path / name).write_text(named("python")[name])
    with_prompts(tmp_path, prompt_cache)
    done = subprocess.run([sys.executable, name], cwd=tmp_path, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert re.search(expected, done.stdout, re.M), done.stdout
