"""The SIP keys of a centre's file: each wrong value is one ConfigError naming the file, line and key."""
import pytest

from pycallcenter.apps.settings import load_text
from pycallcenter.errors import ConfigError

BASE = """[sip]
channels = 4

[[sip.trunk]]
name = "carrier"
host = "192.0.2.10"

[[sip.account]]
user = "agent1"
password = "x"

[[queue]]
name = "sales"

[[agent]]
name = "ann"
phone = "sip:agent1"
queues = { sales = 0 }

[[route]]
called = "_0."
to = "sip:carrier"
strip = 1
"""


def test_the_sip_keys_load_and_a_sip_phone_becomes_the_agents_contact():
    _, s = load_text(BASE, file="c.toml")
    assert s.sip.channels == 4 and s.sip.trunk[0].host == "192.0.2.10" and s.sip.account[0].user == "agent1"
    assert s.agent[0].contact == "sip/agent1"  # what the ACD originates: the SIP adapter's registered phone
    assert (s.route[0].to, s.route[0].strip) == ("sip:carrier", 1)
    assert s.sip.srtp == "off"
    _, s = load_text(BASE.replace("channels = 4", 'channels = 4\nsrtp = "require"'), file="c.toml")
    assert s.sip.srtp == "require"


@pytest.mark.parametrize("change,where", [
    (('phone = "sip:agent1"', 'phone = "sip:nobody"'), "c.toml:17: agent[1].phone: no [[sip.account]] with user 'nobody'"),
    (('to = "sip:carrier"', 'to = "sip:elsewhere"'), "c.toml:22: route[1].to: no [[sip.trunk]] named 'elsewhere'"),
    (("channels = 4", "channels = 0"), "c.toml:2: sip.channels: SIP trunks, accounts or phones need channels > 0"),
    (('host = "192.0.2.10"', 'host = "192.0.2.10"\nregister = true'), "c.toml:4: sip.trunk[1]: register = true needs"),
    (('phone = "sip:agent1"', 'phone = "sip:agent1"\ncontact = "channel/3"'), "agent[1]: an agent needs exactly one"),
    (("strip = 1", "strip = 1\nscript = \"main_menu\""), "route[1]: a route needs exactly one of script, queue or to"),
    (("channels = 4", "channels = 4\nrtp_ports = [20001, 20000]"), "c.toml:3: sip.rtp_ports: must be [first, last]"),
    (('name = "carrier"', 'name = "carrier"\nport = 70000'), "sip.trunk[1].port: must be from 0 to 65535"),
    (("channels = 4", "channels = 4\nsrtp = \"yes\""), "c.toml:3: sip.srtp: must be one of"),
    (("channels = 4", "channels = 4\ntransports = [\"udp\", \"sctp\"]"), "c.toml:3: sip.transports[2]: must be one of"),
    (("channels = 4", "channels = 4\ntls_cert = \"c.pem\""), "sip: tls_cert and tls_key go together"),
    (("channels = 4", "channels = 4\nsession_expires = 30"), "c.toml:3: sip.session_expires: must be from 90"),
    (('host = "192.0.2.10"', 'host = "192.0.2.10"\nkeepalive = -1'), "c.toml:7: sip.trunk[1].keepalive: must be from 0"),
    (('host = "192.0.2.10"', 'host = "192.0.2.10"\ntransport = "tls"'), "c.toml:7: sip.trunk[1].transport: tls is not in [sip] transports"),
])
def test_a_wrong_sip_value_is_one_line_naming_file_line_and_key(change, where):
    with pytest.raises(ConfigError) as err:
        load_text(BASE.replace(*change), file="c.toml")
    message = str(err.value)
    assert where in message and "\n" not in message
