"""The post-call survey ([survey]) on the emulator: the agent hangs up, the caller keys a rating that lands
with the right agent and queue (survey table and the call's one CDR); a caller who hangs up first hears no
survey; a wrong key is asked again; the report's figures per agent and per queue; a dangling queue name."""
import pytest

from pycallcenter.apps.settings import load_text
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine.media import Player
from pycallcenter.errors import ConfigError
from pycallcenter.storage import survey as survey_store
from tests.test_centre import QUEUES, build, call_in, cdrs, centre_text, finish, log, prompts, run  # noqa: F401

SURVEYED = QUEUES + """
[[route]]
called = "5000"
queue = "sales"

[[route]]
called = "5001"
queue = "support"

[survey]
queues = ["sales"]
timeout = 6
"""


def press(sim, caller, keys):
    """The simulated caller presses keys now (DTMF on their channel)."""
    call = next(c for c, who in sim.pstn.active.items() if who is caller)
    sim.pstn.audio[call.channel] = Player([dtmf_signal(keys, level_dbm0=-8, on_ms=80, off_ms=80)])


def talk_then_agent_hangs_up(centre, sim, caller, agent):
    run(sim, 25)  # routed, queued, rung, answered by the simulated agent
    assert caller.agent == agent
    centre.binding.hangup(agent)
    run(sim, 1)


def rate(centre, sim, agent, key):
    """A caller to 5000 talks to agent, who hangs up; the caller hears the survey and keys key; return the
    caller (their call over) and the call's one CDR."""
    caller = call_in(sim, called="5000", talk=300)
    talk_then_agent_hangs_up(centre, sim, caller, agent)
    assert any("survey_rate" in p for p in log(centre, "play"))
    press(sim, caller, key)
    run(sim, 15)
    assert caller.ended is not None  # the centre hung up after the thank-you
    written = cdrs(centre)
    assert len(written) == 1
    return caller, written[0]


def test_agent_hangs_up_and_the_callers_rating_lands_with_agent_and_queue(tmp_path, finish):
    centre, sim = build(tmp_path, SURVEYED)
    finish(sim)
    _, cdr = rate(centre, sim, "agent1", "4")
    figures = survey_store.report(centre.store)
    assert figures["agent"] == [{"name": "agent1", "count": 1, "mean": 4.0, "counts": [0, 0, 0, 1, 0]}]
    assert figures["queue"] == [{"name": "sales", "count": 1, "mean": 4.0, "counts": [0, 0, 0, 1, 0]}]
    assert any("survey_thanks" in p for p in log(centre, "play"))
    assert cdr["vars"].get("survey_score") == 4 and (cdr["agent"], cdr["queue"]) == ("agent1", "sales")
    feature = next(f for f in centre.features if f.name == "survey")
    assert feature.status() == {"queues": ["sales"], "answers": 1}  # the status file's line


def test_a_caller_who_hangs_up_first_gets_no_survey(tmp_path, finish):
    centre, sim = build(tmp_path, SURVEYED)
    finish(sim)
    caller = call_in(sim, called="5000", talk=10)
    run(sim, 45)
    assert caller.agent == "agent1" and caller.ended is not None
    assert not any("survey_rate" in p for p in log(centre, "play"))
    assert survey_store.report(centre.store) == {"agent": [], "queue": []}
    assert len(cdrs(centre)) == 1


def test_an_unsurveyed_queue_hears_nothing(tmp_path, finish):
    centre, sim = build(tmp_path, SURVEYED)
    finish(sim)
    caller = call_in(sim, called="5001", talk=300)
    talk_then_agent_hangs_up(centre, sim, caller, "agent2")
    run(sim, 5)
    assert not any("survey_rate" in p for p in log(centre, "play"))
    assert caller.ended is not None


def test_a_wrong_key_is_asked_again_then_the_good_one_counts(tmp_path, finish):
    centre, sim = build(tmp_path, SURVEYED)
    finish(sim)
    caller = call_in(sim, called="5000", talk=300)
    talk_then_agent_hangs_up(centre, sim, caller, "agent1")
    press(sim, caller, "8")
    run(sim, 6)
    assert any("survey_invalid" in p for p in log(centre, "play"))
    press(sim, caller, "2")
    run(sim, 15)
    figures = survey_store.report(centre.store)
    assert figures["agent"] == [{"name": "agent1", "count": 1, "mean": 2.0, "counts": [0, 1, 0, 0, 0]}]
    assert len(cdrs(centre)) == 1


def test_report_figures_per_agent_and_queue(tmp_path):
    from pycallcenter.storage import open_store

    store = open_store(str(tmp_path), appliance="box")
    for agent, queue, score in (("a1", "sales", 5), ("a1", "sales", 3), ("a2", "sales", 1), ("a2", "support", 4)):
        survey_store.save(store, 1, "C1", "2026-01-05T10:00:00", "555", queue, agent, score)
    figures = survey_store.report(store)
    assert figures["agent"] == [{"name": "a1", "count": 2, "mean": 4.0, "counts": [0, 0, 1, 0, 1]},
                                {"name": "a2", "count": 2, "mean": 2.5, "counts": [1, 0, 0, 1, 0]}]
    assert [(r["name"], r["count"], r["mean"]) for r in figures["queue"]] == [("sales", 3, 3.0), ("support", 1, 4.0)]
    assert survey_store.report(store, since="2026-01-06") == {"agent": [], "queue": []}
    text = "\n".join(survey_store.format_report(figures))
    assert "a2" in text and "2.50" in text
    with pytest.raises(ValueError):
        survey_store.save(store, 1, "C2", "2026-01-05T10:00:00", "555", "sales", "a1", 6)
    store.close()


def test_report_command_prints_the_survey_section(tmp_path, capsys):
    from pycallcenter import cli
    from pycallcenter.storage import open_store

    store = open_store(str(tmp_path), appliance="box")
    survey_store.save(store, 1, "C1", "2026-01-05T10:00:00", "555", "sales", "a1", 5)
    store.close()
    assert cli.main(["report", "--db", str(tmp_path), "--survey"]) == 0
    out = capsys.readouterr().out
    assert "Survey by agent" in out and "Survey by queue" in out and " 5.00 " in out
    assert cli.main(["report", "--db", str(tmp_path), "--survey", "--from", "2026-02-01"]) == 1


def test_a_survey_queue_that_does_not_exist_is_named_with_file_and_line(tmp_path):
    text = centre_text(tmp_path, QUEUES + '\n[survey]\nqueues = ["sales", "nowhere"]\n')
    with pytest.raises(ConfigError) as err:
        load_text(text, file="centre.toml")
    line = text.splitlines().index('queues = ["sales", "nowhere"]') + 1
    assert str(err.value) == f"centre.toml:{line}: survey.queues: no queue named 'nowhere'"


def test_a_caller_handed_to_the_acd_is_surveyed_after_their_script_returned(tmp_path, finish):
    # queue_call(talk=False): the script returns once an agent answers and the ACD keeps the caller
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    (scripts / "handed.py").write_text(
        "from pycallcenter.acd.engine_binding import queue_call\n\n\n"
        "async def main(call):\n    await call.answer()\n    await queue_call(call, 'sales', talk=False)\n")
    extra = SURVEYED.replace('called = "5000"\nqueue = "sales"', 'called = "5000"\nscript = "handed"')
    centre, sim = build(tmp_path, extra, centre=f'scripts = "{scripts}"\ndefault_script = "handed"')
    finish(sim)
    _, cdr = rate(centre, sim, "agent1", "5")
    assert survey_store.report(centre.store)["queue"] == [{"name": "sales", "count": 1, "mean": 5.0,
                                                            "counts": [0, 0, 0, 0, 1]}]
    assert cdr["vars"].get("survey_score") == 5


def test_a_survey_prompt_missing_from_the_prompt_folder_is_named_at_start(tmp_path):
    with pytest.raises(ConfigError) as err:
        build(tmp_path, SURVEYED.replace("timeout = 6", 'prompt = "no_such_prompt"'))
    text = (tmp_path / "centre.toml").read_text()
    line = text.splitlines().index('prompt = "no_such_prompt"') + 1
    assert str(err.value).startswith(f"{tmp_path / 'centre.toml'}:{line}: survey.prompt: no prompt 'no_such_prompt'")


def test_silence_ends_the_survey_without_a_rating(tmp_path, finish):
    centre, sim = build(tmp_path, SURVEYED)
    finish(sim)
    caller = call_in(sim, called="5000", talk=300)
    talk_then_agent_hangs_up(centre, sim, caller, "agent1")
    run(sim, 5)
    assert any("survey_rate" in p for p in log(centre, "play")) and caller.ended is None  # still waiting
    run(sim, 15)  # the rest of the prompt, then the 6-second timeout
    assert caller.ended is not None
    assert not any("survey_thanks" in p for p in log(centre, "play"))
    assert survey_store.report(centre.store) == {"agent": [], "queue": []}
    written = cdrs(centre)
    assert len(written) == 1 and "survey_score" not in written[0]["vars"]
