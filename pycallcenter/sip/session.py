"""Changing and keeping an established session, mixed into ``UserAgent``: re-INVITE (hold and resume, RFC
3264 8.4) and UPDATE (RFC 3311) both ways, with glare refused by 491 (RFC 3261 14.2) and 408/481 ending the
dialog (12.2.1.2); and session timers (RFC 4028): the refresher refreshes at half the interval (UPDATE when
the peer allows it, else a re-INVITE with the unchanged offer), the other side sends BYE when no refresh
came (interval less a third or 32 s), and a refresh that does not restate the timer keeps it.
"""
from pycallcenter.errors import DecodeError, LocalProtocolError
from pycallcenter.sip import sdp as S
from pycallcenter.sip import session_timer as ST
from pycallcenter.sip.capabilities import ALLOW, SUPPORTED
from pycallcenter.sip.dialog import CONFIRMED
from pycallcenter.sip.events import SessionUpdated
from pycallcenter.sip.message import make_response


class SessionMixin:
    """re-INVITE, UPDATE and session timers for UserAgent."""

    def _on_reinvite(self, dialog, request, key, now):
        offer, refused = self._read_offer(request, key, now)
        if refused:
            return refused
        if dialog.extra.get("pending") is not None or dialog.extra.get("reinvite_out"):
            return self._respond(request, key, 491, now)  # glare (RFC 3261 14.2)
        timer, min_se = ST.uas_negotiate(request, self.min_se, self.session_expires)
        if min_se is not None:
            return self._respond(request, key, 422, now, headers=[("Min-SE", min_se)])
        dialog.refresh_target(request)
        previous = dialog.extra.get("remote_version")
        body = self._local_for_offer(dialog, offer, previous)
        if not any(m.port for m in body.media):
            return self._respond(request, key, 488, now)
        headers = [("Contact", self._dialog_contact(dialog)), ("Allow", ALLOW), self._supported()]
        if timer is not None:
            headers.append(("Session-Expires", timer.header()))
        ok = make_response(request, 200, headers=headers, body=body.encode(), content_type="application/sdp")
        dialog.ok = ok
        dialog.attempts = 0
        out = self._handle(self.layer.send_response(ok, now, key), now, dialog.remote_addr,
                           dialog.extra.get("transport"))
        self.timers.start(dialog.call_id, "2xx", now + self.settings.T1)
        self.timers.start(dialog.call_id, "2xx-give-up", now + 64 * self.settings.T1)
        self._arm_session_timer(dialog, timer, now, we_sent=False)
        if offer is not None and offer.session_version != previous:
            out.append(SessionUpdated(dialog.call_id, offer, body))
        return out

    def _local_for_offer(self, dialog, offer, previous):
        """Return our SDP for an offer inside the dialog (the same one again for an unchanged session refresh),
        and remember the far end's side."""
        local = dialog.answer if dialog.role == "uas" else dialog.offer
        if offer is None:
            body = local or self._answer_sdp(None, dialog)
        elif offer.session_version == previous and local is not None:
            body = local
        else:
            body = self._answer_sdp(offer, dialog)
        if offer is not None:
            dialog.extra["remote_version"] = offer.session_version
        if dialog.role == "uas":
            dialog.offer, dialog.answer = (offer or dialog.offer), body
        else:
            dialog.answer, dialog.offer = (offer or dialog.answer), body
        return body

    def _on_update(self, dialog, request, key, now):
        offer, refused = self._read_offer(request, key, now)
        if refused:
            return refused
        if offer is not None and dialog.extra.get("reinvite_out"):  # our own offer is pending (RFC 3311 5.2)
            return self._respond(request, key, 491, now)
        timer, min_se = ST.uas_negotiate(request, self.min_se, self.session_expires)
        if min_se is not None:
            return self._respond(request, key, 422, now, headers=[("Min-SE", min_se)])
        dialog.refresh_target(request)
        headers = [("Contact", self._dialog_contact(dialog)), self._supported()]
        if timer is not None:
            headers.append(("Session-Expires", timer.header()))
        out = []
        if offer is None:
            response = make_response(request, 200, headers=headers)
        else:
            previous = dialog.extra.get("remote_version")
            body = self._local_for_offer(dialog, offer, previous)
            response = make_response(request, 200, headers=headers, body=body.encode(),
                                     content_type="application/sdp")
            if offer.session_version != previous:
                out.append(SessionUpdated(dialog.call_id, offer, body))
        if dialog.state == CONFIRMED:
            self._arm_session_timer(dialog, timer, now, we_sent=False)
        return self._handle(self.layer.send_response(response, now, key), now) + out

    def _on_reinvite_response(self, dialog, invite, response, now):
        status = response.status
        if status < 200:
            return []
        dialog.extra.pop("reinvite_out", None)
        if status >= 300:
            if status in (408, 481):  # the dialog is gone (RFC 3261 12.2.1.2)
                return self._drop(dialog, "remote")
            wanted = self._local_sdp(dialog)
            if dialog.extra.get("refresh_offer") is not None:  # a refused change leaves the session (14.1)
                self._set_local_sdp(dialog, dialog.extra.pop("refresh_offer"))
            if status == 491 and wanted is not None:  # glare: try again after a random wait (14.1)
                dialog.extra["glare_offer"] = wanted
                low, high = (2.1, 4.0) if dialog.role == "uac" else (0.0, 2.0)  # the Call-ID's owner waits longer
                self.timers.start(dialog.call_id, "glare", now + self._uniform(low, high))
            return []
        dialog.extra.pop("refresh_offer", None)
        dialog.refresh_target(response)
        acks = dialog.extra.setdefault("acks", {})
        number = invite.cseq.number
        if number not in acks:
            acks[number] = dialog.request("ACK", self._via(), number)
            try:
                if response.body:
                    remote = S.parse_sdp(response.body)
                    self._set_remote_sdp(dialog, remote)
                    dialog.extra["remote_version"] = remote.session_version
            except DecodeError:
                pass
            self._arm_session_timer(dialog, ST.uac_result(response), now, we_sent=True)
        ack, hop = acks[number]
        return self._send_ack(ack, hop, now)

    def _on_update_response(self, dialog, request, response, now):
        if 200 <= response.status < 300:
            dialog.refresh_target(response)
            if response.body:
                try:
                    self._set_remote_sdp(dialog, S.parse_sdp(response.body))
                except DecodeError:
                    pass
            self._arm_session_timer(dialog, ST.uac_result(response), now, we_sent=True)
        elif response.status in (408, 481):
            return self._drop(dialog, "remote")
        return []

    def hold(self, call_id, now):
        """Put a confirmed call on hold with a re-INVITE (RFC 3264 8.4); returns outputs."""
        return self._reinvite(call_id, S.hold, now)

    def resume(self, call_id, now):
        """Take a held call off hold with a re-INVITE; returns outputs."""
        return self._reinvite(call_id, S.resume, now)

    def _local_sdp(self, dialog):
        return dialog.offer if dialog.role == "uac" else dialog.answer

    @staticmethod
    def _set_local_sdp(dialog, sdp):
        if dialog.role == "uac":
            dialog.offer = sdp
        else:
            dialog.answer = sdp

    @staticmethod
    def _set_remote_sdp(dialog, sdp):
        if dialog.role == "uac":
            dialog.answer = sdp
        else:
            dialog.offer = sdp

    def _glare_retry(self, call_id, now):
        """Send again the re-INVITE that met glare (491), unless the call changed or ended meanwhile."""
        dialog = self.dialogs.get(call_id)
        wanted = dialog.extra.pop("glare_offer", None) if dialog is not None else None
        if wanted is None or dialog.state != CONFIRMED or dialog.extra.get("reinvite_out"):
            return []
        return self._reinvite(call_id, lambda _: wanted, now)

    def _reinvite(self, call_id, change, now, refresh=False):
        dialog = self._confirmed(call_id)
        local = self._local_sdp(dialog)
        new = local if refresh else change(local)
        dialog.extra["refresh_offer"] = local
        self._set_local_sdp(dialog, new)
        request, hop = dialog.request("INVITE", self._via())
        request.headers.add("Contact", self._contact())
        request.headers.add("Allow", ALLOW)
        request.headers.add("Supported", ", ".join(SUPPORTED))
        if dialog.extra.get("session") is not None:
            request.headers.add("Session-Expires", self._session_header(dialog))
        request.headers.add("Content-Type", "application/sdp")
        request.body = new.encode()
        dialog.extra["reinvite_out"] = True
        return self._start_client(request, call_id, hop, now)

    def update(self, call_id, now, sdp=None):
        """Send an UPDATE (RFC 3311) in an early or confirmed call we are in: with sdp as a new offer, or
        without a body (a session refresh)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or (dialog.state != CONFIRMED and dialog.remote_tag is None):
            raise LocalProtocolError(f"no dialog {call_id} to update")
        request, hop = dialog.request("UPDATE", self._via())
        request.headers.add("Contact", self._contact())
        if dialog.extra.get("session") is not None:
            request.headers.add("Session-Expires", self._session_header(dialog))
        if sdp is not None:
            request.headers.add("Content-Type", "application/sdp")
            request.body = sdp.encode()
            self._set_local_sdp(dialog, sdp)
        return self._start_client(request, call_id, hop, now)

    @staticmethod
    def _session_header(dialog):
        """Return the Session-Expires of a refresh we send: refresher=uac (us) when we are the refresher."""
        session, we_refresh = dialog.extra["session"]
        return f"{session.interval};refresher={'uac' if we_refresh else 'uas'}"

    def _arm_session_timer(self, dialog, timer, now, we_sent):
        """Start (or restart, after a refresh) the session timer of a dialog: the refresher refreshes at half
        the interval; both sides end the session with BYE when it runs out (RFC 4028 10). refresher=uac
        names whoever sent the request that set the timer (we_sent: we did)."""
        if timer is None:
            previous = dialog.extra.get("session")
            if previous is None:
                return
            timer, we_refresh = previous  # a refresh that did not restate the timer keeps it
        else:
            we_refresh = (timer.refresher == "uac") == we_sent
        dialog.extra["session"] = (timer, we_refresh)
        if we_refresh:
            self.timers.start(dialog.call_id, "session-refresh", now + timer.refresh_after())
            self.timers.start(dialog.call_id, "session-expire", now + timer.interval)
        else:
            self.timers.cancel(dialog.call_id, "session-refresh")
            self.timers.start(dialog.call_id, "session-expire", now + timer.expire_after())

    def _session_refresh(self, call_id, now):
        dialog = self.dialogs.get(call_id)
        if dialog is None or dialog.state != CONFIRMED:
            return []
        if dialog.extra.get("reinvite_out"):  # a re-INVITE of ours is under way: its 2xx refreshes; check again
            self.timers.start(call_id, "session-refresh", now + self.settings.T2)
            return []
        if "UPDATE" in dialog.extra.get("peer_allow", ""):
            return self.update(call_id, now)
        return self._reinvite(call_id, None, now, refresh=True)

    def _session_expired(self, call_id, now):
        dialog = self.dialogs.get(call_id)
        if dialog is None:
            return []
        out = []
        if dialog.state == CONFIRMED:
            bye, hop = dialog.request("BYE", self._via())
            bye.headers.add("Reason", 'SIP;cause=408;text="Session timer expired"')
            out = self._start_client(bye, None, hop, now)
        return out + self._drop(dialog, "expired")
