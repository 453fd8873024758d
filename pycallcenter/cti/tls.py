"""The CTI server's TLS helpers live in pycallcenter.tls (shared with SIP over TLS); the old path stays."""
from pycallcenter.tls import is_loopback, self_signed, server_context  # noqa: F401
