"""What our SIP user agent offers its peers: the methods it takes (Allow) and the extensions it supports
(Supported: 100rel for RFC 3262, timer for RFC 4028, replaces for RFC 3891)."""

ALLOW = "INVITE, ACK, BYE, CANCEL, OPTIONS, PRACK, UPDATE, REFER, NOTIFY, INFO, REGISTER"
SUPPORTED = ("100rel", "timer", "replaces")
