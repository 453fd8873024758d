"""Callbacks and campaigns end to end on the emulator, through the Centre built from a configuration
file: an E1 PRI span to the emulated PSTN (simulated people answer our calls as people, machines, busy
lines or nobody) and FXS phones with simulated agents."""
import shutil
import textwrap

import pytest

from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.outbound import features
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.sim.agents import AgentPool
from pycallcenter.sim.pstn import Callee, Caller, PstnSimulator

pytestmark = pytest.mark.skipif(not shutil.which("espeak-ng"),
                                reason="espeak-ng is not installed (make test installs it)")


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    """Return a prompt folder built once for the module."""
    from pycallcenter.ivr import promptset

    folder = tmp_path_factory.mktemp("prompts")
    promptset.build(str(folder))
    return str(folder)


def write_config(tmp_path, prompts, start, tables, agents=2, files=None):
    """Write centre.toml (the demo's board, queue sales, agents at phones, then `tables`) and the files
    it names into tmp_path; return its path."""
    for name, text in (files or {}).items():
        (tmp_path / name).write_text(text)
    path = tmp_path / "centre.toml"
    staff = "".join(f'[[agent]]\nname = "agent{i + 1}"\ncontact = "channel/{32 + i}"\nqueues = {{ sales = 0 }}\n\n'
                    for i in range(agents))
    path.write_text(board_config(agents, seed=3, blocksize=320) + textwrap.dedent(f"""
        [centre]
        data = "data"
        prompts = "{prompts}"
        start = "{start}"

        [[queue]]
        name = "sales"
        wrapup = 1
        ring_timeout = 15

        """) + staff + textwrap.dedent(tables))
    return str(path)


class Rig:
    """A Centre from a config file, the simulated PSTN and agents; ``run(seconds)`` ticks them all."""

    def __init__(self, tmp_path, prompts, start, tables, agents=2, files=None):
        self.centre = Centre.from_file(write_config(tmp_path, prompts, start, tables, agents, files))
        board = self.centre.board
        self.pstn = PstnSimulator(board, far_end="pstn", seed=3)
        phones = [board.emulator.far_ends[f"agent{i + 1}"] for i in range(agents)]
        self.agents = AgentPool(phones, [f"agent{i + 1}" for i in range(agents)], self.pstn,
                                plan=self.centre.engine.tone_plan)
        self.found = features(self.centre)

    @property
    def now(self):
        """Return board seconds."""
        return self.centre.engine.now / SAMPLE_RATE

    def run(self, seconds, until=None):
        """Tick the centre and the simulated agents for seconds (or until until() holds)."""
        end = self.now + seconds
        while self.now < end and not (until is not None and until()):
            self.centre.tick()
            self.agents.tick(self.centre.engine.now, self.centre.board.blocksize)

    def cdr_outcomes(self):
        """Return the outcome column of every CDR written, in order (after close())."""
        from pycallcenter.storage import open_store

        store = open_store(self.centre.data, create=False)
        try:
            return [r["outcome"] for r in store.select("cdr")]
        finally:
            store.close()

    def close(self):
        """End every call, then check nothing is left behind."""
        self.run(30.0, until=lambda: not self.centre.engine.calls)
        self.run(0.5)  # the CDR writer settles a call's record a tick after its scripts end
        self.centre.close()
        assert self.centre.leaks() == []


CALLBACKS = """
    [[route]]
    called = "5000"
    script = "callback"
    args = ["sales"]

    [callbacks]
    enabled = true
    hours = "09:00-17:00"
    retry_after = [20]
    max_attempts = 3
    ring_timeout = 8
"""


def test_a_callback_left_in_the_ivr_is_dialled_in_hours_retried_and_reaches_an_agent(tmp_path, prompts):
    rig = Rig(tmp_path, prompts, "2026-01-05T08:59:30", CALLBACKS, agents=1)
    number = "2025550100"
    # she keys # for her own number and # again for "as soon as possible", then hangs up when told goodbye
    rig.pstn.add(Caller(number, "5000", 2.0, digits="#,#", digit_delay=4.0, patience=90.0))
    callee = rig.pstn.add_callee(Callee(number, kinds=("no_answer", "human"), talk=8.0))
    store = rig.centre.centre_config.callbacks()
    rig.run(60.0, until=lambda: store.counts()["pending"] or store.counts()["dialling"])
    (row,) = store.pending() or [store.get(1)]
    assert row.number == number and row.queue == "sales" and row.due_at == ""
    assert row.requested_at < "2026-01-05T09:00:00"  # saved before calling hours began
    rig.run(150.0, until=lambda: store.get(row.id).state == "done")
    done = store.get(row.id)
    assert (done.state, done.attempts, done.outcome) == ("done", 2, "answered")
    rig.run(30.0, until=lambda: len(callee.attempts) == 2)  # they talk, then she hangs up
    first, second = callee.attempts
    assert first[0] == "no_answer" and first[3] is None  # the first attempt rang out
    assert second[0] == "human" and second[4] == "agent1"  # the second reached the agent, who waited for her
    assert second[1] - first[1] >= 20.0  # retried after retry_after
    start = rig.centre.start.timestamp()
    assert start + first[1] >= rig.centre.start.replace(hour=9, minute=0, second=0).timestamp()  # in hours
    rig.close()
    outcomes = rig.cdr_outcomes()
    assert outcomes.count("callback") == 1  # the request
    assert "callback_no_answer" in outcomes and "callback_done" in outcomes
    assert rig.found["callbacks"].status()["requests_by_state"]["done"] == 1


def test_a_restart_resumes_a_callback_cut_short_and_a_chosen_time_waits(tmp_path, prompts):
    import datetime as dt

    from pycallcenter.apps.callbacks import CallbackStore

    (tmp_path / "data").mkdir()
    store = CallbackStore(str(tmp_path / "data" / "callbacks.sqlite"))
    base = dt.datetime(2026, 1, 5, 9, 0)
    cut = store.request("2025550111", "sales", base - dt.timedelta(minutes=5))
    store.begin(cut, base - dt.timedelta(minutes=1))  # the centre stopped while this was being dialled
    later = store.request("2025550122", "sales", base, at=base + dt.timedelta(minutes=30))
    store.close()
    rig = Rig(tmp_path, prompts, "2026-01-05T09:00:00", CALLBACKS, agents=1)
    early = rig.pstn.add_callee(Callee("2025550111", talk=5.0))
    waiting = rig.pstn.add_callee(Callee("2025550122", talk=5.0))
    assert rig.found["callbacks"].resumed == 1
    store = rig.centre.centre_config.callbacks()
    rig.run(60.0, until=lambda: store.get(cut).state == "done")
    assert store.get(cut).attempts == 2  # the cut attempt counts, the resumed one reached her
    rig.run(20.0, until=lambda: early.attempts)
    assert early.reached() == 1
    assert store.get(later).state == "pending" and waiting.attempts == []  # her time has not come
    rig.close()


def test_a_callback_the_queue_refuses_is_not_counted_as_an_attempt(tmp_path, prompts):
    rig = Rig(tmp_path, prompts, "2026-01-05T10:00:00", CALLBACKS, agents=1)
    rig.centre.acd.queues["sales"].hours = (3600.0, 7200.0)  # the queue takes nobody in its first hour
    store = rig.centre.centre_config.callbacks()
    cb = store.request("2025550700", "sales", rig.centre.wall_time())
    rig.run(5.0)
    row = store.get(cb)
    assert (row.state, row.attempts, row.outcome) == ("pending", 0, "no_agent") and row.next_try > row.requested_at
    rig.close()


KEY = """
    [[route]]
    called = "5000"
    queue = "sales"

    [callbacks]
    enabled = true
    key = "*"
    keep_place = KEEP
    hours = "09:00-17:00"
    ring_timeout = 8
"""


@pytest.mark.parametrize("keep_place", [True, False])
def test_a_waiting_caller_presses_the_key_and_is_called_back(tmp_path, prompts, keep_place):
    rig = Rig(tmp_path, prompts, "2026-01-05T10:00:00", KEY.replace("KEEP", str(keep_place).lower()), agents=1)
    rig.centre.binding.command("pause", "agent1")  # nobody free: she waits, then asks to be called back
    offer = rig.centre.binding.announcer.names(1, 30.0, None)  # what waiting callers hear now and then
    assert offer[-2:] == ["queue_callback_key", "en/star"]
    number = "2025550500"
    keys = "*" if keep_place else "*,#,#"  # without keeping her place: her own number, as soon as possible
    rig.pstn.add(Caller(number, "5000", 2.0, digits=keys, digit_delay=6.0, patience=90.0))
    her = rig.pstn.add_callee(Callee(number, talk=6.0))
    store = rig.centre.centre_config.callbacks()
    rig.run(60.0, until=lambda: rig.pstn.done)  # she hung up after the goodbye
    (row,) = store.pending()
    assert row.number == number and bool(row.held_by) is keep_place
    qlog = [e.event for e in rig.centre.acd.qlog if e.call != "-"]
    assert qlog[:2] == (["ENTER", "CALLBACK"] if keep_place else ["ENTER", "ABANDON"])
    rig.centre.binding.command("pause", "agent1", paused=False)
    rig.run(60.0, until=lambda: her.attempts)
    assert her.reached() == 1 and her.attempts[0][4] == "agent1"
    assert store.get(row.id).state == "done"
    rig.close()
    assert "callback_done" in rig.cdr_outcomes()


def test_a_kept_place_that_comes_up_after_calling_hours_waits_for_them_uncounted(tmp_path, prompts):
    toml = KEY.replace("KEEP", "true").replace('hours = "09:00-17:00"', 'hours = "10:00-10:01"')
    rig = Rig(tmp_path, prompts, "2026-01-05T10:00:00", toml, agents=1)
    rig.centre.binding.command("pause", "agent1")
    number = "2025550800"
    rig.pstn.add(Caller(number, "5000", 2.0, digits="*", digit_delay=6.0, patience=90.0))
    her = rig.pstn.add_callee(Callee(number, talk=6.0))
    rig.run(60.0, until=lambda: rig.pstn.done)
    rig.run(65.0 - rig.now)  # past 10:01, the end of calling hours
    rig.centre.binding.command("pause", "agent1", paused=False)  # her turn comes: the agent is rung
    rig.run(30.0)
    (row,) = rig.centre.centre_config.callbacks().pending()
    assert (row.attempts, row.outcome, row.held_by) == (0, "outside_hours", "") and her.attempts == []
    rig.close()
    assert "callback_outside_hours" in rig.cdr_outcomes()


CAMPAIGN = """
    [[campaign]]
    name = "spring"
    numbers = "numbers.csv"
    dnc = "dnc.txt"
    queue = "sales"
    mode = "predictive"
    hours = "09:00-09:03"
    max_attempts = 2
    retry_after = [15]
    ring_timeout = 10
    caller_id = "2025550000"
"""

NUMBERS = """number,name
202 555 0301,Ann
202-555-0302,Bob
2025550303,Machine Ltd
2025550304,Busy Bee
2025550305,Nobody Home
2025550306,Do Not Call
2025550307,Late Larry
"""


def test_a_campaign_dials_its_list_skips_dnc_passes_people_drops_machines_stops_outside_hours_and_resumes(
        tmp_path, prompts):
    toml = CAMPAIGN.replace("retry_after = [15]", "retry_after = [70]")  # hours end before a retry is due
    files = {"numbers.csv": NUMBERS, "dnc.txt": "# do not call\n2025550306\n"}
    rig = Rig(tmp_path, prompts, "2026-01-05T09:02:00", toml, files=files)
    people = {n: rig.pstn.add_callee(Callee(n, kinds=kinds, talk=12.0)) for n, kinds in [
        ("2025550301", ("human",)), ("2025550302", ("human",)), ("2025550303", ("machine",)),
        ("2025550304", ("busy",)), ("2025550305", ("no_answer",)), ("2025550306", ("human",)),
        ("2025550307", ("no_answer", "human"))]}
    campaign = rig.found["campaigns"]["spring"]
    assert campaign.status()["dnc_skipped"] == 1 and campaign.status()["numbers"] == 6
    rig.run(58.0)  # to 09:02:58
    assert campaign.status()["state"] == "running"
    assert people["2025550301"].reached() == 1 and people["2025550302"].reached() == 1
    machine = people["2025550303"]
    assert machine.attempts[0][2] is not None and machine.reached() == 0  # answered, recognised, dropped
    assert [a[0] for a in people["2025550304"].attempts] == ["busy"]
    assert [a[0] for a in people["2025550305"].attempts] == ["no_answer"]
    assert people["2025550306"].attempts == []  # on the do-not-call list: never dialled
    status = campaign.status()
    assert status["attempts_by_outcome"]["answered"] == 2 and status["attempts_by_outcome"]["machine"] == 1
    assert status["attempts_by_outcome"]["busy"] == 1 and status["attempts_by_outcome"]["no_answer"] == 2
    assert status["pacing"]["abandon_rate"] == 0.0 <= 0.03
    rig.run(90.0)  # to 09:04:28: the retries fell due after 09:03
    assert campaign.status()["state"] == "outside_hours" and campaign.status()["remaining"] == 3
    every = [a for p in people.values() for a in p.attempts]
    assert len(every) == 6 and max(a[1] for a in every) < 60.0  # nothing dialled after 09:03
    rig.close()
    again = Rig(tmp_path, prompts, "2026-01-05T09:02:30", toml, files=files)  # restarted inside the hours
    for callee in people.values():
        again.pstn.add_callee(callee)
    restarted = again.found["campaigns"]["spring"]
    assert restarted.status()["resumed"] == 6 and restarted.status()["numbers_by_status"] == {
        "connected": 2, "machine": 1, "pending": 3}
    again.run(25.0)  # the retries are not due before 09:03:10 and the others are done: nobody is called
    assert restarted.status()["state"] == "running" and sum(len(p.attempts) for p in people.values()) == 6
    again.close()
    outcomes = rig.cdr_outcomes()
    assert sorted(o for o in outcomes if o.startswith("campaign_")) == [
        "campaign_answered", "campaign_answered", "campaign_busy", "campaign_machine", "campaign_no_answer",
        "campaign_no_answer"]


def test_a_person_who_finds_no_free_agent_within_2_s_is_abandoned_and_called_again(tmp_path, prompts):
    toml = CAMPAIGN.replace('hours = "09:00-09:03"', 'hours = "09:00-17:00"').replace('mode = "predictive"',
                                                                                      'mode = "progressive"')
    rig = Rig(tmp_path, prompts, "2026-01-05T09:00:00", toml, files={"numbers.csv": "2025550401\n", "dnc.txt": ""})
    ann = rig.pstn.add_callee(Callee("2025550401", answer_after=6.0, talk=5.0))
    campaign = rig.found["campaigns"]["spring"]
    rig.run(3.0, until=lambda: campaign.attempts)
    assert campaign.attempts  # ringing her now; both agents go on a break before she answers
    for name in ("agent1", "agent2"):
        rig.centre.binding.command("pause", name)
    rig.run(20.0, until=lambda: campaign.outcomes["abandoned"])
    assert campaign.outcomes["abandoned"] == 1 and campaign.pacer.abandon_rate == 1.0
    rig.run(15.0, until=lambda: ann.attempts)  # she hears the apology, then we clear
    assert ann.attempts[0][3] is None and ann.attempts[0][5] - ann.attempts[0][2] > 5.0  # no agent, an apology
    for name in ("agent1", "agent2"):
        rig.centre.binding.command("pause", name, paused=False)
    rig.run(40.0, until=lambda: ann.reached())
    assert ann.reached() == 1 and campaign.dialler.targets["2025550401"].attempts == 2
    assert campaign.pacer.last_mode == "progressive"  # over the cap: no more than one line per free agent
    rig.close()
    assert "campaign_abandoned" in rig.cdr_outcomes()


def test_run_simulate_dials_a_campaign_that_campaign_status_then_reports(tmp_path, prompts, capsys):
    from pycallcenter import cli
    from pycallcenter.apps.outbound.progress import saved_counts

    toml = CAMPAIGN.replace('hours = "09:00-09:03"', 'hours = "09:00-17:00"').replace('dnc = "dnc.txt"\n', "")
    path = write_config(tmp_path, prompts, "2026-01-05T09:00:00", toml + "\n[simulate]\ncalls_per_hour = 0\n",
                        files={"numbers.csv": "".join(f"20255{70000 + i}\n" for i in range(12))})
    assert cli.main(["run", path, "--simulate", "--seconds", "120", "--fast"]) == 0
    counts = saved_counts(str(tmp_path / "data"))["spring"]
    assert counts.get("connected", 0) >= 1 and sum(counts.values()) >= 6  # the simulated people answered
    capsys.readouterr()
    assert cli.main(["campaign", "status", "--data", str(tmp_path / "data")]) == 0
    assert capsys.readouterr().out.startswith(f"campaign spring: connected {counts['connected']}")
