"""The centre built from its configuration file, end to end on the emulator: routing by called number,
caller, trunk and time of day, caller lists (blocked, VIP, area codes), announcements (position and
expected wait, whisper, agent ID), the recording policy (all, per queue, per agent, notice, retention),
language choice carried into every prompt, live changes (reload, CTI), run --simulate."""
import datetime as dt
import os

import pytest

from pycallcenter import cli
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.sim.pstn import Caller

START = "2026-01-05T10:00:00"  # a Monday morning


PROMPTS = []  # the prompt folder the tests share (espeak-ng takes seconds to make a set)


@pytest.fixture(scope="module", autouse=True)
def prompts(tmp_path_factory):
    """Generate the bundled prompt set and the centre's own prompts once for these tests."""
    from pycallcenter.apps.announcements import PROMPTS as CENTRE_PROMPTS
    from pycallcenter.ivr import promptset

    folder = tmp_path_factory.mktemp("prompts")
    promptset.build(folder)
    promptset.build(folder, {**CENTRE_PROMPTS, "whisper_sales": ("en-us", "Call from the sales queue.")})
    PROMPTS[:] = [str(folder)]
    yield
    PROMPTS.clear()


def centre_text(data, extra="", agents=3, start=START, centre=""):
    """A centre on the demo's board: E1 PRI to the emulated PSTN, `agents` FXS phones (agent1..)."""
    lines = [board_config(agents, 1), "[centre]", f'data = "{data}"', 'tone_plan = "etsi"',
             f'prompts = "{PROMPTS[0]}"' if PROMPTS else "",
             "station_features = false", f'start = "{start}"', centre, "",
             "" if "[fax]" in extra else "[fax]\ndetect = false", "",
             "[simulate]", "calls_per_hour = 0"]
    return "\n".join(lines) + "\n" + extra


QUEUES = """
[[queue]]
name = "sales"
ring_timeout = 10

[[queue]]
name = "support"
ring_timeout = 10

[[agent]]
name = "agent1"
contact = "channel/32"
queues = { sales = 0 }

[[agent]]
name = "agent2"
contact = "channel/33"
queues = { support = 0 }
"""


def build(tmp_path, extra, agents=3, start=START, centre=""):
    path = tmp_path / "centre.toml"
    text = centre_text(tmp_path / "data", extra, agents, start, centre)
    path.write_text(text)
    board_text, settings = load_text(text, file=str(path))
    centre = Centre(board_text, settings)
    centre.engine.log_lines = []
    return centre, Simulation(centre, hours=0)


_numbers = iter(range(2025550000, 2025559999))


def call_in(sim, number=None, called="5000", digits="", at=1.0, talk=20.0, patience=120.0):
    """Add a simulated caller (numbers differ unless given: the PSTN tells callers apart by number)."""
    number = str(next(_numbers)) if number is None else number
    caller = Caller(number, called, sim.seconds() + at, digits=digits, digit_delay=3.0, talk=talk, patience=patience)
    sim.pstn.add(caller)
    return caller


def run(sim, seconds):
    for _ in range(int(seconds * 8000 / sim.blocksize)):
        sim.tick()


def log(centre, kind):
    return [line for line in centre.engine.log_lines if line.split(" ", 2)[1] == kind]


def cdrs(centre):
    centre.writer.flush()
    return centre.store.cdrs()


@pytest.fixture
def finish():
    """Close the simulations a test made (every call ended, phones down) when it ends."""
    sims = []
    yield sims.append
    for sim in sims:
        sim.close()


def test_routes_by_called_number_caller_pattern_and_time_of_day(tmp_path, finish):
    scripts = tmp_path / "scripts"
    scripts.mkdir()
    for name in ("day", "night", "vip_line", "fallback"):
        (scripts / f"{name}.py").write_text(
            f"async def main(call, *args):\n    await call.answer()\n    call.set('ran', '{name}' + ''.join(args))\n"
            "    await call.wait(1)\n    await call.hangup()\n")
    routes = """
[[route]]
called = "_7XXX"
script = "vip_line"
args = ["-7"]

[[route]]
called = "5000"
hours = "09:00-12:00"
script = "day"

[[route]]
called = "5000"
script = "night"
"""
    centre, sim = build(tmp_path, routes, centre=f'scripts = "{scripts}"\ndefault_script = "fallback"')
    finish(sim)
    call_in(sim, called="5000")
    call_in(sim, called="7123", at=2.0)
    call_in(sim, called="6000", at=3.0)
    run(sim, 15)
    # two hours later the day route's hours are over
    centre.start += dt.timedelta(hours=2)
    call_in(sim, called="5000")
    run(sim, 10)
    ran = sorted(r["vars"]["ran"] for r in cdrs(centre))
    assert ran == ["day", "fallback", "night", "vip_line-7"]


def test_blocked_and_anonymous_callers_are_refused_with_cause_21(tmp_path, finish):
    centre, sim = build(tmp_path, '[callers]\nblocked = ["2025550199"]\nblock_anonymous = true\n' + QUEUES)
    finish(sim)
    blocked = call_in(sim, number="2025550199")
    anonymous = call_in(sim, number="", at=2.0)
    run(sim, 8)
    assert blocked.cause == 21 and anonymous.cause == 21
    assert len(log(centre, "refused")) == 2
    rows = cdrs(centre)
    assert len(rows) == 2 and all(r["disposition"] == "REJECTED" for r in rows)


def test_area_codes_and_vips_reach_their_queues(tmp_path, finish):
    extra = QUEUES + """
[callers]
vip = ["2025550123"]
vip_queue = "support"

[[callers.area]]
prefix = "0203"
queue = "sales"

[[route]]
queue = "sales"
"""
    centre, sim = build(tmp_path, extra)
    finish(sim)
    vip = call_in(sim, number="2025550123", talk=10)
    london = call_in(sim, number="02035550100", at=2.0, talk=10)
    run(sim, 40)
    assert vip.agent == "agent2" and london.agent == "agent1"
    by_caller = {r["caller"]: r for r in cdrs(centre)}
    assert by_caller["2025550123"]["vars"]["vip"] == "1" and by_caller["2025550123"]["queue"] == "support"
    assert by_caller["02035550100"]["queue"] == "sales"


def test_waiting_callers_hear_position_and_expected_wait_in_their_language(tmp_path, finish):
    extra = QUEUES + """
[announce]
every = 20

[language]
choices = ["en", "zh"]

[[route]]
queue = "sales"
"""
    centre, sim = build(tmp_path, extra, agents=1)  # agent1's phone exists, agent2's does not: support is empty
    finish(sim)
    sim.pool.agents[0].phone.off_hook()  # agent1 is busy on their phone: callers wait
    first = call_in(sim, number="2025550101", digits="2", talk=5, patience=200)
    second = call_in(sim, number="2025550102", at=2.0, digits="1", talk=5, patience=200)
    run(sim, 60)
    announced = log(centre, "announce")
    assert len(announced) >= 2
    assert any("prompts=zh/queue_position+zh/" in a for a in announced)
    assert any("prompts=queue_position+en/" in a for a in announced)
    sim.pool.agents[0].phone.on_hook()
    run(sim, 2)
    first_call = [r for r in centre.engine.calls.values() if r.caller_leg.caller == "2025550101"]
    assert not first_call or first_call[0].vars["lang"] == "zh"
    assert second.answered is not None and first.answered is not None


def test_agent_hears_a_whisper_and_caller_the_agents_id_before_they_talk(tmp_path, finish):
    extra = QUEUES.replace('name = "agent1"', 'name = "agent1"\nagent_id = "4711"') + """
[announce]
whisper = true
agent_id = true

[[route]]
queue = "sales"
"""
    centre, sim = build(tmp_path, extra)
    finish(sim)
    caller = call_in(sim, talk=20)
    run(sim, 40)
    plays = log(centre, "play")
    whisper = [p for p in plays if "whisper_sales" in p]
    ident = [p for p in plays if "agent_id_is+en/4+en/7+en/1+en/1" in p]
    assert whisper and ident
    bridged = log(centre, "bridged")
    assert bridged and int(bridged[0].split()[0]) > int(ident[0].split()[0]) > int(whisper[0].split()[0])
    assert caller.agent == "agent1"


def test_recording_policy_all_with_notice_except_an_agent_who_opts_out(tmp_path, finish):
    extra = QUEUES.replace('name = "agent2"', 'name = "agent2"\nrecord = false') + """
[recording]
calls = "all"
notice = "goodbye"

[[route]]
called = "5000"
queue = "sales"

[[route]]
called = "5001"
queue = "support"
"""
    centre, sim = build(tmp_path, extra)
    finish(sim)
    call_in(sim, called="5000", talk=5)
    call_in(sim, called="5001", at=2.0, talk=5)
    run(sim, 40)
    rows = {r["called"]: r for r in cdrs(centre)}
    assert len(rows["5000"]["recordings"]) == 1 and os.path.exists(rows["5000"]["recordings"][0])
    assert rows["5001"]["recordings"] == [] and len(log(centre, "record_discard")) == 1
    notices = [p for p in log(centre, "play") if "prompts=goodbye" in p]
    assert len(notices) == 2
    # recordings are filed by the call's wall-clock date, and a sweep past the retention period removes them
    path = rows["5000"]["recordings"][0]
    assert "/2026/01/05/" in path
    from pycallcenter.apps.recording_policy import RecordingPolicy

    policy = next(f for f in centre.features if isinstance(f, RecordingPolicy))
    policy.section.retention_days = 30
    assert policy.sweep(dt.datetime(2026, 2, 3, 12, 0)) == 0
    assert policy.sweep(dt.datetime(2026, 2, 5, 12, 0)) == 1 and not os.path.exists(path)


def test_queued_only_policy_records_calls_that_reach_an_agent_and_not_ivr_only_calls(tmp_path, finish):
    extra = QUEUES + """
[recording]
calls = "queued"

[[route]]
called = "5000"
queue = "sales"
"""
    centre, sim = build(tmp_path, extra)
    finish(sim)
    call_in(sim, called="5000", talk=5)
    call_in(sim, called="6000", at=1.0, digits="9", talk=5, patience=30)  # the menu: voicemail, no agent
    run(sim, 60)
    rows = {r["called"]: r for r in cdrs(centre)}
    assert len(rows["5000"]["recordings"]) == 1
    assert rows["6000"]["recordings"] == []


def test_reload_changes_membership_skills_and_strategy_live(tmp_path, finish, capsys):
    queues = QUEUES + '\n[[route]]\nqueue = "sales"\n'
    centre, sim = build(tmp_path, queues)
    finish(sim)
    acd = centre.acd
    assert set(acd.queues["sales"].members) == {"agent1"}
    text = centre_text(tmp_path / "data", queues.replace('queues = { support = 0 }',
                                                          'queues = { support = 0, sales = 1 }\nskills = { en = 5 }')
                       .replace('name = "sales"\nring_timeout = 10', 'name = "sales"\nring_timeout = 10\n'
                                                                      'strategy = "round_robin"'))
    (tmp_path / "centre.toml").write_text(text)
    changes, restart = centre.reload()
    assert acd.queues["sales"].members == {"agent1": 0, "agent2": 1} and acd.queues["sales"].strategy == "round_robin"
    assert acd.agents["agent2"].skills == {"en": 5} and restart == [] and len(changes) == 3
    # a change that needs a restart is reported, not half applied; a broken file changes nothing
    (tmp_path / "centre.toml").write_text(text.replace("ring_timeout = 10", "ring_timeout = 12", 1))
    changes, restart = centre.reload()
    assert changes == [] and restart == ["queue sales (settings other than strategy)"]
    (tmp_path / "centre.toml").write_text(text.replace("ring_timeout = 10", "ring_timeout = 'x'", 1))
    with pytest.raises(Exception, match=r"centre\.toml:\d+: queue\[1\]\.ring_timeout"):
        centre.reload()
    assert acd.queues["sales"].members == {"agent1": 0, "agent2": 1}
    # and a call to sales now reaches agent2 when agent1 is busy
    sim.pool.agents[0].phone.off_hook()
    caller = call_in(sim, called="5000", talk=5)
    run(sim, 30)
    sim.pool.agents[0].phone.on_hook()
    assert caller.agent == "agent2"


def test_supervisor_changes_membership_and_strategy_over_cti(tmp_path, finish):
    from pycallcenter.cti.backend import AcdBackend

    centre, sim = build(tmp_path, QUEUES)
    finish(sim)
    backend = AcdBackend(centre.binding)
    backend.set_member("sales", "agent2", 2)
    assert centre.acd.queues["sales"].members["agent2"] == 2
    backend.set_strategy("sales", "linear")
    backend.set_skills("agent1", {"fr": 3})
    backend.remove_member("sales", "agent2")
    assert "agent2" not in centre.acd.queues["sales"].members and centre.acd.agents["agent1"].skills == {"fr": 3}
    from pycallcenter.cti.protocol import CtiError

    with pytest.raises(CtiError, match="bad_strategy|strategy"):
        backend.set_strategy("sales", "fastest")


def test_run_simulate_puts_callers_and_agents_on_the_users_own_centre(tmp_path):
    path = tmp_path / "centre.toml"
    path.write_text(centre_text(tmp_path / "data", QUEUES + '\n[[route]]\nqueue = "sales"\n')
                    .replace("calls_per_hour = 0", "calls_per_hour = 600\ntalk_mean = 20\npatience_mean = 60"))
    assert cli.main(["run", str(path), "--simulate", "--seconds", "120", "--fast"]) == 0
    from pycallcenter.storage import open_store

    store = open_store(str(tmp_path / "data"))
    rows = store.cdrs()
    store.close()
    assert len(rows) >= 5 and len({r["call_id"] for r in rows}) == len(rows)
    assert any(r["agent"] == "agent1" for r in rows)


def test_voicemail_boxes_and_fax_library_come_from_the_configuration(tmp_path, finish):
    library = tmp_path / "faxdocs"
    library.mkdir()
    (library / "101-price-list.txt").write_text("PRICE LIST\n")
    (library / "202-order-form.txt").write_text("ORDER FORM\n")
    (library / "notes.txt").write_text("not a document: no number\n")
    extra = f"""
[fax]
library = "{library}"
detect = false

[voicemail]
general = "100"
general_pin = "4321"

[[voicemail.box]]
number = "201"
pin = "1234"
owner = "Alice"
extension = "channel/32"
"""
    centre, sim = build(tmp_path, extra)
    finish(sim)
    lib = centre.centre_config.fax_library
    assert sorted(lib.documents) == ["101", "202"] and lib.documents["101"].title == "price list"
    vm = centre.centre_config.voicemail()
    box = vm.mailbox("201")
    assert box.owner == "Alice" and box.pin == "1234" and vm.mailbox_of_extension(32).number == "201"
    assert vm.mailbox("100").pin == "4321"


def test_a_queues_opening_hours_are_the_centres_wall_clock_hours(tmp_path, finish):
    extra = QUEUES.replace('name = "support"\nring_timeout = 10', 'name = "support"\nring_timeout = 10\n'
                                                                  'hours = "08:00-09:30"') + """
[[route]]
called = "5000"
queue = "sales"

[[route]]
called = "5001"
queue = "support"
"""
    centre, sim = build(tmp_path, extra)  # the centre's day starts at 10:00: support has closed, sales is open
    finish(sim)
    sales = call_in(sim, called="5000", talk=5)
    support = call_in(sim, called="5001", at=2.0, talk=5, patience=30)
    run(sim, 30)
    assert sales.agent == "agent1" and support.agent is None
    rows = {r["called"]: r for r in cdrs(centre)}
    assert rows["5001"]["queue_result"] != "answered"


def test_a_centre_that_cannot_start_releases_what_it_took(tmp_path):
    import socket

    from pycallcenter.errors import ConfigError

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    port = busy.getsockname()[1]
    users = tmp_path / "users.toml"
    users.write_text('[[supervisor]]\nname = "sue"\ntoken = "a-long-secret"\n')
    try:
        with pytest.raises(ConfigError, match=rf"centre\.cti_port: cannot listen on 127\.0\.0\.1:{port}"):
            build(tmp_path, QUEUES, centre=f'cti_port = {port}\ncti_users = "{users}"')
    finally:
        busy.close()
    # the board, engine and store were closed: a second centre on the same folder starts and stops cleanly
    centre, sim = build(tmp_path, QUEUES)
    sim.close()


def test_run_creates_the_centres_personal_data_private_to_its_group(tmp_path):
    import stat

    path = tmp_path / "centre.toml"
    path.write_text(centre_text(tmp_path / "data", QUEUES + '\n[[route]]\nqueue = "sales"\n\n[recording]\ncalls = "all"\n')
                    .replace("calls_per_hour = 0", "calls_per_hour = 600\ntalk_mean = 20\npatience_mean = 60"))
    before = os.umask(0o022)
    try:
        assert cli.main(["run", str(path), "--simulate", "--seconds", "60", "--fast"]) == 0
        assert os.umask(0o022) == 0o022  # run put the process's mask back
    finally:
        os.umask(before)
    data = tmp_path / "data"
    recordings = [p for p in (data / "recordings").rglob("*") if p.is_file()]
    assert recordings
    for p in recordings + [data / "pycallcenter.db"]:
        assert stat.S_IMODE(p.stat().st_mode) & 0o027 == 0, (p, oct(p.stat().st_mode))
    for d in [p for p in (data / "recordings").rglob("*") if p.is_dir()]:
        assert stat.S_IMODE(d.stat().st_mode) & 0o027 == 0, (d, oct(d.stat().st_mode))
