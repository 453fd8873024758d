"""Transfers, mixed into ``UserAgent``: REFER received (202, an implicit subscription with NOTIFY sipfrag
progress, RFC 3515) and sent (progress back as TransferProgress), the Replaces value of an attended
transfer built from our other dialog, and an incoming INVITE's Replaces matched to one of our dialogs
(RFC 3891 3: 481 when none or an early one we did not start, 603 when it has just ended, 486 for early-only
on a confirmed one, 400 for two Replaces). The core reports, never acts.
"""
from dataclasses import replace
from urllib.parse import quote as _pct, unquote as _unpct

from pycallcenter.errors import LocalProtocolError
from pycallcenter.sip.dialog import CONFIRMED
from pycallcenter.sip.events import TransferFailed, TransferProgress, TransferRequested
from pycallcenter.sip.message import REASONS, parse_address


class TransferMixin:
    """REFER, NOTIFY and Replaces for UserAgent."""

    def _replaced_dialog(self, values):
        """Return (Call-ID, None) of the dialog an INVITE's Replaces header names, or (None, the status that
        refuses the INVITE): 400 for more than one Replaces (RFC 3891 3), else as replaced_dialog()."""
        if len(values) != 1:
            return None, 400
        return self.replaced_dialog(values[0])

    def replaced_dialog(self, value):
        """Return (Call-ID, None) of our dialog a Replaces value names (RFC 3891 3: to-tag is our tag,
        from-tag the far end's), or (None, status): 481 when it names none, or an early dialog we did not
        start (an incoming call not answered yet); 603 when it has just ended; 486 for early-only on a
        confirmed dialog."""
        parts = [p.strip() for p in str(value).split(";")]
        params = {k.strip().lower(): v.strip() for k, _, v in (p.partition("=") for p in parts[1:])}
        dialog = self.dialogs.get(parts[0])
        to_tag, from_tag = params.get("to-tag"), params.get("from-tag")
        if dialog is None or to_tag != dialog.local_tag or from_tag != dialog.remote_tag:
            return None, 603 if self.dialogs.ended(parts[0], to_tag, from_tag) else 481
        confirmed = dialog.state == CONFIRMED or (dialog.role == "uas" and dialog.ok is not None)
        if "early-only" in params and confirmed:
            return None, 486
        if not confirmed and dialog.role == "uas":
            return None, 481
        return dialog.call_id, None

    def _on_refer(self, dialog, request, key, now):
        values = request.headers.get_all("Refer-To")
        if dialog.state != CONFIRMED or len(values) != 1:
            return self._respond(request, key, 400 if dialog.state == CONFIRMED else 481, now)
        target = parse_address(values[0]).uri
        replaces = next((_unpct(v) for k, v in target.headers if k.lower() == "replaces"), None)
        bare = str(replace(target, headers=()))
        dialog.extra["refer"] = request.cseq.number
        out = self._respond(request, key, 202, now, headers=[("Contact", self._dialog_contact(dialog))])
        out.append(TransferRequested(dialog.call_id, bare, replaces, request.headers.get("Referred-By")))
        return out + self.notify_transfer(dialog.call_id, 100, now)

    def notify_transfer(self, call_id, status, now, reason=None):
        """Report a REFER's progress to the far end with NOTIFY (RFC 3515 2.4.5): status of our call to the
        target (100 Trying ... 200 OK or a failure, which ends the implicit subscription)."""
        dialog = self.dialogs.get(call_id)
        if dialog is None or "refer" not in dialog.extra:
            raise LocalProtocolError(f"no transfer requested on call {call_id}")
        final = status >= 200
        state = "terminated;reason=noresource" if final else "active;expires=60"
        request, hop = dialog.request("NOTIFY", self._via())
        body = f"SIP/2.0 {status} {reason or REASONS.get(status, 'Unknown')}\r\n".encode()
        for name, value in (("Event", f"refer;id={dialog.extra['refer']}"), ("Subscription-State", state),
                            ("Contact", self._contact()), ("Content-Type", "message/sipfrag;version=2.0")):
            request.headers.add(name, value)
        request.body = body
        if final:
            dialog.extra.pop("refer")
        return self._start_client(request, call_id, hop, now)

    def _on_notify(self, dialog, request, key, now):
        if not request.headers.get("Event", "").strip().lower().startswith("refer"):
            return self._respond(request, key, 489, now)  # Bad Event: we subscribe to nothing else
        out = self._respond(request, key, 200, now)
        status = _sipfrag_status(request.body)
        if status is not None:
            final = request.headers.get("Subscription-State", "").strip().lower().startswith("terminated")
            out.append(TransferProgress(dialog.call_id, status, final))
        return out

    def refer(self, call_id, target, now, replaces=None):
        """Ask the far end of a confirmed call to call target (REFER, RFC 3515); replaces is the Call-ID of
        another confirmed call of ours whose far end the target is (attended transfer, RFC 3891). Progress
        comes back as TransferProgress events."""
        dialog = self._confirmed(call_id)
        refer_to = str(target)
        if replaces is not None:
            other = self._confirmed(replaces)
            value = f"{other.call_id};to-tag={other.remote_tag};from-tag={other.local_tag}"
            refer_to = f"{refer_to}?Replaces={_pct(value, safe='')}"
        request, hop = dialog.request("REFER", self._via())
        request.headers.add("Refer-To", f"<{refer_to}>")
        request.headers.add("Referred-By", f"<sip:{self.user}@{self._hostport}>")
        request.headers.add("Contact", self._contact())
        return self._start_client(request, call_id, hop, now)

    def _on_refer_response(self, dialog, request, response, now):
        if response.status >= 300:
            return [TransferFailed(dialog.call_id, response.status)]
        return []


def _sipfrag_status(body):
    """Return the status code of a message/sipfrag body's status line, or None."""
    line = body.split(b"\r\n", 1)[0].split(b"\n", 1)[0].decode("latin-1").split()
    if len(line) >= 2 and line[0].startswith("SIP/") and line[1].isdigit():
        return int(line[1])
    return None
