"""`pycallcenter campaign status|pause|resume`: the numbers' states from the campaigns table, the live
state from the status file, and a pause flag the running campaign obeys."""
import datetime as dt
import json

from pycallcenter.apps.outbound.progress import CampaignProgress
from pycallcenter.cli import main
from test_outbound import CAMPAIGN, Rig, prompts  # noqa: F401 - the module fixture

NINE = dt.datetime(2026, 1, 5, 9, 0)


def _saved(data):
    progress = CampaignProgress(str(data / "campaigns.sqlite"), "spring")
    progress.save("2025550301", "connected", 1, None, "answered", NINE)
    progress.save("2025550302", "pending", 1, NINE.replace(hour=10), "busy", NINE)
    progress.save("2025550303", "pending", 0, None, "", NINE)
    progress.close()


def test_status_reads_the_campaigns_table_and_the_live_status(tmp_path, capsys):
    _saved(tmp_path)
    assert main(["campaign", "status", "--data", str(tmp_path)]) == 0
    assert capsys.readouterr().out == "campaign spring: connected 1, pending 2\n"
    live = {"name": "spring", "state": "running", "remaining": 2, "in_progress": 1,
            "pacing": {"pacing_now": "predictive", "answer_rate": 0.3, "abandoned": 1, "abandon_rate": 0.0125}}
    (tmp_path / "status.json").write_text(json.dumps({"features": {"Campaign": live}}))
    assert main(["campaign", "status", "spring", "--data", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[1] == (
        "  running, 2 to dial, 1 in progress, pacing predictive, answer rate 0.3, abandoned 1 (1.25%)")
    assert main(["campaign", "status", "--json", "--data", str(tmp_path)]) == 0
    assert json.loads(capsys.readouterr().out)["spring"]["numbers"] == {"connected": 1, "pending": 2}


def test_pause_and_resume_put_and_remove_the_flag_and_unknown_names_are_one_line(tmp_path, capsys):
    _saved(tmp_path)
    assert main(["campaign", "pause", "spring", "--data", str(tmp_path)]) == 0
    assert (tmp_path / "campaigns" / "spring.paused").exists()
    assert main(["campaign", "status", "--data", str(tmp_path)]) == 0
    assert capsys.readouterr().out.splitlines()[-1].endswith("(paused)")
    assert main(["campaign", "resume", "spring", "--data", str(tmp_path)]) == 0
    assert not (tmp_path / "campaigns" / "spring.paused").exists()
    capsys.readouterr()
    assert main(["campaign", "pause", "autumn", "--data", str(tmp_path)]) == 2
    assert capsys.readouterr().out == f"pycallcenter campaign: no campaign 'autumn' in {tmp_path} (known: spring)\n"
    assert main(["campaign", "resume", "--data", str(tmp_path)]) == 2


def test_a_running_campaign_obeys_the_pause_flag(tmp_path, prompts):  # noqa: F811
    from pycallcenter.sim.pstn import Callee

    toml = CAMPAIGN.replace('hours = "09:00-09:03"', 'hours = "09:00-17:00"')
    rig = Rig(tmp_path, prompts, "2026-01-05T09:00:00", toml, files={"numbers.csv": "2025550601\n", "dnc.txt": ""})
    her = rig.pstn.add_callee(Callee("2025550601", talk=4.0))
    assert main(["campaign", "pause", "spring", "--data", rig.centre.data]) == 0
    campaign = rig.found["campaigns"]["spring"]
    rig.run(10.0)
    assert campaign.status()["state"] == "paused" and her.attempts == [] and not campaign.attempts
    assert main(["campaign", "resume", "spring", "--data", rig.centre.data]) == 0
    rig.run(40.0, until=lambda: her.attempts)
    assert her.reached() == 1
    rig.close()
