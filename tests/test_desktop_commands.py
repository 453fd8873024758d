"""The desk commands behind the agent desktop and the supervisor console, over a real CTI WebSocket on the
emulated centre (tests/cti_rig.py): wrap-ups into the CDR (now, or once the CDR is written), customer
records and contact history, callbacks into the centre's callback table, DTMF to the caller, recording
pause/resume, recordings search, play links and quality checks; refusals name the field or the rule."""
import http.cookiejar
import urllib.error
import urllib.request

import pytest

from cti_rig import Centre
from pycallcenter.apps.callbacks import CallbackStore
from pycallcenter.apps.settings import QualityCriterion
from pycallcenter.cti.config import DeskConfig
from pycallcenter.storage import open_store
from pycallcenter.storage import quality
from pycallcenter.storage.customers import Customers
from test_cti_server import offered_and_answered, wait_event

CRITERIA = (QualityCriterion("greeting", 1.0), QualityCriterion("identification", 3.0, True))


@pytest.fixture
def desk(tmp_path):
    store = open_store(str(tmp_path / "db"))
    callbacks = CallbackStore(str(tmp_path / "callbacks.db"))
    customers = Customers(store, callbacks, run=7)
    c = Centre(customers=customers, desk=DeskConfig(("break",), ("sale", "complaint"), CRITERIA))
    c.eng.recordings_dir = str(tmp_path)
    yield c, customers
    c.close()
    callbacks.close()
    store.close()


def cdr(customers, call, caller="2025550100", agent="agent1"):
    """Write the call's CDR as the centre's writer would (run 7)."""
    customers.store.add("cdr", {"call_id": call, "run": 7, "caller": caller, "agent": agent, "queue": "sales",
                                "start_time": "2026-01-05T10:00:00", "disposition": "ANSWERED"})


def test_wrapup_goes_into_the_cdr_now_or_once_it_is_written(desk):
    c, customers = desk
    a1, a2 = c.client("tok-a1"), c.client("tok-a2")
    assert c.request(a1, {"cmd": "wrapup", "code": "sale"})["message"].startswith("no_call:")
    call = offered_and_answered(c, a1)["call"]
    bad = c.request(a1, {"cmd": "wrapup", "code": "lunch"})
    assert (bad["code"], bad["message"]) == ("bad_message", "code must be one of sale, complaint")
    assert c.request(a1, {"cmd": "wrapup", "code": "sale", "notes": 5})["message"] == "notes must be text"
    # another agent names agent1's call: refused, and nothing is written
    assert c.request(a2, {"cmd": "wrapup", "code": "sale", "call": call})["code"] == "forbidden"
    # during the call the CDR does not exist yet: kept, and written when it is
    r = c.request(a1, {"cmd": "wrapup", "code": "complaint", "notes": "late parcel"})
    assert (r["call"], r["saved"]) == (call, False)
    c.phones["agent1"].on_hook()
    c.run(1)
    cdr(customers, call)
    saved = wait_event(c, a1, "wrapup_saved")
    assert (saved["call"], saved["code"]) == (call, "complaint")
    row = customers.store.select("cdr", "call_id = ?", (call,))[0]
    assert (row["wrapup_code"], row["wrapup_notes"], row["wrapup_agent"]) == ("complaint", "late parcel", "agent1")
    # a second wrap-up of the same (ended, written) call is saved at once and replaces the first
    r = c.request(a1, {"cmd": "wrapup", "code": "sale", "notes": "sold after all", "call": call})
    assert r["saved"] is True
    assert customers.store.select("cdr", "call_id = ?", (call,))[0]["wrapup_code"] == "sale"


def test_customer_records_history_and_callbacks(desk):
    c, customers = desk
    a1, boss = c.client("tok-a1"), c.client("tok-boss")
    r = c.request(a1, {"cmd": "customer", "number": "2025550100"})
    assert r["customer"] is None and r["history"] == {"calls": [], "callbacks": []}
    r = c.request(a1, {"cmd": "customer_save", "number": "2025550100", "name": "Ada", "notes": "VIP",
                       "data": {"account": "4711"}})
    assert (r["customer"]["name"], r["customer"]["data"], r["customer"]["updated_by"]) == ("Ada", {"account": "4711"},
                                                                                         "agent1")
    # fields left out keep their value; supervisors edit records too
    r = c.request(boss, {"cmd": "customer_save", "number": "2025550100", "notes": "VIP, prefers mornings"})
    assert (r["customer"]["name"], r["customer"]["notes"]) == ("Ada", "VIP, prefers mornings")
    assert len(customers.store.select("customers")) == 1
    bad = c.request(a1, {"cmd": "customer_save", "number": "2025550100", "data": {"x": [1]}})
    assert bad["code"] == "bad_message" and "data must be an object" in bad["message"]
    cdr(customers, "C9")
    customers.wrapup("C9", "agent1", "sale", "two boxes")
    r = c.request(a1, {"cmd": "callback", "number": "2025550100", "at": "2026-01-06T09:30"})
    assert r["queue"] == "sales"
    hist = c.request(a1, {"cmd": "customer", "number": "2025550100"})["history"]
    assert [(h["call"], h["wrapup_code"], h["wrapup_notes"]) for h in hist["calls"]] == [("C9", "sale", "two boxes")]
    assert [(cb["due_at"], cb["queue"], cb["state"], cb["by"]) for cb in hist["callbacks"]] == [
        ("2026-01-06T09:30:00", "sales", "pending", "agent1")]
    assert c.request(a1, {"cmd": "callback", "number": "12ab"})["message"] == "number must be 2..24 digits"
    bad = c.request(a1, {"cmd": "callback", "number": "2025550100", "at": "tomorrow"})
    assert bad["code"] == "bad_message" and "'tomorrow'" in bad["message"]
    # the dial policy holds for callbacks: premium-rate numbers are refused
    assert c.request(a1, {"cmd": "callback", "number": "09001234"})["code"] == "forbidden"
    assert c.request(boss, {"cmd": "callback", "number": "2025550100"})["code"] == "forbidden"  # agents' command


def test_dtmf_and_recording_pause_on_the_agents_own_call(desk):
    c, _ = desk
    a1 = c.client("tok-a1")
    assert c.request(a1, {"cmd": "dtmf", "digits": "12#"})["message"].startswith("not_in_call:")
    offered_and_answered(c, a1)
    assert c.request(a1, {"cmd": "dtmf", "digits": "12x"})["code"] == "bad_message"
    caller = c.eng.calls[c.binding.acd.agents["agent1"].call].caller_leg
    assert caller.row not in c.eng.media.tone_rows
    assert c.request(a1, {"cmd": "dtmf", "digits": "12#"})["digits"] == "12#"
    assert caller.row in c.eng.media.tone_rows  # the digits play towards the caller
    assert c.request(a1, {"cmd": "record_pause"})["message"].startswith("not_recording:")
    c.request(a1, {"cmd": "record_start"})
    rec = c.hub.backend._recording["agent1"]
    assert c.request(a1, {"cmd": "record_pause"})["paused"] is True and rec.paused
    wait_event(c, a1, "recording_paused")
    assert c.request(a1, {"cmd": "record_resume"})["paused"] is False and not rec.paused


def test_quality_scores_and_checks():
    assert quality.score(CRITERIA, {"greeting": 5, "identification": 5}) == (100.0, False)
    assert quality.score(CRITERIA, {"greeting": 5, "identification": 3}) == (70.0, False)
    assert quality.score(CRITERIA, {"greeting": 5, "identification": 0}) == (0.0, True)  # fatal
    with pytest.raises(ValueError, match="identification: a score is a whole number 0..5"):
        quality.score(CRITERIA, {"greeting": 5})
    with pytest.raises(ValueError, match="unknown criterion 'tone'"):
        quality.score(CRITERIA, {"greeting": 5, "identification": 5, "tone": 1})
    with pytest.raises(ValueError, match="greeting: a score"):
        quality.score(CRITERIA, {"greeting": 6, "identification": 5})


def test_recordings_search_play_link_and_quality_report(desk):
    c, customers = desk
    a1, boss = c.client("tok-a1"), c.client("tok-boss")
    store = customers.store
    wav = c.eng.recordings_dir + "/C9_L1.wav"
    with open(wav, "wb") as f:
        f.write(b"RIFF" + bytes(40))
    cdr(customers, "C9")
    customers.wrapup("C9", "agent1", "complaint", "")
    store.add("recordings", {"call_id": "C9", "run": 7, "path": wav, "seconds": 3.0, "created": "2026-01-05T10:01:00"})
    cdr(customers, "C10", caller="3035550000", agent="agent2")
    store.add("recordings", {"call_id": "C10", "run": 7, "path": wav, "seconds": 4.0, "created": "2026-01-06T11:00:00"})
    assert c.request(a1, {"cmd": "recordings"})["code"] == "forbidden"
    found = lambda **f: [r["call"] for r in c.request(boss, {"cmd": "recordings", **f})["recordings"]]  # noqa: E731
    assert found() == ["C10", "C9"]
    assert found(agent="agent1") == ["C9"] and found(caller="303") == ["C10"] and found(disposition="complaint") == ["C9"]
    assert found(since="2026-01-06") == ["C10"] and found(until="2026-01-05") == ["C9"]
    link = c.request(boss, {"cmd": "recording_open", "recording": 1})
    assert link["url"].startswith("/recording/") and c.request(boss, {"cmd": "recording_open", "recording": 99})[
        "message"] == "no_recording: 99"
    base = f"http://127.0.0.1:{c.server.port}"

    def get(path, who=None):
        jar = http.cookiejar.CookieJar()
        opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
        if who is not None:
            opener.open(base + "/")  # the login form's CSRF cookie
            token = [k.value for k in jar if k.name == "pycc_csrf"][0]
            c.server.guard.unlock("127.0.0.1")
            opener.open(base + "/login", f"name={who[0]}&password={who[1]}&csrf={token}".encode())
        try:
            with opener.open(base + path, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, b""

    assert get(link["url"]) == (401, b"")  # no session
    assert get(link["url"], ("agent1", "agent1-password"))[0] == 404  # a session, but not the link's supervisor
    assert get(link["url"], ("boss", "boss-password")) == (200, b"RIFF" + bytes(40))
    r = c.request(boss, {"cmd": "quality_check", "recording": 1, "scores": {"greeting": 5, "identification": 3},
                         "comments": "good"})
    assert (r["check"]["agent"], r["check"]["total"], r["check"]["fatal"]) == ("agent1", 70.0, 0)
    bad = c.request(boss, {"cmd": "quality_check", "recording": 1, "scores": {"greeting": 5}})
    assert bad["code"] == "bad_message" and "identification" in bad["message"]
    c.request(boss, {"cmd": "quality_check", "recording": 2, "scores": {"greeting": 5, "identification": 0}})
    report = c.request(boss, {"cmd": "quality_report"})["agents"]
    assert [(r["agent"], r["checks"], r["mean"], r["fatal"]) for r in report] == [("agent1", 1, 70.0, 0),
                                                                                   ("agent2", 1, 0.0, 1)]
    d = c.request(boss, {"cmd": "desk"})
    assert [x["name"] for x in d["criteria"]] == ["greeting", "identification"] and d["score_max"] == 5
    assert "criteria" not in c.request(a1, {"cmd": "desk"})  # the form is the supervisors'


def test_desk_commands_answer_odd_values_with_a_refusal_never_a_bug(desk):
    c, _ = desk
    a1, boss = c.client("tok-a1"), c.client("tok-boss")
    fields = ("number", "name", "notes", "data", "code", "call", "at", "queue", "digits", "since", "until", "agent",
              "caller", "disposition", "recording", "scores", "comments")
    odd = (None, [1], {"a": {}}, -1, 1e300, "", "x" * 3000, True)
    from pycallcenter.cti.protocol import COMMANDS, DESK_COMMANDS

    for cmd in DESK_COMMANDS:
        who = boss if "supervisor" in COMMANDS[cmd][0] else a1
        for value in odd:
            msg = {"cmd": cmd, **{f: value for f in fields}}
            r = c.request(who, msg)
            assert r.get("code") != "internal", (cmd, value, r)
    assert not c.hub.internal


@pytest.mark.parametrize("text, message", [
    ('[[quality.criterion]]\nname = "a"\n[[quality.criterion]]\nname = "a"\n', "c.toml: quality: criterion names must differ"),
    ('[quality]\ncriterion = []\n', "c.toml:1: quality: needs at least one criterion"),
    ('[[quality.criterion]]\nname = "a"\nweight = 0\n', "c.toml:3: quality.criterion[1].weight: must be from 0.1 to 100"),
    ('[[quality.criterion]]\nname = "a"\nfatal = 1\n', "c.toml:3: quality.criterion[1].fatal: expected true or false"),
    ('[desktop]\nreasons = ["x", 3]\n', "c.toml:2: desktop.reasons[2]: expected a string"),
    ('[desktop]\ndispositions = ["no sale"]\n', "c.toml:2: desktop.dispositions[1]: must look like a code"),
])
def test_desktop_and_quality_keys_are_checked(text, message):
    from pycallcenter.apps.settings import load_text
    from pycallcenter.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_text(text, file="c.toml")
    assert str(err.value).startswith(message)


def test_the_live_centre_leaves_the_named_agents_to_people(tmp_path):
    from pycallcenter.errors import ConfigError
    from pycallcenter.wallboard import live

    centre, sim = live.build(agents=3, calls_per_hour=0, hours=0, data=str(tmp_path), people=("agent2",))
    try:
        assert centre.acd.agents["agent2"].paused and not centre.acd.agents["agent1"].paused
        assert sorted(a.name for a in sim.pool.agents) == ["agent1", "agent3"]  # agent2's phone is the person's
        assert sorted(centre.agent_handsets()) == ["agent1", "agent2", "agent3"]  # the desktop's Answer lifts them
    finally:
        sim.close()
    with pytest.raises(ConfigError, match="--people: no agent 'agent9'"):
        live.build(agents=3, data=str(tmp_path), people=("agent9",))
