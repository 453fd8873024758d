"""The prompt set: every prompt the bundled scripts and the say functions use, generated here with
espeak-ng (English and Mandarin) during set-up - never downloaded. ``build(folder)`` writes
``folder/NAME.wav`` for each prompt that is missing or whose text changed."""
import json
import os
import shutil
import subprocess

from pycallcenter.errors import HardwareError
from pycallcenter.ivr import say

# prompts of the bundled IVR scripts: name -> (espeak-ng voice, text)
SCRIPT_PROMPTS = {
    "welcome": ("en-us", "Thank you for calling Acme."),
    "main_menu": ("en-us", "For sales, press 1. For support, press 2. For documents by fax, press 3. "
                           "To leave a voicemail, press 9. For the operator, press 0."),
    "invalid": ("en-us", "Sorry, that is not a valid choice."),
    "no_input": ("en-us", "Sorry, I did not hear your choice."),
    "goodbye": ("en-us", "Thank you for calling. Goodbye."),
    "closed": ("en-us", "Our office is now closed. Our hours are eight A M to six P M, Monday to Friday."),
    "holiday": ("en-us", "Our office is closed today for a holiday."),
    "technical_difficulty": ("en-us", "We are sorry, we are having technical difficulties. Please call again later."),
    "enter_account": ("en-us", "Please enter your account number, followed by the pound key."),
    "account_unknown": ("en-us", "Sorry, I could not find that account."),
    "your_balance_is": ("en-us", "Your balance is"),
    "callback_enter": ("en-us", "Please enter the number we should call you back on, followed by the pound key."),
    "callback_confirm": ("en-us", "We will call you back on"),
    "callback_thanks": ("en-us", "Thank you. An agent will call you back."),
    "callback_place_kept": ("en-us", "You keep your place in line."),
    "callback_when": ("en-us", "To be called back as soon as possible, press pound. To choose the time, enter it "
                               "as four digits on the twenty four hour clock, for example one four three zero for "
                               "two thirty P M."),
    "callback_time_not_valid": ("en-us", "Sorry, that is not a valid time."),
    "callback_at": ("en-us", "at"),
    "callback_agent_dialling": ("en-us", "Callback. Calling the customer now."),
    "callback_agent_no_answer": ("en-us", "The customer did not answer. We will try again later."),
    "queue_callback_key": ("en-us", "To be called back instead of waiting, press"),
    "campaign_abandoned": ("en-us", "Sorry, we called you but no one is free to take your call. "
                                    "We will call you again later. Goodbye."),
    "queue_wait": ("en-us", "All our agents are busy. Please hold, and your call will be answered in turn."),
    "queue_position": ("en-us", "You are caller number"),
    "queue_expected": ("en-us", "Your expected wait time is about"),
    "minutes": ("en-us", "minutes"),
    "queue_callback_offer": ("en-us", "To be called back instead of waiting, press 1."),
    "transferring": ("en-us", "Please hold while I transfer your call."),
    "vm_enter_mailbox": ("en-us", "Please enter the mailbox number, followed by the pound key."),
    "vm_leave_message": ("en-us", "Please leave your message after the tone. When you are done, press pound or hang up."),
    "vm_saved": ("en-us", "Your message has been saved."),
    "vm_enter_pin": ("en-us", "Please enter your PIN, followed by the pound key."),
    "vm_wrong_pin": ("en-us", "That PIN is not correct."),
    "vm_you_have": ("en-us", "You have"),
    "vm_new_messages": ("en-us", "new messages"),
    "vm_saved_messages": ("en-us", "saved messages"),
    "vm_message_menu": ("en-us", "To replay, press 1. To save, press 2. To delete, press 3. To skip, press 4. "
                                 "To exit, press star."),
    "vm_deleted": ("en-us", "Message deleted."),
    "vm_no_more": ("en-us", "There are no more messages."),
    "vm_unknown_mailbox": ("en-us", "That mailbox does not exist."),
    "vm_default_greeting": ("en-us", "The person you are calling is not available."),
    "fax_enter_document": ("en-us", "Please enter the document number, followed by the pound key."),
    "fax_unknown_document": ("en-us", "Sorry, there is no document with that number."),
    "fax_press_start": ("en-us", "Please press the start button on your fax machine now."),
    "fax_not_available": ("en-us", "Sorry, documents by fax are not available right now."),
    "zh_welcome": ("cmn", "感谢您的来电。"),
    # voicemail and the bundled scripts (appended by the voicemail work)
    "vm_message_from": ("en-us", "Message from"),
    "vm_message_kept": ("en-us", "Message saved."),
    "callback_not_valid": ("en-us", "Sorry, that number is not valid."),
    "operator_unavailable": ("en-us", "The operator is not available. Please leave a message."),
    "vm_record_greeting": ("en-us", "After the tone, say your greeting, then press pound."),
    "vm_greeting_saved": ("en-us", "Your greeting has been saved."),
    # the post-call survey (apps/survey.py)
    "survey_rate": ("en-us", "Please rate the call you just had, from 1 for poor to 5 for excellent."),
    "survey_invalid": ("en-us", "Please press a key from 1 to 5."),
    "survey_thanks": ("en-us", "Thank you for your rating. Goodbye."),
}


def all_prompts():
    """Return {name: (voice, text)}: the scripts' prompts and the say functions' words."""
    return {**say.prompt_texts(), **SCRIPT_PROMPTS}


def build(folder, prompts=None, espeak=None):
    """Generate the prompts missing from folder (or whose text changed); return the names written.

    Raises HardwareError naming espeak-ng when it is not installed (make demo installs it).
    """
    prompts = all_prompts() if prompts is None else prompts
    espeak = espeak or shutil.which("espeak-ng")
    if espeak is None:
        raise HardwareError("espeak-ng is not installed (Debian package espeak-ng; `make demo` installs it)")
    index_path = os.path.join(folder, "index.json")
    try:
        with open(index_path) as fh:
            index = json.load(fh)
    except (OSError, ValueError):
        index = {}
    written = []
    for name, (voice, text) in sorted(prompts.items()):
        path = os.path.join(folder, name + ".wav")
        if index.get(name) == [voice, text] and os.path.exists(path):
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        tmp = path + ".tmp.wav"
        subprocess.run([espeak, "-v", voice, "-s", "160", "-w", tmp, text], check=True, capture_output=True)
        os.replace(tmp, path)
        index[name] = [voice, text]
        written.append(name)
    with open(index_path + ".tmp", "w") as fh:
        json.dump(index, fh, indent=0, sort_keys=True, ensure_ascii=False)
    os.replace(index_path + ".tmp", index_path)
    return written
