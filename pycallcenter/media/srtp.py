"""SRTP (RFC 3711) with SDES keys (RFC 4568), through libsrtp (the ``pylibsrtp`` binding): no crypto here.

A row's SRTP context has two libsrtp sessions: outbound with our key (``local_crypto``, drawn from
``secrets``) and inbound with the key the far end put in its ``a=crypto`` line. This module only parses and
formats the SDES attribute and hands keys to libsrtp. pylibsrtp is the ``srtp`` extra of the package; a
deployment without it gets a clear error the moment a call asks for SRTP, and plain RTP is unaffected.
"""
import base64
import binascii
import secrets

from pycallcenter.errors import DecodeError, LocalProtocolError

try:
    import pylibsrtp
except ImportError:  # the optional ``srtp`` extra is not installed
    pylibsrtp = None

KEY_SALT_OCTETS = 30  # AES_CM_128: 16-octet master key + 14-octet master salt (RFC 4568 6.2.1)
SUITES = ("AES_CM_128_HMAC_SHA1_80", "AES_CM_128_HMAC_SHA1_32")
DEFAULT_SUITE = SUITES[0]


def parse_crypto(value):
    """Return (suite, master key+salt bytes) of an SDES crypto attribute value ("[tag] SUITE inline:KEY[|...]")."""
    text = value.strip()
    fields = text.split()
    if fields and fields[0].isdigit():  # the a=crypto tag, when the whole attribute value is passed
        fields = fields[1:]
    if len(fields) < 2:
        raise DecodeError(f"expected 'SUITE inline:KEY', got {value!r}", element="crypto", offset=0)
    suite, params = fields[0], fields[1]
    if suite not in SUITES:
        raise DecodeError(f"crypto suite {suite!r} not supported (have {', '.join(SUITES)})",
                          element="crypto suite", offset=text.find(suite))
    if not params.startswith("inline:"):
        raise DecodeError("key parameter must start with 'inline:'", element="crypto key", offset=text.find(params))
    key_text, *extra = params[len("inline:"):].split("|")
    if any(":" in e for e in extra):
        raise DecodeError("MKI is not supported", element="crypto MKI", offset=text.find("|"))
    try:
        key = base64.b64decode(key_text, validate=True)
    except (binascii.Error, ValueError):
        raise DecodeError("key is not base64", element="crypto key", offset=text.find(key_text)) from None
    if len(key) != KEY_SALT_OCTETS:
        raise DecodeError(f"key and salt are {len(key)} octets, expected {KEY_SALT_OCTETS}", element="crypto key",
                          offset=text.find(key_text))
    return suite, key


def format_crypto(suite, key):
    """Return the SDES crypto attribute value (without tag) carrying a master key+salt."""
    return f"{suite} inline:{base64.b64encode(key).decode('ascii')}"


def new_key():
    """Return a fresh random 30-octet master key+salt."""
    return secrets.token_bytes(KEY_SALT_OCTETS)


def _profile(suite):
    return {"AES_CM_128_HMAC_SHA1_80": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_80,
            "AES_CM_128_HMAC_SHA1_32": pylibsrtp.Policy.SRTP_PROFILE_AES128_CM_SHA1_32}[suite]


class SrtpContext:
    """Protects what one row sends (our key) and checks and decrypts what it receives (the far end's key)."""

    def __init__(self, suite, local_key, remote_key):
        if pylibsrtp is None:
            raise LocalProtocolError("SRTP needs pylibsrtp: pip install 'pycallcenter[srtp]'")
        profile = _profile(suite)
        self.suite = suite
        self._out = pylibsrtp.Session(pylibsrtp.Policy(key=local_key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_OUTBOUND,
                                                       srtp_profile=profile))
        self._in = pylibsrtp.Session(pylibsrtp.Policy(key=remote_key, ssrc_type=pylibsrtp.Policy.SSRC_ANY_INBOUND,
                                                      srtp_profile=profile))

    def protect(self, packet):
        """Return the SRTP packet of an RTP packet."""
        return self._out.protect(packet)

    def unprotect(self, packet):
        """Return the RTP packet, or None when authentication or replay checks fail."""
        try:
            return self._in.unprotect(packet)
        except pylibsrtp.Error:
            return None

    def protect_rtcp(self, packet):
        """Return the SRTCP packet of an RTCP packet."""
        return self._out.protect_rtcp(packet)

    def unprotect_rtcp(self, packet):
        """Return the RTCP packet, or None when authentication or replay checks fail."""
        try:
            return self._in.unprotect_rtcp(packet)
        except pylibsrtp.Error:
            return None
