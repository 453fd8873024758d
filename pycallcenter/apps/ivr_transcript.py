"""The transcript of one tried call (`pycallcenter ivr try`): what the centre logged about it, as a
script author reads it, each line stamped with the centre's wall-clock time.

It reads the engine's event log (``engine.log_lines``), the ACD's queue log (``acd.qlog``) and the
simulated caller's own log; a ``set`` line's value is read from the call's variables when the line is
read (the log names the variable only), and the CDR line from the store (``cdr_text``).
"""
import datetime as _dt
import os

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.causes import text as cause_name


class Transcript:
    """Lines about one caller's call on a centre; ``emit()`` after each tick prints what is new in time
    order through out(line). ``call`` is set once the call exists; ``last_play`` is the board time (s) of
    the last prompt the caller's leg started."""

    def __init__(self, centre, caller, out=print):
        s = centre.settings
        self.centre, self.caller, self.out = centre, caller, out
        self.call = None
        self.last_play = None
        self.lang = s.language.default  # the language of prompts without a LANG/ folder
        self.agents = {a.contact: a.name for a in s.agent}
        if s.centre.operator:
            self.agents.setdefault(s.centre.operator, "the operator")
        self.legs = {}  # leg id -> what it is ('caller', 'channel/32 (agent1)', ...)
        self.lines = []
        self._log_at = self._caller_at = 0
        acd = centre.acd
        self._qlog = acd.qlog.reader("transcript", start=0) if acd is not None else None
        self._notes = []  # (seconds, text) the caller's own actions
        self._bridged = set()
        self._recordings = set()  # paths of the call's recordings (their stop line names only the path)
        self._digits = None  # [leg, first time, keys] of DTMF heard, printed as one line

    def note(self, seconds, text):
        """Add a line of the caller's own (it goes out in time order with the next emit())."""
        self._notes.append((seconds, text))

    def say(self, seconds, text):
        """Add a line of the caller's own and emit at once."""
        self.note(seconds, text)
        self.emit()

    def line(self, seconds, text):
        """Print one transcript line stamped with the centre's wall-clock time of board seconds."""
        stamp = self.centre.start + _dt.timedelta(seconds=seconds)
        line = f"{stamp:%H:%M:%S}.{stamp.microsecond // 100000}  {text}"
        self.lines.append(line)
        self.out(line)

    def emit(self):
        """Turn what the centre logged since the last tick into transcript lines, in time order."""
        items = []
        acd = self.centre.acd
        log = self.centre.engine.log_lines
        lines = [item for line in log[self._log_at:] for item in self._engine_line(line)]
        self._log_at = len(log)
        if acd is not None:  # first: the ACD decides (enter, offer) before the engine dials the agent
            for e in acd.qlog.read(self._qlog):
                if self.call is not None and e.call == self.call.id:
                    items.append((e.time, _queue_text(e)))
        items.extend(lines)
        for t, what in self.caller.log[self._caller_at:]:
            text = self._caller_text(what)
            if text:
                items.append((t, text))
        self._caller_at = len(self.caller.log)
        items.extend(self._notes)
        self._notes = []
        for t, text in sorted(items, key=lambda item: item[0]):
            if text.startswith("\0hears "):  # DTMF heard: consecutive keys make one line
                leg, key = text[7:].split(" ", 1)
                if self._digits is not None and self._digits[0] == leg:
                    self._digits[2] += key
                    continue
                self._flush_digits()
                self._digits = [leg, t, key]
                continue
            self._flush_digits()
            self.line(t, text)
        if self._digits is not None and self.centre.engine.now / SAMPLE_RATE - self._digits[1] > 1.0:
            self._flush_digits()

    def _flush_digits(self):
        if self._digits is not None:
            leg, t, keys = self._digits
            self._digits = None
            who = "" if self.legs.get(leg) == "caller" else f" from {self._who(leg)}"
            self.line(t, f"the centre hears {keys}{who}")

    def _who(self, leg):
        return self.legs.get(leg, leg)

    def _caller_text(self, what):
        c = self.caller
        if what == "setup":
            return f"caller {c.number} dials {c.called}"
        if what == "talk over":
            return f"caller hangs up after talking {c.talk:g} s"
        if what == "abandoned":
            return f"caller gives up after {c.patience:g} s and hangs up"
        if what == "agent":
            return f"caller is talking to {c.agent}"
        if what.startswith("refused"):
            return f"caller cannot get through: {what[8:]}"
        return None

    def _engine_line(self, line):
        """Return [(seconds, text)] for one event-log line about our call (nothing for other lines)."""
        parts = line.split(" ")
        t = int(parts[0]) / SAMPLE_RATE
        kind = parts[1]
        f = dict(p.split("=", 1) for p in parts[2:] if "=" in p)
        ours = self.call is not None and (f.get("call") == self.call.id
                                          or f.get("task", "").startswith(self.call.id + ":"))
        if kind == "offered":
            if f.get("caller") != self.caller.number or self.legs:
                return []
            self.legs[f["leg"]] = "caller"
            return [(t, f"call {f['call']} arrives on {f['tech']} channel {f['channel']}, from {f['caller']} "
                        f"to {f['called']}")]
        if kind == "originate" and ours:
            target = f["target"]
            self.legs[f["leg"]] = f"{target} ({self.agents[target]})" if target in self.agents else target
            return [(t, f"dials {self.legs[f['leg']]}")]
        legs = [f[k] for k in ("leg", "a", "b") if k in f]
        if kind == "record_start" and any(leg in self.legs for leg in legs):
            self._recordings.add(f["path"])
        if not ours and not any(leg in self.legs for leg in legs) and f.get("path") not in self._recordings:
            return []
        leg = f.get("leg")
        caller_leg = leg is not None and self.legs.get(leg) == "caller"
        if kind == "play":
            names = f["prompts"].split("+")
            prompts = [n for n in names if not n.startswith("audio:")]
            # the engine plays LANG/NAME when the call's language has the prompt (ivr.localise), else NAME:
            # a bare name is the default language's
            langs = {n.split("/", 1)[0] if "/" in n else self.lang for n in prompts}
            text = f"plays {', '.join(_sound(n) for n in names)}" + (f" [{', '.join(sorted(langs))}]" if langs else "")
            if f.get("barge_in", "-") != "-":
                text += f" (keys {f['barge_in']} interrupt it)"
            if caller_leg:
                self.last_play = t
            return [(t, text if caller_leg else f"{self._who(leg)} hears: {text[6:]}")]
        if kind == "dtmf":
            return [(t, f"\0hears {leg} {f['digit']}")]
        if kind == "set":
            value = self.call.vars.get(f["name"]) if self.call is not None else None
            return [(t, f"sets {f['name']} = {value}")]
        if kind == "answered":
            return [(t, "the centre answers" if caller_leg else f"{self._who(leg)} answers")]
        if kind == "alerting":
            return [(t, f"{self._who(leg)} rings")]
        if kind in ("bridged", "hand_off"):
            pair = tuple(sorted((f["a"], f["b"])))
            if kind == "bridged" and pair in self._bridged:
                return []
            self._bridged.add(pair)
            other = f["b"] if self.legs.get(f["a"]) == "caller" else f["a"]
            return [(t, f"the caller is connected to {self._who(other)}")]
        if kind == "ended":
            cause = int(f["cause"])
            who = "the caller's line" if caller_leg else self._who(leg)
            return [(t, f"{who} ends: cause {cause} ({cause_name(cause)})")]
        if kind == "release":
            cause = int(f["cause"])
            return [(t, f"the centre clears the call: cause {cause} ({cause_name(cause)})")]
        simple = _LOG_TEXT.get(kind)
        if simple is not None:
            return [(t, simple(f))]
        if kind in ("acd_offer", "acd_connect", "acd_cancel"):
            return []  # the queue log says the same with the queue's name
        rest = " ".join(f"{k}={v}" for k, v in f.items() if k not in ("call", "leg"))
        return [(t, f"{kind} {rest}".strip())]


def _sound(name):
    """Return how a played prompt reads in a transcript: its name, or 'a 0.25 s sound' for raw audio."""
    if name.startswith("audio:"):
        return f"a {name[6:-1]} s sound"
    return name


# event-log lines that read the same whatever the call: kind -> fn(fields) -> text
_LOG_TEXT = {
    "menu": lambda f: f"menu choice {f['choice']}",
    "handoff": lambda f: f"continues in script {f['to'].rsplit('_', 1)[0]}",  # the loader's module: NAME_N
    "script": lambda f: f"script log: {f['msg'].replace('_', ' ')}",
    "record_start": lambda f: f"recording to {os.path.basename(f['path'])}",
    "record_stop": lambda f: f"recording stopped after {f['seconds']} s",
    "script_done": lambda f: f"script {f['task'].split(':', 1)[1]} ends",
    "script_error": lambda f: f"the script raised {f['error']}",
    "call_ended": lambda f: "call over",
    "refused": lambda f: f"the centre refuses the call ({f.get('reason', '-')})",
}

# queue-log events as a script author reads them; fields: queue, agent, and the entry's data
_QUEUE_TEXT = {
    "ENTER": "enters queue {queue}",
    "OFFER": "queue {queue} offers the call to {agent}",
    "CONNECT": "{agent} takes the call from queue {queue} after {wait:.1f} s",
    "RINGNOANSWER": "{agent} does not answer",
    "ABANDON": "leaves queue {queue} after {wait:.1f} s (abandoned)",
    "EXITWITHTIMEOUT": "leaves queue {queue} after {wait:.1f} s (waited too long)",
    "EXITEMPTY": "leaves queue {queue}: {reason}",
    "JOINREFUSED": "queue {queue} refuses the call: {reason}",
    "CALLBACK": "asks queue {queue} for a callback on {number}",
    "WRAPUPEND": "{agent} ends wrap-up after {acw:.1f} s",
    "COMPLETE": "call with {agent} over (talked {talk:.1f} s)",
    "TRANSFER": "{agent} transfers the call to {target} (talked {talk:.1f} s)",
}


def _queue_text(e):
    """Return a transcript line for one queue-log entry."""
    fields = {"wait": 0.0, "acw": 0.0, "talk": 0.0, "reason": "-", "number": "-", "target": "-", **e.data,
              "queue": e.queue, "agent": e.agent}
    form = _QUEUE_TEXT.get(e.event)
    if form is None:
        return f"queue {e.queue}: {e.event} " + " ".join(f"{k}={v}" for k, v in e.data.items())
    return form.format(**fields) + (" (transferred)" if e.event == "ENTER" and e.data.get("transferred") else "")


def cdr_text(cdr):
    """Return the CDR's transcript line."""
    parts = [f"CDR {cdr['call_id']}: outcome {cdr['outcome']}", f"disposition {cdr['disposition']}"]
    if cdr.get("queue"):
        parts.append(f"queue {cdr['queue']}")
    if cdr.get("agent"):
        parts.append(f"agent {cdr['agent']}")
    parts.append(f"duration {cdr['duration']:.1f} s" if cdr.get("duration") is not None else "duration -")
    if cdr.get("cause") is not None:
        parts.append(f"cause {cdr['cause']} ({cause_name(int(cdr['cause']))})")
    return ", ".join(parts)
