"""`pycallcenter ivr try`: one IVR script, one simulated caller, and a transcript a script author reads.

The call is real: a centre built by the composition root (``Centre``) on the emulated board, a
caller on the emulated PSTN placing a Q.931 call over the E1 PRI span and pressing DTMF keys on the
B-channel, the engine's scripts, ACD and simulated agents at the FXS phones. The transcript is read
from what the centre records: the engine's event log, the ACD's queue log, the caller's own log and
the call's CDR.

The caller's keys (``--digits``) are steps separated by commas:

    1,4321#    keys: pressed once the call waits for keys (a prompt keys may interrupt, a collect or a
               recording); after keys, the next step waits until a new prompt has started
    p5         pause: wait 5 s, then take the next step at once (keys while queued, say)
    t4         talk: say something for 4 s (a voicemail message) when the call next waits for the caller
"""
import datetime as _dt
import inspect
import os
import re
import runpy
import shutil
import tempfile
import traceback
from typing import NamedTuple

import numpy as np

from pycallcenter import bundled
from pycallcenter.apps.centre import Centre, file_mask
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.ivr_transcript import Transcript, cdr_text
from pycallcenter.apps.settings import RouteSection, load_settings, load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine.media import Player
from pycallcenter.errors import ConfigError, PyCallCenterError
from pycallcenter.ivr import _Collect, _Play, _Record  # the verbs' ops: what a caller's script awaits
from pycallcenter.sim.pstn import Caller

KEYS = "0123456789*#ABCD"
REACTION = 0.5  # seconds between the call waiting for keys and the caller pressing them
BUILTIN_START = "2026-01-05T10:00:00"  # a Monday morning: the built-in centre is open
CALLER = "2025550100"
SPEECH = "main_menu"  # what a talking caller says: a long prompt of the generated set (real speech)


class Step(NamedTuple):
    """One step of the caller: kind 'keys' (value: the keys), 'pause' or 'talk' (value: seconds)."""

    kind: str
    value: object


class ScriptError(PyCallCenterError):
    """The tried script failed to load or raised; ``lines`` are its traceback lines in the script file."""

    def __init__(self, message, lines=()):
        super().__init__(message)
        self.lines = list(lines)


def parse_steps(text):
    """Return the Steps of a --digits text such as '1,4321#,p5,t4'; ValueError naming a bad step."""
    steps = []
    for i, part in enumerate((text or "").split(",") if text else []):
        part = part.strip()
        m = re.fullmatch(r"([pt])(\d+(?:\.\d+)?)", part)
        if m:
            steps.append(Step("pause" if m.group(1) == "p" else "talk", float(m.group(2))))
        elif part and all(ch in KEYS for ch in part):
            steps.append(Step("keys", part))
        else:
            raise ValueError(f"--digits: step {i + 1} {part!r} is not keys (0-9 * # A-D), pN (pause N s) or "
                             f"tN (talk N s)")
    return steps


def prompt_cache():
    """Return the folder where tries keep the generated prompt set, so that only the first try waits for
    espeak-ng (the centre builds what is missing there)."""
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    folder = os.path.join(base, "pycallcenter", "prompts")
    os.makedirs(folder, exist_ok=True)
    return folder


def builtin_text(start=BUILTIN_START):
    """Return the built-in centre's TOML: an E1 PRI span to the emulated PSTN, four FXS phones (agent1..3
    and the operator, agent4), the bundled scripts, queues sales and support, mailbox 200."""
    return board_config(4, seed=1) + f"""
[centre]
default_script = "main_menu"
tone_plan = "etsi"
station_features = false
operator = "channel/35"
start = "{start}"

[[queue]]
name = "sales"
ring_timeout = 15
max_wait = 120
overflow = "voicemail"

[[queue]]
name = "support"
ring_timeout = 15
max_wait = 120
overflow = "voicemail"

[[agent]]
name = "agent1"
contact = "channel/32"
queues = {{ sales = 0, support = 1 }}

[[agent]]
name = "agent2"
contact = "channel/33"
queues = {{ support = 0, sales = 1 }}

[[agent]]
name = "agent3"
contact = "channel/34"
queues = {{ sales = 1, support = 1 }}

[[voicemail.box]]
number = "200"
pin = "1234"
owner = "Alice"
"""


def load_script(spec, folder):
    """Return (name, main, path) of a script given by name (a file in folder) or by a .py file's path;
    ScriptError in one line naming file and line when it does not load."""
    if spec.endswith(".py") or os.sep in spec:
        path = os.path.abspath(spec)
        if not os.path.isfile(path):
            raise ConfigError(f"no script file {spec}")
    elif not os.path.isdir(folder):
        raise ConfigError(f"no scripts folder {folder}")
    else:
        path = os.path.join(folder, f"{spec}.py")
        if not os.path.isfile(path):
            have = sorted(f[:-3] for f in os.listdir(folder) if f.endswith(".py") and not f.startswith("_"))
            raise ConfigError(f"no IVR script {spec!r} in {folder} (have {', '.join(have) or 'none'})")
    name = os.path.splitext(os.path.basename(path))[0]
    try:
        # the same suffix as the script loader's module names, so handoff lines name scripts alike
        namespace = runpy.run_path(path, run_name=f"pycallcenter_ivr_try.{name}_0")
    except SyntaxError as exc:
        raise ScriptError(f"{exc.filename}:{exc.lineno}: SyntaxError: {exc.msg}") from None
    except Exception as exc:  # noqa: BLE001 - whatever the module does at import time is the script's error
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        raise ScriptError(_one_line(text, path), script_lines(text, path)) from None
    main = namespace.get("main")
    if not inspect.iscoroutinefunction(main):
        raise ScriptError(f"{path}: no 'async def main(call)'")
    return name, main, path


_FRAME = re.compile(r'^  File "(.+)", line (\d+), in (.+)$')


def script_lines(text, path):
    """Return the lines of a traceback text that point into the file path (each frame and its code)."""
    lines = text.rstrip("\n").splitlines()
    out = []
    for i, line in enumerate(lines):
        m = _FRAME.match(line)
        if m and os.path.abspath(m.group(1)) == path:
            out.append(line)
            if i + 1 < len(lines) and lines[i + 1].startswith("    ") and not _FRAME.match(lines[i + 1]):
                out.append(lines[i + 1])
    return out


def _one_line(text, path):
    """Return 'FILE:LINE: Error: message' for a traceback text (its last frame in path)."""
    last = text.rstrip("\n").splitlines()[-1]
    frames = [m for m in map(_FRAME.match, text.splitlines()) if m and os.path.abspath(m.group(1)) == path]
    return f"{path}:{frames[-1].group(2)}: {last}" if frames else f"{path}: {last}"


class TryResult(NamedTuple):
    """How a try went: the transcript lines, the CDR row (None if none was written) and the error."""

    lines: list
    cdr: object
    error: object  # None, or a ScriptError


class TryCall:
    """One simulated caller on a built centre, trying one script; ``run()`` returns a TryResult.

    out(line) receives each transcript line as the call goes (print, or a list's append)."""

    def __init__(self, centre, name, main, path, steps, caller=CALLER, called=None, lang=None, args=(),
                 seconds=120.0, talk=10.0, out=print):
        self.centre, self.name, self.path, self.steps = centre, name, path, steps
        s = centre.settings
        eng = centre.engine
        eng.log_lines = []  # the transcript is read from the event log
        centre.scripts.scripts[name] = main
        # the first route takes every call to the script tried; caller lists still apply
        s.route.insert(0, RouteSection(script=name, language=lang, args=[str(a) for a in args]))
        self.sim = Simulation(centre, hours=0)  # no random callers: only ours; the simulated agents answer
        self.caller = Caller(caller, called or s.simulate.called, 1.0, patience=seconds, talk=talk)
        self.sim.pstn.add(self.caller)
        self.seconds, self.talk = seconds, talk
        self.transcript = Transcript(centre, self.caller, out)
        self.leg = self.call = None
        # the caller's progress through the steps
        self.index, self.due, self.sent_at = 0, None, None
        self.after_pause, self.need_prompt = False, False

    # ------------------------------------------------------------------------------------------ running
    def run(self):
        """Place the call, drive the caller and print the transcript until the call is over and its CDR
        written; return a TryResult."""
        c = self.centre
        end = 1.0 + self.seconds + self.talk + 60.0  # the caller gives up at --seconds; agents talk --talk
        timed_out = False
        while True:
            self.sim.tick()
            now = c.engine.now / SAMPLE_RATE
            self._drive(now)
            self.transcript.emit()
            if self.caller.ended is not None and self.call is not None and self.call.ended is not None \
                    and not self.call.scripts:
                break
            if self.caller.refused or now >= end:
                timed_out = not self.caller.refused
                break
        if timed_out:
            self.transcript.say(now, f"time limit: still in the call after {now - 1.0:.0f} s; the try hangs up")
        c.drain()
        self.transcript.emit()
        c.flush()
        cdr = self._cdr()
        if cdr is not None:
            self.transcript.line(c.engine.now / SAMPLE_RATE, cdr_text(cdr))
        left = [s.value for s in self.steps[self.index:] if s.kind == "keys"]
        if left:
            self.transcript.line(c.engine.now / SAMPLE_RATE,
                                 f"not pressed (the call never waited for them): {', '.join(left)}")
        return TryResult(self.transcript.lines, cdr, self._error())

    def _cdr(self):
        if self.call is None:
            return None
        rows = self.centre.store.select("cdr", "call_id = ?", (self.call.id,))
        return rows[-1] if rows else None

    def _error(self):
        if self.call is None:
            return None
        for call_id, text in self.centre.engine.errors:
            if call_id == self.call.id:
                folder = self.centre.scripts.folder
                lines = script_lines(text, self.path)
                where = self.path
                if not lines:  # raised in a script it handed off to: show that script's frames
                    frames = [m for m in map(_FRAME.match, text.splitlines())
                              if m and os.path.dirname(os.path.abspath(m.group(1))) == os.path.abspath(folder)]
                    if frames:
                        where = os.path.abspath(frames[-1].group(1))
                        lines = script_lines(text, where)
                return ScriptError(_one_line(text, where), lines)
        return None

    # ------------------------------------------------------------------------------------------ the caller
    def _drive(self, now):
        """Take the caller's next step when it is due (see the module doc)."""
        caller, pstn = self.caller, self.sim.pstn
        if self.leg is None:
            self.leg = next((leg for leg in self.centre.engine.legs.values()
                             if leg.direction == "in" and leg.caller == caller.number), None)
            if self.leg is None:
                return
            self.call = self.transcript.call = self.leg.call
        if caller.answered is None or caller.clearing or caller.ended is not None or self.index >= len(self.steps):
            return
        isdn_call = next((call for call, who in pstn.active.items() if who is caller), None)
        if isdn_call is None or isdn_call.channel in pstn.audio:  # still sending the previous step
            return
        step = self.steps[self.index]
        if self.due is None:
            if step.kind == "pause":
                self.due = now + step.value
            elif self.after_pause:
                self.due = now
            elif self._prompted() and self._waiting(step.kind):
                self.due = now + REACTION
            else:
                return
        if now < self.due:
            return
        self.due = None
        self.index += 1
        self.after_pause = step.kind == "pause"
        self.need_prompt = step.kind == "keys"
        if step.kind == "pause":
            self.transcript.note(now, f"caller waits {step.value:g} s")
            return
        if step.kind == "keys":
            samples = dtmf_signal(step.value, level_dbm0=-8, on_ms=80, off_ms=80)
            self.transcript.note(now, f"caller presses {step.value}")
        else:
            samples = self._speech(step.value)
            self.transcript.note(now, f"caller talks for {step.value:g} s")
        self.sent_at = now
        pstn.audio[isdn_call.channel] = Player([samples])

    def _speech(self, seconds):
        """Return seconds of speech for the caller to say: the main menu prompt's voice, repeated."""
        voice = self.centre.engine.prompts.get(SPEECH)
        return np.resize(voice, int(seconds * SAMPLE_RATE))

    def _prompted(self):
        """Return True when the step may go: no keys before it, or a prompt started since they were sent."""
        played = self.transcript.last_play
        return not self.need_prompt or (played is not None and played > self.sent_at)

    def _waiting(self, kind):
        """Return True while the caller's script waits for this kind of step: keys (a collect, a recording
        or a prompt that keys may interrupt), or talk (a recording)."""
        for task in self.centre.engine.scheduler.tasks.values():
            op = task.op
            if op is None or op.done or getattr(op, "leg", None) is not self.leg:
                continue
            if isinstance(op, _Record) or (kind == "keys" and (isinstance(op, _Collect) or
                                                               (isinstance(op, _Play) and op.barge_in))):
                return True
        return False


def settings_for(config=None, at=None):
    """Return (board text, Settings, description) of a try: the user's centre file or the built-in centre,
    given its own data (the caller passes a data folder), no CTI server, campaigns or event log file."""
    if at is not None:
        _dt.datetime.fromisoformat(at)  # a ValueError in one line when it is not a time
    if config is None:
        board_text, settings = load_text(builtin_text(at or BUILTIN_START))
        what = "the built-in centre (E1 PRI from the emulated PSTN, agents agent1-3, operator agent4)"
    else:
        board_text, settings = load_settings(config)
        what = f"the centre of {config}"
        if at is not None:
            settings.centre.start = at
    c = settings.centre
    c.cti_port = None
    c.log_file = None
    c.database = None
    settings.campaign = []  # a try places one call in; it dials nobody out
    settings.sip.port = 0  # any free port: a try runs beside the live centre, which holds the configured one
    settings.voicemail.folder = None
    settings.fax.inbox = None
    return board_text, settings, what


def try_script(spec, digits="", config=None, data=None, at=None, out=print, **options):
    """Build the centre, try the script with a caller taking the steps of digits; return the TryResult.
    Raises ConfigError/ScriptError (one line) when the centre or the script does not load."""
    steps = parse_steps(digits)
    board_text, settings, what = settings_for(config, at)
    folder = settings.place(settings.centre.scripts) if settings.centre.scripts else str(bundled.scripts_dir())
    name, main, path = load_script(spec, folder)  # before the centre: its error names the file and line
    keep = data is not None
    data = os.path.abspath(data) if keep else tempfile.mkdtemp(prefix="pycallcenter-try-")
    # as `run`: a kept --data folder holds a CDR database and voicemail, made 0644/0755 before
    with file_mask(settings.centre.umask):
        try:
            generated = os.path.join(data, "prompts")
            if not settings.centre.prompts and not os.path.exists(generated):
                os.makedirs(data, exist_ok=True)
                os.symlink(prompt_cache(), generated)  # the centre generates its prompts there, once for all tries
            centre = Centre(board_text, settings, data=data)
            try:
                out(f"trying {name} ({path}) on {what}")
                return TryCall(centre, name, main, path, steps, out=out, **options).run()
            finally:
                centre.close(publish=False)
        finally:
            if not keep:
                shutil.rmtree(data, ignore_errors=True)
