"""SIP legs over TCP and TLS ([sip] transports): the engine's adapter accepts and opens connections in its
tick; a phone that registers over TLS is called over TLS, a caller on TCP reaches the script, a trunk on TCP
is dialled over a connection we open, and a trunk that refuses the connection fails the call at once."""
import pytest

from engine_rig import PRI
from engine_sip_rig import Phone, dial_and_talk, free_rtp_range, run, tls_contexts, tone
from pycallcenter.drivers import open_board, parse_config
from pycallcenter.engine import call as C
from pycallcenter.engine.engine import Engine
from pycallcenter.engine.sip import Peer, SipTrunk
from pycallcenter.errors import ConfigError


@pytest.fixture
def rig(tmp_path):
    """build(**SipTrunk options) -> (engine, trunk) with every transport on loopback; keep(phone) closes it."""
    made, phones = [], []
    server_ssl, client_ssl = tls_contexts(tmp_path)

    def build(**kw):
        board = open_board(parse_config(PRI.format(seed=1)))
        eng = Engine(board, tone_plan="etsi", packet_rows=4, rtp_ports=free_rtp_range())
        kw = {"transports": ("udp", "tcp", "tls"), "server_ssl": server_ssl, "client_ssl": client_ssl, **kw}
        trunk = eng.add(SipTrunk(eng, listen=("127.0.0.1", 0), tls_port=0, **kw))
        made.append((eng, trunk))
        return eng, trunk

    yield build, phones.append, (server_ssl, client_ssl)
    for eng, trunk in made:
        eng.shutdown()
        trunk.close()
    for p in phones:
        p.close()


def test_a_phone_registered_over_tls_is_called_over_tls_and_talks_both_ways(rig):
    build, keep, tls = rig
    eng, trunk = build(accounts={"agent1": "s3cret"})
    phone = Phone("agent1", auth=("agent1", "s3cret"), transport="TLS", tls=tls)
    keep(phone)
    tls_addr = ("127.0.0.1", trunk.status()["transports"]["tls"])
    phone.register(tls_addr, eng.now / 8000)
    assert run(eng, 2.0, phone, until=lambda: "Registered" in phone.kinds())
    outcome = {}
    dial_and_talk(eng, "sip/agent1", phone, outcome)
    run(eng, 3.0, phone, until=lambda: "dial" in outcome)
    run(eng, 3.0, phone, until=lambda: not eng.legs)
    assert outcome["dial"] == "answered"
    assert "IncomingCall" in phone.kinds() and "CallEnded" in phone.kinds()
    assert phone.transports_heard == {"TLS"}  # the INVITE and BYE came on the phone's own connection
    assert trunk.stats["datagrams"] == 0 and trunk.stats["messages"] > 0
    assert trunk.status()["connections"]["tls"] == 1
    assert phone.loud_ms() >= 600 and outcome["level"] > 2000
    assert not eng.legs and eng.leaks() == []


def test_a_caller_on_tcp_reaches_the_script_and_its_digit_arrives(rig):
    build, keep, _ = rig
    eng, trunk = build(guests=True)
    seen = {}

    async def script(call):
        await call.answer()
        await call.play(tone())
        got = await call.collect(max_digits=1, terminator="", first_timeout=5.0)
        seen["digits"] = got.digits
        await call.hangup()

    eng.router = lambda leg: script
    phone = Phone("2025550100", transport="TCP")
    keep(phone)
    phone.call("sip:100@127.0.0.1;transport=tcp", ("127.0.0.1", trunk.status()["transports"]["tcp"]),
               eng.now / 8000)
    assert run(eng, 3.0, phone, until=lambda: "CallAnswered" in phone.kinds())
    run(eng, 1.2, phone)
    assert phone.loud_ms() >= 800
    phone.press("8")
    assert run(eng, 3.0, phone, until=lambda: "CallEnded" in phone.kinds())
    run(eng, 1.0, phone, until=lambda: not eng.legs)
    assert seen["digits"] == "8"
    assert phone.transports_heard == {"TCP"} and trunk.stats["datagrams"] == 0
    assert not eng.legs and eng.leaks() == []


def test_a_trunk_on_tcp_is_dialled_over_a_connection_we_open(rig):
    build, keep, _ = rig
    carrier = Phone("carrier", transport="TCP")
    keep(carrier)
    eng, trunk = build(peers=[Peer("desk", "127.0.0.1", carrier.addr[1], transport="tcp")])
    outcome = {}
    dial_and_talk(eng, "sip/desk/2001", carrier, outcome)
    run(eng, 3.0, carrier, until=lambda: "dial" in outcome)
    run(eng, 3.0, carrier, until=lambda: not eng.legs)
    assert outcome["dial"] == "answered" and outcome["leg"] == ("sip", "2001", "out")
    assert carrier.transports_heard == {"TCP"}
    assert carrier.loud_ms() >= 600 and outcome["level"] > 2000
    assert not eng.legs and eng.leaks() == []


def test_a_trunk_that_refuses_the_connection_fails_the_call_at_once(rig):
    build, _, _ = rig
    closed = free_rtp_range(2)[0]  # a loopback port nobody listens on
    eng, trunk = build(peers=[Peer("gone", "127.0.0.1", closed, transport="tcp")])
    outcome = {}

    async def dialler():
        from pycallcenter import ivr
        got = await ivr.dial(eng, "sip/gone/2001", timeout=10)
        outcome["dial"] = (got.outcome, got.cause)

    eng.scheduler.spawn(dialler(), "dialler", eng.now)
    assert run(eng, 1.0, until=lambda: "dial" in outcome)  # well before timer B (32 s)
    assert outcome["dial"][1] == C.TEMPORARY_FAILURE  # 503 from the transport (RFC 3261 8.1.3.1) -> 41
    assert any(" sip_connect_failed " in line for line in eng.log_lines)
    assert not eng.legs and eng.leaks() == []


def test_tls_without_a_certificate_and_an_unknown_transport_are_config_errors(rig):
    build, _, _ = rig
    with pytest.raises(ConfigError, match="sip.transports: tls needs"):
        build(server_ssl=None, client_ssl=None)
    with pytest.raises(ConfigError, match="sip.transports"):
        build(transports=("udp", "sctp"))
