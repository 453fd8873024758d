"""HTTPS/WSS from the centre's configuration: a self-signed certificate made at start (key 0600), Secure
cookies, a WSS login; configured PEM files; the keys that refuse an unsafe or half configuration; the
[dial], [[agent]] dial, hot_desking and [wallboard] keys reaching the server."""
import http.client
import os
import ssl

import pytest

from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text
from pycallcenter.cti.auth import hash_password
from pycallcenter.cti.client import CtiClient
from pycallcenter.errors import ConfigError
from pycallcenter.wallboard import live


@pytest.fixture(scope="module")
def prompts(tmp_path_factory):
    """One prompt folder for the module's centres: the first start renders it, the others reuse it."""
    return str(tmp_path_factory.mktemp("prompts"))


@pytest.fixture
def centre_text(tmp_path, prompts):
    def make(extra):
        (tmp_path / "users.toml").write_text(
            f'[[user]]\nname = "agent1"\nrole = "agent"\npassword_hash = "{hash_password("agent1-password", n=1024)}"\n')
        text = live.config_text(agents=2, data=str(tmp_path / "data"))
        return text.replace("[centre]\n", f'[centre]\nprompts = "{prompts}"\ncti_port = 0\ncti_users = "users.toml"\n'
                            + extra, 1)
    return make


@pytest.fixture
def build(tmp_path, centre_text):
    def make(extra):
        board_text, settings = load_text(centre_text(extra), file=str(tmp_path / "centre.toml"))
        return Centre(board_text, settings)
    return make


def client_context(cert):
    ctx = ssl.create_default_context(cafile=cert)  # trusts exactly this certificate
    return ctx


def https_login(port, ctx):
    conn = http.client.HTTPSConnection("127.0.0.1", port, context=ctx, timeout=10)
    conn.request("GET", "/")
    r = conn.getresponse()
    body = r.read().decode()
    csrf_cookie = r.getheader("Set-Cookie").split(";")[0]
    csrf = body.split('name="csrf" value="')[1].split('"')[0]
    conn.request("POST", "/login", body=f"name=agent1&password=agent1-password&csrf={csrf}",
                 headers={"Content-Type": "application/x-www-form-urlencoded", "Cookie": csrf_cookie})
    r = conn.getresponse()
    r.read()
    return r.status, r.getheader("Set-Cookie"), r.getheader("Strict-Transport-Security")


def test_self_signed_certificate_secure_cookies_and_wss(tmp_path, build):
    centre = build('cti_tls = "self-signed"\n')
    try:
        data = tmp_path / "data"
        cert, key = data / "cti-cert.pem", data / "cti-key.pem"
        assert cert.exists() and oct(key.stat().st_mode & 0o777) == "0o600"
        server = centre.cti
        assert server.scheme == "https"
        ctx = client_context(str(cert))
        status, cookie, hsts = https_login(server.port, ctx)
        assert status == 303 and "Secure" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
        assert hsts.startswith("max-age=")
        ws = CtiClient("127.0.0.1", server.port, ssl=ctx, timeout=30.0)  # a loaded CI machine: no timed assertion
        ws.send({"cmd": "auth", "user": "agent1", "password": "agent1-password", "id": 1})
        got = []
        for _ in range(500):
            centre.tick()
            got += ws.receive(0.002)
            if any(f.get("id") == 1 for f in got):
                break
        assert [f for f in got if f.get("id") == 1][0]["role"] == "agent"
        ws.close()
        # plain HTTP on a TLS port goes nowhere
        plain = http.client.HTTPConnection("127.0.0.1", server.port, timeout=5)
        with pytest.raises((ConnectionError, http.client.HTTPException, OSError)):
            plain.request("GET", "/")
            plain.getresponse()
        mtime = cert.stat().st_mtime
    finally:
        centre.close(publish=False)
    centre = build('cti_tls = "self-signed"\n')  # the next start keeps the valid certificate
    try:
        assert cert.stat().st_mtime == mtime
    finally:
        centre.close(publish=False)


def test_configured_pem_files(tmp_path, build):
    from pycallcenter.cti.tls import self_signed

    cert, key = self_signed(str(tmp_path / "pem"))
    centre = build(f'cti_cert = "{cert}"\ncti_key = "{key}"\n')
    try:
        status, cookie, _ = https_login(centre.cti.port, client_context(cert))
        assert status == 303 and "Secure" in cookie
    finally:
        centre.close(publish=False)


@pytest.mark.parametrize("extra, problem", [
    ('cti_addr = "0.0.0.0"\n', "need TLS"),
    ('cti_cert = "c.pem"\n', "cti_cert and cti_key go together"),
    ('cti_cert = "missing.pem"\ncti_key = "missing.pem"\n', "cannot load the certificate"),
    ('cti_tls = "yes"\n', "cti_tls"),
])
def test_unsafe_or_half_tls_configuration_is_a_config_error(build, extra, problem):
    with pytest.raises(ConfigError) as e:
        build(extra)
    assert problem in str(e.value)


@pytest.mark.parametrize("extra, problem", [
    ('cti_addr = "0.0.0.0"\n', "need TLS"),
    ('cti_cert = "missing.pem"\ncti_key = "missing.pem"\n', "cannot load the certificate"),
])
def test_config_check_refuses_what_run_would_refuse(tmp_path, centre_text, capsys, extra, problem):
    # config check said OK to a plain-HTTP CTI server on 0.0.0.0 that `run` then refused at start
    from pycallcenter.cli import main

    (tmp_path / "centre.toml").write_text(centre_text(extra))
    assert main(["config", "check", str(tmp_path / "centre.toml")]) == 1
    err = capsys.readouterr().err
    assert problem in err and err.count("\n") == 1
    (tmp_path / "centre.toml").write_text(centre_text('cti_addr = "0.0.0.0"\ncti_tls = "self-signed"\n'))
    assert main(["config", "check", str(tmp_path / "centre.toml")]) == 0
    assert not (tmp_path / "data").exists()  # checking makes no certificate (nor anything else)


def test_dial_hot_desking_and_wallboard_keys_reach_the_server(tmp_path, centre_text):
    text = centre_text("hot_desking = true\n")
    text = text.replace('[[agent]]\nname = "agent1"\n', '[[agent]]\nname = "agent1"\ndial = ["_5XXXXXX"]\n', 1)
    text += '\n[dial]\nallow = ["_0[1-8]X."]\ninternational = false\npremium = ["0909"]\n' \
            '\n[wallboard]\nservice_level = 0.9\nabandon = 0.1\nwaiting = 2\nlongest_wait = 30.0\n'
    board_text, settings = load_text(text, file=str(tmp_path / "centre.toml"))
    centre = Centre(board_text, settings)
    try:
        hub = centre.cti.hub
        policy = hub.backend.dial_policy
        assert hub.hot_desking is True and policy.premium == ["0909"] and policy.allow == ["_0[1-8]X."]
        assert policy.per_agent == {"agent1": ["_5XXXXXX"]}
        assert policy.check("agent1", "5551234") is None and policy.check("agent2", "5551234") is not None
        th = hub.backend.thresholds
        assert (th.service_level, th.abandon, th.waiting, th.longest_wait) == (0.9, 0.1, 2, 30.0)
        assert hub.backend.wallboard()["thresholds"]["waiting"] == 2
    finally:
        centre.close(publish=False)
    with pytest.raises(ConfigError) as e:
        load_text(text.replace('premium = ["0909"]', 'premium = ["09x"]'), file=str(tmp_path / "centre.toml"))
    assert "premium" in str(e.value)
    assert os.path.exists(tmp_path / "users.toml")


def test_json_lines_port_from_the_configuration_speaks_tls_like_the_cti_port(build, tmp_path):
    import json
    import socket

    centre = build('cti_tls = "self-signed"\ncti_lines_port = 0\n')
    try:
        port = centre.cti.tcp_port
        assert port and port != centre.cti.port
        ctx = client_context(str(tmp_path / "data" / "cti-cert.pem"))
        with ctx.wrap_socket(socket.create_connection(("127.0.0.1", port), timeout=10),
                             server_hostname="127.0.0.1") as s:
            s.sendall(b'{"cmd":"auth","user":"agent1","password":"agent1-password","id":1}\n')
            s.settimeout(0.01)
            buf, reply = b"", None
            for _ in range(1000):
                centre.tick()
                try:
                    buf += s.recv(65536)
                except (socket.timeout, ssl.SSLWantReadError):
                    continue
                frames = [json.loads(x) for x in buf.split(b"\n")[:-1]]
                reply = next((x for x in frames if x.get("id") == 1), None)
                if reply:
                    break
        assert reply is not None and (reply["type"], reply["role"]) == ("reply", "agent")
    finally:
        centre.close(publish=False)
