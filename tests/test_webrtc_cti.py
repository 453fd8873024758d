"""The browser phone's routes on the CTI server refuse what they must: no session, a wrong CSRF token, a
cross-origin POST, a body that is not JSON, an offer that is not SDP; a logged-in agent gets the widget."""
import http.cookiejar
import json
import re
import time
import urllib.error
import urllib.parse
import urllib.request

import pytest

from cti_rig import PASSWORDS, Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.webrtc.phones import PhoneServer
from test_webrtc import FakePage


class Web:
    """An HTTP client with its own cookie jar that does not follow redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()),
                                                  self._NoRedirect)

    def open(self, path, data=None, headers=None):
        """Return (status, body text) of a GET, or a POST when data is given."""
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=30) as r:
                return r.status, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, e.read().decode()

    def login(self, name):
        _, form = self.open("/")
        token = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
        body = urllib.parse.urlencode({"csrf": token, "name": name, "password": PASSWORDS[name][1]}).encode()
        assert self.open("/login", body)[0] == 303

    def offer(self, body, csrf, origin=None):
        headers = {"Content-Type": "application/json", "X-CSRF-Token": csrf}
        if origin:
            headers["Origin"] = origin
        status, text = self.open("/phone/offer", body if isinstance(body, bytes) else json.dumps(body).encode(),
                                 headers)
        return status, json.loads(text) if text.startswith("{") else text


@pytest.fixture
def rig():
    phones = PhoneServer()
    c = Centre(tcp=False, phones=phones)
    yield c
    c.close()
    phones.close()


def test_phone_routes_need_a_session_and_its_csrf_token(rig):
    anon = Web(rig.server.port)
    assert anon.open("/phone.js")[0] == 401 and anon.open("/phone")[0] == 303
    assert anon.offer({"sdp": "v=0"}, "x")[0] == 401
    web = Web(rig.server.port)
    web.login("agent1")
    status, page = web.open("/phone")
    assert status == 200 and 'src="/phone.js"' in page
    csrf = re.search(r'data-csrf="([^"]+)"', page).group(1)
    status, script = web.open("/phone.js")
    assert status == 200 and "PyccPhone" in script
    assert web.offer({"sdp": "v=0"}, "not-the-token") == (403, {"error": "missing or wrong CSRF token"})
    assert web.offer({"sdp": "v=0"}, csrf, origin="https://evil.example")[0] == 403
    assert web.offer(b"not json", csrf) == (400, {"error": 'body must be JSON {"sdp": "..."}'})
    status, err = web.offer({"sdp": "hello"}, csrf)
    assert status == 400 and err["error"] == "phone offer: not an SDP offer"
    status, err = web.offer({"sdp": "v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n"}, csrf)
    assert status == 400 and err["error"].startswith("phone offer: ") and "\n" not in err["error"]
    assert not phones_online(rig)
    boss = Web(rig.server.port)
    boss.login("boss")
    assert boss.open("/phone.js")[0] == 200


def phones_online(rig):
    return rig.server.phones.phones


def test_logging_out_unregisters_the_users_browser_phone(rig):
    web = Web(rig.server.port)
    web.login("agent1")
    page = FakePage(rig.server.phones, "agent1")
    try:
        assert "agent1" in phones_online(rig)
        _, html = web.open("/phone")
        csrf = re.search(r'data-csrf="([^"]+)"', html).group(1)
        body = urllib.parse.urlencode({"csrf": csrf}).encode()
        assert web.open("/logout", body)[0] == 303
        for _ in range(200):
            if "agent1" not in phones_online(rig):
                break
            time.sleep(0.02)
        assert "agent1" not in phones_online(rig)
    finally:
        page.close()


@pytest.mark.parametrize("text, key, message", [
    ('[centre]\ncti_port = 0\ncti_users = "u.toml"\n[[queue]]\nname = "q"\n[[agent]]\nname = "a1"\n'
     'phone = "webrtc:a1"\nqueues = { q = 0 }\n', "agent[1].phone", "needs [webrtc] enabled = true"),
    ('[webrtc]\nenabled = true\n', "webrtc.enabled", "set [centre] cti_port"),
    ('[webrtc]\nenabled = true\ncodecs = ["g729"]\n', "webrtc.codecs", "g729"),
])
def test_webrtc_settings_name_the_key_and_line(text, key, message):
    from pycallcenter.apps.settings import load_text
    from pycallcenter.errors import ConfigError

    with pytest.raises(ConfigError) as err:
        load_text(board_config(1, 1) + text, file="centre.toml")
    assert key in str(err.value) and message in str(err.value) and "centre.toml" in str(err.value)
