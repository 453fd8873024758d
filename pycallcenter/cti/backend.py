"""What the CTI server needs from the call centre, and its implementation over the ACD binding.

:class:`Backend` lists the operations (every one refuses with ``not_supported`` until implemented);
:class:`AcdBackend` runs them on an :class:`~pycallcenter.acd.engine_binding.AcdBinding` and its
engine, and turns ACD decisions, queue-log lines, engine leg events and agent state changes into
CTI events. Everything here runs on the engine's thread, called from the hub's per-tick poll.
"""

from pycallcenter.acd.core import AcdError
from pycallcenter.cti import protocol as P
from pycallcenter.cti import wallboard as figures
from pycallcenter.cti.config import DeskConfig, DialPolicy
from pycallcenter.cti.desk_commands import RECENT_CALLS, DeskCommands
from pycallcenter.engine import call as C
from pycallcenter.engine.analog import FxsExtensions

# The ACD writes a queue-log line naming the agent for every change of an agent's state (login, pause,
# offer, connect, wrap-up, ...), so events() compares only the agents its lines name: with 500 agents,
# comparing all of them every tick was three quarters of the hub's tick. Every SWEEP_TICKS calls (a board
# second at 20 ms) it compares all of them anyway, so a change made past the ACD still shows.
SWEEP_TICKS = 50


class Backend:
    """The call-centre operations a CTI server exposes; subclasses implement what they can."""

    def _no(self, *args, **kw):
        raise P.CtiError(P.NOT_SUPPORTED, "this back end does not support that command")

    login = logout = ready = not_ready = end_wrapup = answer = hangup = dial = hold = retrieve = _no
    consult = transfer = conference = record_start = record_stop = pickup = dnd = monitor = _no
    force_logout = force_state = set_member = remove_member = set_skills = set_strategy = _no
    desk = wrapup = customer = customer_save = callback = dtmf = record_pause = record_resume = _no
    recordings = recording_open = quality_check = quality_report = consult_cancel = call_data = _no

    def snapshot(self):
        """Return {'time', 'queues': [...], 'agents': [...]} (the wallboard and supervisor view)."""
        return {"time": 0.0, "queues": [], "agents": []}

    def events(self):
        """Return the event frames that happened since the last call."""
        return []

    def wallboard(self):
        """Return the wallboard view (pycallcenter.cti.wallboard.view)."""
        return self.snapshot()


def _acd(fn):
    """Turn the ACD's refusals into CTI bad_state errors carrying the ACD's own code."""
    def wrapper(self, *args, **kw):
        try:
            return fn(self, *args, **kw)
        except AcdError as exc:
            raise P.CtiError(P.BAD_STATE, str(exc)) from None
    wrapper.__doc__ = fn.__doc__
    wrapper.__name__ = fn.__name__
    return wrapper


class AcdBackend(DeskCommands, Backend):
    """The CTI operations on the ACD and engine.

    handsets: agent (or supervisor) -> an object with off_hook()/on_hook() (an emulated phone, a
    softphone), used by ``answer``; without one the agent lifts the handset themselves.
    contacts: supervisor -> contact ('channel/N') rung for listen/whisper/barge.
    outbound_trunk: trunk name ('pri1', 'pstn2') that ``dial`` and external targets use.
    dial: the :class:`~pycallcenter.cti.config.DialPolicy` every outside number an agent reaches passes
    (default: no international, no premium-rate numbers). thresholds: the wallboard's alert thresholds.
    """

    def __init__(self, binding, handsets=None, contacts=None, outbound_trunk=None, dial=None, thresholds=None,
                 customers=None, desk=None):
        self.binding, self.acd, self.engine = binding, binding.acd, binding.engine
        self.handsets = dict(handsets or {})
        self.contacts = dict(contacts or {})
        self.outbound_trunk = outbound_trunk
        self._dec = binding.decisions.reader("cti")  # registered readers: what both have read is dropped
        self._qlog = self.acd.qlog.reader("cti")
        self._states = {n: (a.state, a.reason) for n, a in self.acd.agents.items()}
        self._sweep_in = SWEEP_TICKS  # events() calls until every agent's state is compared again
        self._lost = 0  # queue-log entries this reader lost to the journal's bound (then: compare everyone)
        self._out = []
        self._on_answer = {}  # leg id -> fn(leg) run when that leg is answered
        self._leg_agent = {}  # agent leg id -> agent, kept past the binding's own bookkeeping
        self._consult = {}  # agent -> consultation leg
        self._recording = {}  # agent -> Recorder
        self._own_legs = {}  # agent -> leg of a call the agent placed (dial), not an ACD call
        self._conference = {}  # agent -> (third party's leg, target as given) of the agent's conference
        self.dial_policy = dial or DialPolicy()
        self.thresholds = thresholds or figures.Thresholds()
        self._handled = {}  # queue -> [calls whose handling ended today, their talk + hold + wrap-up seconds]
        # fn(what), called inside an except block: a bug counted in bounded bookkeeping (the hub sets it)
        self.bug = lambda what: self.engine.log("cti_internal", cmd=what)
        # the desktop's storage (pycallcenter.storage.customers.Customers; None: no database) and codes
        self.customers = customers
        self.desk_config = desk or DeskConfig()
        self._calls_of = {}  # agent -> the call ids they were connected to lately (newest last): wrap-up targets
        self._pending_wrapups = []  # (call id, agent, code, notes, ticks left): the CDR is not written yet
        self.grants = {}  # token -> (supervisor, recording path, expiry on time.monotonic): GET /recording/TOKEN
        self.engine.listeners.insert(0, self)  # before the binding forgets whose leg ended

    def close(self):
        """Unregister from the engine and the journals (a reader left behind would hold every entry the
        others have read, up to the journal's bound); return None. Safe to call twice."""
        self.binding.decisions.close(self._dec)
        self.acd.qlog.close(self._qlog)
        if self in self.engine.listeners:
            self.engine.listeners.remove(self)

    # --- helpers ---------------------------------------------------------------------------------
    def _now(self):
        return self.binding.seconds()

    def _agent(self, name):
        a = self.acd.agents.get(name)
        if a is None:
            raise P.CtiError(P.BAD_STATE, f"unknown_agent: no agent {name!r}")
        return a

    def _leg(self, agent):
        leg = self.binding.agent_leg.get(agent) or self._own_legs.get(agent)
        if leg is None or not leg.active:
            raise P.CtiError(P.BAD_STATE, f"not_in_call: {agent} has no call")
        return leg

    def _target(self, target, agent):
        """Return the engine target for an agent name, 'channel/N', 'trunk/number' or a bare number; an outside
        number must pass the agent's dial policy (CtiError forbidden)."""
        if target in self.acd.agents:
            return self.acd.agents[target].contact
        if target.startswith("channel/"):
            return self._extension(target)
        self._allowed(agent, target.split("/", 1)[1] if "/" in target else target)
        if "/" in target:
            return target
        if self.outbound_trunk is None:
            raise P.CtiError(P.NOT_SUPPORTED, "no outbound trunk configured for external numbers")
        return f"{self.outbound_trunk}/{target}"

    def _extension(self, target):
        """Return target ('channel/N') when N is an extension (FXS) port; CtiError forbidden otherwise.

        'channel/N' names a board channel, and a trunk's channel would place a call with no number on
        that trunk, past the dial policy: only the extension ports a phone hangs on are reachable so."""
        ch = target[len("channel/"):]
        if not (ch.isdigit() and any(isinstance(a, FxsExtensions) and int(ch) in a.lines
                                     for a in self.engine.adapters)):
            raise P.CtiError(P.FORBIDDEN, f"{target} is not an extension port (outside numbers are dialled by "
                                          "number)")
        return target

    def _allowed(self, agent, number):
        """Raise CtiError forbidden unless the agent's dial policy lets them reach the outside number."""
        why = self.dial_policy.check(agent, number)
        if why is not None:
            raise P.CtiError(P.FORBIDDEN, f"dial_refused: {why}")

    def _originate(self, target, call=None, caller=""):
        try:
            leg = self.engine.originate(target, caller=caller, call=call)
        except ValueError as exc:
            raise P.CtiError(P.BAD_MESSAGE, str(exc)) from None
        if leg is None:
            raise P.CtiError(P.BAD_STATE, f"busy: {target} has no free line")
        return leg

    def _apply(self, decisions):
        self.binding.apply(decisions)
        return {}

    # --- agent state -----------------------------------------------------------------------------
    @_acd
    def login(self, agent, ready=True, contact=None):
        """Log the agent in (on contact, an extension port, when hot-desking); return {}."""
        if contact is not None:
            self._extension(contact)
        phone = contact or self._agent(agent).contact  # a hot-desker may hold this agent's own phone
        taken = [a.name for a in self.acd.agents.values()
                 if phone and a.logged_in and a.contact == phone and a.name != agent]
        if taken:
            raise P.CtiError(P.FORBIDDEN, f"{phone} is the phone of {taken[0]}, who is logged in")
        return self._apply(self.acd.login(agent, self._now(), contact=contact, ready=ready))

    @_acd
    def logout(self, agent):
        """Log the agent out."""
        return self._apply(self.acd.logout(agent, self._now()))

    @_acd
    def ready(self, agent):
        """Make the agent ready (unpause)."""
        return self._apply(self.acd.pause(agent, self._now(), paused=False))

    @_acd
    def not_ready(self, agent, reason=""):
        """Pause the agent with a reason code."""
        return self._apply(self.acd.pause(agent, self._now(), reason=reason or "-", paused=True))

    @_acd
    def end_wrapup(self, agent):
        """End after-call work."""
        return self._apply(self.acd.end_wrapup(agent, self._now()))

    @_acd
    def dnd(self, agent, on=True):
        """Set or clear do-not-disturb."""
        self._agent(agent)
        return self._apply(self.acd.set_dnd(agent, self._now(), bool(on)))

    # --- call control ----------------------------------------------------------------------------
    def answer(self, agent):
        """Lift the agent's handset for the call ringing it."""
        a = self._agent(agent)
        if a.activity != "ringing":
            raise P.CtiError(P.BAD_STATE, f"not_ringing: {agent} is {a.state}")
        handset = self.handsets.get(agent)
        if handset is None:
            raise P.CtiError(P.NOT_SUPPORTED, f"{agent}'s phone cannot be answered remotely; lift the handset")
        handset.off_hook()
        return {"call": a.call}

    def hangup(self, agent):
        """Hang up the agent's call. An agent leaving a conference hands the call over to its third party
        (an attended transfer to the agent or the outside number), so the caller and they stay connected."""
        leg = self._leg(agent)
        handed = self._leave_conference(agent, leg)
        if handed is not None:
            return handed
        leg.hangup(C.NORMAL_CLEARING)
        return {}

    def _leave_conference(self, agent, leg):
        """Hand the conference the agent leaves (from the page, or by hanging up the phone: leg) over to its
        third party: an agent takes the call over, an outside number stays with the caller; return the
        transfer's reply, or None when there is nothing to hand over (not a queue call: everyone's part ends)."""
        conf = self._conference.pop(agent, None)
        if conf is None:
            return None
        far, target = conf
        if not far.active or self.acd.agents[agent].activity != "talking":
            return None
        self._consult[agent] = far
        try:
            if target in self.acd.agents:
                return self.transfer(agent, target, attended=True)
            if far.state == C.ANSWERED:
                return self.transfer_outside(agent, target, attended=True, leg=leg)
        except P.CtiError:
            pass
        self._consult.pop(agent, None)
        return None

    @_acd
    def hold(self, agent):
        """Put the caller on hold (music)."""
        self._agent(agent)
        self.binding.hold(agent, True)
        return {}

    @_acd
    def retrieve(self, agent):
        """Take the caller off hold."""
        self._agent(agent)
        self.binding.hold(agent, False)
        return {}

    def dial(self, agent, number):
        """Click to dial: ring the agent's phone, and when it is answered call the number and bridge."""
        a = self._agent(agent)
        if not a.contact:
            raise P.CtiError(P.BAD_STATE, f"no_contact: {agent} has no phone")
        if a.activity != "idle" or agent in self._own_legs:
            raise P.CtiError(P.BAD_STATE, f"agent_busy: {agent} is {a.state}")
        target = self._target(number, agent)
        own = self._originate(a.contact, caller=number)
        self._own_legs[agent] = own
        self._leg_agent[own.id] = agent

        def connect(leg):
            try:
                far = self._originate(target, call=leg.call, caller=agent)
            except P.CtiError as exc:
                self._out.append(P.event("call_failed", agent=agent, call=leg.call.id, reason=str(exc)))
                leg.hangup(C.NO_CIRCUIT)
                return
            self._on_answer[far.id] = lambda f: self.engine.bridge(leg, f)

        self._on_answer[own.id] = connect
        return {"call": own.call.id}

    @_acd
    def consult(self, agent, target):
        """Hold the caller and ring the target (an agent) for an attended transfer or a conference."""
        leg = self._leg(agent)
        if agent in self._consult:
            raise P.CtiError(P.BAD_STATE, f"consulting: {agent} already consults")
        if self.acd.agents[agent].call is not None:
            self.binding.hold(agent, True)
        far = self._originate(self._target(target, agent), call=leg.call, caller=agent)
        self._consult[agent] = far
        self._on_answer[far.id] = lambda f: self.engine.bridge(leg, f)
        return {"call": leg.call.id}

    @_acd
    def transfer(self, agent, target, attended=False):
        """Blind (default) or attended transfer to an agent, 'queue:NAME' or an outside number; call data goes along."""
        if not target.startswith("queue:") and target not in self.acd.agents:
            return self.transfer_outside(agent, target, attended)  # desk_commands: a number, through [dial]
        a = self._agent(agent)
        if attended:
            far = self._consult.pop(agent, None)
            if far is None or far.state != C.ANSWERED or target not in self.acd.agents:
                raise P.CtiError(P.BAD_STATE, "no_consultation: consult an agent and wait for the answer first")
            call = self.acd.calls[a.call]
            if call.hold_since is not None:
                self.acd.hold(agent, self._now(), False)
            self.binding.agent_leg[target] = far
            self.binding.leg_owner[far.id] = (target, call.id)
            self._leg_agent[far.id] = target
            try:
                self.binding.transfer(agent, target, attended=True)
            except AcdError:
                self.binding.agent_leg.pop(target, None)
                self.binding.leg_owner.pop(far.id, None)
                raise
            return {}
        if a.activity != "talking":
            raise P.CtiError(P.BAD_STATE, f"not_in_call: {agent} is {a.state}")
        self.binding.transfer(agent, target, attended=False)
        return {}

    def conference(self, agent, target):
        """Join the caller, the agent and the consulted party (or a newly rung target) in a conference."""
        leg = self._leg(agent)
        call = leg.call
        far = self._consult.pop(agent, None)
        members = lambda f: [l for l in (call.caller_leg, leg, f) if l is not None and l.active]  # noqa: E731
        if far is not None and far.state == C.ANSWERED:
            qc = self.acd.calls.get(call.id)
            if qc is not None and qc.hold_since is not None:  # consulted: the caller joins, so is off hold
                self._apply(self.acd.hold(agent, self._now(), False))
            self.engine.conference(members(far))
            self._conference[agent] = (far, target)
            self._out.append(P.event("call_conferenced", agent=agent, call=call.id, parties=len(members(far))))
            return {}
        far = self._originate(self._target(target, agent), call=call, caller=agent)

        def join(f):
            self.engine.conference(members(f))
            self._conference[agent] = (f, target)
            self._out.append(P.event("call_conferenced", agent=agent, call=call.id, parties=len(members(f))))

        self._on_answer[far.id] = join
        return {"call": call.id}

    def record_start(self, agent):
        """Record the agent's call (both parties)."""
        leg = self._leg(agent)
        if agent in self._recording:
            raise P.CtiError(P.BAD_STATE, f"recording: {agent} already records")
        rec = self.engine.start_recording(leg, stereo=True)
        self._recording[agent] = rec
        return {"path": rec.path if hasattr(rec, "path") else None}

    def record_stop(self, agent):
        """Stop recording; return the file's stats."""
        rec = self._recording.pop(agent, None)
        if rec is None:
            raise P.CtiError(P.BAD_STATE, f"not_recording: {agent}")
        stats = self.engine.stop_recording(rec)
        return {"path": stats["path"], "seconds": round(stats["seconds"], 2)}

    @_acd
    def pickup(self, agent, call):
        """Take a call ringing another agent: ring this agent's phone and connect the caller to it."""
        a = self._agent(agent)
        qc = self.acd.calls.get(call)
        if qc is None or qc.state != "offered":
            raise P.CtiError(P.BAD_STATE, f"not_ringing: {call} is not ringing anyone")
        if qc.queue not in a.queues:  # an agent reaches the calls of their own queues only
            raise P.CtiError(P.FORBIDDEN, f"not_member: {agent} is not in queue {qc.queue}")
        if not a.logged_in or a.activity != "idle":
            raise P.CtiError(P.BAD_STATE, f"agent_busy: {agent} is {a.state}")
        leg = self._originate(a.contact, call=self.engine.calls.get(call))
        self.binding.agent_leg[agent] = leg
        self.binding.leg_owner[leg.id] = (agent, call)
        self._leg_agent[leg.id] = agent
        self._apply(self.acd.pickup(agent, call, self._now()))
        return {"call": call}

    # --- supervisor --------------------------------------------------------------------------------
    def monitor(self, supervisor, agent, mode):
        """Ring the supervisor's phone; when answered, listen to / whisper to / barge into the agent's call."""
        if mode not in ("listen", "whisper", "barge"):
            raise P.CtiError(P.BAD_MESSAGE, "mode is listen, whisper or barge")
        agent_leg = self._leg(agent)
        contact = self.contacts.get(supervisor)
        if contact is None:
            raise P.CtiError(P.NOT_SUPPORTED, f"supervisor {supervisor} has no phone configured")
        sup = self._originate(contact, caller=agent)

        def start(leg):
            if agent_leg.active:
                self.engine.monitor(leg, agent_leg, mode)
                self._out.append(P.event("monitoring", supervisor=supervisor, agent=agent, mode=mode))

        self._on_answer[sup.id] = start
        handset = self.handsets.get(supervisor)
        return {"ringing": contact, "auto_answer": handset is not None}

    @_acd
    def force_logout(self, agent):
        """Log an agent out (hanging up their call first)."""
        a = self._agent(agent)
        if a.activity == "talking":
            self._leg(agent).hangup(C.NORMAL_CLEARING)
            if a.activity == "talking" and a.call in self.acd.calls:  # the line clears later; the ACD now
                self._apply(self.acd.hangup(a.call, self._now()))
        return self.logout(agent)

    @_acd
    def force_state(self, agent, state, reason="supervisor"):
        """Set an agent ready, not_ready or logged_out."""
        a = self._agent(agent)
        if state == "logged_out":
            return self.force_logout(agent)
        if not a.logged_in:
            return self.login(agent, ready=state == "ready")
        if state == "ready":
            return self.ready(agent) if a.paused else {}
        if state == "not_ready":
            return self.not_ready(agent, reason) if not a.paused else {}
        raise P.CtiError(P.BAD_MESSAGE, "state is ready, not_ready or logged_out")

    # --- live queue changes (supervisors) ---------------------------------------------------------------
    @_acd
    def set_member(self, queue, agent, penalty=0):
        """Put an agent in a queue with a penalty (or change it), from now on."""
        self._apply(self.acd.set_member(queue, agent, penalty, self._now()))
        return {"queue": queue, "agent": agent, "penalty": penalty}

    @_acd
    def remove_member(self, queue, agent):
        """Take an agent out of a queue, from now on."""
        self._apply(self.acd.remove_member(queue, agent, self._now()))
        return {"queue": queue, "agent": agent}

    @_acd
    def set_skills(self, agent, skills):
        """Replace an agent's skills, from now on."""
        self._apply(self.acd.set_skills(agent, skills, self._now()))
        return {"agent": agent, "skills": dict(skills)}

    @_acd
    def set_strategy(self, queue, strategy):
        """Change a queue's strategy, from now on."""
        self._apply(self.acd.set_strategy(queue, strategy, self._now()))
        return {"queue": queue, "strategy": strategy}

    # --- views -----------------------------------------------------------------------------------
    def snapshot(self):
        """Return the wallboard view: every queue's realtime figures and every agent's state."""
        now = self._now()
        queues = []
        for name in self.acd.queues:
            r = self.acd.realtime(name, now)
            r["longest_wait"] = round(r["longest_wait"], 1)
            if r["service_level"] is not None:  # the ACD's one definition (sl_seconds, sl_mode in r)
                r["service_level"] = round(r["service_level"], 4)
            queues.append(r)
        agents = [{"name": a.name, "state": a.state, "reason": a.reason, "call": a.call, "calls": a.calls,
                   "talk_time": round(a.talk_time, 1), "queues": sorted(a.queues)} for a in self.acd.agents.values()]
        return {"time": round(now, 2), "queues": queues, "agents": agents}

    def wallboard(self):
        """Return the wallboard view (pycallcenter.cti.wallboard.view) with today's handle times."""
        busy = {leg.call.id for leg in self._own_legs.values() if leg.call is not None}
        return figures.view(self.acd, self.engine, self._handled, self.thresholds, busy)

    def _screen_pop(self, call_id):
        call = self.engine.calls.get(call_id)
        qc = self.acd.calls.get(call_id)
        first = call.caller_leg if call is not None else None
        data = dict(call.vars) if call is not None else {}
        if qc is not None:
            data.update(qc.data)
        wait = None
        if qc is not None and getattr(qc, "entered", None) is not None:
            wait = round(self._now() - qc.entered, 1)
        return {"call": call_id, "caller": first.caller if first else (qc.caller if qc else ""),
                "caller_name": first.caller_name if first else "", "queue": qc.queue if qc else None,
                "data": data, "wait": wait}

    def events(self):
        """Return the event frames since the last call (ACD decisions, queue log, leg ends, agent states)."""
        out, self._out = self._out, []
        for d in self.binding.decisions.read(self._dec):
            if d.kind == "offer":
                out.append(P.event("call_offered", agent=d.agent, **self._screen_pop(d.call)))
            elif d.kind == "cancel":
                out.append(P.event("call_withdrawn", agent=d.agent, call=d.call))
            elif d.kind == "connect":
                recent = self._calls_of.setdefault(d.agent, [])
                recent.append(d.call)
                del recent[:-RECENT_CALLS]
                out.append(P.event("call_answered", agent=d.agent, **self._screen_pop(d.call)))
        if self._pending_wrapups:
            self._retry_wrapups()
        named = {}  # agents the queue log names, in its order
        for e in self.acd.qlog.read(self._qlog):
            if e.agent != "-":
                named[e.agent] = None
            if e.event in ("HOLD", "UNHOLD"):
                out.append(P.event("call_held" if e.event == "HOLD" else "call_retrieved", agent=e.agent, call=e.call))
            elif e.event == "TRANSFER":
                qc = self.acd.calls.get(e.call)
                out.append(P.event("call_transferred", agent=e.agent, call=e.call, target=e.data.get("target"),
                                   data=dict(qc.data) if qc else {}))
            if "talk" in e.data and e.queue:  # the end of a call's talk (and hold): counted for AHT
                h = self._handled.setdefault(e.queue, [0, 0.0])
                h[0] += 1
                h[1] += float(e.data["talk"]) + float(e.data.get("hold", 0.0))
            elif e.event == "WRAPUPEND" and e.queue:
                self._handled.setdefault(e.queue, [0, 0.0])[1] += float(e.data.get("acw", 0.0))
            if e.event == "ABANDON":
                out.append(P.event("call_abandoned", call=e.call, queue=e.queue, wait=e.data.get("wait")))
        self._sweep_in -= 1
        if self._sweep_in <= 0 or self._qlog.overflow != self._lost:
            self._sweep_in, self._lost = SWEEP_TICKS, self._qlog.overflow
            named = self.acd.agents
        agents = self.acd.agents
        for name in named:
            a = agents.get(name)
            if a is None:
                continue
            st = (a.state, a.reason)
            if self._states.get(name) != st:
                self._states[name] = st
                out.append(P.event("agent_state", agent=name, state=a.state, reason=a.reason))
        return out

    # --- engine listener -------------------------------------------------------------------------
    def on_leg_event(self, kind, leg):
        """Run answer hooks; report the end of any agent leg with its cause."""
        owner = self.binding.leg_owner.get(leg.id)
        agent = owner[0] if owner else self._leg_agent.get(leg.id)
        if kind == "alerting" and agent:
            self._out.append(P.event("call_ringing", agent=agent, call=leg.call.id if leg.call else None))
        if kind == "answered":
            hook = self._on_answer.pop(leg.id, None)
            if hook is not None:
                try:
                    hook(leg)
                except Exception:  # we run inside the engine's notify: never let a CTI action stop the tick
                    self.bug("on_answer")
        elif kind == "ended":
            if agent in self._conference and self.binding.agent_leg.get(agent) is leg:  # the handset was hung up
                try:
                    self._leave_conference(agent, leg)
                except Exception:  # inside the engine's notify, as above
                    self.bug("leave_conference")
            self._on_answer.pop(leg.id, None)
            self._leg_agent.pop(leg.id, None)
            if agent is not None:
                handset = self.handsets.get(agent)
                if handset is not None and leg.answered_at is not None:
                    handset.on_hook()  # a softphone goes idle when its call ends
                if self._own_legs.get(agent) is leg:
                    del self._own_legs[agent]
                rec = self._recording.get(agent)
                if rec is not None and rec not in self.engine.media.recorders:
                    del self._recording[agent]
                self._out.append(P.event("call_ended", agent=agent, call=leg.call.id if leg.call else None,
                                         cause=leg.cause))
            for who, far in list(self._consult.items()):
                if far is leg:
                    del self._consult[who]
            for who, (far, _) in list(self._conference.items()):
                if far is leg or (agent == who and self.binding.agent_leg.get(who) in (None, leg)):
                    del self._conference[who]
