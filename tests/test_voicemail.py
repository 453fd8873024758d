"""Voicemail: the store (SQLite index, MWI edges), deposit and retrieval driven end to end on the emulated
board, and message-waiting indication to an FXS phone (FSK MWI on hook, stutter dial tone off hook)."""
import datetime as dt
import os
import sqlite3

import numpy as np
import pytest
import soundfile as sf

from engine_rig import hang_up
from ivr_rig import centre_engine, run_until_played, voice
from pycallcenter.apps.voicemail import Voicemail
from pycallcenter.dsp import g711
from pycallcenter.dsp.audio import write_audio
from pycallcenter.dsp.callerid import decode_callerid
from pycallcenter.ivr import say

WHEN = dt.datetime(2026, 1, 5, 10, 0)


def _message_file(vm, box, seconds=1.5, seed=2):
    path = vm.new_message_path(box, WHEN)
    write_audio(path, voice(seconds, seed))
    return path


def _mwi_heard(phone):
    """Return the message-waiting states decoded from what the phone received."""
    heard = g711.ulaw_decode(phone.read_audio())
    return [c.message_waiting for c in decode_callerid(heard) if c.message_waiting is not None]


def _silent_frames(codes, seconds=1.0):
    """Return how many 10 ms frames are silent in the first `seconds` after the tone starts."""
    x = g711.ulaw_decode(codes).astype(float)
    x = x[x.size - x.size // 80 * 80:].reshape(-1, 80)
    loud = np.sqrt(np.mean(x ** 2, axis=1)) >= 50
    assert loud.any(), "no tone at all"
    first = int(np.argmax(loud))
    return int(np.sum(~loud[first:first + int(seconds * 100)]))


# --- the store -------------------------------------------------------------------------------------
def test_store_indexes_messages_and_reports_mwi_edges_only(tmp_path):
    edges = []
    vm = Voicemail(tmp_path / "vm", on_mwi=lambda box, waiting: edges.append((box.number, waiting)))
    indexed = []
    vm.on_message = indexed.append
    vm.add_mailbox("200", "1234", owner="Alice", extension=1)
    assert vm.check_pin("200", "1234") and not vm.check_pin("200", "4321") and not vm.check_pin("999", "1234")
    a = vm.add_message("200", "5550001", _message_file(vm, "200"), 1.5, WHEN)
    b = vm.add_message("200", "", _message_file(vm, "200"), 2.0, WHEN)
    assert vm.counts("200") == (2, 0) and edges == [("200", True)]  # only the 0 -> 1 edge
    assert [m.id for m in indexed] == [a, b] and indexed[0].caller == "5550001"
    vm.set_state(a, "saved")
    assert vm.counts("200") == (1, 1) and edges == [("200", True)]
    gone = vm.set_state(b, "deleted")
    assert not os.path.exists(gone.path)
    assert vm.counts("200") == (0, 1) and edges == [("200", True), ("200", False)]
    assert vm.add_message("200", "", _message_file(vm, "200"), 0.4, WHEN) is None  # a hang-up at the beep
    assert vm.counts("200") == (0, 1) and len(os.listdir(tmp_path / "vm" / "200")) == 1
    row = sqlite3.connect(vm.db_path).execute("SELECT mailbox, caller, received, state FROM messages WHERE id=?",
                                              (a,)).fetchone()
    assert row == ("200", "5550001", "2026-01-05T10:00:00", "saved")
    assert sqlite3.connect(vm.db_path).execute("PRAGMA journal_mode").fetchone() == ("wal",)
    with pytest.raises(ValueError):
        vm.set_state(a, "archived")
    with pytest.raises(ValueError):
        vm.add_mailbox("20a", "1")


# --- MWI on the FXS port ----------------------------------------------------------------------------
@pytest.mark.parametrize("fmt", ["mdmf", "sdmf"])
def test_idle_phone_receives_a_decodable_mwi_message_on_and_off(tmp_path, fmt):
    eng, ends, centre, prompts = centre_engine(tmp_path)
    ext = eng.adapter("ext1")
    alice = ends["alice"]
    eng.run(seconds=1.5)
    alice.read_audio()
    ext.set_message_waiting(1, True, fmt=fmt)
    eng.run(seconds=1.0)
    assert _mwi_heard(alice) == [True]
    ext.set_message_waiting(1, False, fmt=fmt)
    eng.run(seconds=1.0)
    assert _mwi_heard(alice) == [False]
    assert _mwi_heard(ends["bob"]) == []


def test_stutter_dial_tone_while_a_message_waits(tmp_path):
    # a desk phone meets the extension dial plan, which leaves dial tone on until the first digit
    eng, ends, centre, prompts = centre_engine(tmp_path, script="extension")
    eng.adapter("ext1").set_message_waiting(1, True)
    eng.run(seconds=2.0)
    alice, bob = ends["alice"], ends["bob"]
    alice.read_audio()
    bob.read_audio()
    alice.off_hook()
    bob.off_hook()
    eng.run(seconds=1.5)
    assert _silent_frames(alice.read_audio()) >= 40  # ten 100 ms gaps
    assert _silent_frames(bob.read_audio()) == 0  # steady dial tone
    hang_up(eng, alice, bob)


# --- deposit and retrieval end to end ---------------------------------------------------------------
def test_pstn_caller_leaves_a_message_and_the_extension_gets_mwi_then_retrieves_and_deletes_it(tmp_path):
    async def deposit_200(call):
        if call.leg.tech == "fxs":  # the mailbox owner's desk phone: the extension dial plan
            return await call.handoff("extension")
        return await call.handoff("voicemail", mailbox="200")

    eng, ends, centre, prompts = centre_engine(tmp_path, script=deposit_200)
    vm = centre.voicemail()
    vm.add_mailbox("200", "1234", owner="Alice", extension=1)
    pstn, alice = ends["pstn3"], ends["alice"]
    pstn.call("2025550123", "JANE DOE")
    run_until_played(eng, prompts, "vm_leave_message")
    assert prompts.played[-2:] == ["vm_default_greeting", "vm_leave_message"]
    eng.run(seconds=0.5)  # the prompt and the beep
    pstn.write_audio(g711.ulaw_encode(voice(2.0)))
    run_until_played(eng, prompts, "goodbye", seconds=15)
    (msg,) = vm.messages("200", "new")
    assert msg.caller == "2025550123" and msg.received.startswith("2026-01-05T10:00")
    data, rate = sf.read(msg.path, dtype="int16")
    assert rate == 8000 and 1.5 < data.size / 8000 < 2.8 and abs(msg.seconds - data.size / 8000) < 0.05
    assert "mwi channel=1 mailbox=200 on=1" in "\n".join(eng.log_lines)
    eng.run(seconds=3.0)
    assert True in _mwi_heard(alice)

    alice.off_hook()
    eng.run(seconds=1.5)
    assert _silent_frames(alice.read_audio()) >= 40  # stutter dial tone: a message waits
    alice.dial("*98")  # the extension dial plan's code for messages
    eng.run(seconds=2.0)
    alice.dial("1234#")
    run_until_played(eng, prompts, "vm_message_menu")
    said = prompts.played[prompts.played.index("vm_you_have"):]
    assert said[:6] == ["vm_you_have", *say.number(1), "vm_new_messages", "en/and", *say.number(0),
                        "vm_saved_messages"]
    assert said[6:7] == ["vm_message_from"] and said[7:17] == say.digits("2025550123")
    alice.dial("3")
    run_until_played(eng, prompts, "goodbye", times=2)
    assert prompts.played[-3:] == ["vm_deleted", "vm_no_more", "goodbye"]
    assert vm.counts("200") == (0, 0) and not os.path.exists(msg.path)
    alice.on_hook()
    eng.run(seconds=4.0)
    assert _mwi_heard(alice)[-1:] == [False]


def test_hanging_up_during_the_recording_keeps_the_message(tmp_path):
    async def deposit_300(call):
        return await call.handoff("voicemail", mailbox="300")

    eng, ends, centre, prompts = centre_engine(tmp_path, script=deposit_300)
    vm = centre.voicemail()
    vm.add_mailbox("300", "4321")
    bob = ends["bob"]
    bob.off_hook()
    run_until_played(eng, prompts, "vm_leave_message")
    eng.run(seconds=0.5)
    bob.write_audio(voice(3.0))
    eng.run(seconds=3.0)
    bob.on_hook()
    eng.run(seconds=2.0)  # an on-hook shorter than the flash time is a flash
    (msg,) = vm.messages("300")
    assert msg.caller == "2" and 3.0 < msg.seconds < 5.0 and os.path.exists(msg.path)
    assert "vm_saved" not in prompts.played


def test_retrieval_menu_replay_save_skip_and_exit(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="voicemail_retrieve")
    vm = centre.voicemail()
    vm.add_mailbox("400", "77", extension=2)
    ids = [vm.add_message("400", "", _message_file(vm, "400", seed=s), 1.5, WHEN) for s in range(3)]
    vm.set_state(ids[2], "saved")
    bob = ends["bob"]
    bob.off_hook()
    eng.run(seconds=0.5)
    bob.dial("77#")
    run_until_played(eng, prompts, "vm_message_menu")
    assert prompts.played[prompts.played.index("vm_you_have") + 1:][:1] == say.number(2)
    bob.dial("1")  # replay the first message: the menu follows it again
    run_until_played(eng, prompts, "vm_message_menu", times=2)
    bob.dial("2")  # save it
    run_until_played(eng, prompts, "vm_message_menu", times=3)
    bob.dial("4")  # skip the second (stays new)
    run_until_played(eng, prompts, "vm_message_menu", times=4)
    bob.dial("*")  # exit at the saved one
    run_until_played(eng, prompts, "goodbye")
    assert prompts.count("vm_message_kept") == 1 and "vm_no_more" not in prompts.played
    assert [m.id for m in vm.messages("400", "new")] == [ids[1]]
    assert [m.id for m in vm.messages("400", "saved")] == [ids[0], ids[2]]
    assert "vm_message_from" not in prompts.played  # no caller ID on those messages
    hang_up(eng)  # the script hangs up after its goodbye


def test_three_wrong_pins_end_the_call(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="voicemail_retrieve")
    centre.voicemail().add_mailbox("500", "2468", extension=1)
    alice = ends["alice"]
    alice.off_hook()
    eng.run(seconds=0.5)
    for attempt in range(1, 4):
        run_until_played(eng, prompts, "vm_enter_pin", times=attempt)
        alice.dial("1111#")
    run_until_played(eng, prompts, "goodbye")
    eng.run(seconds=0.5)
    assert prompts.count("vm_wrong_pin") == 3 and "vm_you_have" not in prompts.played
    assert sum("voicemail_wrong_PIN" in line for line in eng.log_lines) == 3
    assert any(" ended " in f" {line} " for line in eng.log_lines)


def test_star_during_the_greeting_logs_the_owner_in(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="voicemail")
    vm = centre.voicemail()
    vm.add_mailbox("600", "13")
    alice = ends["alice"]
    alice.off_hook()
    run_until_played(eng, prompts, "vm_enter_mailbox")
    alice.dial("600#")
    run_until_played(eng, prompts, "vm_default_greeting")
    alice.dial("*")
    run_until_played(eng, prompts, "vm_enter_pin")
    alice.dial("13#")
    run_until_played(eng, prompts, "vm_no_more")
    assert vm.messages("600") == [] and "vm_leave_message" in prompts.played
    hang_up(eng, alice)


def test_owner_records_a_greeting_that_the_next_caller_hears(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="voicemail_greeting")
    vm = centre.voicemail()
    vm.add_mailbox("700", "55", extension=1)
    alice, bob = ends["alice"], ends["bob"]
    alice.off_hook()
    run_until_played(eng, prompts, "vm_enter_pin")
    alice.dial("55#")
    run_until_played(eng, prompts, "vm_record_greeting")
    eng.run(seconds=0.5)
    alice.write_audio(voice(2.0, seed=5))
    run_until_played(eng, prompts, "vm_greeting_saved", seconds=10)
    box = vm.mailbox("700")
    assert box.greeting == vm.greeting_path("700") and os.path.exists(box.greeting)
    assert 1.5 < sf.info(box.greeting).duration < 2.6
    assert not [f for f in os.listdir(tmp_path / "voicemail" / "700") if f.endswith(".new.wav")]

    async def deposit_700(call):
        return await call.handoff("voicemail", mailbox="700")

    eng.router = lambda leg: deposit_700
    bob.off_hook()
    run_until_played(eng, prompts, "vm_leave_message")
    assert prompts.played[-2:] == [box.greeting, "vm_leave_message"]
    hang_up(eng, alice, bob)


def test_extension_dial_plan_star98_reaches_the_own_mailbox(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="extension")
    vm = centre.voicemail()
    vm.add_mailbox("800", "42", extension=2)
    vm.add_message("800", "5550002", _message_file(vm, "800"), 1.5, WHEN)
    bob = ends["bob"]
    eng.run(seconds=2.0)
    bob.off_hook()
    eng.run(seconds=0.5)
    bob.dial("*98")
    run_until_played(eng, prompts, "vm_enter_pin")
    bob.dial("42#")
    run_until_played(eng, prompts, "vm_message_menu")
    assert prompts.played[:2] == ["vm_enter_pin", "vm_you_have"] and "vm_enter_mailbox" not in prompts.played
    bob.dial("2")
    run_until_played(eng, prompts, "goodbye")
    assert vm.counts("800") == (0, 1)
    bob.on_hook()
    eng.run(seconds=4.0)
    assert _mwi_heard(bob) == [True, False]


def test_mailbox_number_is_asked_three_times_and_the_third_answer_counts(tmp_path):
    eng, ends, centre, prompts = centre_engine(tmp_path, script="voicemail")
    centre.voicemail().add_mailbox("900", "1")
    alice = ends["alice"]
    alice.off_hook()
    for attempt, typed in enumerate(("901#", "902#", "900#"), start=1):
        run_until_played(eng, prompts, "vm_enter_mailbox", times=attempt)
        alice.dial(typed)
    run_until_played(eng, prompts, "vm_leave_message")
    assert prompts.count("vm_unknown_mailbox") == 2
    hang_up(eng, alice)
