"""The bundled scripts mark what a call came to, and the CDR carries it: a message left (the caller
hanging up while recording, or after the goodbye) is 'voicemail', a callback request 'callback'."""
import datetime as dt

from engine_rig import hang_up
from ivr_rig import centre_engine, run_until_played, voice
from pycallcenter.dsp import g711
from pycallcenter.storage import open_store
from pycallcenter.storage.cdr import CdrWriter

SATURDAY = dt.datetime(2026, 1, 10, 11, 0)  # closed: after_hours sends callers to the general mailbox


def _message(tmp_path, hang_up_while_recording):
    eng, ends, centre, prompts = centre_engine(tmp_path, "after_hours", when=SATURDAY)
    store = open_store(tmp_path / "db")
    CdrWriter(store, eng)
    line = ends["pstn3"]
    line.call("2025550123", "JANE DOE")
    run_until_played(eng, prompts, "vm_leave_message")
    eng.run(seconds=0.5)
    line.write_audio(g711.ulaw_encode(voice(2.0, seed=3)))
    if hang_up_while_recording:
        eng.run(seconds=1.5)
        hang_up(eng, line)
    else:
        run_until_played(eng, prompts, "goodbye", seconds=15)  # the silence ends the message
        hang_up(eng, line)
    eng.run(seconds=0.5)
    (msg,) = centre.voicemail().messages(centre.general_mailbox)
    (row,) = store.cdrs()
    return msg, row


def test_a_caller_hanging_up_while_recording_leaves_a_voicemail_outcome(tmp_path):
    msg, row = _message(tmp_path, hang_up_while_recording=True)
    assert row["outcome"] == "voicemail" and row["vars"]["voicemail_id"] == msg.id
    assert "outcome" not in row["vars"]  # the script never got past the recording: the CDR derived it


def test_a_message_ended_by_silence_is_marked_by_the_script(tmp_path):
    msg, row = _message(tmp_path, hang_up_while_recording=False)
    assert row["outcome"] == "voicemail" and row["vars"]["outcome"] == "voicemail"


def test_a_callback_request_is_a_callback_outcome(tmp_path):
    async def support_callback(call):
        return await call.handoff("callback", "support")

    eng, ends, centre, prompts = centre_engine(tmp_path, support_callback)
    store = open_store(tmp_path / "db")
    CdrWriter(store, eng)
    alice = ends["alice"]
    alice.off_hook()
    run_until_played(eng, prompts, "callback_enter")
    alice.dial("2025550199#")
    run_until_played(eng, prompts, "goodbye")
    hang_up(eng, alice)
    eng.run(seconds=0.5)
    (row,) = store.cdrs()
    assert row["outcome"] == "callback" and row["vars"]["callback_id"]
