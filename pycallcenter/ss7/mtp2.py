"""MTP2 signalling link (Q.703) as a sans-IO state machine.

Feed received signal units with ``receive(su, now)`` (or ``receive_error(now)`` when the framer saw a bad
FCS or an aborted frame); take the next signal unit to send with ``pull(now)``: a link always sends
something (MSU, LSSU or FISU), so the transport calls it whenever it can send one. Timers are
``next_deadline()`` / ``handle_timer(now)``. Events come back from every call as a list.
"""
from dataclasses import dataclass

from pycallcenter.errors import LocalProtocolError
from pycallcenter.ss7.su import LSSU_STATUS, MAX_SIF, encode_su
from pycallcenter.ss7.timers import Mtp2Timers
from pycallcenter.timers import TimerService

MOD = 128
MAX_SU = 3 + 1 + MAX_SIF + 1  # header, SIO, SIF (and one spare octet some links carry)


@dataclass(slots=True)
class InService:
    """The link is aligned and carries MSUs."""


@dataclass(slots=True)
class OutOfService:
    """The link failed or could not align; reason says why (Q.703 names)."""
    reason: str


@dataclass(slots=True)
class MsuReceived:
    """An MSU (from the SIO) accepted in sequence."""
    msu: bytes


@dataclass(slots=True)
class RemoteProcessorOutage:
    """The far end sends SIPO."""


@dataclass(slots=True)
class RemoteProcessorRecovered:
    """The far end stopped sending SIPO (FISUs or MSUs again)."""


@dataclass(slots=True)
class RemoteCongestion:
    """The far end started (True: SIB with our MSUs outstanding) or stopped (False) being congested."""
    congested: bool


# AERM thresholds Ti/Tie, proving attempts Cp; SUERM threshold T and decrement period D (Q.703 10.2, 10.3)
AERM_TI, AERM_TIE, PROVING_ATTEMPTS = 4, 1, 5
SUERM_T, SUERM_D = 64, 256

OUT_OF_SERVICE, NOT_ALIGNED, ALIGNED, PROVING, ALIGNED_READY, IN_SERVICE = (
    "out_of_service", "not_aligned", "aligned", "proving", "aligned_ready", "in_service")


def _between(lo, x, hi):
    """Return True if x lies in [lo, hi] going forward modulo 128."""
    return (x - lo) % MOD <= (hi - lo) % MOD


class Mtp2Link:
    """One signalling link's MTP2: alignment, proving, error monitors, basic error correction."""

    def __init__(self, timers=Mtp2Timers(), emergency=False, congestion_onset=None):
        self.timers = timers
        self.emergency = emergency
        self.state = OUT_OF_SERVICE
        self.deadlines = TimerService()  # Q.703 T1-T7 by name (owner None)
        self.local_outage = False
        self.remote_outage = False
        # receive congestion (Q.703 9): commanded, or more than congestion_onset MSUs not yet consumed
        self.congestion_onset = congestion_onset
        self.backlog = 0
        self.commanded_congestion = False
        self.next_sib = None
        self._reset_sequence()

    # -- commands -------------------------------------------------------------------------------
    def start(self, now):
        """Begin initial alignment (sends SIO); returns events."""
        if self.state != OUT_OF_SERVICE:
            raise LocalProtocolError(f"start() in state {self.state}")
        self.proving_attempts = 0
        self._enter(NOT_ALIGNED, now)
        return []

    def stop(self, now):
        """Take the link out of service (sends SIOS); returns events."""
        if self.state == OUT_OF_SERVICE:
            return []
        return self._fail("stopped by level 3", now)

    def send(self, msu):
        """Queue an MSU (SIO onward) for transmission."""
        if self.state != IN_SERVICE:
            raise LocalProtocolError(f"cannot send an MSU in state {self.state}")
        if not 3 <= len(msu) <= 273:  # shorter would read as an LSSU (LI 1-2)
            raise ValueError(f"MSU of {len(msu)} octets")
        self.tx_queue.append(bytes(msu))

    def set_emergency(self, emergency):
        """Prove with the emergency period (SIE) from the next alignment on."""
        self.emergency = emergency

    def set_local_processor_outage(self, outage, flush=False):
        """Level 3 failed (True: send SIPO, discard received MSUs, hold ours) or recovered (False: FISUs and
        MSUs again); flush=True on recovery drops our unsent and unacknowledged MSUs (Q.703 8, flush buffers)."""
        self.local_outage = outage
        if not outage and flush:
            self.retrieve()
            self.deadlines.cancel(None, "T7")

    def congested(self, flag):
        """Declare (True) or clear (False) receive congestion: SIB every T5 and acknowledgements withheld."""
        self.commanded_congestion = flag

    def consumed(self, count=1):
        """Level 3 consumed count received MSUs (only counted when a congestion_onset threshold is set)."""
        self.backlog = max(0, self.backlog - count)

    @property
    def rx_congested(self):
        """Return True while our receive side is congested (commanded or over the threshold)."""
        return self.commanded_congestion or (self.congestion_onset is not None
                                             and self.backlog > self.congestion_onset)

    # -- timers -----------------------------------------------------------------------------------
    def next_deadline(self):
        """Return the earliest pending timer expiry, or None."""
        return self.deadlines.next_deadline()

    def handle_timer(self, now):
        """Fire expired timers; returns events."""
        events = []
        for _, name in self.deadlines.expired(now):
            events += self._expired(name, now)
        return events

    def _expired(self, name, now):
        if name == "T4":
            if self.state != PROVING:
                return []
            if self.proving_aborted:
                return self._restart_proving(now)
            self._enter(ALIGNED_READY, now)
            return []
        return self._fail(f"{name} expired", now)

    def _start_timer(self, name, now, seconds):
        self.deadlines.start(None, name, now + seconds)

    # -- transmit ---------------------------------------------------------------------------------
    def pull(self, now):
        """Return the next signal unit to transmit (without FCS)."""
        state = self.state
        if state == IN_SERVICE:
            if self.rx_congested:
                # Q.703 9.3: acknowledgements stay where congestion began; SIB every T5 says why
                if self.held_bsn is None:
                    self.held_bsn = self.bsn
                    self.next_sib = now
                bsn = self.held_bsn
                if now >= self.next_sib and not self.local_outage:
                    self.next_sib = now + self.timers.T5
                    return encode_su(bsn, self.bib, self.fsn, self.fib, status="SIB")
            else:
                self.held_bsn = None
                bsn = self.bsn
            if self.local_outage:  # level 3 cannot take MSUs: say so instead of sending any
                return encode_su(bsn, self.bib, self.fsn, self.fib, status="SIPO")
            if self.remote_outage or self.resync:  # the far end cannot take MSUs, or numbering is unsettled
                return encode_su(bsn, self.bib, self.fsn, self.fib)
            if self.retx_index < len(self.rtb):
                fsn, msu = self.rtb[self.retx_index]
                self.retx_index += 1
                return encode_su(bsn, self.bib, fsn, self.fib, msu)
            if self.tx_queue and len(self.rtb) < MOD - 1:
                msu = self.tx_queue.pop(0)
                self.fsn = (self.fsn + 1) % MOD
                self.rtb.append((self.fsn, msu))
                self.retx_index = len(self.rtb)
                if "T7" not in self.deadlines:
                    self._start_timer("T7", now, self.timers.T7)
                return encode_su(bsn, self.bib, self.fsn, self.fib, msu)
            return encode_su(bsn, self.bib, self.fsn, self.fib)
        if state == ALIGNED_READY:
            return encode_su(self.bsn, self.bib, self.fsn, self.fib,
                             status="SIPO" if self.local_outage else None)
        status = {OUT_OF_SERVICE: "SIOS", NOT_ALIGNED: "SIO"}.get(state)
        if status is None:
            status = "SIE" if self.emergency else "SIN"
        return encode_su(self.bsn, self.bib, self.fsn, self.fib, status=status)

    # -- receive ----------------------------------------------------------------------------------
    def receive_error(self, now):
        """Count one errored signal unit (bad FCS, abort, octet count); returns events."""
        return self._errored(now)

    def receive(self, su, now):
        """Process one received signal unit (without FCS); returns events. Garbage is counted, never raised."""
        # header fields read inline (the hot path); su.decode_su is the same layout for tools and tests
        n = len(su)
        if n < 3:
            return self._errored(now)
        li = su[2] & 0x3F
        if (n - 3 != li if li < 63 else n - 3 < 63) or n > MAX_SU:
            return self._errored(now)
        self.good_count += 1
        if self.good_count >= SUERM_D:
            self.good_count = 0
            self.suerm = max(0, self.suerm - 1)
        state = self.state
        if li == 1 or li == 2:
            return self._lssu(LSSU_STATUS.get(su[3] & 0x07, "unknown"), now)
        if state != IN_SERVICE and state != ALIGNED_READY:
            return []
        events = []
        if state == ALIGNED_READY:
            self.deadlines.cancel(None, "T1")
            self.state = IN_SERVICE
            events.append(InService())
        if self.remote_outage:
            # the far end's level 3 is back: what it may have discarded goes again, from the oldest
            self.remote_outage = False
            events.append(RemoteProcessorRecovered())
            self.retx_index = 0
            if self.rtb:
                self._start_timer("T7", now, self.timers.T7)
        b0, b1 = su[0], su[1]
        events += self._acknowledge(b0 & 0x7F, b0 >> 7, now)
        if self.state == IN_SERVICE:
            events += self._sequence(b1 & 0x7F, b1 >> 7, su[3:] if li else None, now)
        return events

    def _errored(self, now):
        if self.state == PROVING:
            self.aerm += 1
            limit = AERM_TIE if self._emergency_proving else AERM_TI
            if self.aerm > limit:
                self.proving_aborted = True
                return self._restart_proving(now)
        elif self.state in (IN_SERVICE, ALIGNED_READY):
            self.suerm += 1
            if self.suerm >= SUERM_T:
                return self._fail("SUERM threshold", now)
        return []

    def _lssu(self, status, now):
        state = self.state
        if state == NOT_ALIGNED and status in ("SIO", "SIN", "SIE"):
            self._enter(ALIGNED, now)
            self.far_emergency = status == "SIE"
        elif state == ALIGNED and status in ("SIN", "SIE"):
            self.far_emergency = status == "SIE"
            self._enter(PROVING, now)
        elif state in (ALIGNED, PROVING) and status == "SIOS":
            return self._fail("SIOS received during alignment", now)
        elif state == PROVING:
            if status == "SIO":
                self._enter(ALIGNED, now)
            elif status == "SIE" and not self._emergency_proving:
                self.far_emergency = True
                self._enter(PROVING, now)
        elif state in (ALIGNED_READY, IN_SERVICE):
            if status == "SIPO":
                if not self.remote_outage:
                    self.remote_outage = True
                    self.deadlines.cancel(None, "T1")  # aligned: the far end is there, its level 3 is not
                    self.deadlines.cancel(None, "T7")  # the far end holds our MSUs until it recovers
                    return [RemoteProcessorOutage()]
            elif status == "SIB":
                # Q.703 9.5: T7 restarts (congestion is no failure to acknowledge) but T6 bounds it all
                if self.rtb:
                    self._start_timer("T7", now, self.timers.T7)
                    if "T6" not in self.deadlines:
                        self._start_timer("T6", now, self.timers.T6)
                        return [RemoteCongestion(True)]
            elif status in ("SIOS", "SIO") or (state == IN_SERVICE and status in ("SIN", "SIE")):
                return self._fail(f"{status} received", now)
        return []

    def _acknowledge(self, bsn, bib, now):
        """Backward direction: positive/negative acknowledgement of our MSUs (Q.703 5.3)."""
        if self.resync:
            # after flushing or retrieving on a link that stays aligned, number on from what the far end has
            self.resync = False
            self.fsn = bsn
            self.fib = bib
            return []
        acked = self.rtb[0][0] - 1 if self.rtb else self.fsn
        if not _between(acked % MOD, bsn, self.fsn):
            self.abnormal_bsn += 1
            if self.abnormal_bsn >= 2:
                return self._fail("abnormal BSN", now)
            return []
        self.abnormal_bsn = 0
        released = 0
        while self.rtb and _between(self.rtb[0][0], bsn, self.fsn):
            self.rtb.pop(0)
            released += 1
        events = []
        if released:
            self.retx_index = max(0, self.retx_index - released)
            if self.deadlines.cancel(None, "T6"):
                events.append(RemoteCongestion(False))
            if self.rtb:
                self._start_timer("T7", now, self.timers.T7)
            else:
                self.deadlines.cancel(None, "T7")
        if bib != self.fib:
            # negative acknowledgement: resend everything not yet acknowledged
            self.fib ^= 1
            self.retx_index = 0
        return events

    def _sequence(self, fsn, fib, msu, now):
        """Forward direction: accept MSUs (msu None for a FISU) in sequence, ask for retransmission on a gap."""
        if fib != self.bib:
            if not self.nack_pending:
                self.abnormal_fib += 1
                if self.abnormal_fib >= 2:
                    return self._fail("abnormal FIB", now)
            return []  # the retransmission we asked for has not started yet
        self.nack_pending = False
        self.abnormal_fib = 0
        if (self.bsn - fsn) % MOD < MOD // 2:
            return []  # FISU in sequence, or an MSU accepted before (retransmitted)
        if msu is not None and fsn == (self.bsn + 1) % MOD:
            if self.local_outage:
                return []  # level 3 is down: discarded, not acknowledged (Q.703 8)
            self.bsn = fsn
            if self.congestion_onset is not None:
                self.backlog += 1
            return [MsuReceived(msu)]
        self.bib ^= 1  # gap: negative acknowledgement
        self.nack_pending = True
        return []

    # -- state changes ----------------------------------------------------------------------------
    @property
    def _emergency_proving(self):
        return self.emergency or self.far_emergency

    def _enter(self, state, now):
        self.state = state
        for name in ("T1", "T2", "T3", "T4"):
            self.deadlines.cancel(None, name)
        if state == NOT_ALIGNED:
            self.far_emergency = False
            self._start_timer("T2", now, self.timers.T2)
        elif state == ALIGNED:
            self._start_timer("T3", now, self.timers.T3)
        elif state == PROVING:
            self.aerm = 0
            self.proving_aborted = False
            self._start_timer("T4", now, self.timers.T4e if self._emergency_proving else self.timers.T4n)
        elif state == ALIGNED_READY:
            self._reset_sequence()
            self._start_timer("T1", now, self.timers.T1)

    def _restart_proving(self, now):
        self.proving_attempts += 1
        if self.proving_attempts >= PROVING_ATTEMPTS:
            return self._fail("proving failed", now)
        self._enter(PROVING, now)
        return []

    def _fail(self, reason, now):
        self.state = OUT_OF_SERVICE
        self.deadlines.cancel_all()
        self.remote_outage = False
        return [OutOfService(reason)]

    def _reset_sequence(self):
        self.fsn = self.bsn = MOD - 1
        self.fib = self.bib = 1
        self.rtb = []
        self.retx_index = 0
        self.tx_queue = []
        self.abnormal_bsn = 0
        self.abnormal_fib = 0
        self.nack_pending = False
        self.held_bsn = None
        self.resync = False
        self.suerm = 0
        self.good_count = 0
        self.aerm = 0
        self.far_emergency = False
        self.proving_aborted = False
        self.proving_attempts = 0

    def retrieve(self):
        """Return (and forget) [(fsn or None, msu)] not yet acknowledged, oldest first, for changeover."""
        pending = list(self.rtb) + [(None, msu) for msu in self.tx_queue]
        self.rtb, self.tx_queue, self.retx_index = [], [], 0
        self.deadlines.cancel(None, "T7")
        if pending and self.state in (IN_SERVICE, ALIGNED_READY):
            self.resync = True  # the far end's BSN may lag our FSN now: take it as our new FSN
        return pending

    @property
    def last_accepted_fsn(self):
        """Return the FSN of the last MSU accepted (for changeover COO/COA)."""
        return self.bsn
