"""The engine: the board's tick drives signalling, media and IVR scripts in one deterministic loop.

Each ``tick()``: read one block of every audio channel (in simulated mode this advances the
emulator's clock), decode it in batch and run DTMF detection over all rows, dispatch board events
and the trunks' signalling and timers, resume scripts whose verbs completed, then mix and encode
the output of every row in batch and write it. Everything the engine does is logged as one line
with the board time in samples; the same config, seed and inputs give the same log byte for byte.
"""
import datetime as _dt
import os
import time
import traceback

from pycallcenter.drivers import Alarm, Signalling, SpanKind
from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.engine import call as C
from pycallcenter.engine.analog import FxoTrunks, FxsExtensions
from pycallcenter.engine.media import MediaPlane, echo_tails
from pycallcenter.engine.scheduler import CallHangup, Scheduler
from pycallcenter.media.endpoint import PacketMedia
from pycallcenter.errors import ChannelClosedError, RecentErrors
from pycallcenter.journal import Journal

_trackers = []  # lists collecting every Engine built while they are registered (the test suite's leak check)
_call_factory = None  # fn(engine, leg) -> what a script is given; the script API registers it (pycallcenter.ivr)


def use_call_factory(factory):
    """Set what start_script gives a script for its leg (fn(engine, leg) -> call object; the script API,
    pycallcenter.ivr, registers IvrCall when it is imported); return the factory."""
    global _call_factory
    _call_factory = factory
    return factory


def track_engines():
    """Start collecting every Engine built from now on; return the list they are appended to."""
    built = []
    _trackers.append(built)
    return built


def untrack_engines(built):
    """Stop collecting into a list returned by track_engines(); return it."""
    if built in _trackers:
        _trackers.remove(built)
    return built


class Engine:
    """Calls over one board. Build it, add trunks (or ``auto_trunks()``), set ``router``, then tick."""

    def __init__(self, board, tone_plan="us", log_file=None, keep_log=True, epoch=None, packet_rows=0,
                 rtp_ports=(20000, 20999), echo_params=None):
        self.board = board
        # the one wall clock: wall-clock seconds (UTC epoch) at board sample 0; recordings and CDRs read it.
        # A simulated run may pass its own so that its files and stamps repeat.
        self.epoch = time.time() - board.sample_time / SAMPLE_RATE if epoch is None else float(epoch)
        self.tone_plan = tone_plan
        numbers = [n for n in sorted(board.channels) if board.channels[n].signalling.is_audio]
        self.group = board.open(numbers) if numbers else None
        self.row_of = {n: i for i, n in enumerate(numbers)}
        self.channel_of_row = numbers
        laws = [board.channels[n].law.value for n in numbers]
        self.media = MediaPlane(laws, board.blocksize, tone_plan, packet_rows=packet_rows)
        self.media.set_echo(echo_tails(board, numbers), **(echo_params or {}))  # params: EchoCanceller's
        self.packet = None  # PacketMedia: the RTP rows after the board's (channels after its highest)
        if packet_rows:
            first = max(board.channels, default=0) + 1
            packet_numbers = list(range(first, first + packet_rows))
            self.row_of.update({n: len(numbers) + i for i, n in enumerate(packet_numbers)})
            self.channel_of_row = numbers + packet_numbers
            self.packet = PacketMedia(len(numbers), packet_numbers, board.blocksize, rtp_ports, self.epoch,
                                      leg_of=lambda row: self.leg_on_row.get(row))
        self.adapters = []
        self._adapter_of = {}
        self.legs = {}  # leg id -> Leg (active)
        self.leg_on_row = {}
        self.calls = {}  # call id -> Call (active)
        self.scheduler = Scheduler()
        self.now = board.sample_time
        self.router = None  # fn(leg) -> async script taking an IvrCall, or None to refuse the call
        self.call_factory = None  # fn(engine, leg) -> what scripts get; None: the registered one (use_call_factory)
        self.listeners = []  # objects with optional on_call_ended(call), on_leg_event(kind, leg), on_leg_digit(leg)
        self.prompts = None
        self.scripts = None  # pycallcenter.ivr.loader.ScriptSet, for handoff by name
        self.centre = None  # pycallcenter.apps.centre_config.CentreConfig: what the bundled scripts read
        self.fallback = None  # async script run when a script raises (operator queue or goodbye)
        self._leg_seq = 0
        self._call_seq = 0
        self.log_lines = [] if keep_log else None
        self._log_file = open(log_file, "a", buffering=1) if log_file else None
        self.errors = RecentErrors()  # (call id, traceback text) of the last scripts that raised; .total counts all
        self.recordings_dir = "data/recordings"
        # stats of finished recordings; the CDR writer reads them (a Journal: read entries are dropped,
        # the newest few kept for scripts looking up the recording they just stopped)
        self.recordings = Journal("recordings", bound=10_000, keep=64)
        self.tickers = []  # fn(now) run every tick just before scripts resume (ACD timers, the CTI hub)
        self._pairs = {}  # leg id -> the partner of a pair handed off with hand_off()
        self.accepting = True  # False once shutdown() began: new calls are refused
        self.admission = None  # admission.Admission: overload control of incoming calls (None: no limits)
        self.closed = False
        self.shutdown_leaks = None  # what leaks() found when shutdown() began
        for built in _trackers:
            built.append(self)

    # --- set-up ----------------------------------------------------------------------------------
    def add(self, adapter):
        """Register a trunk adapter; return it."""
        self.adapters.append(adapter)
        for ch in getattr(adapter, "lines", None) or getattr(adapter, "offset_of", {}):
            self._adapter_of[ch] = adapter
        return adapter

    def auto_trunks(self, pri_network=False, variant=None, ss7=()):
        """Add an adapter for every span: FXS ports as extensions, FXO ports as trunks, an SS7 link set
        (Ss7Trunk) for each dict of keyword options in ss7 (its spans' links: {"links": [(span, slc,
        first_cic), ...], "opc", "dpc", ...}), PRI on the other digital spans with a D-channel. Return the
        list of adapters."""
        ss7_spans = set()
        for options in ss7:
            from pycallcenter.engine.ss7 import Ss7Trunk  # deliberate: only a centre with SS7 loads the SS7 stack

            ss7_spans.update(span for span, _, _ in options["links"])
            self.add(Ss7Trunk(self, None, **options))
        for span in self.board.spans:
            if span.number in ss7_spans:
                continue
            chans = [c.number for c in span.channels if c.signalling.is_audio]
            if span.kind is SpanKind.FXS and chans:
                self.add(FxsExtensions(self, chans, name=f"ext{span.number}"))
            elif span.kind is SpanKind.FXO and chans:
                self.add(FxoTrunks(self, chans, name=f"pstn{span.number}"))
            elif span.kind.digital and any(c.signalling in (Signalling.DCHAN, Signalling.HARDHDLC) for c in span.channels):
                from pycallcenter.engine.pri import PriTrunk

                self.add(PriTrunk(self, span.number, network=pri_network, variant=variant))
        return self.adapters

    # --- the log ---------------------------------------------------------------------------------
    def log(self, kind, **fields):
        """Append one line to the event log: board time, kind, fields in a stable order."""
        line = f"{self.now} {kind}" + "".join(f" {k}={fields[k]}" for k in sorted(fields))
        if self.log_lines is not None:
            self.log_lines.append(line)
        if self._log_file is not None:
            self._log_file.write(line + "\n")

    # --- the tick --------------------------------------------------------------------------------
    def tick(self):
        """Run one tick of the whole engine."""
        codes = self.group.read() if self.group is not None else None
        self.now = self.board.sample_time
        if self.packet is None:
            digits = self.media.receive(codes) if codes is not None else []
        else:
            audio, received = self.packet.receive(self.now)
            digits = self.packet.merge_digits(self.media.receive(codes, audio), received, self.now)
        for ev in self.board.poll_events():
            self._board_event(ev)
        for adapter in self.adapters:
            adapter.on_tick(self.now)
        for ev in digits:
            if ev.kind == "begin":
                leg = self.leg_on_row.get(ev.channel)
                if leg is not None:
                    leg.digits += ev.digit
                    self.log("dtmf", leg=leg.id, digit=ev.digit)
                    self._notify("on_leg_digit", leg)  # e.g. the gateway, which moves digits only for legs with some
                    on_digit = getattr(leg.adapter, "on_digit", None)
                    if on_digit:
                        on_digit(leg, ev.digit, self.now)
        for ticker in self.tickers:
            ticker(self.now)
        self.scheduler.poll(self.now)
        out, finished = self.media.transmit()
        for row in finished:
            leg = self.leg_on_row.get(row)
            if leg is not None:
                leg.play_done = True
        if self.group is not None:
            self.group.write(out)
        if self.packet is not None:
            self.packet.transmit(self.media.tx[self.media.board_rows:], self.now)

    def run(self, seconds=None, ticks=None, until=None):
        """Tick for a number of seconds or ticks, or until until() is true (checked each tick)."""
        if ticks is None and seconds is not None:
            ticks = int(round(seconds * SAMPLE_RATE / self.board.blocksize))
        n = 0
        while (ticks is None or n < ticks) and not (until is not None and until()):
            self.tick()
            n += 1
        return n

    def _board_event(self, ev):
        if ev.channel is None:
            for adapter in self.adapters:
                spans = getattr(adapter, "span_numbers", None) or (getattr(adapter, "span_number", None),)
                if ev.span in spans and hasattr(adapter, "on_span_event"):  # an SS7 link set has several
                    adapter.on_span_event(ev, self.now)
            self.log("span_event", span=ev.span, event=ev.kind.value, alarms="+".join(Alarm.names(ev.data.get("alarms", 0))) or "none")
            return
        adapter = self._adapter_of.get(ev.channel)
        if adapter is None:
            return
        line = getattr(adapter, "lines", {}).get(ev.channel)
        adapter.on_event(ev, line, self.now)

    # --- legs and calls (called by adapters) -------------------------------------------------------
    def new_leg(self, adapter, channel, direction, caller="", caller_name="", called="", shared=False):
        """Create a leg on a channel; return it. A shared leg (call waiting) leaves the row to its current leg."""
        self._leg_seq += 1
        leg = C.Leg(f"L{self._leg_seq}", self, adapter, channel, self.row_of[channel], direction, adapter.tech,
                    caller=caller, caller_name=caller_name, called=called, started=self.now)
        leg.play_done = True
        self.legs[leg.id] = leg
        if not shared:
            self.leg_on_row[leg.row] = leg
            self.media.dtmf.reset(leg.row)
            self.media.echo_start(leg.row)
        return leg

    def new_call(self, leg):
        """Create a call around its first leg; return it."""
        self._call_seq += 1
        call = C.Call(f"C{self._call_seq}", legs=[leg], started=self.now)
        leg.call = call
        self.calls[call.id] = call
        return call

    def leg_offered(self, leg, now):
        """An incoming leg: make its call and hand it to the router's script."""
        call = self.new_call(leg)
        self.log("offered", call=call.id, leg=leg.id, tech=leg.tech, channel=leg.channel, caller=leg.caller or "-",
                 called=leg.called or "-")
        self._notify("on_leg_event", "offered", leg)
        refused = self.admission.admit(self, leg, now) if self.admission is not None else None
        if refused is not None:  # overload: cleared before any script, queue or recorder work is spent on it
            leg.hangup(refused)
            return
        script = self.router(leg) if self.router and self.accepting else None
        if script is None:
            leg.hangup(C.CALL_REJECTED)
            return
        self.start_script(leg, script)

    def start_script(self, leg, script):
        """Run an async script on a leg's call; return its Task. The call's legs are the script's: when
        the last script of the call ends, every leg still up that no keeper took over is cleared."""
        factory = self.call_factory or _call_factory
        if factory is None:
            raise RuntimeError("no script API to start a script with: import pycallcenter.ivr (it registers "
                               "IvrCall) or set Engine.call_factory")
        ivr = factory(self, leg)
        leg.ivr = ivr
        return self._run_script(leg.call, script(ivr), getattr(script, "__name__", "script"), self._script_failed)

    def _run_script(self, call, coro, name, on_error):
        def done(task):
            self.log("script_done", task=task.name)
            self._script_over(task, call, C.NORMAL_CLEARING)

        def failed(task, exc):
            on_error(task, exc, call)

        task = self.scheduler.spawn(coro, f"{call.id}:{name}", self.now, on_error=failed, on_done=done)
        if not task.finished:  # a script that ended at once has been dealt with already
            call.scripts.append(task)
        return task

    def _script_failed(self, task, exc, call):
        """A script raised: log it, then run the fallback script on the caller (or clear the call)."""
        self._log_error(task, exc, call)
        leg = call.caller_leg
        if self.fallback is not None and leg is not None and leg.active and not leg.clearing and self.accepting:
            if task in call.scripts:
                call.scripts.remove(task)
            self._run_script(call, self.fallback(leg.ivr), "fallback", self._fallback_failed)
            if call.scripts:
                return
        self._script_over(task, call, C.NORMAL_UNSPECIFIED)

    def _fallback_failed(self, task, exc, call):
        self._log_error(task, exc, call)
        self._script_over(task, call, C.NORMAL_UNSPECIFIED)

    def _log_error(self, task, exc, call):
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
        self.errors.append((call.id, text))
        self.log("script_error", call=call.id, error=type(exc).__name__)

    def _script_over(self, task, call, cause):
        """A script of the call ended: when it was the last one, clear the call's legs that are still up."""
        if task in call.scripts:
            call.scripts.remove(task)
        if not call.scripts:
            self.release(call, cause)

    def release(self, call, cause=C.NORMAL_CLEARING):
        """Clear every leg of a call that is still up and that no keeper took over; return those legs."""
        legs = [leg for leg in call.legs if leg.active and not leg.clearing and leg.keeper is None]
        if legs:
            self.log("release", call=call.id, legs="+".join(leg.id for leg in legs), cause=cause)
        for leg in legs:
            leg.hangup(cause)
        return legs

    def hand_off(self, a, b):
        """Bridge two legs and keep them talking whatever their scripts do: when one hangs up the other is
        cleared (normal clearing). A script uses it to leave a connected pair behind when it returns."""
        self.bridge(a, b)
        for leg, partner in ((a, b), (b, a)):
            leg.keeper = self
            self._pairs[leg.id] = partner
        self.log("hand_off", a=a.id, b=b.id)

    def leg_alerting(self, leg, now):
        """The far end of an outgoing leg is ringing."""
        self.log("alerting", leg=leg.id)
        self._notify("on_leg_event", "alerting", leg)

    def leg_answered(self, leg, now):
        """A leg was answered (by us on incoming, by the far end on outgoing)."""
        leg.state = C.ANSWERED
        leg.answered_at = now
        self.log("answered", leg=leg.id)
        self._notify("on_leg_event", "answered", leg)

    def leg_flash(self, leg, now):
        """A hook flash on an extension (consultation/transfer)."""
        leg.flashes += 1
        self.log("flash", leg=leg.id)
        self._notify("on_leg_event", "flash", leg)

    def leg_ended(self, leg, cause, now):
        """A leg is over: free its row, wake its script with CallHangup, end the call when no leg is left."""
        if leg.state == C.ENDED:
            return
        leg.state = C.ENDED
        leg.cause = cause
        leg.ended_at = now
        if self.leg_on_row.get(leg.row, leg) is leg:  # a waiting or held leg on a shared row leaves its media alone
            self.media.stop(leg.row)
            self.media.stop_tone(leg.row)
            self.media.detach(leg.row)
            self.media.isolate(leg.row)
            self.media.echo_stop(leg.row)
            for rec in [r for r in self.media.recorders if r.row == leg.row]:
                self.stop_recording(rec)
        self.legs.pop(leg.id, None)
        if self.leg_on_row.get(leg.row) is leg:
            del self.leg_on_row[leg.row]
        self.log("ended", leg=leg.id, cause=cause)
        self._notify("on_leg_event", "ended", leg)
        partner = self._pairs.pop(leg.id, None)
        if partner is not None:
            self._pairs.pop(partner.id, None)
            partner.hangup(C.NORMAL_CLEARING)
        ivr = getattr(leg, "ivr", None)
        if ivr is not None:
            for task in self.scheduler.waiting_on(leg):  # the scheduler's index, not a walk over every task
                if task.op is not None and getattr(task.op, "leg", None) is leg:
                    self.scheduler.throw(task, CallHangup(cause), now)
        call = leg.call
        if call is not None and call.ended is None and not any(l.active for l in call.legs):
            call.ended = now
            self.calls.pop(call.id, None)
            self.log("call_ended", call=call.id)
            self._notify("on_call_ended", call)

    def _notify(self, method, *args):
        for listener in self.listeners:
            fn = getattr(listener, method, None)
            if fn:
                fn(*args)

    # --- outgoing calls and bridges ---------------------------------------------------------------
    def adapter(self, name):
        """Return the adapter with this name (e.g. 'ext5', 'pstn6', 'pri1'); ValueError if none."""
        for a in self.adapters:
            if a.name == name:
                return a
        raise ValueError(f"no trunk or extension group named {name!r}; have {[a.name for a in self.adapters]}")

    def originate(self, target, caller="", caller_name="", call=None):
        """Place an outgoing leg. target: 'NAME/NUMBER' (a trunk and the number to dial) or
        'channel/N' (ring that extension port). Return the Leg, or None when no line is free."""
        if "/" not in target:
            raise ValueError(f"target must be 'trunk/number' or 'channel/N', got {target!r}")
        where, number = target.split("/", 1)
        if where == "channel":
            ch = int(number)
            adapter = self._adapter_of.get(ch)
            if adapter is None:
                raise ValueError(f"channel {ch} belongs to no trunk or extension group")
            line = adapter.lines.get(ch) if hasattr(adapter, "lines") else None
            shared = line is not None and line.state != "idle"
            if shared and not getattr(adapter, "accepts_waiting", lambda ch: False)(ch):
                return None  # busy, and no call waiting on that line
            number = ""
        else:
            adapter = self.adapter(where)
            free = adapter.idle_line()
            if free is None:
                return None
            ch = free if isinstance(free, int) else free.channel.number
        leg = self.new_leg(adapter, ch, "out", caller=caller, caller_name=caller_name, called=number,
                           shared=where == "channel" and shared)
        if call is None:
            call = self.new_call(leg)
        else:
            call.legs.append(leg)
            leg.call = call
            leg.presentation = call.legs[0].presentation  # a withheld number stays withheld on the legs it places
        self.log("originate", call=call.id, leg=leg.id, target=target)
        adapter.originate(leg, number, self.now)
        return leg

    def bridge(self, a, b):
        """Connect two legs' audio both ways."""
        self.media.stop(a.row)
        self.media.stop(b.row)
        self.media.stop_tone(a.row)
        self.media.stop_tone(b.row)
        self.media.bridge(a.row, b.row)
        self.log("bridged", a=a.id, b=b.id)

    def unbridge(self, leg):
        """Disconnect a leg's audio from every other leg."""
        self.media.isolate(leg.row)

    def hold(self, leg, music="moh"):
        """Put a leg on hold: its partners stop hearing it and it hears music (a prompt name, samples, or a
        tone of the plan); return the rows it was linked to so retrieve() can restore them."""
        links = self.media.links_of(leg.row)
        self.media.isolate(leg.row)
        leg.held_links = links
        if isinstance(music, str) and self.prompts is not None:
            try:
                self.media.play(leg.row, [self.prompts.get(music)], loop=True)
            except FileNotFoundError:
                self.media.start_tone(leg.row, "call_waiting")
        elif music is not None and not isinstance(music, str):
            self.media.play(leg.row, [music], loop=True)
        self.log("hold", leg=leg.id)
        return links

    def retrieve(self, leg):
        """Take a leg off hold: stop the music and restore its links."""
        self.media.stop(leg.row)
        self.media.stop_tone(leg.row)
        for listener, talker in leg.held_links:
            rows = {l.row for l in self.legs.values()}
            if listener in rows and talker in rows:
                self.media.link(listener, talker)
        leg.held_links = set()
        self.log("retrieve", leg=leg.id)

    def conference(self, legs):
        """Join legs so that each hears all the others."""
        for a in legs:
            self.media.stop(a.row)
            self.media.stop_tone(a.row)
            for b in legs:
                if a is not b:
                    self.media.link(a.row, b.row)
        self.log("conference", legs="+".join(l.id for l in legs))

    def monitor(self, supervisor, agent, mode="listen"):
        """Supervisor on an agent's call: 'listen' (hears both sides), 'whisper' (also speaks to the agent
        only) or 'barge' (a three-way conference)."""
        if mode not in ("listen", "whisper", "barge"):
            raise ValueError(f"mode must be listen, whisper or barge, got {mode!r}")
        self.media.isolate(supervisor.row)
        partners = self.media.listeners_of(agent.row)  # the rows the agent talks to
        self.media.link(supervisor.row, agent.row)
        for row in partners:
            self.media.link(supervisor.row, row)
        if mode in ("whisper", "barge"):
            self.media.link(agent.row, supervisor.row)
        if mode == "barge":
            for row in partners:
                self.media.link(row, supervisor.row)
        self.log("monitor", supervisor=supervisor.id, agent=agent.id, mode=mode)

    def start_recording(self, leg, path=None, stereo=False, fmt="wav", beep_every=None, caller_only=False,
                        subtype="PCM_16"):
        """Start recording a leg; return the Recorder (stopped automatically when the leg ends)."""
        from pycallcenter.engine.recording import Recorder, claim, recording_path

        claimed = path is None
        if claimed:  # filed by the call's wall-clock start; an existing file is never overwritten
            call = leg.call
            path = claim(recording_path(self.recordings_dir, call.id, leg.id, self.wall_clock(call.started),
                                        queue=call.queue, agent=call.agent, fmt=fmt))
        try:
            rec = Recorder(path, leg.row, stereo=stereo, beep_every=beep_every, caller_only=caller_only,
                           subtype=subtype)
        except Exception:
            if claimed:  # the placeholder claim() made would stay an empty file
                os.remove(path)
            raise
        self.media.add_recorder(rec)
        self.log("record_start", leg=leg.id, path=path)
        return rec

    def stop_recording(self, rec, trim=False):
        """Stop a recording; return its stats (path, seconds, voice_ratio)."""
        self.media.remove_recorder(rec)
        stats = rec.stop(trim=trim)
        self.recordings.append(stats)
        self.log("record_stop", path=stats["path"], seconds=f"{stats['seconds']:.2f}")
        return stats

    def wall_clock(self, samples=None):
        """Return the UTC datetime of a board sample time (default: now), from the engine's epoch."""
        t = self.now if samples is None else samples
        return _dt.datetime.fromtimestamp(self.epoch + t / SAMPLE_RATE, _dt.timezone.utc)

    def caller_id_datetime(self):
        """Return the (month, day, hour, minute) caller ID stamp: from the board clock, so runs repeat."""
        minutes = self.now // (SAMPLE_RATE * 60)
        return (1, 1 + minutes // 1440 % 28, minutes // 60 % 24, minutes % 60)

    # --- the orderly end, and what is left behind ---------------------------------------------------
    def leaks(self):
        """Return one line per thing still held that nothing is clearing: legs up, tasks still waiting,
        open recorders, and what the trunks, station features and ACD report (seized, ringing or off-hook
        channels, agents ringing or talking, calls left in a queue). A leg whose clearing has begun, and
        whatever only waits for it, is not a leak: it ends on its own."""
        out = []
        for leg in self.legs.values():
            if not leg.clearing:
                out.append(f"leg {leg.id} ({leg.tech}, channel {leg.channel}, call {leg.call.id if leg.call else '-'})"
                           f" is still {leg.state}")
        for task in self.scheduler.tasks.values():
            if not _waits_on_clearing(task.op):
                out.append(f"task {task.name} is still waiting on {type(task.op).__name__}")
        for rec in self.media.recorders:
            leg = self.leg_on_row.get(rec.row)
            if leg is None or not leg.clearing:
                out.append(f"recording {rec.path} is still open")
        parts = []
        for part in self.adapters + self.listeners:
            if not any(part is p for p in parts):
                parts.append(part)
        for part in parts:
            found = getattr(part, "leaks", None)
            if found is not None:
                out += found()
        out += self._board_leaks()
        if self.packet is not None:
            out += self.packet.leaks()
        return out

    def _board_leaks(self):
        """Channels we hold off hook or keep ringing that no call is on (the board's own view)."""
        on_call = {leg.channel for leg in self.legs.values()}
        out = []
        for number in sorted(self.board.channels):
            ch = self.board.channels[number]
            if number in on_call:
                continue
            if ch.off_hook and ch.signalling.is_station:
                out.append(f"channel {number} is off hook with no call on it")
            line = getattr(ch, "line", None)  # the emulator's analog line (real boards have none)
            if line is not None and line.office is ch and line.ringing:
                out.append(f"channel {number} is ringing with no call on it")
        return out

    def shutdown(self, seconds=40.0):
        """Stop in order: refuse new calls, clear every leg (normal clearing), tick until the lines are
        clear or `seconds` of board time have passed, stop what is left and close the channels and the
        log. Return what leaks() found when it began: whatever the engine's user had left behind."""
        if self.closed:
            return self.shutdown_leaks
        self.shutdown_leaks = self.leaks()
        self.accepting = False
        self.log("shutdown", leaks=len(self.shutdown_leaks))
        for leg in list(self.legs.values()):
            if not leg.clearing:
                leg.hangup(C.NORMAL_CLEARING)
        if self.group is not None:
            ticks = int(seconds * SAMPLE_RATE / self.board.blocksize)
            tail = max(1, int(0.2 * SAMPLE_RATE / self.board.blocksize))  # the last frames still go out
            try:
                # legs are what takes ticks to clear (signalling); anything else still held once they are
                # gone will not clear by waiting, and is reported by leaks() afterwards
                while ticks > 0 and self.legs:
                    self.tick()
                    ticks -= 1
                for _ in range(min(tail, ticks)):
                    self.tick()
            except ChannelClosedError:  # the board was closed under us: nothing more can clear
                pass
        for task in list(self.scheduler.tasks.values()):
            self.scheduler.kill(task)
        for rec in list(self.media.recorders):
            self.stop_recording(rec)
        if self.group is not None:
            self.group.close()
        if self.packet is not None:
            self.packet.shutdown()
        self.closed = True
        self.log("closed", left=len(self.leaks()))
        if self._log_file is not None:
            self._log_file.close()
            self._log_file = None  # what is logged after this (a late CDR error) stays in log_lines only
        return self.shutdown_leaks

    def close(self):
        """Shut down in order (see shutdown()); return what was left behind when it began."""
        return self.shutdown()


_OP_LEGS = ("leg", "other", "out", "fax_leg")  # where ops keep the legs they wait on (fax keeps its apart)


def _waits_on_clearing(op):
    """Return True when an op waits on a leg that has ended or is clearing (so it ends with it)."""
    return any(isinstance(leg, C.Leg) and leg.clearing for leg in (getattr(op, name, None) for name in _OP_LEGS))
