"""ISUP circuit maintenance (Q.764 2.8, 2.9.3): blocking, reset and circuit-group procedures of ``isup.Isup``.

``CircuitMaintenance`` holds the commands (BLO/UBL, RSC, GRS, CGB/CGU) and the handlers of the maintenance
messages the far end sends; ``Isup`` inherits them, and its (state, message) table routes to them. Their timers'
expiries (T12-T23) are in ``ss7/timers.py``.
"""
from pycallcenter.causes import Cause
from pycallcenter.ss7.isup_circuit import CALL_STATES, COT_STATES, IDLE, OUT_IAM, RELEASING, RESETTING
from pycallcenter.ss7.isup_codec import IsupMessage
from pycallcenter.ss7.isup_events import BlockingChanged, CircuitReset, MaintenanceAck, ProtocolNotice, Released

_CGSMT_KIND = {0: "maintenance", 1: "hardware"}


class CircuitMaintenance:
    """The maintenance half of ``Isup`` (a mixin: it uses the circuits, timers and sending of ``Isup``)."""

    # -- maintenance commands ---------------------------------------------------------------------
    def block(self, cic, now=0.0):
        """Maintenance-block cic towards the far end (BLO, T12/T13); returns events."""
        return self._blocking(cic, "BLO", ("T12", "T13"), "UBL", ("T14", "T15"), now)

    def unblock(self, cic, now=0.0):
        """Remove our maintenance blocking of cic (UBL, T14/T15); returns events."""
        return self._blocking(cic, "UBL", ("T14", "T15"), "BLO", ("T12", "T13"), now)

    def _blocking(self, cic, name, timers, opposite, opposite_timers, now):
        """Send BLO or UBL with its T12/T13 or T14/T15 pair, withdrawing the opposite request; returns []."""
        c = self._circuit(cic)
        c.pending.add(name)
        self._stop(cic, *opposite_timers)
        c.pending.discard(opposite)
        self._send(IsupMessage(name, cic, {}))
        for timer in timers:
            self._start(cic, timer, now)
        return []

    def reset(self, cic, now=0.0):
        """Reset cic (RSC, T16/T17): any call on it is cleared; returns events."""
        c = self._circuit(cic)
        events = self._drop_call(c, Cause.TEMPORARY_FAILURE, "reset")
        self._stop_all(cic)
        c.state = RESETTING
        c.pending.add("RSC")
        self._send(IsupMessage("RSC", cic, {}))
        self._start(cic, "T16", now)
        self._start(cic, "T17", now)
        return events

    def group_reset(self, cic, count, now=0.0):
        """Reset cic..cic+count-1 (GRS, T22/T23); returns events."""
        cics = self._range(cic, count)
        events = []
        for n in cics:
            c = self.circuits[n]
            events += self._drop_call(c, Cause.TEMPORARY_FAILURE, "reset")
            self._stop_all(n)
            c.state = RESETTING
            c.pending.add("GRS")
        msg = IsupMessage("GRS", cic, {"range_and_status": {"range": count - 1}})
        self._group[("GRS", cic)] = msg
        self._send(msg)
        self._start(cic, "T22", now)
        self._start(cic, "T23", now)
        return events

    def reset_all(self, now=0.0):
        """Reset every circuit with group resets (GRS) of contiguous runs of at most 32 CICs, as an exchange
        that has lost its circuits' state must (Q.764 2.9.3: after MTP pause, or a restart); any call on them
        is cleared (Released, by "reset"). Returns events."""
        events = []
        for first, count in _runs(sorted(self.circuits)):
            # a GRS covers 2..32 circuits (its range field is 1..31); a lone circuit is reset with RSC
            events += self.group_reset(first, count, now) if count > 1 else self.reset(first, now)
        return events

    def group_block(self, cic, count, now=0.0, hardware=False, unblock=False, status=None):
        """Block (CGB) or unblock (CGU) cic..cic+count-1 (those whose status bit is set, default all) for
        maintenance or hardware reasons; returns events."""
        self._range(cic, count)
        kind = "CGU" if unblock else "CGB"
        msg = IsupMessage(kind, cic, {"circuit_group_supervision_message_type": {"type": int(hardware)},
                                      "range_and_status": {"range": count - 1, "status": status or [1] * count}})
        self._group[(kind, cic)] = msg
        self._send(msg)
        self._start(cic, "T20" if unblock else "T18", now)
        return []

    def hardware_block(self, cics, now=0.0, unblock=False):
        """Hardware-block (CGB, hardware type) or unblock (CGU) cics towards the far end, one message per
        contiguous run of at most 32, withdrawing the opposite request. Blocking takes effect here at once (a
        dead bearer takes no new call while the CGBA is on its way) and clears the calls on them without REL,
        cause 41, as the far end does on receipt (Q.764 2.8.2). Returns events (Released, by "hardware")."""
        events = []
        for first, count in _runs(sorted(cics)):
            self._group.pop(("CGB" if unblock else "CGU", first), None)
            self._stop(first, "T18" if unblock else "T20")
            for n in range(first, first + count):
                c = self.circuits[n]
                if not unblock and "hardware" not in c.local:
                    c.local.add("hardware")
                    events += self._drop_call(c, Cause.TEMPORARY_FAILURE, "hardware")
                    events.append(BlockingChanged(n, "local", "hardware", True))
            if count > 1:
                events += self.group_block(first, count, now, hardware=True, unblock=unblock)
            elif first + 1 in self.circuits or first - 1 in self.circuits:
                # a group message covers 2..32 circuits (range 1..31): a lone one goes with a neighbour's bit clear
                base = first if first + 1 in self.circuits else first - 1
                status = [1, 0] if base == first else [0, 1]
                events += self.group_block(base, 2, now, hardware=True, unblock=unblock, status=status)
        return events

    def resend_group_blocking(self, now=0.0):
        """Send again every CGB/CGU still awaiting its acknowledgement (lost while the route was down), now
        rather than at T18/T20; returns []."""
        for (kind, cic), msg in self._group.items():
            if kind in ("CGB", "CGU"):
                self._send(msg)
                self._start(cic, "T18" if kind == "CGB" else "T20", now)
        return []

    def _range(self, cic, count):
        if not 1 <= count <= 32:
            raise ValueError(f"a circuit group has 1 to 32 circuits, not {count}")
        cics = list(range(cic, cic + count))
        for n in cics:
            self._circuit(n)
        return cics

    def _drop_call(self, c, cause, by):
        events = self._detach(c)
        if c.state in COT_STATES:
            self._stop_all(c.cic)
            c.state = IDLE
        if c.state in CALL_STATES or c.state == RELEASING:
            self._stop_all(c.cic)
            c.state = IDLE
            events.append(Released(c.cic, cause, by))
        return events

    # -- maintenance messages received ----------------------------------------------------------------
    def _rx_RSC(self, c, msg, now):
        events = self._drop_call(c, Cause.TEMPORARY_FAILURE, "reset")
        if c.state == RESETTING and "RSC" in c.pending:  # both ends reset: theirs answers ours too
            self._stop(c.cic, "T16", "T17")
            c.pending.discard("RSC")
        self._stop_all(c.cic)
        c.state = IDLE
        if "maintenance" in c.remote:
            c.remote.discard("maintenance")
            events.append(BlockingChanged(c.cic, "remote", "maintenance", False))
        self._send(IsupMessage("RLC", c.cic, {}))
        if "maintenance" in c.local:  # remind the far end of our blocking
            self._send(IsupMessage("BLO", c.cic, {}))
        return events + [CircuitReset(c.cic)]

    def _rx_BLO(self, c, msg, now):
        events = []
        if "maintenance" not in c.remote:
            c.remote.add("maintenance")
            events.append(BlockingChanged(c.cic, "remote", "maintenance", True))
        self._send(IsupMessage("BLA", c.cic, {}))
        if c.state == OUT_IAM:  # we may not use it; the far end will not answer our IAM
            events += self._failed(c, "blocked by far end", now) + self.release(c.cic, now, Cause.TEMPORARY_FAILURE)
        return events

    def _rx_UBL(self, c, msg, now):
        events = []
        if "maintenance" in c.remote:
            c.remote.discard("maintenance")
            events.append(BlockingChanged(c.cic, "remote", "maintenance", False))
        self._send(IsupMessage("UBA", c.cic, {}))
        return events

    def _rx_BLA(self, c, msg, now):
        if "BLO" not in c.pending:
            return [ProtocolNotice(c.cic, "unexpected BLA discarded")]
        c.pending.discard("BLO")
        self._stop(c.cic, "T12", "T13")
        c.local.add("maintenance")
        return [BlockingChanged(c.cic, "local", "maintenance", True), MaintenanceAck("BLO", (c.cic,))]

    def _rx_UBA(self, c, msg, now):
        if "UBL" not in c.pending:
            return [ProtocolNotice(c.cic, "unexpected UBA discarded")]
        c.pending.discard("UBL")
        self._stop(c.cic, "T14", "T15")
        c.local.discard("maintenance")
        return [BlockingChanged(c.cic, "local", "maintenance", False), MaintenanceAck("UBL", (c.cic,))]

    def _group_cics(self, c, msg):
        rs = msg.params["range_and_status"]
        cics = [n for n in range(c.cic, c.cic + rs["range"] + 1) if n in self.circuits]
        return rs, cics

    def _rx_GRS(self, c, msg, now):
        rs, cics = self._group_cics(c, msg)
        if not 1 <= rs["range"] <= 31:
            return [ProtocolNotice(c.cic, f"GRS with range {rs['range']} discarded")]
        events = []
        status = []
        for n in range(c.cic, c.cic + rs["range"] + 1):
            circ = self.circuits.get(n)
            if circ is None:
                status.append(0)
                continue
            events += self._drop_call(circ, Cause.TEMPORARY_FAILURE, "reset")
            if circ.state == RESETTING:
                circ.pending.discard("RSC")
                self._stop(n, "T16", "T17")
            self._stop_all(n)
            circ.state = IDLE
            if "maintenance" in circ.remote:
                circ.remote.discard("maintenance")
                events.append(BlockingChanged(n, "remote", "maintenance", False))
            status.append(1 if "maintenance" in circ.local else 0)
            events.append(CircuitReset(n))
        self._send(IsupMessage("GRA", c.cic, {"range_and_status": {"range": rs["range"], "status": status}}))
        return events

    def _rx_GRA(self, c, msg, now):
        if self._group.pop(("GRS", c.cic), None) is None:
            return [ProtocolNotice(c.cic, "unexpected GRA discarded")]
        self._stop(c.cic, "T22", "T23")
        rs, cics = self._group_cics(c, msg)
        events = []
        status = rs.get("status") or [0] * (rs["range"] + 1)
        for i, n in enumerate(range(c.cic, c.cic + rs["range"] + 1)):
            circ = self.circuits.get(n)
            if circ is None:
                continue
            circ.pending.discard("GRS")
            if circ.state == RESETTING and not circ.pending & {"RSC"}:
                circ.state = IDLE
            blocked = bool(status[i]) if i < len(status) else False
            if blocked != ("maintenance" in circ.remote):
                (circ.remote.add if blocked else circ.remote.discard)("maintenance")
                events.append(BlockingChanged(n, "remote", "maintenance", blocked))
        return events + [MaintenanceAck("GRS", tuple(cics))]

    def _rx_CGB(self, c, msg, now, unblock=False):
        rs = msg.params["range_and_status"]
        kind = _CGSMT_KIND.get(msg.params["circuit_group_supervision_message_type"]["type"])
        status = rs.get("status")
        if kind is None or status is None or not 1 <= rs["range"] <= 31:
            return [ProtocolNotice(c.cic, f"{msg.type} with bad range or type discarded")]
        events = []
        for i, n in enumerate(range(c.cic, c.cic + rs["range"] + 1)):
            circ = self.circuits.get(n)
            if circ is None or not status[i]:
                continue
            if unblock:
                if kind in circ.remote:
                    circ.remote.discard(kind)
                    events.append(BlockingChanged(n, "remote", kind, False))
                continue
            if kind not in circ.remote:
                circ.remote.add(kind)
                events.append(BlockingChanged(n, "remote", kind, True))
            if kind == "hardware":  # hardware blocking clears calls (Q.764 2.8.2)
                events += self._drop_call(circ, Cause.TEMPORARY_FAILURE, "remote")
            elif circ.state == OUT_IAM:
                events += self._failed(circ, "blocked by far end", now) + self.release(n, now, Cause.TEMPORARY_FAILURE)
        ack = "CGUA" if unblock else "CGBA"
        self._send(IsupMessage(ack, c.cic, {"circuit_group_supervision_message_type": {"type": int(kind == "hardware")},
                                            "range_and_status": rs}))
        return events

    def _rx_CGU(self, c, msg, now):
        return self._rx_CGB(c, msg, now, unblock=True)

    def _rx_CGBA(self, c, msg, now, kind="CGB"):
        sent = self._group.pop((kind, c.cic), None)
        if sent is None:
            return [ProtocolNotice(c.cic, f"unexpected {msg.type} discarded")]
        self._stop(c.cic, "T18" if kind == "CGB" else "T20")
        blocking = _CGSMT_KIND[sent.params["circuit_group_supervision_message_type"]["type"]]
        status = msg.params["range_and_status"].get("status") or []
        events, cics = [], []
        for i, n in enumerate(range(c.cic, c.cic + len(status))):
            circ = self.circuits.get(n)
            if circ is None or not status[i]:
                continue
            cics.append(n)
            if kind == "CGB" and blocking not in circ.local:
                circ.local.add(blocking)
                events.append(BlockingChanged(n, "local", blocking, True))
            elif kind == "CGU" and blocking in circ.local:
                circ.local.discard(blocking)
                events.append(BlockingChanged(n, "local", blocking, False))
        return events + [MaintenanceAck(kind, tuple(cics))]

    def _rx_CGUA(self, c, msg, now):
        return self._rx_CGBA(c, msg, now, kind="CGU")

    def _rx_CQM(self, c, msg, now):
        rs = msg.params["range_and_status"]
        states = []
        for n in range(c.cic, c.cic + rs["range"] + 1):
            circ = self.circuits.get(n)
            states.append(1 if circ is None else _circuit_state_octet(circ))  # 1: unequipped
        self._send(IsupMessage("CQR", c.cic, {"range_and_status": {"range": rs["range"]},
                                              "circuit_state_indicator": {"data": bytes(states)}}))
        return []


def _runs(cics, longest=32):
    """Return (first, count) of the contiguous runs of sorted cics, each at most longest long."""
    runs = []
    for cic in cics:
        if runs and cic == runs[-1][0] + runs[-1][1] and runs[-1][1] < longest:
            runs[-1][1] += 1
        else:
            runs.append([cic, 1])
    return [tuple(r) for r in runs]


def _circuit_state_octet(c):
    """Circuit state indicator octet (Q.763 3.14): maintenance blocking state in bits BA, call state in DC."""
    if c.state in (IDLE, RELEASING, RESETTING):
        call = 3 if c.state == IDLE else 0
    else:
        call = 2 if c.outgoing else 1
    if call == 0:
        return 0  # transient
    blocking = (1 if "maintenance" in c.local else 0) | (2 if "maintenance" in c.remote else 0)
    return blocking | call << 2
