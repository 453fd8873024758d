"""A SIP phone for engine tests: our own UserAgent over a loopback UDP socket, with an RTP socket that
records what it hears (mu-law, 20 ms packets) and sends tones and RFC 4733 digits. The test drives it:
``pump()`` after each engine tick, on the engine's board time."""
import random
import socket
import ssl
import time

import numpy as np

from pycallcenter import ivr
from pycallcenter.dsp import g711
from pycallcenter.dsp.dtmf import DtmfDetector
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.engine.sip_stream import StreamTransport
from pycallcenter.media import rtp
from pycallcenter.media.srtp import DEFAULT_SUITE, SrtpContext, format_crypto, new_key, parse_crypto
from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U

FRAME = 160  # 20 ms at 8 kHz


def free_rtp_range(count=40):
    """Return an (even first, last) port range of loopback UDP ports free right now (tests run side by side)."""
    rng = random.Random()
    for _ in range(50):
        first = rng.randrange(30000, 60000 - count) & ~1
        probes = []
        try:
            for port in (first, first + count - 1):
                s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
                probes.append(s)
                s.bind(("127.0.0.1", port))
            return first, first + count - 1
        except OSError:
            continue
        finally:
            for s in probes:
                s.close()
    raise RuntimeError("no free UDP port range on loopback")


class Phone:
    """A SIP endpoint on loopback driven by the test (see the module doc)."""

    def __init__(self, user="alice", *, auth=None, answer_after=0.0, srtp="off", transport="UDP", tls=None):
        """srtp: the phone's own policy ("offer"/"require" give it a key: its answers carry it, and media is
        SRTP once the far end's key is known). transport "TCP" or "TLS" puts its signalling on connections
        (tls: the (server, client) SSL contexts), polled in pump() like the engine's."""
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.setblocking(False)
        self.rtp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.rtp.bind(("127.0.0.1", 0))
        self.rtp.setblocking(False)
        self.addr = self.sock.getsockname()
        self.stream = None
        if transport != "UDP":
            server_ssl, client_ssl = tls or (None, None)
            self.stream = StreamTransport(transport, ("127.0.0.1", 0), server_ssl=server_ssl, client_ssl=client_ssl)
            self.addr = self.stream.address
        self.transports_heard = set()  # the transports the phone's SIP messages arrived on
        self.key = new_key()
        self.crypto = format_crypto(DEFAULT_SUITE, self.key)
        self.srtp = None  # the SrtpContext once both keys are known
        self._now = 0.0
        self.ua = U.UserAgent(self.addr, user=user, rtp_port=self.rtp.getsockname()[1], auth=auth,
                              answer_after=None if srtp != "off" else answer_after, srtp=srtp, transport=transport)
        self.events = []
        self.heard = []  # int16 arrays, one per RTP audio packet received
        self.events_heard = []  # RFC 4733 digits received (one per event, on its first end packet)
        self.remote_rtp = None
        self.call_id = None
        self._tx = np.zeros(0, np.int16)
        self._digits = []  # RFC 4733 packets still to send
        self._seq, self._ts, self._ssrc = 1000, 0, random.getrandbits(32)
        self._ended_events = set()

    def close(self):
        """Close both sockets."""
        self.sock.close()
        self.rtp.close()
        if self.stream is not None:
            self.stream.close()

    # --- signalling ---------------------------------------------------------------------------------
    def _run(self, outputs):
        for item in outputs:
            if isinstance(item, U.Send):
                if self.stream is not None:
                    self.stream.send(item.data, item.addr, self._now)
                else:
                    self.sock.sendto(item.data, item.addr)
            else:
                self.events.append(item)
                if isinstance(item, U.IncomingCall):
                    self.call_id = item.call_id
                    self._remote_from(item.offer)
                    if item.replaces is not None and item.replaces in self.ua.dialogs:  # as a phone does: the
                        self._run(self.ua.hang_up(item.replaces, self._now))  # replaced call ends (RFC 3891 3)
                    if self.ua.srtp != "off" and self.ua.answer_after is None:  # answer at once, with our key
                        self.ua.dialogs[item.call_id].extra["crypto"] = self.crypto
                        self._run(self.ua.answer(item.call_id, self._now))
                elif isinstance(item, U.CallAnswered):
                    self._remote_from(item.answer)
                elif isinstance(item, U.SessionUpdated):
                    self._remote_from(item.offer)
                elif isinstance(item, (U.CallEnded, U.CallCancelled, U.CallFailed)) and item.call_id == self.call_id:
                    self.remote_rtp = None  # a phone whose call is over sends no more audio

    def _remote_from(self, sd):
        if sd is None:
            return
        m = next(m for m in sd.media if m.media == "audio")
        self.remote_rtp = (sd.connection_address(m), m.port)
        d = self.ua.dialogs.get(self.call_id)
        offered = d is None or sd is d.offer or (d.extra.get("late") and sd is d.answer)  # a late offer: the 2xx's
        if m.crypto and m.port and (self.ua.srtp != "off" or not offered):
            # a key in an offer counts only when we take SRTP; one in an answer means our offer carried ours
            suite, key = parse_crypto(str(m.crypto[0]))
            self.srtp = SrtpContext(suite, self.key, key)

    def call(self, uri, addr, now, **kw):
        """Place a call; returns its Call-ID."""
        self.call_id, outputs = self.ua.invite(uri, now, addr, **kw)
        self._run(outputs)
        return self.call_id

    def hang_up(self, now, reason=None):
        """End our call."""
        self._run(self.ua.hang_up(self.call_id, now, reason=reason))

    def register(self, registrar, now, expires=600):
        """Register our contact to the registrar (host, port) as our user."""
        self._run(self.ua.register(f"sip:{self.ua.user}@{registrar[0]}", registrar, expires, now))

    def kinds(self):
        """Return the names of the SIP events seen so far."""
        return [type(e).__name__ for e in self.events]

    # --- media --------------------------------------------------------------------------------------
    def say(self, samples):
        """Queue int16 samples to send as audio."""
        self._tx = np.concatenate([self._tx, np.asarray(samples, np.int16)])

    def press(self, digit, inband=False):
        """Send a DTMF digit: as RFC 4733 events (payload type 101), or as a tone in the audio."""
        if inband:
            self.say(dtmf_signal(digit, on_ms=80.0, off_ms=80.0))
            return
        code = rtp.digit_event(digit)
        for i in range(1, 6):
            self._digits.append((rtp.TelephoneEvent(code, False, 10, i * FRAME).build(), i == 1))
        for _ in range(3):
            self._digits.append((rtp.TelephoneEvent(code, True, 10, 6 * FRAME).build(), False))

    def pump(self, now):
        """Move signalling and one 20 ms RTP packet each way; run due SIP timers."""
        self._now = now
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except BlockingIOError:
                break
            self.transports_heard.add("UDP")
            self._run(self.ua.receive(data, addr, now))
        if self.stream is not None:
            messages, failed = self.stream.poll(now)
            for data, addr in messages:
                self.transports_heard.add(self.stream.name)
                self._run(self.ua.receive(data, addr, now, transport=self.stream.name))
            for addr in failed:
                self._run(self.ua.transport_failed(addr, now))
        deadline = self.ua.next_deadline()
        if deadline is not None and deadline <= now:
            self._run(self.ua.handle_timer(now))
        while True:
            try:
                data, _ = self.rtp.recvfrom(2048)
            except BlockingIOError:
                break
            if self.srtp is not None:
                data = self.srtp.unprotect(data)
                if data is None:  # plain RTP, or SRTP under another key: not heard
                    continue
            try:
                p = rtp.parse_rtp(data)
            except Exception:  # noqa: BLE001 - RTCP on the same port in this simple peer
                continue
            if p.payload_type == 0:
                self.heard.append(g711.ulaw_decode(np.frombuffer(p.payload, np.uint8)))
            elif p.payload_type == 101:
                ev = rtp.parse_event(p.payload)
                if ev.end and p.timestamp not in self._ended_events:
                    self._ended_events.add(p.timestamp)
                    self.events_heard.append(ev.digit)
        d = self.ua.dialogs.get(self.call_id)
        ringing = d is not None and d.role == "uas" and d.extra.get("pending") is not None
        if self.remote_rtp is not None and not ringing:  # a phone that rings sends no audio yet
            self._send_frame()

    def _send_frame(self):
        if self._digits:
            payload, marker = self._digits.pop(0)
            if marker:
                self._event_ts = self._ts
            packet = rtp.build_rtp(101, self._seq, self._event_ts, self._ssrc, payload, marker=marker)
        else:
            chunk = self._tx[:FRAME]
            self._tx = self._tx[FRAME:]
            if chunk.size < FRAME:
                chunk = np.concatenate([chunk, np.zeros(FRAME - chunk.size, np.int16)])
            packet = rtp.build_rtp(0, self._seq, self._ts, self._ssrc, g711.ulaw_encode(chunk).tobytes())
        self._seq = (self._seq + 1) & 0xFFFF
        self._ts = (self._ts + FRAME) & 0xFFFFFFFF
        self.rtp.sendto(packet if self.srtp is None else self.srtp.protect(packet), self.remote_rtp)

    def audio(self):
        """Return everything heard so far as one int16 array."""
        return np.concatenate(self.heard) if self.heard else np.zeros(0, np.int16)

    def loud_ms(self, level=500):
        """Return how many milliseconds of what was heard were louder than level (RMS per 20 ms)."""
        a = self.audio().astype(np.float64)
        frames = a[: a.size // FRAME * FRAME].reshape(-1, FRAME)
        return int((np.sqrt((frames ** 2).mean(axis=1)) > level).sum() * 20) if frames.size else 0

    def dtmf_heard(self):
        """Return the digits the DTMF detector finds in-band in what was heard."""
        a = self.audio()
        det = DtmfDetector(1)
        got = det.process(a[: a.size // FRAME * FRAME])
        return "".join(e.digit for e in got if e.kind == "begin")


def tls_contexts(folder):
    """Return (server, client) SSL contexts for loopback TLS: a self-signed certificate for 127.0.0.1 made in
    folder (the CTI's helper), which the client context trusts and checks."""
    from pycallcenter.tls import self_signed, server_context

    cert, key = self_signed(str(folder))
    return server_context(cert, key), ssl.create_default_context(cafile=cert)


def offer_of(phone):
    """Return the phone's own SDP offer (PCMU, PCMA, telephone-event) on its RTP port."""
    return S.make_offer("127.0.0.1", phone.rtp.getsockname()[1])


def tone(freq=600.0, seconds=1.0, amp=8000):
    """Return a sine tone as int16 samples at 8 kHz."""
    t = np.arange(int(seconds * 8000)) / 8000
    return (amp * np.sin(2 * np.pi * freq * t)).astype(np.int16)


def power_at(samples, freq):
    """Return the power of one frequency in samples (one DFT bin by Goertzel's sum)."""
    x = samples.astype(np.float64)
    t = np.arange(x.size) / 8000
    return abs(np.dot(x, np.exp(-2j * np.pi * freq * t))) ** 2


def prompt_and_digits(eng):
    """Route every call to a script that answers, plays a tone, collects one digit and waits; return the dict
    it fills ("called", "digits")."""
    seen = {}

    async def script(call):
        seen["called"] = call.called
        await call.answer()
        await call.play(tone())
        got = await call.collect(max_digits=1, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.wait(30.0)

    eng.router = lambda leg: script
    return seen


def put_through(target):
    """Return a script that answers its call and puts it through to target (e.g. 'sip/agent1')."""
    async def script(call):
        await call.answer()
        await call.transfer(target)
    return script


def hear_each_other(a, b, go, seconds=1.2):
    """Return True when phones a and b hear each other: a says 700 Hz and b 1100 Hz for seconds while
    go(seconds, a, b) runs the engine, and each hears the other's tone over ten times its own."""
    start = len(a.heard), len(b.heard)
    a.say(tone(700, seconds))
    b.say(tone(1100, seconds))
    go(seconds + 0.4, a, b)
    if len(a.heard) <= start[0] or len(b.heard) <= start[1]:
        return False
    by_a, by_b = np.concatenate(a.heard[start[0]:]), np.concatenate(b.heard[start[1]:])
    return power_at(by_b, 700) > 10 * power_at(by_b, 1100) and power_at(by_a, 1100) > 10 * power_at(by_a, 700)


def dial_and_talk(eng, target, phone, outcome):
    """Start a dialler that calls target, and once answered notes the leg, the row's SRTP suite and the loudest
    sample heard from the phone (which says a 1 kHz tone) while it plays an 800 Hz tone for a second; then it
    hangs up. Fills outcome ("dial", "leg", "srtp", "level")."""

    async def dialler():
        got = await ivr.dial(eng, target, timeout=10)
        outcome["dial"] = got.outcome
        if got.outcome == "answered":
            leg = got.leg
            outcome["leg"] = (leg.tech, leg.called, leg.direction)
            outcome["srtp"] = eng.packet.stats(leg.row)["srtp"]
            eng.media.play(leg.row, [tone(800, 1.0)])
            levels = []
            for _ in range(50):
                await ivr.wait(eng, 0.02)
                levels.append(int(np.abs(eng.media.rx[leg.row]).max()))
            outcome["level"] = max(levels)
            leg.hangup()

    phone.say(tone(1000, 3.0))
    eng.scheduler.spawn(dialler(), "dialler", eng.now)


def secure_offer_of(phone, policy="require"):
    """Return the phone's offer carrying its SRTP key: RTP/SAVP ("require") or RTP/AVP with a key ("offer")."""
    offer = offer_of(phone)
    offer.media[0] = S.secure(offer.media[0], phone.crypto, policy)
    return offer


def run(eng, seconds, *phones, until=None, tick=None, realtime=False):
    """Tick the engine (or call tick(), e.g. a centre's) for seconds of board time, pumping every phone after
    each tick; return True as soon as until() holds. realtime paces the ticks to the wall clock (for a peer
    in another process, whose timers run on the wall clock)."""
    ticks = int(seconds * 8000 / eng.board.blocksize)
    start = time.monotonic()
    for n in range(ticks):
        (tick or eng.tick)()
        for p in phones:
            p.pump(eng.now / 8000)
        if until is not None and until():
            return True
        ahead = start + (n + 1) * eng.board.blocksize / 8000 - time.monotonic()
        if realtime and ahead > 0:
            time.sleep(ahead)
    return False
