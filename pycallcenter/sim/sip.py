"""A simulated SIP carrier: the far end of the centre's SIP trunk, on loopback UDP, built on our own sans-IO
SIP stack (``pycallcenter.sip.ua``). It places the calls of simulated callers (the PSTN simulator's
``Caller`` records) as INVITEs with a G.711 offer, sends their audio as RTP (20 ms packets of mu-law, their
menu choices as RFC 4733 events or as DTMF tones in the audio, callers taking turns), waits with finite
patience, talks once an agent took the call and clears with BYE.

It runs on the board's clock: ``tick(now_samples, blocksize)`` once per engine tick, before the centre's,
reads every datagram waiting on its sockets, runs the user agent's timers at board time, places the callers
due, acts for each caller and sends one tick of RTP for each call up (the calls in silence through the RTP send
kernel in one call, the centre's packets read in recvmmsg batches: still one datagram each way per packet,
but no Python per packet; a digit, in-band audio or the loss fault goes the per-packet way). The user
agent's randomness (tags, Call-IDs, branches) comes from the seed, so a run is as repeatable as UDP on
loopback makes it.

Faults, as a carrier shows them: ``go_down()`` (the carrier hangs: its calls are lost, it neither answers
nor sends, new callers are refused) and ``come_back()`` (it restarts with no memory of its dialogs, so the
centre's requests in them get 481); ``loss`` (the share of datagrams dropped both ways, SIP and RTP);
``garbage()`` (malformed datagrams at the centre's SIP port and at the RTP ports of the calls up).
"""
import random
import socket
from collections import deque

import numpy as np

from pycallcenter.dsp import SAMPLE_RATE, g711
from pycallcenter.dsp.tones import dtmf_signal
from pycallcenter.media import rtp, rtp_batch
from pycallcenter.sip import causes
from pycallcenter.sip import sdp as S
from pycallcenter.sip import ua as U

FRAME = 160  # samples in one 20 ms RTP packet
EVENT_PT = 101  # telephone-event payload type of our offer
CARRIER_DOWN = 41  # what a caller whose carrier failed under them hears (temporary failure)
_SILENCE = bytes(g711.ulaw_encode(np.zeros(FRAME, np.int16)).tobytes())
# malformed datagrams of the garbage fault: cut messages, broken headers, binary noise (with random bytes)
_BAD_SIP = (b"INVITE sip:5000@127.0.0.1 SIP/2.0\r\nVia: SIP/2.0/UDP\r\n\r\n",
            b"SIP/2.0 200\r\nCSeq: one INVITE\r\n\r\n",
            b"BYE sip:x SIP/2.0\r\nContent-Length: 99999\r\n\r\nshort",
            b"\r\n\r\n\x00\x01\x02",
            b"OPTIONS sip:centre SIP/2.0\r\nVia: SIP/2.0/UDP 127.0.0.1:1;branch=z9hG4bK\r\nCall-ID: \r\n\r\n")


class _Call:
    """One caller's SIP call: its dialog's Call-ID, the centre's RTP address and what went each way."""

    def __init__(self, caller, call_id, index, ssrc):
        self.caller = caller
        self.call_id = call_id
        self.events = index % 2 == 0  # every other caller sends its digits as RFC 4733 events, the rest in-band
        self.remote = None  # the centre's RTP address, from its answer
        self.ssrc = ssrc
        self.seq, self.ts = ssrc & 0xFFFF, 0
        self.tx = np.zeros(0, np.int16)  # audio still to send (in-band DTMF)
        self.digits = deque()  # RFC 4733 packets still to send: (payload, marker)
        self.event_ts = 0
        self.packets_out = self.packets_in = 0
        self.dest_of = self.dest4 = None  # the remote the send kernel's (IPv4 int, port) was made from, and it


class SipCarrier:
    """The carrier's end of a SIP trunk on loopback (see the module doc). ``address`` is its SIP address,
    for the centre's [[sip.trunk]] host and port; ``connect`` names the centre's."""

    def __init__(self, host="127.0.0.1", seed=1):
        self.host = host
        self.sock = self._udp(host)
        self.rtp, self.rtcp = self._rtp_pair(host)
        self.address = self.sock.getsockname()[:2]
        self.rtp_port = self.rtp.getsockname()[1]
        self.rng = random.Random(f"sip-carrier-{seed}")
        self._ua_rng = random.Random(f"sip-carrier-ua-{seed}")
        self.ua = self._new_ua()
        self.centre = None  # the centre's SIP address
        self.pending = deque()  # callers not placed yet, by arrival
        self.active = {}  # Call-ID -> _Call
        self.done = []
        self.now = 0.0
        self.down = False
        self.loss = 0.0  # share of datagrams dropped both ways
        self.last_answer = None  # board seconds of the last call the centre answered
        self._placed = 0
        # the usual tick of a call (silence, no loss fault) goes through the RTP kernels: every call's packets
        # built and sent in one call, the centre's read in batches of recvmmsg; IPv6 stays in Python
        self._native = rtp_batch.ipv4(host) is not None
        self._inbox = rtp_batch.Inbox() if self._native else None
        self._silence = np.zeros((0, 0), np.uint8)
        self.counts = dict.fromkeys(("invites", "answered", "dropped_out", "dropped_in", "discarded_down",
                                     "garbage_sip", "garbage_rtp", "rtp_out", "rtp_in", "lost_at_failure"), 0)

    @staticmethod
    def _udp(host):
        s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_DGRAM)
        s.bind((host, 0))
        s.setblocking(False)
        return s

    @classmethod
    def _rtp_pair(cls, host):
        """Return sockets on an even port and the next one: the centre sends RTCP to the port after RTP's."""
        for _ in range(100):
            rtp_sock = cls._udp(host)
            port = rtp_sock.getsockname()[1]
            if port % 2 == 0:
                rtcp = socket.socket(rtp_sock.family, socket.SOCK_DGRAM)
                try:
                    rtcp.bind((host, port + 1))
                    rtcp.setblocking(False)
                    return rtp_sock, rtcp
                except OSError:
                    rtcp.close()
            rtp_sock.close()
        raise OSError(f"no free pair of UDP ports on {host} for the carrier's RTP")

    def _new_ua(self):
        return U.UserAgent(self.address, user="carrier", rtp_port=self.rtp_port, answer_after=None,
                           rng=self._ua_rng, codecs=S.codecs_named(["PCMU"]))

    def connect(self, centre):
        """Send our calls to the centre's SIP address (host, port)."""
        self.centre = tuple(centre)

    def close(self):
        """Close the sockets."""
        for sock in (self.sock, self.rtp, self.rtcp):
            sock.close()

    # --- public --------------------------------------------------------------------------------
    def add(self, caller):
        """Schedule a caller (keeps arrival order)."""
        self.pending.append(caller)
        self.pending = deque(sorted(self.pending, key=lambda c: c.arrival))

    @property
    def busy(self):
        """Return True while callers wait to be placed or a call is not over."""
        return bool(self.pending or self.active)

    def agent_answered(self, number, agent, now):
        """An agent's phone showing this caller's number was answered: the caller is being served."""
        for call in self.active.values():
            c = call.caller
            if c.number == number and c.agent_at is None and c.answered is not None and not c.clearing:
                c.agent_at, c.agent = now, agent
                c.log.append((now, "agent"))

    def answered_calls(self):
        """Return the Call-IDs of the calls the centre has answered and nobody has cleared yet."""
        return [cid for cid, call in self.active.items() if call.caller.answered is not None
                and not call.caller.clearing]

    def rtp_ports(self):
        """Return the centre's RTP addresses of the calls up."""
        return [call.remote for call in self.active.values() if call.remote is not None]

    def go_down(self, now):
        """The carrier hangs: every call it carries is lost to its caller (cause 41), it answers nothing and sends
        nothing, and callers arriving meanwhile are refused, until come_back()."""
        self.down = True
        for call in list(self.active.values()):
            self.counts["lost_at_failure"] += 1
            self._end(call, now, CARRIER_DOWN, "the carrier failed")

    def come_back(self, now):
        """The carrier restarts: a fresh user agent that remembers no dialog (the centre's requests in the old
        ones get 481), and what queued on its sockets while it was down is thrown away."""
        self._drain(self.sock)
        self._drain(self.rtp)
        self.ua = self._new_ua()
        self.down = False

    def garbage(self, count):
        """Send count malformed datagrams, each at the centre's SIP port or at the RTP port of a call up (from our
        RTP socket, the address the centre's row latched on); return how many went to each (sip, rtp)."""
        ports = self.rtp_ports()
        sent = [0, 0]
        for _ in range(count):
            if ports and self.rng.random() < 0.5:
                data = self.rng.randbytes(self.rng.randrange(1, 200))
                self._sendto(self.rtp, data, self.rng.choice(ports), drop=False)
                sent[1] += 1
            else:
                data = (self.rng.choice(_BAD_SIP) if self.rng.random() < 0.6
                        else self.rng.randbytes(self.rng.randrange(1, 600)))
                self._sendto(self.sock, data, self.centre, drop=False)
                sent[0] += 1
        self.counts["garbage_sip"] += sent[0]
        self.counts["garbage_rtp"] += sent[1]
        return tuple(sent)

    def leaks(self):
        """Return what the carrier holds with no call of its own: dialogs and transactions of calls it no longer
        has (after a drain every list is empty)."""
        out = [f"carrier dialog {cid} with no call" for cid in self.ua.dialogs if cid not in self.active]
        out += [f"carrier transaction {key[-1]} {key[1]}" for key in self.ua.layer.transactions]
        return out

    # --- per tick ------------------------------------------------------------------------------
    def tick(self, now_samples, blocksize):
        """Advance to board time now_samples: read, run timers, place due callers, act, send a tick of RTP."""
        self.now = now = now_samples / SAMPLE_RATE
        if self.down:  # a hung carrier: whatever arrives is lost, nothing goes out
            self.counts["discarded_down"] += self._drain(self.sock) + self._drain(self.rtp) + self._drain(self.rtcp)
            while self.pending and self.pending[0].arrival <= now:
                caller = self.pending.popleft()
                caller.placed = caller.ended = now
                caller.refused = True
                caller.log.append((now, "refused: the carrier is down"))
                self.done.append(caller)
            return
        while True:
            try:
                data, addr = self.sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                break
            except OSError:  # an ICMP error of an earlier send
                continue
            if self.loss and self.rng.random() < self.loss:
                self.counts["dropped_in"] += 1
                continue
            self._run(self.ua.receive(data, addr[:2], now), now)
        deadline = self.ua.next_deadline()
        if deadline is not None and deadline <= now:
            self._run(self.ua.handle_timer(now), now)
        while self.pending and self.pending[0].arrival <= now:
            self._place(self.pending.popleft(), now)
        for call in list(self.active.values()):
            self._behave(call, now)
        frames = max(1, blocksize // FRAME)
        plain = []  # calls whose whole tick is silence: sent by the kernel below
        for call in self.active.values():
            if call.remote is not None and call.caller.answered is not None and not call.caller.clearing:
                if self._native and not self.loss and not call.digits and not call.tx.size \
                        and rtp_batch.dest4(call) is not None:
                    plain.append(call)
                    continue
                for _ in range(frames):
                    self._send_frame(call)
        if plain:
            self._send_silence(plain, frames)
        if self._native and not self.loss:
            self._hear_native()
        else:
            self._hear()
        self._drain(self.rtcp)  # the centre's reports: read and let go

    def _drain(self, sock):
        n = 0
        while True:
            try:
                sock.recvfrom(65535)
            except (BlockingIOError, InterruptedError):
                return n
            except OSError:
                continue
            n += 1

    def _hear_native(self):
        """_hear with the datagrams read in recvmmsg batches and counted by source with numpy."""
        by_source = {}
        for call in self.active.values():
            if call.remote is not None and rtp_batch.dest4(call) is not None:
                host, port = call.dest4
                by_source[host << 16 | port] = call
        box = self._inbox
        while True:
            n = rtp_batch.recv_many(self.rtp, box)
            usual = box.rec_len[:n] >= 12
            keys = box.rec_host[:n][usual].astype(np.int64) << 16 | box.rec_port[:n][usual]
            for key, count in zip(*(v.tolist() for v in np.unique(keys, return_counts=True))):
                call = by_source.get(key)
                if call is not None:
                    call.packets_in += count
                    self.counts["rtp_in"] += count
            if n < box.arena.shape[0]:
                return

    def _hear(self):
        """Count the centre's RTP per call (by the row's address it came from); the audio itself is not kept."""
        by_source = {call.remote: call for call in self.active.values() if call.remote is not None}
        while True:
            try:
                data, addr = self.rtp.recvfrom(2048)
            except (BlockingIOError, InterruptedError):
                return
            except OSError:
                continue
            if self.loss and self.rng.random() < self.loss:
                self.counts["dropped_in"] += 1
                continue
            call = by_source.get(addr[:2])
            if call is not None and len(data) >= 12:
                call.packets_in += 1
                self.counts["rtp_in"] += 1

    # --- signalling ----------------------------------------------------------------------------
    def _sendto(self, sock, data, addr, drop=True):
        if drop and self.loss and self.rng.random() < self.loss:
            self.counts["dropped_out"] += 1
            return
        try:
            sock.sendto(data, addr)
        except OSError:  # a full socket buffer on loopback: the datagram is lost, as on a network
            self.counts["dropped_out"] += 1

    def _run(self, outputs, now):
        for item in outputs:
            if isinstance(item, U.Send):
                self._sendto(self.sock, item.data, item.addr)
            elif isinstance(item, U.IncomingCall):  # the soak's centre does not call the carrier
                self._run(self.ua.reject(item.call_id, 404, now), now)
            elif isinstance(item, U.CallAnswered):
                call = self.active.get(item.call_id)
                if call is not None:
                    self._answered(call, item.answer, now)
            elif isinstance(item, U.SessionUpdated):
                call = self.active.get(item.call_id)
                if call is not None and item.offer is not None:
                    call.remote = _rtp_address(item.offer) or call.remote
            elif isinstance(item, U.CallFailed):
                call = self.active.get(item.call_id)
                if call is not None:
                    told = causes.cause_of_reason([item.reason] if item.reason else [])
                    self._end(call, now, told or causes.cause_of_status(item.status), f"failed {item.status}")
            elif isinstance(item, (U.CallEnded, U.CallCancelled)):
                call = self.active.get(item.call_id)
                if call is not None:
                    told = causes.cause_of_reason([item.reason] if getattr(item, "reason", None) else [])
                    self._end(call, now, told or 16, f"ended ({getattr(item, 'by', 'cancelled')})")

    def _place(self, caller, now):
        caller.placed = now
        self._placed += 1
        offer = S.make_offer(self.host, self.rtp_port, self.ua.codecs)
        call_id, outputs = self.ua.invite(f"sip:{caller.called}@{self.centre[0]}:{self.centre[1]}", now, self.centre,
                                          from_user=caller.number, sdp=offer)
        self.active[call_id] = _Call(caller, call_id, self._placed, self.rng.getrandbits(32))
        self.counts["invites"] += 1
        caller.log.append((now, f"INVITE {call_id}"))
        self._run(outputs, now)

    def _answered(self, call, answer, now):
        call.caller.answered = self.last_answer = now
        call.caller.log.append((now, "answered"))
        call.remote = _rtp_address(answer)
        if call.events and not _has_events(answer):
            call.events = False
        self.counts["answered"] += 1

    def _behave(self, call, now):
        caller = call.caller
        if caller.answered is None or caller.clearing:
            return
        step = caller.act(now, not call.tx.size and not call.digits)
        if step is None or step[0] == "talk":
            return
        what, arg = step
        if what == "hang up":
            self._hang_up(call, now, arg)
        else:
            self._press(call, arg)

    def _hang_up(self, call, now, why):
        call.caller.clearing = True
        call.caller.log.append((now, why))
        self._run(self.ua.hang_up(call.call_id, now), now)

    def _end(self, call, now, cause, why):
        caller = call.caller
        caller.ended, caller.cause = now, cause
        caller.log.append((now, f"ended: {why}"))
        del self.active[call.call_id]
        self.done.append(caller)

    # --- media ---------------------------------------------------------------------------------
    def _press(self, call, digits):
        """Queue a group of digits: RFC 4733 events (80 ms each, then 80 ms of silence) or DTMF tones."""
        if not call.events:
            call.tx = np.concatenate([call.tx, dtmf_signal(digits, level_dbm0=-8, on_ms=80, off_ms=80)])
            return
        for digit in digits:
            code = rtp.digit_event(digit)
            for i in range(1, 5):
                call.digits.append((rtp.TelephoneEvent(code, False, 10, i * FRAME).build(), i == 1))
            for _ in range(3):  # the end packet, sent three times (RFC 4733 2.5.1.4)
                call.digits.append((rtp.TelephoneEvent(code, True, 10, 4 * FRAME).build(), False))
            call.digits.extend([(None, False)] * 4)  # silence between digits

    def _send_silence(self, calls, frames):
        """Send frames packets of silence for each call in one kernel call: what _send_frame sends for them."""
        n, width = len(calls), frames * FRAME
        if self._silence.shape[0] < n or self._silence.shape[1] != width:
            self._silence = np.tile(np.frombuffer(_SILENCE, np.uint8), (max(n, 2 * self._silence.shape[0]), frames))
        fd = self.rtp.fileno()
        a = rtp_batch.SendArrays(n, FRAME)
        a.tx[:] = [(1, fd, *call.dest4, 0, 0, call.seq, call.ts, call.ssrc, 0, 0, 0) for call in calls]
        rtp_batch.send_rows(self._silence[:n], a)
        for call, seq, ts in zip(calls, a.tx[:, rtp_batch.TX_SEQ].tolist(), a.tx[:, rtp_batch.TX_TS].tolist()):
            call.seq, call.ts = seq, ts
            call.packets_out += frames
        self.counts["rtp_out"] += n * frames
        self.counts["dropped_out"] += int(a.tx[:, rtp_batch.TX_ERRORS].sum())

    def _send_frame(self, call):
        payload, marker = call.digits.popleft() if call.digits else (None, False)
        if payload is not None:
            if marker:
                call.event_ts = call.ts
            packet = rtp.build_rtp(EVENT_PT, call.seq, call.event_ts, call.ssrc, payload, marker=marker)
        elif call.tx.size:
            chunk = call.tx[:FRAME]
            call.tx = call.tx[FRAME:]
            if chunk.size < FRAME:
                chunk = np.concatenate([chunk, np.zeros(FRAME - chunk.size, np.int16)])
            packet = rtp.build_rtp(0, call.seq, call.ts, call.ssrc, g711.ulaw_encode(chunk).tobytes())
        else:
            packet = rtp.build_rtp(0, call.seq, call.ts, call.ssrc, _SILENCE)
        call.seq = (call.seq + 1) & 0xFFFF
        call.ts = (call.ts + FRAME) & 0xFFFFFFFF
        call.packets_out += 1
        self.counts["rtp_out"] += 1
        self._sendto(self.rtp, packet, call.remote)


def _rtp_address(sd):
    """Return the (host, port) of a description's audio stream, or None."""
    for m in (sd.media if sd is not None else ()):
        if m.media == "audio" and m.port:
            return (sd.connection_address(m), m.port)
    return None


def _has_events(sd):
    """Return True when a description takes RFC 4733 telephone-events."""
    return sd is not None and any(name.lower() == "telephone-event" for m in sd.media if m.port
                                  for name, _ in m.rtpmap.values())
