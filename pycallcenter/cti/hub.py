"""The engine side of the CTI server: commands in, events out, once per tick.

The network server runs on its own thread; it puts parsed messages into :attr:`CtiHub.inbox`
(a thread-safe queue) and the hub drains it in :meth:`poll`, which the engine calls every tick
(``engine.tickers``), so every command and every event happens at a tick boundary and the engine stays
deterministic. Frames for clients leave in one batch per tick through ``deliver(batch)`` (set by
the server; it hands them to its event loop thread-safely). The latest wallboard snapshot is kept
as JSON text under a lock for the HTTP side.

Authentication is the server's job: the hub only hears ``("auth", conn, (role, name, msg id, source))``
for a connection that proved who it is, then ``("msg", conn, message)`` for its commands, and runs each
with that identity (an agent acts on itself only; supervisors on anyone).
"""
import collections
import json
import queue
import threading
import traceback

from pycallcenter.cti import protocol as P
from pycallcenter.dsp import SAMPLE_RATE

# events only supervisors see (an agent must not learn that they are being listened to)
SUPERVISOR_ONLY = {"monitoring", "call_abandoned"}
# Messages run per tick at most; the rest wait for the next ticks, and the server refuses commands while
# INBOX_LIMIT wait. Found by the soak at 500 agents: a snapshot costs about 5 ms there, and a CTI flood kept
# the inbox from ever emptying, so one tick ran its commands for 458 s and every call's audio stopped.
COMMANDS_PER_TICK = 32
INBOX_LIMIT = 1024


class CtiHub:
    """Authenticates sessions, runs commands on a :class:`~pycallcenter.cti.backend.Backend`, routes events.

    hot_desking: agents may choose their phone at login (``login contact=...``); otherwise the phone
    bound by configuration is the only one.
    """

    def __init__(self, engine, backend, snapshot_every=1.0, hot_desking=False):
        self.engine, self.backend = engine, backend
        self.snapshot_every = snapshot_every
        self.hot_desking = hot_desking
        # ("auth", conn, (role, name, id, source)) | ("msg", conn, dict) | ("close", conn, None), from the server
        self.inbox = queue.Queue()
        self.deliver = None  # fn(list of (conn id, frame dict or its JSON text)); set by the server
        self.lockouts = lambda: []  # fn() -> the sources locked out now; set by the server
        self.unlock = lambda source: False  # fn(source) -> lifted?; set by the server
        self.refuse = lambda source, code, detail: None  # throttled refusal log; set by the server
        self.sessions = {}  # conn id -> (role, name)
        self.sources = {}  # conn id -> peer address, for the refusal log
        self.wallboards = set()  # conn ids that asked for the wallboard view
        self.internal = collections.Counter()  # command -> internal errors (bugs), counted
        self.tracebacks = collections.deque(maxlen=20)  # the latest ones, for whoever debugs
        backend.bug = self._internal
        self._lock = threading.Lock()
        self._snapshot = {}  # the latest snapshot (never changed once published)
        self._snapshot_json = "{}"  # its JSON text, made on the first HTTP request that asks for it
        self._queues = None
        self._next_snapshot = 0.0
        self._snap = None
        self.commands = 0
        self._greetings = []  # frames a new session gets right after its auth reply
        self.publish(engine.now)
        self.poll(engine.now)  # the picture as it is now: a client's first queue_stats shows a change
        engine.tickers.append(self.poll)  # drained every tick, before scripts resume

    def close(self):
        """Stop polling (the engine's tickers) and close the back end's journal readers; return None."""
        if self.poll in self.engine.tickers:
            self.engine.tickers.remove(self.poll)
        close = getattr(self.backend, "close", None)
        if close is not None:
            close()
        self.deliver = None
        self.sessions.clear()
        self.sources.clear()
        self.wallboards.clear()

    def snapshot_json(self):
        """Return the latest snapshot as JSON text (safe from any thread)."""
        with self._lock:
            if self._snapshot_json is None:
                self._snapshot_json = json.dumps(self._snapshot, separators=(",", ":"))
            return self._snapshot_json

    def publish(self, now=None):
        """Refresh the snapshot the HTTP side serves; return it (a dict)."""
        snap = self.backend.snapshot()
        # the text is made on the HTTP thread when asked: with 500 agents the dump cost the engine's push
        # tick about 0.9 ms a second for a page that is rarely open
        with self._lock:
            self._snapshot, self._snapshot_json = snap, None
        return snap

    # --- the tick --------------------------------------------------------------------------------
    def poll(self, now):
        """Run queued commands, then send this tick's events (and queue statistics once a second)."""
        out = []
        self._snap = None  # one snapshot per tick serves every command that reads it
        for _ in range(COMMANDS_PER_TICK):
            try:
                kind, conn, msg = self.inbox.get_nowait()
            except queue.Empty:
                break
            if kind == "close":
                self.sessions.pop(conn, None)
                self.sources.pop(conn, None)
                self.wallboards.discard(conn)
            elif kind == "auth":
                try:
                    out.append((conn, self._auth(conn, *msg)))
                except Exception:  # a bug must not stop the engine's tick
                    self._internal("auth")
                out += self._greetings
                self._greetings = []
            else:
                out.append((conn, self._handle(conn, msg)))
                out += self._greetings
                self._greetings = []
        try:
            out += self._events(now)
        except Exception:  # a bug in event mapping must not stop the engine's tick
            self._internal("events")
        if out and self.deliver is not None:
            self.deliver(out)

    def _events(self, now):
        out = []
        for frame in self.backend.events():
            out += self._route(frame)
        if now / SAMPLE_RATE >= self._next_snapshot:
            self._next_snapshot = now / SAMPLE_RATE + self.snapshot_every
            snap = self.publish(now)
            if snap["queues"] != self._queues:
                self._queues = snap["queues"]
                # serialised once here, not once per session on the server's thread (with 500 sessions
                # and 20 wallboards that thread held the GIL long enough to make a push tick 11 ms)
                frame = P.dumps(P.event("queue_stats", time=snap["time"], queues=snap["queues"]))
                out += [(c, frame) for c in self.sessions]
            if self.wallboards:
                view = self.backend.wallboard()
                boards = [(c, self.sessions[c][0]) for c in self.wallboards if c in self.sessions]
                frames = {role: P.dumps(P.event("wallboard", **self._role_view(view, role)))
                          for role in {role for _, role in boards}}
                out += [(c, frames[role]) for c, role in boards]
        return out

    def _wallboard_view(self, role):
        """Return the wallboard view as a role sees it (supervisors also see the addresses locked out)."""
        return self._role_view(self.backend.wallboard(), role)

    def _role_view(self, view, role):
        """Return a wallboard view as a role sees it (supervisors also see the addresses locked out)."""
        return {**view, "lockouts": self.lockouts()} if role == P.SUPERVISOR else view

    def _internal(self, what):
        """Count a bug (bounded: the latest tracebacks only) and log one line; the engine goes on."""
        self.internal[what] += 1
        self.tracebacks.append((what, traceback.format_exc()))
        self.engine.log("cti_internal", cmd=what)

    def _route(self, frame):
        who = frame.get("agent") or frame.get("to")
        sup_only = frame["event"] in SUPERVISOR_ONLY
        return [(c, frame) for c, (role, name) in self.sessions.items()
                if role == P.SUPERVISOR or (not sup_only and name == who)]

    # --- commands --------------------------------------------------------------------------------
    def _handle(self, conn, msg):
        msg_id = msg.get("id")
        cmd = msg["cmd"]
        try:
            session = self.sessions.get(conn)
            if session is None:  # the server sends only authenticated connections' commands
                raise P.CtiError(P.NOT_AUTHENTICATED, "send auth first")
            role, name = session
            P.check_role(cmd, role)
            self.commands += 1
            result = self._run_command(cmd, role, name, msg, conn) or {}
            self.engine.log("cti", cmd=cmd, who=name)
            return P.reply(msg_id, **result)
        except P.CtiError as exc:
            self.refuse(self.sources.get(conn, "?"), exc.code, f"{cmd} by {self.sessions.get(conn, ('', '?'))[1]}")
            return P.error(msg_id, exc.code, str(exc))
        except Exception as exc:  # a bug must not stop the engine or the connection
            self._internal(cmd)
            return P.error(msg_id, P.INTERNAL, f"{type(exc).__name__} (a bug: counted in the server's status)")

    def _auth(self, conn, role, name, msg_id, source):
        """A connection the server authenticated: remember who it is; return the reply (or session event)."""
        self.sessions[conn] = (role, name)
        self.sources[conn] = source
        snap = self._snapshot_now()  # the current picture, so a client need not wait for a change
        self._greetings.append((conn, P.event("queue_stats", time=snap["time"], queues=snap["queues"])))
        for a in snap["agents"]:
            if role == P.SUPERVISOR or a["name"] == name:
                self._greetings.append((conn, P.event("agent_state", agent=a["name"], state=a["state"],
                                                      reason=a["reason"])))
        if msg_id is None:  # a browser's cookie session: nobody asked, so tell who this is
            return {"type": "event", "event": "session", "role": role, "name": name}
        return P.reply(msg_id, role=role, name=name)

    def _snapshot_now(self):
        """Return the backend's snapshot, made once per tick unless a command changed something since."""
        if self._snap is None:
            self._snap = self.backend.snapshot()
        return self._snap

    def _run_command(self, cmd, role, name, msg, conn):
        b = self.backend
        if cmd == "ping":
            return {"time": round(self.engine.now / SAMPLE_RATE, 3)}
        if cmd == "wallboard":  # this connection gets the wallboard view now and once a second
            self.wallboards.add(conn)
            return self._wallboard_view(role)
        if cmd == "desk":
            return b.desk(name, msg, role)
        if cmd in P.DESK_COMMANDS:
            return getattr(b, cmd)(name, msg)
        if cmd == "lockouts":
            return {"lockouts": self.lockouts()}
        if cmd == "unlock":
            return {"unlocked": bool(self.unlock(str(msg["source"])))}
        if cmd == "message":
            frame = P.event("message", **{"from": name, "to": msg["to"], "text": str(msg["text"])[:2000]})
            targets = [c for c, (_, n) in self.sessions.items() if n == msg["to"]]
            if not targets:
                raise P.CtiError(P.BAD_STATE, f"not_connected: {msg['to']} is not connected")
            if self.deliver is not None:
                self.deliver([(c, frame) for c in targets])
            return {"delivered": len(targets)}
        if cmd == "queue_snapshot":
            return {"queues": self._snapshot_now()["queues"]}
        if cmd == "agent_snapshot":
            return {"agents": self._snapshot_now()["agents"]}
        self._snap = None  # any other command may change what a snapshot shows
        if cmd == "login":
            contact = msg.get("contact")
            if contact is not None and not self.hot_desking:
                raise P.CtiError(P.FORBIDDEN, "the agent's phone is bound by configuration ([centre] hot_desking "
                                              "is off)")
            # hot-desking moves an agent to another extension port; trunks are not allowed (toll fraud)
            if contact is not None and not (isinstance(contact, str) and contact.startswith("channel/")
                                            and contact[8:].isdigit()):
                raise P.CtiError(P.BAD_MESSAGE, "contact must be 'channel/N' (an extension port)")
            return b.login(name, ready=bool(msg.get("ready", True)), contact=contact)
        if cmd == "not_ready":
            return b.not_ready(name, str(msg.get("reason", "")))
        if cmd == "dial":
            return b.dial(name, str(msg["number"]))
        if cmd in ("consult", "conference"):
            return getattr(b, cmd)(name, str(msg["target"]))
        if cmd == "transfer":
            return b.transfer(name, str(msg["target"]), attended=bool(msg.get("attended", False)))
        if cmd == "pickup":
            return b.pickup(name, str(msg["call"]))
        if cmd == "dnd":
            return b.dnd(name, bool(msg["on"]))
        if cmd == "monitor":
            return b.monitor(name, str(msg["agent"]), str(msg["mode"]))
        if cmd == "force_logout":
            return b.force_logout(str(msg["agent"]))
        if cmd == "force_state":
            return b.force_state(str(msg["agent"]), str(msg["state"]), str(msg.get("reason", "supervisor")))
        if cmd == "set_member":
            penalty = msg.get("penalty", 0)
            if isinstance(penalty, bool) or not isinstance(penalty, int):
                raise P.CtiError(P.BAD_MESSAGE, "penalty must be an integer")
            return b.set_member(str(msg["queue"]), str(msg["agent"]), penalty)
        if cmd == "remove_member":
            return b.remove_member(str(msg["queue"]), str(msg["agent"]))
        if cmd == "set_skills":
            skills = msg["skills"]
            if not isinstance(skills, dict) or not all(isinstance(v, int) and not isinstance(v, bool)
                                                       for v in skills.values()):
                raise P.CtiError(P.BAD_MESSAGE, "skills must be an object of skill -> level (1..10)")
            return b.set_skills(str(msg["agent"]), skills)
        if cmd == "set_strategy":
            return b.set_strategy(str(msg["queue"]), str(msg["strategy"]))
        return getattr(b, cmd)(name)
