"""The bundled IVR scripts (ivr_scripts/) driven end to end on the emulated board with DTMF from the
phone or PSTN far end; what the caller heard is checked by the prompt names played."""
import datetime as dt
import sqlite3
from decimal import Decimal

import pytest

from engine_rig import hang_up
from ivr_rig import centre_engine, run_until_played
from pycallcenter.apps import accounts
from pycallcenter.apps.centre_config import CentreConfig
from pycallcenter.dsp import g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.ivr import say

MONDAY = dt.datetime(2026, 1, 5, 10, 0)


def _ended_vars(eng):
    got = []
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, call: got.append(dict(call.vars))})())
    return got


def _after(played, name):
    return played[played.index(name) + 1:]


def _choose(eng, phone, prompts, digit, times=1):
    """Lift the phone (if times == 1), wait for the main menu prompt, press digit."""
    if times == 1:
        phone.off_hook()
    run_until_played(eng, prompts, "main_menu", times=times)
    phone.dial(digit)


def test_business_hours_holidays_and_the_board_clock():
    c = CentreConfig(holidays=frozenset({dt.date(2026, 12, 25)}))
    assert c.status(dt.datetime(2026, 1, 5, 7, 59)) == "closed"
    assert c.status(dt.datetime(2026, 1, 5, 8, 0)) == "open"
    assert c.status(dt.datetime(2026, 1, 5, 17, 59)) == "open"
    assert c.status(dt.datetime(2026, 1, 5, 18, 0)) == "closed"
    assert c.status(dt.datetime(2026, 1, 10, 12, 0)) == "closed"  # Saturday
    assert c.status(dt.datetime(2026, 12, 25, 12, 0)) == "holiday"  # a Friday
    eng, _ = __import__("engine_rig").analog_engine()
    c.attach(eng)
    eng.run(seconds=60.0)
    assert c.clock() == c.base_time + dt.timedelta(seconds=60)
    c.clock_fn = lambda: dt.datetime(2030, 1, 1)
    assert c.clock() == dt.datetime(2030, 1, 1)


@pytest.mark.parametrize("when, holidays, expect", [
    (MONDAY, (), ["main_menu"]),
    (dt.datetime(2026, 1, 10, 10, 0), (), ["closed", "vm_default_greeting"]),
    (dt.datetime(2026, 1, 5, 19, 30), (), ["closed", "vm_default_greeting"]),
    (MONDAY, (MONDAY.date(),), ["holiday", "vm_default_greeting"]),
])
def test_after_hours_routing_by_time_of_day_and_holiday_calendar(tmp_path, when, holidays, expect):
    eng, ends, centre, prompts = centre_engine(tmp_path, "after_hours", when=when, holidays=frozenset(holidays))
    ends["alice"].off_hook()
    run_until_played(eng, prompts, expect[-1])
    assert prompts.played[1:1 + len(expect)] == expect and prompts.played[0] == "welcome"
    hang_up(eng, ends["alice"])


def test_menu_retries_invalid_input_and_timeout_then_queue_without_acd_goes_to_voicemail(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path)
    ended = _ended_vars(eng)
    alice = ends["alice"]
    alice.off_hook()
    run_until_played(eng, prompts, "main_menu")
    alice.dial("7")
    run_until_played(eng, prompts, "main_menu", times=2)  # after "invalid"
    run_until_played(eng, prompts, "main_menu", times=3)  # nothing typed: after "no_input"
    alice.dial("2")
    run_until_played(eng, prompts, "vm_leave_message")
    assert prompts.played == ["welcome", "main_menu", "invalid", "main_menu", "no_input", "main_menu",
                              "technical_difficulty", "vm_default_greeting", "vm_leave_message"]
    assert "script call=C1 msg=no_ACD_on_this_engine:_queue_support_goes_to_voicemail" in "\n".join(eng.log_lines)
    alice.on_hook()
    eng.run(seconds=2.0)
    assert ended and ended[0]["menu"] == "2" and ended[0]["queue"] == "support"


def test_menu_gives_up_after_three_silent_tries(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path)
    ended = _ended_vars(eng)
    ends["alice"].off_hook()
    run_until_played(eng, prompts, "goodbye", seconds=40)
    eng.run(seconds=0.5)
    assert prompts.count("main_menu") == 3 and prompts.count("no_input") == 3
    assert ended == [{"menu": "none"}]


def test_queue_uses_the_acd_when_it_runs_on_the_engine(tmp_path, monkeypatch):
    import pycallcenter.acd as acd
    from pycallcenter.acd import engine_binding

    from pycallcenter.acd.engine_binding import QueueResult

    queued = []

    async def fake_queue_call(call, queue, priority=0):
        queued.append((call.id, queue))
        return QueueResult("overflow", target="callback", reason="timeout")

    monkeypatch.setattr(acd, "queue_call", fake_queue_call, raising=False)
    monkeypatch.setattr(engine_binding, "queue_call", fake_queue_call)
    eng, ends, centre, prompts = centre_engine(tmp_path)
    eng.acd_binding = object()
    _choose(eng, ends["alice"], prompts, "1")
    run_until_played(eng, prompts, "callback_enter")
    assert queued == [("C1", "sales")] and "technical_difficulty" not in prompts.played
    hang_up(eng, ends["alice"])


def test_pstn_caller_reaches_the_menu_and_keys_the_sales_queue(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, "after_hours")
    ended = _ended_vars(eng)
    pstn = ends["pstn3"]
    pstn.call("2025550123", "JANE DOE")
    run_until_played(eng, prompts, "main_menu")
    pstn.write_audio(g711.ulaw_encode(dtmf_signal("1")))
    run_until_played(eng, prompts, "technical_difficulty")
    pstn.hangup()
    eng.run(seconds=2.0)
    assert ended and ended[0]["hours"] == "open" and ended[0]["queue"] == "sales"


def test_isdn_caller_after_hours_leaves_a_message_with_the_calling_number(tmp_path):
    from engine_rig import pri_engine
    from ivr_rig import voice
    from pycallcenter.dsp import SAMPLE_RATE

    saturday = dt.datetime(2026, 1, 10, 11, 0)
    eng, net, centre, prompts = centre_engine(tmp_path, "after_hours", when=saturday, rig=pri_engine)
    eng.run(seconds=1.0)
    net.iface.setup(eng.now / SAMPLE_RATE, called="5000", calling="2025550100", channel=5)
    run_until_played(eng, prompts, "vm_leave_message")
    eng.run(seconds=0.5)
    net.far.write_audio(5, voice(2.0, seed=3))
    run_until_played(eng, prompts, "goodbye", seconds=15)
    eng.run(seconds=1.0)
    assert prompts.played[:4] == ["welcome", "closed", "vm_default_greeting", "vm_leave_message"]
    (msg,) = centre.voicemail().messages(centre.general_mailbox)
    assert msg.caller == "2025550100" and msg.received.startswith("2026-01-10T11:00") and 1.5 < msg.seconds < 2.8
    assert net.kinds()[-1] == "CallEnded"


def test_fax_choice_without_a_document_library_says_not_available(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path)
    _choose(eng, ends["alice"], prompts, "3")
    run_until_played(eng, prompts, "goodbye")
    assert _after(prompts.played, "main_menu") == ["fax_not_available", "goodbye"]
    hang_up(eng)  # the script hangs up after its goodbye


def test_operator_answers_and_is_bridged_else_voicemail(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, operator="channel/2", operator_timeout=4.0)
    alice, bob = ends["alice"], ends["bob"]
    _choose(eng, alice, prompts, "0")
    eng.run(seconds=3.0, until=lambda: bob.ringing)
    assert bob.ringing
    bob.off_hook()
    eng.run(seconds=1.0)
    assert any(" bridged " in f" {line} " for line in eng.log_lines)
    bob.on_hook()
    alice.on_hook()
    eng.run(seconds=3.0)
    alice.off_hook()  # second call: nobody answers the operator's phone
    _choose(eng, alice, prompts, "0", times=2)
    run_until_played(eng, prompts, "vm_leave_message", seconds=15)
    assert _after(prompts.played, "operator_unavailable")[:1] == ["vm_default_greeting"]
    hang_up(eng, alice)


def test_without_an_operator_0_goes_to_the_general_mailbox_which_nobody_can_log_in_to(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path)
    _choose(eng, ends["alice"], prompts, "0")
    run_until_played(eng, prompts, "vm_leave_message")
    assert _after(prompts.played, "main_menu") == ["operator_unavailable", "vm_default_greeting", "vm_leave_message"]
    vm = centre.voicemail()
    assert vm.mailbox("100").owner == "general" and not vm.check_pin("100", "")
    hang_up(eng, ends["alice"])


def test_account_lookup_says_the_balance_after_an_unknown_account(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, "account")
    accounts.add_account(centre.path("account_db"), "12345", "1234.56", name="Acme")
    alice = ends["alice"]
    alice.off_hook()
    run_until_played(eng, prompts, "enter_account")
    alice.dial("999#")
    run_until_played(eng, prompts, "enter_account", times=2)
    alice.dial("12345#")
    run_until_played(eng, prompts, "goodbye")
    assert prompts.played[:3] == ["enter_account", "account_unknown", "enter_account"]
    assert _after(prompts.played, "your_balance_is") == say.money(Decimal("1234.56")) + ["goodbye"]
    assert accounts.balance(centre.path("account_db"), "12345") == Decimal("1234.56")
    hang_up(eng)  # the script hangs up after its goodbye


def test_callback_request_is_queued_for_the_dialler(tmp_path):
    async def support_callback(call):
        return await call.handoff("callback", "support")

    eng, ends, centre, prompts = centre_engine(tmp_path, support_callback)
    alice = ends["alice"]
    alice.off_hook()
    run_until_played(eng, prompts, "callback_enter")
    alice.dial("12#")  # too short
    run_until_played(eng, prompts, "callback_enter", times=2)
    alice.dial("2025550199#")
    run_until_played(eng, prompts, "goodbye")
    assert prompts.played[1] == "callback_not_valid"
    assert _after(prompts.played, "callback_confirm") == say.digits("2025550199") + ["callback_thanks", "goodbye"]
    rows = sqlite3.connect(centre.path("callback_db")).execute(
        "SELECT number, queue, state, caller, call_id, requested_at FROM callbacks").fetchall()
    assert len(rows) == 1 and rows[0][:5] == ("2025550199", "support", "pending", "1", "C1")
    assert rows[0][5].startswith("2026-01-05T10:00:")
    (pending,) = centre.callbacks().pending("support")
    centre.callbacks().set_state(pending.id, "dialling")
    assert centre.callbacks().pending() == []
    hang_up(eng)  # the script hangs up after its goodbye


def _doc_examples(folder):
    """Write the docs/ivr.md script examples (code blocks starting '# ivr_scripts/NAME.py') into folder."""
    import os
    import re

    from ivr_rig import SCRIPTS

    text = open(os.path.join(os.path.dirname(SCRIPTS), "docs", "ivr.md")).read()
    names = []
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        m = re.match(r"# ivr_scripts/(\w+)\.py\n", block)
        if m:
            (folder / f"{m.group(1)}.py").write_text(block)
            names.append(m.group(1))
    return names


def test_the_scripting_guide_examples_load_and_run(tmp_path):
    from pycallcenter.ivr.loader import ScriptSet

    names = _doc_examples(tmp_path)
    examples = ScriptSet(tmp_path)
    assert sorted(names) == ["example_fallback", "example_hello", "example_pin", "example_say"] == examples.names()
    assert examples.errors == {}
    eng, ends, centre, prompts = centre_engine(tmp_path / "data", examples.get("example_pin"))
    ended = _ended_vars(eng)
    ends["alice"].off_hook()
    run_until_played(eng, prompts, "vm_enter_pin")
    ends["alice"].dial("99#")
    run_until_played(eng, prompts, "vm_enter_pin", times=2)
    ends["alice"].dial("1234#")
    eng.run(seconds=2.0)
    assert prompts.played == ["vm_enter_pin", "vm_wrong_pin", "vm_enter_pin", "vm_you_have", *say.number(3)]
    assert ended == [{"pin_ok": 1}]
    eng2, ends2, _, prompts2 = centre_engine(tmp_path / "data2", examples.get("example_hello"))
    ended2 = _ended_vars(eng2)
    ends2["bob"].off_hook()
    run_until_played(eng2, prompts2, "main_menu")
    ends2["bob"].dial("2")
    eng2.run(seconds=2.0)
    assert ended2 == [{"choice": "2"}] and prompts2.played[-1] == "goodbye"


def test_a_script_error_goes_to_the_fallback_script(tmp_path):
    from pycallcenter.ivr.loader import ScriptSet

    _doc_examples(tmp_path)

    async def broken(call):
        await call.answer()
        return 1 / 0

    eng, ends, centre, prompts = centre_engine(tmp_path / "data", broken)
    eng.fallback = ScriptSet(tmp_path).get("example_fallback")
    ends["alice"].off_hook()
    run_until_played(eng, prompts, "vm_leave_message")
    assert prompts.played == ["technical_difficulty", "vm_default_greeting", "vm_leave_message"]
    assert "ZeroDivisionError" in eng.errors[0][1] and "script_error call=C1 error=ZeroDivisionError" in "\n".join(eng.log_lines)
    hang_up(eng, ends["alice"])
