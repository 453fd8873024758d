"""Kamailio 5.6 with its TLS module (Debian kamailio-tls-modules) judges the engine's TLS, both ways, on
loopback. The engine is a trunk of Kamailio: it registers to Kamailio over TLS (our client checks
Kamailio's certificate), and a caller's INVITE to the centre is relayed by Kamailio, record-routed, over a
TLS connection Kamailio opens to the engine's TLS port (Kamailio checks our self-signed certificate
against its CA list). The caller hears the script's prompt, its key press reaches collect, and its BYE
reaches the engine through Kamailio; the engine never uses a SIP datagram."""
import ssl
import subprocess
from pathlib import Path

import pytest

from engine_sip_rig import Phone, prompt_and_digits, run
from pycallcenter.engine.sip import Peer
from pycallcenter.tls import self_signed, server_context
from test_sip_engine import rig  # noqa: F401 - the fixture is shared
from test_sip_kamailio import CONFIG as KAMAILIO_CONFIG, KAMAILIO, _free_port_both, _wait_until_up

TLS_MODULE = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules/tls.so")
pytestmark = [pytest.mark.peer, pytest.mark.skipif(KAMAILIO is None or not TLS_MODULE.exists(), reason=(
    "kamailio with its TLS module (Debian packages kamailio, kamailio-tls-modules) is not installed; "
    "`make sysdeps-test` installs them"))]

# the registrar and proxy of the Kamailio test, on UDP and TLS, with the engine's trunk account ("centre")
CONFIG = (KAMAILIO_CONFIG.replace('listen=tcp:127.0.0.1:{port}',
                                  'enable_tls=yes\ntcp_children=1\nlisten=tls:127.0.0.1:{tls_port}\n'
                                  'alias="127.0.0.1:{tls_port}"')
          .replace('loadmodule "kex.so"', 'loadmodule "tls.so"\nloadmodule "kex.so"')
          .replace('modparam("usrloc", "db_mode", 0)',
                   'modparam("usrloc", "db_mode", 0)\nmodparam("tls", "config", "{tls_cfg}")\n'
                   'modparam("tm", "fr_timer", 3000)')  # a relay that cannot connect fails in 3 s, not 30
          .replace('"alice"', '"centre"').replace('"wonderland"', '"trunk-secret"'))

TLS_CFG = """[server:default]
method = TLSv1.2+
verify_certificate = no
require_certificate = no
private_key = {key}
certificate = {cert}

[client:default]
method = TLSv1.2+
verify_certificate = yes
require_certificate = yes
ca_list = {engine_cert}
"""


@pytest.fixture
def kamailio_tls(tmp_path, request):
    """Kamailio on UDP and TLS with its own self-signed certificate, trusting the engine's (or, with the
    indirect parameter "itself", only its own); yields (UDP port, TLS port, Kamailio's certificate, the
    engine's certificate and key)."""
    (tmp_path / "kam").mkdir()
    (tmp_path / "engine").mkdir()
    cert, key = self_signed(str(tmp_path / "kam"))
    engine_cert, engine_key = self_signed(str(tmp_path / "engine"))
    port, tls_port = _free_port_both(), _free_port_both()
    trusted = cert if getattr(request, "param", "engine") == "itself" else engine_cert
    (tmp_path / "tls.cfg").write_text(TLS_CFG.format(key=key, cert=cert, engine_cert=trusted))
    cfg = tmp_path / "kamailio.cfg"
    cfg.write_text(CONFIG.format(port=port, tls_port=tls_port, tls_cfg=tmp_path / "tls.cfg", algorithm="MD5"))
    check = subprocess.run([KAMAILIO, "-c", "-f", str(cfg)], capture_output=True, text=True)
    assert check.returncode == 0, check.stderr[-3000:]
    log = open(tmp_path / "kamailio.log", "w")
    proc = subprocess.Popen([KAMAILIO, "-f", str(cfg), "-DD", "-E", "-Y", str(tmp_path), "-P",
                             str(tmp_path / "kamailio.pid"), "-w", str(tmp_path), "-m", "32", "-M", "8"],
                            stdout=log, stderr=subprocess.STDOUT)
    try:
        _wait_until_up(proc, port, tmp_path / "kamailio.log")
        yield port, tls_port, cert, (engine_cert, engine_key)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _centre(rig, kamailio_tls, trust):
    """Return (engine, trunk) registering to Kamailio over TLS; our client trusts the certificate trust."""
    build, _ = rig
    port, tls_port, kam_cert, (cert, key) = kamailio_tls
    trunk_peer = Peer("kam", "127.0.0.1", tls_port, username="centre", password="trunk-secret", register=True,
                      transport="tls", register_expires=300)
    return build(peers=[trunk_peer], transports=("udp", "tls"), tls_port=0, server_ssl=server_context(cert, key),
                 client_ssl=ssl.create_default_context(cafile=trust), guests=False)


def test_the_engine_registers_to_kamailio_over_tls_and_takes_a_call_it_relays_over_tls(rig, kamailio_tls, tmp_path):
    _, keep = rig
    port, tls_port, kam_cert, _ = kamailio_tls
    eng, trunk = _centre(rig, kamailio_tls, kam_cert)
    seen = prompt_and_digits(eng)
    log = (tmp_path / "kamailio.log")
    registered = lambda: any(" sip_registered " in line for line in eng.log_lines)  # noqa: E731
    assert run(eng, 5.0, realtime=True, until=registered), (eng.log_lines[-10:], trunk.streams["TLS"].counts, trunk.ua.registrations, log.read_text()[-1500:])
    caller = Phone("bob", auth=("bob", "builder"))
    keep(caller)
    caller.call(f"sip:centre@127.0.0.1:{port}", ("127.0.0.1", port), eng.now / 8000)
    assert run(eng, 5.0, caller, realtime=True, until=lambda: "CallAnswered" in caller.kinds()), \
        (caller.kinds(), "\n".join(eng.log_lines[-10:]), log.read_text()[-3000:])
    assert seen["called"] == "centre"
    run(eng, 1.2, caller, realtime=True)
    assert caller.loud_ms() >= 800  # the prompt, over the media path the SDP gave
    caller.press("7")
    assert run(eng, 2.0, caller, realtime=True, until=lambda: "digits" in seen)
    assert seen["digits"] == "7"
    d = caller.ua.dialogs[caller.call_id]
    assert len(d.route_set) == 2 and any("transport=tls" in r for r in d.route_set)  # Kamailio's two Record-Routes
    caller.hang_up(eng.now / 8000)
    assert run(eng, 3.0, caller, realtime=True, until=lambda: not eng.legs)
    assert trunk.stats["datagrams"] == 0 and trunk.stats["calls_in"] == 1  # every SIP message over TLS
    assert trunk.status()["connections"]["tls"] >= 1 and eng.leaks() == []


@pytest.mark.parametrize("kamailio_tls", ["itself"], indirect=True)
def test_certificates_are_checked_both_ways(rig, kamailio_tls, tmp_path):
    """Our client refuses Kamailio when it trusts another certificate (the registration fails at once, 503),
    and Kamailio, trusting only its own certificate, refuses to relay a call over TLS to the engine."""
    _, keep = rig
    port, tls_port, kam_cert, (engine_cert, _) = kamailio_tls
    eng, trunk = _centre(rig, kamailio_tls, engine_cert)
    assert run(eng, 3.0, realtime=True, until=lambda: any(" sip_registration_failed " in line
                                                          for line in eng.log_lines))
    assert any(" sip_connect_failed " in line and "transport=TLS" in line for line in eng.log_lines)
    eng2, trunk2 = _centre(rig, kamailio_tls, kam_cert)  # registers, but Kamailio does not trust its certificate
    assert run(eng2, 5.0, realtime=True, until=lambda: any(" sip_registered " in line for line in eng2.log_lines))
    caller = Phone("bob", auth=("bob", "builder"))
    keep(caller)
    caller.call(f"sip:centre@127.0.0.1:{port}", ("127.0.0.1", port), eng2.now / 8000)
    assert run(eng2, 8.0, caller, realtime=True, until=lambda: "CallFailed" in caller.kinds())
    assert caller.events[-1].status >= 400 and trunk2.stats["calls_in"] == 0 and not eng2.legs
