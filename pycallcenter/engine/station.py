"""Analog station features on FXS extensions: hook-flash consultation and transfer, and call waiting.

A phone talking to party A presses FLASH: A is held, the phone hears dial tone and dials a consult
party B (extension number or outside number through the dial plan). Hanging up then transfers A to
B (attended when B answered, blind while B still rings: A hears ringback until B answers, and the
extension is rung back when B fails or does not answer in time). FLASH
during a consultation waits briefly for a digit: '1' (or none) drops B and returns to A, '2' swaps
between A and B, '3' joins all three (flash_default="conference" makes no digit join them too).
A call for a busy phone waits (call-waiting tone, optionally with caller ID on call waiting); FLASH
answers it and holds the first call, FLASH again swaps; hanging up with a call on hold rings the
phone back.

The station takes over the script's bridge on the first flash (the script keeps waiting until its
own leg ends) and from then on clears the parties itself: every leg it takes over or places is kept
(``Leg.keeper``), so the script's end does not clear them, and a transferred pair is handed to the
engine (``Engine.hand_off``), which clears one side when the other hangs up. Everything runs on the
board clock.
"""
import numpy as np

from pycallcenter.dsp import SAMPLE_RATE
from pycallcenter.dsp.toneplans import cadenced
from pycallcenter.dsp.tones import generate
from pycallcenter.engine import call as C
from pycallcenter.engine.bridge import bridge_of
from pycallcenter.engine.scheduler import CallHangup, Op


# the CPE alerting signal of off-hook caller ID (Telcordia GR-30): 2130 + 2750 Hz together for 80 ms
CAS = cadenced("cas", [2130, 2750], -15, [(80, 0)], once=True)


class _Parked(Op):
    """Stands in for a script's bridge the station took over: over only when the script's leg ends."""

    def __init__(self, leg):
        self.leg = leg  # engine.leg_ended throws CallHangup into the task when this leg ends

    def poll(self, now):
        if not self.leg.active:
            self.fail(CallHangup(self.leg.cause))


class _Station:
    """Per-phone state of the features."""

    def __init__(self, line):
        self.line = line
        self.reset()

    def reset(self):
        self.mode = None  # None, talk, dialing, consult, flashed, conference, cw_wait, cw, recall
        self.e = self.a = self.b = None  # extension-side leg, held party, consult party
        self.b_on = False  # the phone is linked to B (not to A)
        self.b_up = False  # B answered and was connected once
        self.w = self.c = None  # call waiting: the phone's second leg and its far party
        self.t = 0
        self.digits = ""
        self.cid = None  # caller ID on call waiting: None, "ack" (waiting for the phone's ACK) or "fsk"
        self.cid_t = 0
        self.cid_links = set()  # the conversation's links, cut while the phone gets CIDCW


class StationFeatures:
    """Flash and call-waiting features for every FXS extension group of an engine (attaches itself on init)."""

    name = "station"

    def __init__(self, engine, dialplan=None, call_waiting=True, cw_timeout=20.0, digit_timeout=3.0,
                 flash_digit_timeout=2.0, consult_timeout=30.0, recall_timeout=30.0, hold_music="moh",
                 flash_default="return", cidcw=False, cidcw_ack_ms=500):
        from pycallcenter.engine.analog import FxsExtensions

        self.engine = engine
        self.dialplan = dialplan or self._default_dialplan
        self.call_waiting = call_waiting  # True, False, or a set of channels that have it
        self.cw_timeout = int(cw_timeout * SAMPLE_RATE)
        self.digit_timeout = int(digit_timeout * SAMPLE_RATE)
        self.flash_digit_timeout = int(flash_digit_timeout * SAMPLE_RATE)
        self.consult_timeout = int(consult_timeout * SAMPLE_RATE)
        self.recall_timeout = int(recall_timeout * SAMPLE_RATE)
        self.hold_music = hold_music
        if flash_default not in ("return", "conference"):
            raise ValueError(f"flash_default must be 'return' or 'conference', got {flash_default!r}")
        self.flash_default = flash_default  # what FLASH with no digit does during an answered consultation
        self.cidcw = cidcw  # send caller ID on call waiting (SAS + CAS, phone ACKs with DTMF D or A, then FSK)
        self.cidcw_ack = int(cidcw_ack_ms * SAMPLE_RATE // 1000)
        self.stations = {}
        self.blind = []  # (A, B, started, extension channel): A hears ringback until B answers
        self.callbacks = []  # (A, extension leg, started): a failed blind transfer rings the extension back
        for adapter in engine.adapters:
            if isinstance(adapter, FxsExtensions):
                adapter.station = self
                for ch, line in adapter.lines.items():
                    self.stations[ch] = _Station(line)
        engine.add(self)
        engine.listeners.append(self)

    # --- helpers -------------------------------------------------------------------------------
    def _default_dialplan(self, digits):
        """Return the originate target for dialled digits: an extension's channel, or 9 + number outside."""
        from pycallcenter.engine.analog import FxoTrunks

        if digits.isdigit() and int(digits) in self.stations:
            return f"channel/{int(digits)}"
        if digits.startswith("9") and len(digits) > 1:
            for adapter in self.engine.adapters:
                if isinstance(adapter, FxoTrunks) or getattr(adapter, "tech", "") == "pri":
                    return f"{adapter.name}/{digits[1:]}"
        return None

    def _partner(self, leg):
        """Return (task, other leg) of the script bridge holding this leg, or (None, None)."""
        return bridge_of(self.engine.scheduler, leg)

    def _adopt(self, leg):
        """Take over the script bridge holding leg (and both its legs); return its partner or None."""
        task, other = self._partner(leg)
        if task is not None:
            task.op = _Parked(task.op.leg)
        self._keep(leg, other)
        return other

    def _keep(self, *legs):
        """Make the station the keeper of legs: their scripts ending no longer clears them; we do."""
        for leg in legs:
            if leg is not None:
                leg.keeper = self

    def _hold(self, leg):
        eng = self.engine
        if leg is not None and leg.active:
            eng.hold(leg, self.hold_music)
            if leg.row not in eng.media.players:
                eng.media.start_tone(leg.row, "call_waiting")  # no music on hold: the hold beep

    def _connect(self, ext, far):
        eng = self.engine
        eng.media.isolate(ext.row)
        eng.media.stop_tone(ext.row)
        if far is not None and far.active:
            far.held_links = set()
            eng.bridge(ext, far)

    def _make_current(self, st, leg):
        st.line.leg = leg
        self.engine.leg_on_row[leg.row] = leg

    def _ring_back(self, st, ext, far, now):
        """Ring the phone for a held call (reminder ring)."""
        eng = self.engine
        eng.media.isolate(st.line.row)
        eng.media.stop_tone(st.line.row)
        st.reset()
        st.mode, st.e, st.a, st.t = "recall", ext, far, now
        self._make_current(st, ext)
        st.line.adapter.run(st.line, st.line.machine.recall(now))
        eng.log("reminder_ring", leg=ext.id, held=far.id if far is not None else "-")

    # --- called by FxsExtensions -----------------------------------------------------------------
    def accepts_waiting(self, line):
        """Return True when a new call may wait on this busy phone."""
        st = self.stations.get(line.channel.number)
        enabled = self.call_waiting is True or (self.call_waiting and line.channel.number in self.call_waiting)
        if not enabled or st is None or line.state != "connected" or st.mode not in (None, "talk"):
            return False
        return self._partner(line.leg)[1] is not None or st.mode == "talk"

    def offer_waiting(self, line, leg, now):
        """A call waits on a busy phone: call-waiting tone on top of the conversation."""
        st = self.stations[line.channel.number]
        if st.mode is None:
            st.e, st.a = line.leg, None
        st.mode, st.w, st.t = "cw_wait", leg, now
        leg.state = C.ALERTING
        if self.cidcw and (leg.caller or leg.caller_name):
            self._start_cidcw(st, now)
        else:
            self.engine.media.start_tone(line.row, "call_waiting")
        self.engine.leg_alerting(leg, now)
        self.engine.log("call_waiting", leg=leg.id, busy=line.leg.id)

    # --- caller ID on call waiting (off-hook, "type II") ------------------------------------------
    def _start_cidcw(self, st, now):
        """Cut the conversation, send the subscriber alerting tone then the CPE alerting signal (CAS)."""
        eng, row = self.engine, st.line.row
        st.cid_links = {k for k in eng.media._links if row in k}
        eng.media.isolate(row)
        sas = generate(eng.tone_plan, "call_waiting", 0.3)
        cas = generate(eng.tone_plan, CAS, 0.08)
        eng.media.play(row, [sas, cas])
        st.cid, st.cid_t = "ack", now + sas.size + cas.size
        st.line.leg.digits = ""
        eng.log("cidcw_alert", leg=st.w.id)

    def _tick_cidcw(self, st, now):
        eng, row = self.engine, st.line.row
        if st.cid == "ack" and now >= st.cid_t:
            ack = [d for d in st.line.leg.digits if d in "AD"]
            st.line.leg.digits = ""
            if ack:
                from pycallcenter.dsp.callerid import CallerId, callerid_signal

                w = st.w
                cid = CallerId(number=w.caller or None, name=w.caller_name or None, datetime=eng.caller_id_datetime())
                pause = np.zeros(80 * SAMPLE_RATE // 1000, np.int16)  # the FSK starts 50-500 ms after the ACK
                eng.media.play(row, [pause, callerid_signal(cid, "bell202", "mdmf")])
                st.cid = "fsk"
                eng.log("cidcw_sent", leg=w.id, ack=ack[0])
            elif now - st.cid_t >= self.cidcw_ack:
                self._end_cidcw(st)  # no ACK: the phone cannot show it; the beep was enough
        elif st.cid == "fsk" and row not in eng.media.players:
            self._end_cidcw(st)

    def _end_cidcw(self, st):
        eng = self.engine
        rows = {l.row for l in eng.legs.values()}
        for listener, talker in st.cid_links:
            if listener in rows and talker in rows:
                eng.media.link(listener, talker)
        st.cid, st.cid_links = None, set()

    def on_hangup(self, line, leg, cause):
        """Clear a leg sharing the phone's row without touching the current call; return True if handled."""
        st = self.stations.get(line.channel.number)
        if st is None:
            return False
        eng = self.engine
        if leg is line.leg and st.mode == "cw_wait":
            # the first call ended while another waits: the waiting call keeps beeping; FLASH takes it
            eng.leg_ended(leg, cause, eng.now)
            st.e = st.a = None
            self._make_current(st, st.w)
            eng.media.start_tone(line.row, "call_waiting")
            return True
        if leg is line.leg:
            if st.mode != "cw":
                return False
            eng.leg_ended(leg, cause, eng.now)
            self._settle_cw(st, eng.now)
            return True
        if st.w is leg and st.mode == "cw_wait":
            eng.media.stop_tone(line.row)
            st.mode = "talk" if st.a is not None else None
            st.w = None
        eng.leg_ended(leg, cause, eng.now)
        return True

    def on_hook(self, line, now):
        """The phone hung up in a call: transfer, ring back for a held call; return True if fully handled."""
        st = self.stations.get(line.channel.number)
        if st is None or st.mode is None:
            return False
        eng = self.engine
        mode, a, b, e = st.mode, st.a, st.b, st.e
        eng.media.stop_tone(line.row)
        if mode == "talk":
            st.reset()
            if a is not None and a.active:
                a.hangup(C.NORMAL_CLEARING)
            return False
        if mode in ("consult", "flashed", "conference") and b is not None and b.active and a is not None and a.active:
            st.reset()
            eng.media.stop(a.row)
            eng.media.stop_tone(a.row)
            if b.state == C.ANSWERED:
                eng.log("transfer", how="attended", a=a.id, b=b.id)
                eng.hand_off(a, b)
            else:
                eng.media.isolate(a.row)
                eng.media.start_tone(a.row, "ringback")
                self.blind.append((a, b, now, line.channel.number))
                eng.log("transfer", how="blind", a=a.id, b=b.id)
            return False
        if mode in ("dialing", "consult", "flashed", "held") and a is not None and a.active:
            if b is not None and b.active:
                b.hangup(C.NORMAL_CLEARING)
            self._ring_back(st, e, a, now)
            return True
        if mode == "cw_wait":
            w = st.w
            st.reset()
            eng.media.stop_tone(line.row)
            if line.leg is not w:
                self._end_current(line, now)
            if a is not None and a.active:
                a.hangup(C.NORMAL_CLEARING)
            if w.active:  # the waiting call now rings the idle phone
                self._ring_back(st, w, None, now)
            return True
        if mode == "cw":
            cur = line.leg
            other = st.w if cur is st.e else st.e
            other_far = st.c if cur is st.e else st.a
            cur_far = st.a if cur is st.e else st.c
            self._end_current(line, now)
            if cur_far is not None and cur_far.active:
                cur_far.hangup(C.NORMAL_CLEARING)  # its script bridge may have been taken over: clear it here
            if other.active and other_far is not None and other_far.active:
                self._ring_back(st, other, other_far, now)
            else:
                st.reset()
                if other.active:
                    eng.leg_ended(other, C.NORMAL_CLEARING, now)
            return True
        st.reset()
        if b is not None and b.active:
            b.hangup(C.NORMAL_CLEARING)  # the held party left during a consultation: nobody to transfer to
        return False

    def _settle_cw(self, st, now):
        """After a party of a call-waiting pair left: end its side, keep the other (talking or held)."""
        eng = self.engine
        cur = st.line.leg
        sides = [(st.e, st.a), (st.w, st.c)]
        for ext, far in sides:
            if ext is not None and ext.active and far is not None and not far.active:
                eng.leg_ended(ext, C.NORMAL_CLEARING, now)
        alive = [(x, f) for x, f in sides if x is not None and x.active]
        if len(alive) == 2:
            return
        st.reset()
        if not alive:
            st.line.leg = None
            st.line.adapter.run(st.line, st.line.machine.clear(now))
            return
        (ext, far), = alive
        st.e, st.a = ext, far
        if ext is cur:
            st.mode = "talk"
        else:  # the current party left with a call on hold: stay off hook, FLASH takes it back
            st.mode = "held"
            self._make_current(st, ext)
        eng.log("call_waiting_settled", leg=ext.id, mode=st.mode)

    def _end_current(self, line, now):
        line.adapter.run(line, line.machine.release(now, C.NORMAL_CLEARING))

    # --- listener --------------------------------------------------------------------------------
    def on_leg_event(self, kind, leg):
        """React to flashes and to the phone answering a reminder ring."""
        st = self.stations.get(leg.channel) if leg.tech == "fxs" else None
        if st is None or leg is not st.line.leg:
            return
        if kind == "flash":
            self._flash(st, leg, self.engine.now)
        elif kind == "answered" and st.mode == "recall":
            if st.a is None:  # a waiting call that rang the phone: its own script bridges it
                st.reset()
                return
            self._connect(leg, st.a)
            st.mode, st.e = "talk", leg
            self.engine.log("recall_answered", leg=leg.id, held=st.a.id)

    def _flash(self, st, leg, now):
        eng = self.engine
        mode = st.mode
        eng.log("station_flash", leg=leg.id, mode=mode or "idle")
        if mode in (None, "talk"):
            a = st.a if mode == "talk" and st.a is not None else self._adopt(leg)
            if a is None or not a.active:
                return
            st.mode, st.e, st.a, st.t, st.b = "dialing", leg, a, now, None
            self._hold(a)
            eng.media.isolate(leg.row)
            eng.media.start_tone(leg.row, "dial")
            leg.digits, st.digits = "", ""
        elif mode in ("dialing", "held"):
            eng.media.stop_tone(leg.row)
            self._back_to_a(st)
        elif mode == "consult" and (st.b is None or st.b.state != C.ANSWERED):
            self._back_to_a(st)  # B failed, is busy or still rings: FLASH cancels it and returns to A
        elif mode == "consult":
            st.mode, st.t = "flashed", now
            leg.digits = ""
            eng.media.isolate(leg.row)
            eng.media.stop_tone(leg.row)
        elif mode == "conference":
            self._back_to_a(st)
        elif mode == "cw_wait" and st.e is None:  # the first call is gone: just answer the waiting one
            eng.media.stop_tone(leg.row)
            w = st.w
            st.reset()
            st.mode, st.e = "talk", w
            eng.leg_answered(w, now)
            eng.log("call_waiting_answered", leg=w.id, held="-")
        elif mode == "cw_wait":
            eng.media.stop_tone(leg.row)
            a = self._adopt(leg)
            st.e, st.a = leg, a
            self._hold(a)
            w = st.w
            eng.media.isolate(leg.row)
            self._make_current(st, w)
            st.mode = "cw"
            eng.leg_answered(w, now)  # the caller's dial completes and its script bridges to the phone
            eng.log("call_waiting_answered", leg=w.id, held=a.id if a else "-")
        elif mode == "cw":
            cur = st.line.leg
            if cur is st.w:
                if st.c is None:
                    st.c = self._adopt(st.w)
                self._hold(st.c)
                self._make_current(st, st.e)
                self._connect(st.e, st.a)
            else:
                self._hold(st.a)
                self._make_current(st, st.w)
                self._connect(st.w, st.c)
            eng.log("call_waiting_swap", talking=st.line.leg.id)

    def _back_to_a(self, st):
        if st.b is not None and st.b.active:
            st.b.hangup(C.NORMAL_CLEARING)
        st.b, st.b_on, st.b_up = None, False, False
        self._connect(st.e, st.a)
        st.mode = "talk"
        self.engine.log("consult_return", leg=st.e.id, party=st.a.id)

    def leaks(self):
        """Return one line per phone whose feature state outlived every leg it was about (Engine.leaks)."""
        out = []
        for ch, st in self.stations.items():
            legs = [leg for leg in (st.e, st.a, st.b, st.w, st.c) if leg is not None]
            if st.mode is not None and not any(leg.active for leg in legs):
                out.append(f"station features of channel {ch} are still in mode {st.mode}")
        return out  # pending transfers and recalls hold legs, which the engine reports

    # --- per tick ------------------------------------------------------------------------------
    def on_tick(self, now):
        """Digit collection, consult progress, flash digits, timers and the transferred pairs."""
        eng = self.engine
        for st in self.stations.values():
            if st.mode is not None:
                self._tick_station(st, now)
        for item in list(self.blind):
            a, b, t0, channel = item
            if b.active and b.state == C.ANSWERED:
                self.blind.remove(item)
                eng.hand_off(a, b)
            elif not a.active:
                self.blind.remove(item)
                b.hangup(C.NORMAL_CLEARING)
            elif not b.active or now - t0 >= self.consult_timeout:
                self.blind.remove(item)
                if b.active:
                    b.hangup(C.NO_ANSWER)
                self._recall_after_blind(a, channel, now)
        for item in list(self.callbacks):
            a, x, t0 = item
            if a.active and x.active and x.state == C.ANSWERED:
                self.callbacks.remove(item)
                eng.hand_off(a, x)
            elif not a.active or not x.active or now - t0 >= self.recall_timeout:
                self.callbacks.remove(item)
                for leg in (x, a):
                    if leg.active:
                        leg.hangup(C.NO_ANSWER if leg is x else C.NORMAL_CLEARING)

    def _recall_after_blind(self, a, channel, now):
        """B of a blind transfer failed: ring the extension that transferred A (A keeps hearing ringback)."""
        x = self.engine.originate(f"channel/{channel}", caller=a.caller, caller_name=a.caller_name, call=a.call)
        if x is None:
            a.hangup(C.NORMAL_CLEARING)
            return
        self._keep(x)
        self.callbacks.append((a, x, now))
        self.engine.log("transfer_recall", a=a.id, leg=x.id)

    def _tick_station(self, st, now):
        eng = self.engine
        e, a, b = st.e, st.a, st.b
        if st.mode in ("talk", "held"):
            if a is not None and not a.active and e.active:
                st.reset()
                e.hangup(C.NORMAL_CLEARING)
            elif not e.active:
                st.reset()
        elif st.mode == "dialing":
            if e.digits:
                st.digits += e.digits
                e.digits = ""
                st.t = now
                eng.media.stop_tone(e.row)
            done = st.digits.endswith("#") or (st.digits and now - st.t >= self.digit_timeout)
            if done:
                number = st.digits.rstrip("#")
                target = self.dialplan(number)
                st.mode, st.t = "consult", now
                st.b = eng.originate(target, caller=str(e.channel), call=a.call) if target else None
                self._keep(st.b)
                eng.log("consult", leg=e.id, digits=number, target=target or "-", b=st.b.id if st.b else "-")
                if st.b is None:
                    eng.media.start_tone(e.row, "congestion")
        elif st.mode == "consult":
            if b is None:
                return
            if b.active and b.state == C.ANSWERED and not st.b_up:
                st.b_on = st.b_up = True
                self._connect(e, b)
            elif (b.active and b.state == C.ALERTING and b.tech == "fxs" and not st.b_up
                  and e.row not in eng.media.tone_rows):  # an extension rings silently: we give the ringback
                eng.media.start_tone(e.row, "ringback")
            elif not b.active and st.b_up and not st.b_on:
                st.mode, st.b, st.b_up = "talk", None, False  # the held consult party left: stay with A
            elif not b.active and st.b_on is not None:
                st.b_on = None  # B is gone: busy or reorder until FLASH returns to A
                eng.media.isolate(e.row)
                eng.media.start_tone(e.row, "busy" if b.cause == C.USER_BUSY else "congestion")
            elif b.active and b.state != C.ANSWERED and now - st.t >= self.consult_timeout:
                b.hangup(C.NO_ANSWER)
        elif st.mode == "flashed":
            digit = e.digits[:1]
            e.digits = ""
            if not digit and now - st.t >= self.flash_digit_timeout and self.flash_default == "conference":
                digit = "3"
            if digit == "3" and b is not None and b.active and b.state == C.ANSWERED:
                eng.media.stop(a.row)
                eng.media.stop_tone(a.row)
                eng.conference([e, a, b])
                st.mode = "conference"
            elif digit == "2" and b is not None and b.active and b.state == C.ANSWERED:
                if st.b_on:
                    self._hold(b)
                    self._connect(e, a)
                else:
                    self._hold(a)
                    self._connect(e, b)
                st.b_on = not st.b_on
                st.mode = "consult"
                eng.log("consult_swap", leg=e.id, talking=(b if st.b_on else a).id)
            elif digit or now - st.t >= self.flash_digit_timeout:
                self._back_to_a(st)
        elif st.mode == "conference":
            if not a.active and not b.active:
                st.reset()
                e.hangup(C.NORMAL_CLEARING)
        elif st.mode == "cw":
            if any(f is not None and not f.active for f in (st.a, st.c)) or not (st.e.active and st.w.active):
                self._settle_cw(st, now)
        elif st.mode == "cw_wait":
            if st.cid is not None:
                self._tick_cidcw(st, now)
            if now - st.t >= self.cw_timeout and st.w is not None and st.w.active:
                st.w.hangup(C.NO_ANSWER)
        elif st.mode == "recall":
            if st.a is not None and not st.a.active:
                st.reset()
                e.hangup(C.NORMAL_CLEARING)
            elif now - st.t >= self.recall_timeout:
                st.reset()
                if a is not None:
                    a.hangup(C.NORMAL_CLEARING)
                e.hangup(C.NO_ANSWER)
