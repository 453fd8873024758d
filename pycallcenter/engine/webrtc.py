"""Browser phones as engine legs: the adapter between ``pycallcenter.webrtc.PhoneServer`` and the engine.

A page registers its phone under its user's name (the CTI session's); ``webrtc/NAME`` is then an
originate target like ``sip/USER``: the ACD rings ``[[agent]] phone = "webrtc:NAME"`` through it. A call
to a phone takes a packet row opened in-process (``PacketMedia.open_local``): the row's LocalPort is put
on the phone's audio ``Line``, so the browser's audio goes through the row's jitter buffer into the tick,
and the row's transmit goes to the browser, with DTMF detection, bridges, recording and PLC as on any row.

- Ringing: the page is told ``{"event": "ring", ...}`` on its data channel; its ``answer`` answers the
  leg, its ``hangup`` (or ``ring_seconds`` without an answer) ends it.
- Click-to-dial: the page's ``dial`` makes a leg from the phone (answered at once) and originates
  ``TRUNK/NUMBER`` (or ``dial_trunk``/NUMBER) in the same call, handed off so either end's hang-up ends both.
- A page that goes away (tab closed, connection failed) ends its leg and frees its row.

Everything here runs on the engine thread, at tick boundaries; the aiortc thread reaches it only through
the server's event queue, drained in ``on_tick``.
"""
import dataclasses
import queue
import re

from pycallcenter.causes import Cause
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.errors import ConfigError

_MAX_EVENTS = 256  # per tick: a page sending a storm of commands cannot hold the tick
_TARGET = re.compile(r"(?:([A-Za-z0-9_\-]+)/)?([0-9*#+]{1,32}|[A-Za-z0-9_.\-]{1,64})")


@dataclasses.dataclass
class _Phone:
    """A registered browser phone and the call on it (at most one)."""

    name: str
    pid: int
    line: object
    leg: object = None
    dialed: object = None  # the outgoing leg of a click-to-dial call, until it answers
    rings_until: int = None  # board time (samples) a ringing call gives up


class WebRtcPhones:
    """The engine's adapter for browser phones (tech and name "webrtc"); see the module doc."""

    tech = "webrtc"

    def __init__(self, engine, server, *, ring_seconds=60.0, dial_trunk=None, name="webrtc"):
        if engine.packet is None:
            raise ConfigError("webrtc: the engine has no packet rows ([webrtc] channels must be more than 0)")
        self.engine, self.server, self.name = engine, server, name
        self.ring_samples = int(ring_seconds * SAMPLE_RATE)
        self.dial_trunk = dial_trunk
        self.may_dial = None  # fn(user, number) -> why not, or None: the [dial] policy (the centre sets it)
        self.phones = {}  # name -> _Phone
        self._by_leg = {}  # leg id -> _Phone
        self.stats = {"registered": 0, "calls_in": 0, "calls_out": 0, "gone_in_call": 0}
        engine.listeners.append(self)  # to tell a page when the number it dialled answers

    # --- the aiortc thread's events -----------------------------------------------------------------
    def on_tick(self, now):
        """Apply what the pages did since the last tick; give up on calls rung too long."""
        events = self.server.events
        for _ in range(_MAX_EVENTS):
            try:
                kind, name, pid, value = events.get_nowait()
            except queue.Empty:
                break
            if kind == "online":
                self._online(name, pid, value)
                continue
            p = self.phones.get(name)
            if p is None or p.pid != pid:
                continue  # an older registration of a reloaded page
            if kind == "gone":
                self._gone(p)
            elif kind == "answer":
                self._answer(p, now)
            elif kind == "hangup" and p.leg is not None:
                self._finish(p, C.NORMAL_CLEARING)
            elif kind == "dial":
                self._dial(p, value, now)
        for p in self.phones.values():
            if p.rings_until is not None and now >= p.rings_until and p.leg is not None:
                p.leg.hangup(C.NO_ANSWER)

    def _online(self, name, pid, line):
        old = self.phones.get(name)
        if old is not None:
            self._gone(old)
        self.phones[name] = _Phone(name, pid, line)
        self.stats["registered"] += 1
        self.engine.log("webrtc_online", phone=name)

    def _gone(self, p):
        if self.phones.get(p.name) is p:
            del self.phones[p.name]
        if p.leg is not None:
            self.stats["gone_in_call"] += 1
            self._finish(p, C.NORMAL_CLEARING, tell=False)
        self.engine.log("webrtc_gone", phone=p.name)

    def _answer(self, p, now):
        leg = p.leg
        if leg is None or leg.direction != "out" or leg.state == C.ANSWERED:
            return
        p.rings_until = None
        self.engine.leg_answered(leg, now)

    def _dial(self, p, number, now):
        eng = self.engine
        m = _TARGET.fullmatch(number or "")
        trunk = m and (m.group(1) or self.dial_trunk)
        why = "busy" if p.leg is not None else None if trunk else "no trunk for that number"
        if why is None and self.may_dial is not None:
            why = self.may_dial(p.name, m.group(2))
        if why is not None:
            self.server.send(p.name, {"event": "refused", "why": why})
            return
        got = eng.packet.allocate() if eng.accepting else None
        if got is None:
            self.server.send(p.name, {"event": "refused", "why": "no free line"})
            return
        channel, row = got
        leg = eng.new_leg(self, channel, "in", caller=p.name, called=m.group(2))
        self._attach(p, leg)
        eng.new_call(leg)
        eng.leg_answered(leg, now)
        self.stats["calls_out"] += 1
        self.server.send(p.name, {"event": "dialing", "number": f"{trunk}/{m.group(2)}"})
        try:
            out = eng.originate(f"{trunk}/{m.group(2)}", caller=p.name, call=leg.call)
        except ValueError:
            out = None
        if out is None:
            leg.hangup(C.NO_CIRCUIT)
            return
        p.dialed = out
        eng.hand_off(leg, out)

    def on_leg_event(self, kind, leg):
        """Engine listener: the far end of a page's click-to-dial call answered (or the call ended)."""
        for p in self.phones.values():
            if p.dialed is leg and kind in ("answered", "ended"):
                p.dialed = None
                if kind == "answered":
                    self.server.send(p.name, {"event": "answered"})

    def _attach(self, p, leg):
        """Open the leg's row in-process and connect it to the phone's audio."""
        port = self.engine.packet.open_local(leg.row, law=p.line.law)
        p.leg = leg
        self._by_leg[leg.id] = p
        p.line.port = port

    def _finish(self, p, cause, tell=True):
        leg = p.leg
        p.line.port = None
        p.leg = p.rings_until = p.dialed = None
        self._by_leg.pop(leg.id, None)
        if tell:
            self.server.send(p.name, {"event": "hangup", "cause": int(cause)})
        self.engine.packet.release(leg.row)
        self.engine.leg_ended(leg, cause, self.engine.now)

    # --- engine commands ------------------------------------------------------------------------------
    def idle_line(self):
        """Return a free packet row's channel (claimed for the leg engine.originate makes next), or None."""
        got = self.engine.packet.allocate()
        return None if got is None else got[0]

    def originate(self, leg, number, now):
        """Ring the browser phone registered as `number`."""
        p = self.phones.get(number)
        if p is None or p.leg is not None:
            self.engine.packet.release(leg.row)
            cause = C.USER_BUSY if p is not None else Cause.SUBSCRIBER_ABSENT
            self.engine.log("webrtc_originate_failed", leg=leg.id, phone=number, cause=int(cause))
            self.engine.leg_ended(leg, cause, now)
            return
        self._attach(p, leg)
        p.rings_until = now + self.ring_samples
        self.stats["calls_in"] += 1
        leg.state = C.ALERTING
        self.server.send(p.name, {"event": "ring", "caller": leg.caller or "", "name": leg.caller_name or "",
                                  "leg": leg.id})
        self.engine.leg_alerting(leg, now)

    def on_event(self, ev, line, now):
        """Packet rows have no board events."""

    def alert(self, leg):
        """A call from the phone is answered at once: nothing rings."""

    def answer(self, leg):
        """A call from the phone is already answered."""

    def hangup(self, leg, cause):
        """Clear a leg: tell the page, free the row."""
        p = self._by_leg.get(leg.id)
        if p is not None:
            self._finish(p, cause)

    def on_digit(self, leg, digit, now):
        """Digits heard from a phone are in the audio; scripts read leg.digits."""

    def send_digit(self, leg, digit):
        """Digits to a browser phone are heard as tones in its audio (no RFC 4733 in aiortc)."""

    def close(self):
        """Stop the aiortc thread (after the engine has cleared every leg)."""
        self.server.close()

    def status(self):
        """Return the browser phones for the status file: who is registered, who is in a call, the counters."""
        return {"phones": sorted(self.phones), "in_call": sorted(p.name for p in self.phones.values() if p.leg),
                "counters": dict(self.stats)}

    def leaks(self):
        """Return one line per phone holding a leg that is no longer up."""
        return [f"browser phone {p.name} holds leg {p.leg.id} on row {p.leg.row}, which has ended"
                for p in self.phones.values() if p.leg is not None and not p.leg.active]
