"""Session timers (RFC 4028): the Session-Expires and Min-SE rules, as pure functions over messages.

The user agent keeps the timers themselves (``refresh`` at half the interval for the refresher, ``expire``
for the other side, 10) on its TimerService; this module only decides intervals and refreshers.
"""
from dataclasses import dataclass


MIN_SE = 90  # RFC 4028 4: the smallest Session-Expires anyone may ask for


@dataclass(frozen=True)
class SessionTimer:
    """A negotiated session timer: interval in seconds, and who refreshes ('uac' or 'uas')."""

    interval: int
    refresher: str

    def header(self):
        """Return the Session-Expires value announcing this timer."""
        return f"{self.interval};refresher={self.refresher}"

    def refresh_after(self):
        """Return when the refresher refreshes: half the interval (RFC 4028 10)."""
        return self.interval / 2

    def expire_after(self):
        """Return when the other side ends the session without a refresh: the interval less a third of it or
        32 s, whichever is smaller (RFC 4028 10)."""
        return self.interval - min(32, self.interval / 3)


def parse_session_expires(value):
    """Return (seconds, refresher or None) of a Session-Expires value, or None when it is malformed."""
    if value is None:
        return None
    parts = [p.strip() for p in value.split(";")]
    try:
        seconds = int(parts[0])
    except ValueError:
        return None
    refresher = None
    for p in parts[1:]:
        name, _, v = p.partition("=")
        if name.strip().lower() == "refresher" and v.strip().lower() in ("uac", "uas"):
            refresher = v.strip().lower()
    return (seconds, refresher) if seconds > 0 else None


def option_tags(message, name):
    """Return the lowercased option tags of a Supported / Require / Proxy-Require header."""
    tags = set()
    for value in message.headers.get_all(name):
        tags.update(t.strip().lower() for t in value.split(",") if t.strip())
    return tags


def min_se_of(message, default=MIN_SE):
    """Return the Min-SE of a message (default when absent or malformed)."""
    try:
        return max(default, int(message.headers.get("Min-SE", str(default)).split(";")[0]))
    except ValueError:
        return default


def uas_negotiate(request, min_se, wanted=None):
    """Return (SessionTimer or None, 422 Min-SE or None) for an INVITE or UPDATE we answer (RFC 4028 9).

    A Session-Expires below our min_se is refused with 422 (the second value is then our Min-SE). Without a
    Session-Expires we only add a timer when we want one ourselves (wanted seconds), refreshed by us since
    the caller may not support timers."""
    asked = parse_session_expires(request.headers.get("Session-Expires"))
    peer_supports = "timer" in option_tags(request, "Supported")
    if asked is None:
        if not wanted:
            return None, None
        return SessionTimer(max(wanted, min_se_of(request, min_se)), "uas"), None
    seconds, refresher = asked
    if seconds < min_se:
        return None, min_se
    if wanted:
        seconds = min(seconds, max(wanted, min_se_of(request, min_se)))
    if refresher is None:
        refresher = "uac" if peer_supports else "uas"
    return SessionTimer(seconds, refresher), None


def uac_result(response):
    """Return the SessionTimer a 2xx to our INVITE or UPDATE sets (RFC 4028 7.2), or None: without a
    Session-Expires in the 2xx there is no session expiration."""
    got = parse_session_expires(response.headers.get("Session-Expires"))
    return None if got is None else SessionTimer(got[0], got[1] or "uac")
