"""Provisional responses from our UAS, mixed into ``UserAgent``: 180 Ringing and 183 with early media,
sent reliably (Require: 100rel, RSeq) when the caller supports RFC 3262, retransmitted from T1 doubling
to T2 until the PRACK, one unacknowledged at a time (later ones wait), the 2xx held back while a 183 with
SDP waits for its PRACK, and the INVITE refused with 504 when no PRACK comes within 64*T1.
"""
from pycallcenter.sip.capabilities import ALLOW
from pycallcenter.sip.events import CallFailed
from pycallcenter.sip.message import make_response


class ReliableMixin:
    """ring(), progress() and PRACK handling for UserAgent."""

    def ring(self, call_id, now):
        """Send 180 Ringing for an incoming call (reliably, with PRACK, when the caller supports 100rel)."""
        return self._provisional(self._pending(call_id), 180, None, now)

    def progress(self, call_id, now, sdp=None, port=None, status=183):
        """Send 183 Session Progress with our SDP answer (early media): sdp as given, or answered from the
        caller's offer on port (default: the UA's rtp_port)."""
        dialog = self._pending(call_id)
        if dialog.answer is None:
            dialog.answer = self._answer_sdp(dialog.offer, dialog, sdp, port)
        return self._provisional(dialog, status, dialog.answer, now)

    def _provisional(self, dialog, status, body, now):
        headers = self._record_route(dialog.invite) + [("Contact", self._dialog_contact(dialog))]
        reliable = dialog.extra["100rel"]
        if reliable:
            if dialog.extra.get("unacked") is not None:  # RFC 3262 3: one unacknowledged at a time
                dialog.extra.setdefault("queued_1xx", []).append((status, body))
                return []
            rseq = dialog.extra.get("rseq", 0) + 1
            dialog.extra["rseq"] = rseq
            headers += [("Require", "100rel"), ("RSeq", rseq)]
        headers += [("Allow", ALLOW)]
        kw = {"body": body.encode(), "content_type": "application/sdp"} if body is not None else {}
        response = make_response(dialog.invite, status, to_tag=dialog.local_tag, headers=headers, **kw)
        if reliable:
            dialog.extra["unacked"] = (response, body is not None)
            dialog.extra["1xx_attempts"] = 0
            self.timers.start(dialog.call_id, "1xx", now + self.settings.T1)
            self.timers.start(dialog.call_id, "1xx-give-up", now + 64 * self.settings.T1)
        return self._handle(self.layer.send_response(response, now, dialog.extra["pending"]), now)

    def _on_prack(self, dialog, request, key, now):
        unacked = dialog.extra.get("unacked")
        rack = request.headers.get("RAck", "").split()
        if unacked is None or len(rack) != 3 or rack[0] != unacked[0].headers.get("RSeq"):
            return self._respond(request, key, 481, now)
        dialog.extra["unacked"] = None
        self.timers.cancel_names(dialog.call_id, ("1xx", "1xx-give-up"))
        out = self._respond(request, key, 200, now)
        queued = dialog.extra.get("queued_1xx")
        if queued:
            status, body = queued.pop(0)
            out += self._provisional(dialog, status, body, now)
        elif dialog.extra.get("held_ok"):
            out += self._send_ok(dialog, now)
        return out

    def _retransmit_1xx(self, call_id, now):
        dialog = self.dialogs.get(call_id)
        unacked = dialog.extra.get("unacked") if dialog is not None else None
        if unacked is None or dialog.extra.get("pending") is None:
            return []
        dialog.extra["1xx_attempts"] += 1
        interval = min(self.settings.T1 * 2 ** dialog.extra["1xx_attempts"], self.settings.T2)
        self.timers.start(call_id, "1xx", now + interval)
        return self._handle(self.layer.send_response(unacked[0], now, dialog.extra["pending"]), now)

    def _give_up_1xx(self, call_id, now):
        """No PRACK within 64*T1: the INVITE is refused with a 5xx (RFC 3262 3)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.extra.get("pending") is None:
            return []
        return self.reject(call_id, 504, now) + [CallFailed(call_id, 504)]
