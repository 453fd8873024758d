"""The desk commands of the CTI back end: what the agent desktop and the supervisor console add to call
control (wrap-ups into the CDR, customer records, callbacks, DTMF, recording pause, recordings search and
play links, quality checks, transfers to outside numbers and cancelling a consultation). A mixin of :class:`~pycallcenter.cti.backend.AcdBackend`: it uses the back
end's ACD, engine, agent and leg helpers, and its ``customers`` (a
:class:`~pycallcenter.storage.customers.Customers`, or None without a database) and ``desk_config``.
Each command takes (who, message) and checks its own fields; docs/cti.md is the reference.
"""
import datetime as _dt
import re
import secrets
import time

from pycallcenter.acd.core import AcdError
from pycallcenter.acd.engine_binding import QueueResult
from pycallcenter.cti import protocol as P
from pycallcenter.dsp.toneplans import dtmf_spec
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.ivr import wait
from pycallcenter.storage import quality, survey

RECENT_CALLS = 5  # calls per agent a wrap-up may still name
WRAPUP_RETRY_TICKS = 3000  # ticks (a minute) a wrap-up waits for its call's CDR to be written
GRANT_SECONDS = 300.0  # how long a recording's play link works
_DIGITS = re.compile(r"[0-9*#A-Da-d]{1,32}")
_NUMBER = re.compile(r"[0-9]{2,24}")
_VAR = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,31}")
MAX_CALL_VARS = 32  # variables an agent may add to a call (its screen pop and CDR carry them)
OUTSIDE_RING_SECONDS = 45.0  # a blind transfer's outside number rings no longer (then cause 19, no answer)


def _field(msg, key, kind=str, default=None, limit=4000, required=False):
    """Return msg[key] checked to be of kind (text cut at limit; None when absent or null, unless required);
    CtiError bad_message names the field."""
    value = msg.get(key, default)
    if value is None:
        if required:
            raise P.CtiError(P.BAD_MESSAGE, f"{key} is required")
        return None
    if kind is str and isinstance(value, str):
        return value[:limit]
    if kind is not str and isinstance(value, kind) and not isinstance(value, bool):
        return value
    raise P.CtiError(P.BAD_MESSAGE, f"{key} must be {'text' if kind is str else kind.__name__}")


class DeskCommands:
    """The desk commands (mixed into AcdBackend)."""

    def _store(self):
        if self.customers is None:
            raise P.CtiError(P.NOT_SUPPORTED, "this centre has no database for customer records and wrap-ups")
        return self.customers

    def desk(self, who, msg, role=P.AGENT):
        """Return what the desktop or console offers: reasons, dispositions (and, for supervisors, the
        quality criteria), and whether records and callbacks are kept."""
        d = self.desk_config
        out = {"reasons": list(d.reasons), "dispositions": list(d.dispositions), "records": self.customers is not None,
               "callbacks": self.customers is not None and self.customers.callbacks is not None}
        if role == P.SUPERVISOR:
            out["criteria"] = [{"name": c.name, "weight": c.weight, "fatal": c.fatal} for c in d.criteria]
            out["score_max"] = quality.SCORE_MAX
        return out

    def wrapup(self, agent, msg):
        """Save a disposition code and notes with one of the agent's own recent calls (default: the latest)."""
        self._agent(agent)
        code = _field(msg, "code", required=True)
        notes = _field(msg, "notes", default="")
        if self.desk_config.dispositions and code not in self.desk_config.dispositions:
            raise P.CtiError(P.BAD_MESSAGE, f"code must be one of {', '.join(self.desk_config.dispositions)}")
        recent = self._calls_of.get(agent, [])
        call = _field(msg, "call", default=recent[-1] if recent else None)
        if call is None:
            raise P.CtiError(P.BAD_STATE, f"no_call: {agent} has had no call to wrap up")
        if call not in recent:  # an agent disposes of their own calls only
            raise P.CtiError(P.FORBIDDEN, f"not_your_call: {call} was not {agent}'s call")
        store = self._store()
        if self.engine.calls.get(call) is not None or not store.wrapup(call, agent, code, notes):
            self._pending_wrapups.append((call, agent, code, notes, WRAPUP_RETRY_TICKS))
            return {"call": call, "saved": False}
        return {"call": call, "saved": True}

    def _retry_wrapups(self):
        """Write the wrap-ups whose calls have their CDR now; tell the agent; give up after a minute."""
        keep = []
        for call, agent, code, notes, left in self._pending_wrapups:
            if self.engine.calls.get(call) is None and self.customers.wrapup(call, agent, code, notes):
                self._out.append(P.event("wrapup_saved", agent=agent, call=call, code=code))
            elif left > 1:
                keep.append((call, agent, code, notes, left - 1))
            else:
                self._out.append(P.event("wrapup_failed", agent=agent, call=call, reason="no CDR for the call"))
        self._pending_wrapups = keep

    def customer(self, who, msg):
        """Return a caller number's customer record (or null) and contact history."""
        number = _field(msg, "number", limit=40, required=True)
        store = self._store()
        return {"number": number, "customer": store.get(number), "history": store.history(number)}

    def customer_save(self, who, msg):
        """Create or change a number's customer record (name, notes, data); return it."""
        try:
            rec = self._store().save(_field(msg, "number", limit=40, required=True), _field(msg, "name"), _field(msg, "notes"),
                                     _field(msg, "data", dict), by=who)
        except ValueError as exc:
            raise P.CtiError(P.BAD_MESSAGE, str(exc)) from None
        return {"customer": rec}

    def callback(self, agent, msg):
        """Schedule a callback to a number ('at': local ISO time, default as soon as possible) in the queue of
        the agent's latest call (or 'queue'); the centre's dialler makes it ([callbacks] enabled)."""
        a = self._agent(agent)
        store = self._store()
        if store.callbacks is None:
            raise P.CtiError(P.NOT_SUPPORTED, "this centre keeps no callbacks")
        number = _field(msg, "number", limit=24)
        if not _NUMBER.fullmatch(number or ""):
            raise P.CtiError(P.BAD_MESSAGE, "number must be 2..24 digits")
        at = _field(msg, "at", limit=40)
        try:
            when = _dt.datetime.fromisoformat(at) if at else None
        except ValueError:
            raise P.CtiError(P.BAD_MESSAGE, f"at must be a local time such as 2026-12-08T10:30, got {at!r}") from None
        queue = _field(msg, "queue") or self._latest_queue(agent) or next(iter(sorted(a.queues)), "")
        if queue not in self.acd.queues:
            raise P.CtiError(P.BAD_MESSAGE, f"no queue {queue!r}")
        self._allowed(agent, number)  # the dial policy holds for callbacks too
        now = _dt.datetime.fromtimestamp(self.engine.epoch + self._now())
        cid = store.callbacks.request(number, queue, now, caller=agent, at=when)
        return {"callback": cid, "queue": queue}

    def _latest_queue(self, agent):
        for call in reversed(self._calls_of.get(agent, [])):
            qc = self.acd.calls.get(call)
            if qc is not None:
                return qc.queue
        return None

    def dtmf(self, agent, msg):
        """Send DTMF digits to the far party of the agent's call (an IVR or a card line on the other end)."""
        digits = _field(msg, "digits", limit=40)
        if not _DIGITS.fullmatch(digits or ""):
            raise P.CtiError(P.BAD_MESSAGE, "digits are 1..32 of 0-9 * # A-D")
        leg = self._leg(agent)
        far = [l for l in leg.call.legs if l is not leg and l.active] if leg.call is not None else []
        if not far:
            raise P.CtiError(P.BAD_STATE, f"not_connected: {agent}'s call has no far party")
        self.engine.media.start_tone(far[0].row, dtmf_spec(digits.upper()))
        return {"digits": digits}

    def _recorders(self, agent):
        leg = self._leg(agent)
        rows = {l.row for l in leg.call.legs} if leg.call is not None else {leg.row}
        recs = [r for r in self.engine.media.recorders if r.row in rows]
        if not recs:
            raise P.CtiError(P.BAD_STATE, f"not_recording: {agent}'s call is not being recorded")
        return recs

    def record_pause(self, agent, msg):
        """Pause the recording of the agent's call (a card number is being read out)."""
        for rec in self._recorders(agent):
            rec.pause()
        self._out.append(P.event("recording_paused", agent=agent, call=self._leg(agent).call.id))
        return {"paused": True}

    def record_resume(self, agent, msg):
        """Resume the recording of the agent's call."""
        for rec in self._recorders(agent):
            rec.resume()
        self._out.append(P.event("recording_resumed", agent=agent, call=self._leg(agent).call.id))
        return {"paused": False}

    def call_data(self, agent, msg):
        """Set variables on the agent's current call (a note for the next agent): they travel with the call
        through transfers, pop up on the next agent's screen and land in the call's CDR; return them all."""
        a = self._agent(agent)
        data = _field(msg, "data", dict, required=True)
        qc = self.acd.calls.get(a.call) if a.call is not None else None
        call = self.engine.calls.get(a.call) if a.call is not None else None
        if a.activity != "talking" or qc is None or call is None:
            raise P.CtiError(P.BAD_STATE, f"not_in_call: {agent} is {a.state}")
        if len(data) > MAX_CALL_VARS or len(set(data) | set(call.vars)) > 2 * MAX_CALL_VARS:
            raise P.CtiError(P.BAD_MESSAGE, f"data: at most {MAX_CALL_VARS} variables")
        for key, value in data.items():
            if not _VAR.fullmatch(key):
                raise P.CtiError(P.BAD_MESSAGE, f"data: {key[:40]!r} is not a variable name (a letter, then letters, "
                                                f"digits or _; 32 at most)")
            if isinstance(value, bool) or not isinstance(value, (str, int, float)):
                raise P.CtiError(P.BAD_MESSAGE, f"data.{key} must be text or a number")
        for key, value in data.items():
            value = value[:1000] if isinstance(value, str) else value
            qc.data[key] = call.vars[key] = value
        return {"call": call.id, "data": self._screen_pop(call.id)["data"]}

    # --- transfers to outside numbers -------------------------------------------------------------
    def transfer_outside(self, agent, target, attended=False, leg=None):
        """Hand the agent's caller to an outside number ('trunk/number' or a number on the outbound trunk)
        through the agent's dial policy: blind rings it now, attended hands over the party consulted and
        answered. The caller's call keeps going with that party (one call, one CDR) and the agent goes to
        wrap-up (leg: the agent's leg when it has just ended, a conference left by hanging up the phone);
        return {"call", "target"}."""
        a = self._agent(agent)
        leg = leg or self._leg(agent)
        if a.activity != "talking" or a.call != leg.call.id or self.binding.agent_leg.get(agent) is not leg:
            raise P.CtiError(P.BAD_STATE, f"not_in_call: {agent} has no queue call to transfer")
        dest = self._target(target, agent)  # a refused number: forbidden, and nothing is dialled
        call = leg.call
        if attended:
            far = self._consult.get(agent)
            if far is None or far.state != C.ANSWERED:
                raise P.CtiError(P.BAD_STATE, "no_consultation: consult the number and wait for the answer first")
            if far.called != dest.split("/", 1)[1]:  # the consultation is with someone else (an agent, another number)
                raise P.CtiError(P.BAD_STATE, f"no_consultation: {agent} consults another party, not {target}")
            del self._consult[agent]
        elif agent in self._consult:  # the consulted party would be left ringing or talking to nobody
            raise P.CtiError(P.BAD_STATE, f"consulting: {agent} consults; complete or cancel that first")
        else:
            far = self._originate(dest, call=call, caller=call.caller_leg.caller)
        try:
            self._hand_over(agent, leg, far, target)  # the ACD's TRANSFER line becomes the call_transferred event
        except P.CtiError:
            if not attended:
                far.hangup(C.NORMAL_CLEARING)
            raise
        if not attended:
            self._ring_out(far, call.caller_leg, OUTSIDE_RING_SECONDS)
        call.vars["transferred_to"] = target  # the CDR says where the call went
        return {"call": call.id, "target": target}

    def _hand_over(self, agent, leg, far, target):
        """End the agent's part in the ACD (a TRANSFER to target), connect the caller to far and release the
        agent's leg; CtiError bad_state, with nothing changed but the hold, if the ACD refuses."""
        b, now, cid = self.binding, self._now(), leg.call.id
        qc = self.acd.calls.get(cid)
        try:
            if qc is not None and qc.hold_since is not None:
                self._apply(self.acd.hold(agent, now, False))
            decisions = self.acd.transfer_out(agent, target, now)  # the agent's talk ends here: wrap-up follows
        except AcdError as exc:  # not expected after transfer_outside's checks
            self.bug("transfer_outside")
            raise P.CtiError(P.BAD_STATE, str(exc)) from None
        b.leg_owner.pop(leg.id, None)
        b.agent_leg.pop(agent, None)
        first = leg.call.caller_leg
        if first.keeper is b:  # queue_call(talk=False): no script waits for the caller; the engine keeps the pair
            first.keeper = None
            self.engine.hand_off(first, far)
        else:  # the caller's queue_call bridges them to far when the agent's leg ends (as after a transfer)
            b.results[cid] = QueueResult("answered", agent, far)
        self._apply(decisions)
        leg.hangup(C.NORMAL_CLEARING)
        handset = self.handsets.get(agent)
        if handset is not None:  # the leg's end no longer names its agent (owner popped above): put it down here
            handset.on_hook()

    def _ring_out(self, far, first, seconds):
        """While far rings, give the caller (leg first) ringback; hang far up (cause 19) if it is still
        unanswered after seconds of board time: nobody else waits for a blind transfer's number."""
        end, media = self.engine.now + seconds * SAMPLE_RATE, self.engine.media

        async def ring():
            while far.active and far.state != C.ANSWERED and first.active:
                if self.engine.now >= end:
                    far.hangup(C.NO_ANSWER)
                    break
                if first.row not in media.tone_rows:  # (again) after the script bridged the two
                    media.start_tone(first.row, "ringback")
                await wait(self.engine, 0.1)
            if first.active:
                media.stop_tone(first.row)

        self.engine.scheduler.spawn(ring(), f"{far.id}:ring-out", self.engine.now,
                                    on_error=lambda task, exc: self.bug("transfer_outside"))

    def consult_cancel(self, agent, msg):
        """End the agent's consultation (hang up the consulted party) and take the caller off hold."""
        far = self._consult.pop(agent, None)
        if far is None:
            raise P.CtiError(P.BAD_STATE, f"no_consultation: {agent} is not consulting")
        self._on_answer.pop(far.id, None)
        if far.active:
            far.hangup(C.NORMAL_CLEARING)
        qc = self.acd.calls.get(self.acd.agents[agent].call) if agent in self.acd.agents else None
        if qc is not None and qc.hold_since is not None:
            try:
                self.binding.hold(agent, False)
            except AcdError as exc:
                raise P.CtiError(P.BAD_STATE, str(exc)) from None
        return {"cancelled": True}

    # --- the supervisor console --------------------------------------------------------------------
    def recordings(self, supervisor, msg):
        """Return recordings matching since, until (ISO dates), agent, queue, caller (prefix), disposition."""
        store = self._store().store
        f = {k: _field(msg, k, limit=40) for k in ("since", "until", "agent", "queue", "caller", "disposition")}
        return {"recordings": quality.search_recordings(store, **f, limit=200)}

    def recording_open(self, supervisor, msg):
        """Return a short-lived link (for this supervisor only) that plays a recording in the page."""
        rec_id = _field(msg, "recording", int, required=True)
        found = quality.recording_path(self._store().store, rec_id)
        if found is None:
            raise P.CtiError(P.BAD_STATE, f"no_recording: {rec_id}")
        now = time.monotonic()
        for token in [t for t, g in self.grants.items() if g[2] < now]:
            self.grants.pop(token, None)
        token = secrets.token_urlsafe(24)
        self.grants[token] = (supervisor, found[0], now + GRANT_SECONDS)
        return {"url": f"/recording/{token}", "recording": rec_id}

    def quality_check(self, supervisor, msg):
        """Score a recorded call on the configured criteria; return the stored check (total 0..100)."""
        scores = _field(msg, "scores", dict)
        try:
            row = quality.save_check(self._store().store, self.desk_config.criteria, _field(msg, "recording", int, required=True),
                                     supervisor, scores or {}, _field(msg, "comments", default=""))
        except LookupError as exc:
            raise P.CtiError(P.BAD_STATE, f"no_recording: {exc}") from None
        except ValueError as exc:
            raise P.CtiError(P.BAD_MESSAGE, str(exc)) from None
        return {"check": row}

    def quality_report(self, supervisor, msg):
        """Return quality checks per agent and the post-call survey per agent and queue between since and
        until (ISO dates)."""
        store, since, until = self._store().store, _field(msg, "since", limit=40), _field(msg, "until", limit=40)
        return {"agents": quality.report(store, since, until), "survey": survey.report(store, since, until)}
