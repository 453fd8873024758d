"""What an operator reads in `pycallcenter status` about the SIP side: the ports, the calls, a keepalive
trunk that stopped answering, the phones registered."""
from pycallcenter.commands.status import format_status


def test_status_shows_the_sip_side_and_a_trunk_that_is_down():
    snap = {"state": "stopped", "sip": {"address": "127.0.0.1:5062", "transports": {"udp": 5062, "tls": 5061},
                                       "calls": {"pbx": 2, "agent1": 1}, "calls_in": 7, "calls_out": 4, "refused": 1,
                                       "srtp_calls": 3, "trunks": {"pbx": "up", "carrier": "down"},
                                       "registered": ["agent1", "agent2"]}}
    lines = format_status(snap).splitlines()
    i = lines.index("sip: tls 5061, udp 5062; 3 call(s) up, 7 in, 4 out, 1 refused, 3 with SRTP")
    assert lines[i + 1:i + 3] == ["  trunks (OPTIONS keepalive): carrier DOWN, pbx up",
                                  "  phones registered: agent1, agent2"]


def test_status_without_sip_says_nothing_of_it():
    assert "sip:" not in format_status({"state": "stopped", "spans": []})
