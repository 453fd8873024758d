"""SIP (RFC 3261): message and SDP codecs, digest authentication, transactions; sans-IO, plus a small UDP endpoint."""
