"""The supervisor console's survey table: quality_report over a real CTI WebSocket carries the post-call
survey per agent and per queue for the period, beside the quality checks; the page renders it."""
from pycallcenter.storage import survey
from test_desktop_commands import desk  # noqa: F401  (the fixture: a CTI server on the emulated centre)


def test_quality_report_carries_the_survey_per_agent_and_queue(desk):  # noqa: F811
    c, customers = desk
    a1, boss = c.client("tok-a1"), c.client("tok-boss")
    store = customers.store
    for call, agent, score, when in (("C1", "agent1", 5, "2026-01-05T10:00:00"),
                                     ("C2", "agent1", 2, "2026-01-05T11:00:00"),
                                     ("C3", "agent2", 4, "2026-01-07T09:00:00")):
        survey.save(store, 7, call, when, "2025550100", "sales", agent, score)
    r = c.request(boss, {"cmd": "quality_report"})
    assert [(s["name"], s["count"], s["mean"], s["counts"]) for s in r["survey"]["agent"]] == [
        ("agent1", 2, 3.5, [0, 1, 0, 0, 1]), ("agent2", 1, 4.0, [0, 0, 0, 1, 0])]
    assert [(s["name"], s["count"]) for s in r["survey"]["queue"]] == [("sales", 3)]
    r = c.request(boss, {"cmd": "quality_report", "since": "2026-01-06"})
    assert [s["name"] for s in r["survey"]["agent"]] == ["agent2"]
    assert c.request(a1, {"cmd": "quality_report"})["code"] == "forbidden"


def test_the_console_page_has_the_survey_table():
    from importlib import resources

    page = resources.files("pycallcenter.cti").joinpath("static/console.html").read_text()
    assert 'id="sreport"' in page and "r.survey[by]" in page
