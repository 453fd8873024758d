"""Voicemail call flows for IVR scripts: ``deposit`` (greeting, then record after the tone) and
``retrieve`` (PIN, counts, per-message menu). Both take the IvrCall and a
:class:`pycallcenter.apps.voicemail.Voicemail` store; prompt names are in pycallcenter.ivr.promptset."""
import os

import soundfile as sf

from pycallcenter.apps.centre_config import centre_of
from pycallcenter.dsp.audio import read_audio
from pycallcenter.engine.scheduler import CallHangup

MESSAGE_KEYS = "1234*"


def _seconds(path):
    # RecordResult.seconds counts what was recorded before the trailing silence was trimmed off
    return sf.info(path).frames / sf.info(path).samplerate if os.path.exists(path) else 0.0


async def deposit(call, vm, number, max_seconds=120.0, silence_stop=4.0):
    """Play the mailbox greeting and record a message after the tone; return the message id or None.

    Pressing * during the greeting switches to ``retrieve`` for that mailbox (the owner calling in);
    hanging up ends the recording and the message is still kept."""
    await call.answer()
    box = vm.mailbox(number)
    if box is None:
        await call.play("vm_unknown_mailbox")
        return None
    greeting = box.greeting if box.greeting and os.path.exists(box.greeting) else "vm_default_greeting"
    call.flush_digits()
    if await call.play([greeting, "vm_leave_message"], barge_in="*") == "*":
        call.flush_digits()
        await retrieve(call, vm, number)
        return None
    when = centre_of(call).clock()
    path = vm.new_message_path(number, when)
    try:
        result = await call.record(path, max_seconds=max_seconds, silence_stop=silence_stop)
    except CallHangup:
        # the usual way to end a message: the engine closed the file when the line dropped
        stats = next((s for s in reversed(call.engine.recordings) if s["path"] == path), None)
        if stats is not None:
            msg_id = vm.add_message(number, call.caller, path, _seconds(path), when)
            call.log(f"voicemail deposited {msg_id} in {number}")
            if msg_id is not None:
                call.set("voicemail_id", msg_id)  # the CDR is written after this: its outcome is voicemail
        raise
    msg_id = vm.add_message(number, call.caller, result.path, _seconds(result.path), when)
    call.log(f"voicemail deposited {msg_id} in {number}")
    if msg_id is not None:
        call.set("voicemail_id", msg_id)
        await call.play("vm_saved")
    return msg_id


def own_mailbox(call, vm, mailbox=None):
    """Return mailbox, or when None and the call comes from an extension, the number of the mailbox
    whose MWI extension that is (else None)."""
    if mailbox is None and call.leg.tech == "fxs":
        own = vm.mailbox_of_extension(call.leg.channel)
        mailbox = own.number if own is not None else None
    return mailbox


async def _ask_pin(call, vm, number, tries):
    for _ in range(tries):
        box = number
        if box is None:
            call.flush_digits()
            await call.play("vm_enter_mailbox", barge_in="0123456789")
            box = (await call.collect(max_digits=10, terminator="#", first_timeout=6.0)).digits
        call.flush_digits()
        await call.play("vm_enter_pin", barge_in="0123456789")
        pin = (await call.collect(max_digits=10, terminator="#", first_timeout=6.0)).digits
        if vm.check_pin(box, pin):
            return box
        call.log(f"voicemail wrong PIN for {box or '-'}")
        await call.play("vm_wrong_pin")
    return None


async def _login(call, vm, number, tries):
    """Answer and ask for the PIN; return the mailbox, or None after saying goodbye and hanging up."""
    await call.answer()
    box = await _ask_pin(call, vm, number, tries)
    if box is None:
        await call.play("goodbye")
        await call.hangup()
    return box


async def retrieve(call, vm, number=None, tries=3, lang="en"):
    """Log in (mailbox if not given, then PIN, ``tries`` attempts), say the counts and walk the new, then
    the saved messages with 1 replay / 2 save / 3 delete / 4 skip / * exit. Return a summary dict
    (mailbox, heard, saved, deleted message ids; None when the login failed)."""
    box = await _login(call, vm, number, tries)
    if box is None:
        return None
    call.set("voicemail_box", box)
    summary = {"mailbox": box, "heard": [], "saved": [], "deleted": []}
    new, saved = vm.counts(box)
    await call.play(["vm_you_have"])
    await call.say_number(new, lang)
    await call.play(["vm_new_messages", f"{lang}/and"])
    await call.say_number(saved, lang)
    await call.play("vm_saved_messages")
    queue = vm.messages(box, "new") + vm.messages(box, "saved")  # a snapshot: saved-now messages come once
    for msg in queue:
        if not await _one_message(call, vm, msg, summary, lang):
            break
    else:
        await call.play("vm_no_more")
    await call.play("goodbye")
    await call.hangup()
    return summary


async def record_greeting(call, vm, number=None, tries=3, max_seconds=30.0):
    """Log in, record the mailbox's greeting after the tone (ended by # or silence), play it back and
    keep it; return the greeting's path, or None (login failed or nothing said)."""
    box = await _login(call, vm, number, tries)
    if box is None:
        return None
    await call.play("vm_record_greeting")
    final = vm.greeting_path(box)
    part = final[:-4] + ".new.wav"
    await call.record(part, max_seconds=max_seconds, silence_stop=3.0)
    if _seconds(part) < vm.min_seconds:
        if os.path.exists(part):
            os.remove(part)
        await call.play("no_input")
        return None
    os.replace(part, final)  # callers mid-greeting keep hearing the old one: it is already in memory
    vm.set_greeting(box, final)
    call.log(f"voicemail greeting of {box} recorded")
    await call.play([read_audio(final), "vm_greeting_saved", "goodbye"])
    await call.hangup()
    return final


async def _one_message(call, vm, msg, summary, lang):
    """Play one message and run its menu; return False when the caller chose to exit."""
    audio = read_audio(msg.path)
    timeouts = 0
    replay = True
    while True:
        call.flush_digits()
        key = None
        if replay:
            summary["heard"].append(msg.id)
            if msg.caller.isdigit():
                await call.play("vm_message_from")
                await call.say_digits(msg.caller, lang)
            key = await call.play(audio, barge_in=MESSAGE_KEYS)
            replay = False
        if key is None:
            key = await call.play("vm_message_menu", barge_in=MESSAGE_KEYS)
        got = key or (await call.collect(max_digits=1, terminator="", first_timeout=5.0)).digits
        call.flush_digits()
        if got == "1":
            replay = True
        elif got == "2":
            vm.set_state(msg.id, "saved")
            summary["saved"].append(msg.id)
            await call.play("vm_message_kept")
            return True
        elif got == "3":
            vm.set_state(msg.id, "deleted")
            summary["deleted"].append(msg.id)
            await call.play("vm_deleted")
            return True
        elif got == "4":
            return True
        elif got == "*":
            return False
        else:
            timeouts += 1
            if timeouts >= 3:
                return False
            await call.play("invalid" if got else "no_input")
