"""The wallboard: HTTP routes behind a login, and the page in a real headless Chromium against a running
emulated centre: it logs in through the form, every number in the DOM is checked against the view the
server pushed, the numbers change without a reload, and a screenshot is saved."""
import http.cookiejar
import json
import math
import re
import struct
import urllib.error
import urllib.parse
import urllib.request
from html.parser import HTMLParser

import pytest

from cti_rig import Centre
from pycallcenter.cti.client import CtiClient
from pycallcenter.sim.pstn import Caller
from web_browser import Browser, chromium


@pytest.fixture(scope="module")
def busy_centre():
    """Five callers for sales: agent1 talks to the first, agent2 is on a break, one gives up, three wait."""
    c = Centre()
    for i in range(4):
        c.caller(f"20255501{i:02d}", arrival=0.5 + i)
    c.pstn.add(Caller("2025550666", "5000", arrival=0.7, patience=4.0))
    c.run(3)
    c.phones["agent1"].off_hook()
    c.run(1)
    c.hub.backend.ready("agent2")  # logged in paused at start; now on a break with a reason
    c.hub.backend.not_ready("agent2", "break")
    c.run(9)
    c.hub.publish()
    yield c
    c.close()


class Web:
    """A browser-like HTTP client with a cookie jar (urllib), not following redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    def __init__(self, centre):
        self.base = f"http://127.0.0.1:{centre.server.port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect)

    def request(self, path, form=None, headers=None):
        """Return (status, headers, body) of a GET, or a POST of form."""
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(self.base + path, data=data, headers=headers or {})
        try:
            with self.opener.open(req, timeout=10) as r:
                return r.status, r.headers, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers, e.read()

    def csrf(self, body):
        return re.search(rb'name="csrf" value="([^"]+)"', body).group(1).decode()

    def login(self, name, password):
        """Log in through the form; return the POST's (status, headers, body)."""
        status, _, body = self.request("/")
        assert status == 200
        return self.request("/login", {"name": name, "password": password, "csrf": self.csrf(body)})


def test_routes_need_a_login_and_the_session_cookie_is_locked_down(busy_centre):
    web = Web(busy_centre)
    status, headers, body = web.request("/")
    assert status == 200 and headers["Content-Type"].startswith("text/html") and b'action="/login"' in body
    assert "HttpOnly" in headers["Set-Cookie"] and "SameSite=Strict" in headers["Set-Cookie"]
    assert headers["X-Frame-Options"] == "DENY" and "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    # nothing without a login (the snapshot used to be open to anyone who reached the port)
    assert web.request("/api/snapshot")[0] == 401
    assert web.request("/wallboard")[:2][0] == 303
    # a wrong password, then the address must wait; a form post from another origin is refused
    assert web.login("boss", "not-the-password")[0] == 401
    assert web.login("boss", "boss-password")[0] == 429
    busy_centre.server.guard.unlock("127.0.0.1")
    status, _, body = web.request("/")
    evil = web.request("/login", {"name": "boss", "password": "boss-password", "csrf": web.csrf(body)},
                       {"Origin": "http://evil.example"})
    assert evil[0] == 403
    assert web.request("/login", {"name": "boss", "password": "boss-password", "csrf": "forged"})[0] == 403
    status, headers, _ = web.login("boss", "boss-password")
    assert status == 303 and headers["Location"] == "/wallboard"
    cookie = [h for h in headers.get_all("Set-Cookie") if h.startswith("pycc_session=")][0]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie and "Path=/" in cookie
    status, headers, body = web.request("/wallboard")
    assert status == 200 and b'<svg id="pie"' in body and b"boss (supervisor)" in body
    assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")  # nothing fetched from outside
    status, headers, body = web.request("/api/snapshot")
    snap = json.loads(body)
    assert headers["Content-Type"].startswith("application/json")
    assert snap == busy_centre.hub.backend.snapshot() | {"time": snap["time"]}
    sales = snap["queues"][0]
    assert (sales["queue"], sales["waiting"], sales["answered"], sales["abandoned"]) == ("sales", 3, 1, 1)
    # scripts: an API token as a bearer token
    bearer = Web(busy_centre).request("/api/snapshot", headers={"Authorization": "Bearer tok-boss"})
    assert bearer[0] == 200 and json.loads(bearer[2])["queues"][0]["queue"] == "sales"
    assert web.request("/nope")[0] == 404
    assert web.request("/", headers={"Host": "rebound.example:80"})[0] == 421  # DNS rebinding
    # logging out needs the session's CSRF token; then the cookie is worth nothing
    status, _, body = web.request("/wallboard")
    assert web.request("/logout", {"csrf": "wrong"})[0] == 303 and web.request("/wallboard")[0] == 200
    assert web.request("/logout", {"csrf": web.csrf(body)})[0] == 303
    assert web.request("/api/snapshot")[0] == 401


def test_more_pages_by_role_and_each_roles_home():
    def console(name, role, csrf):
        return f"<p>console of {name}</p>"

    centre = Centre(pages={"/console": (("supervisor",), console)}, home={"supervisor": "/console"})
    try:
        boss, agent = Web(centre), Web(centre)
        status, headers, _ = boss.login("boss", "boss-password")
        assert status == 303 and headers["Location"] == "/console"
        assert boss.request("/console")[2] == b"<p>console of boss</p>"
        assert boss.request("/")[1]["Location"] == "/console"
        centre.server.guard.unlock("127.0.0.1")
        status, headers, _ = agent.login("agent1", "agent1-password")
        assert headers["Location"] == "/wallboard"
        assert agent.request("/console")[0] == 403 and agent.request("/wallboard")[0] == 200
        assert Web(centre).request("/console")[0] == 303  # no session: to the login form
    finally:
        centre.close()


def test_a_pages_websocket_is_its_sessions_and_ends_with_it(busy_centre):
    centre, server = busy_centre, busy_centre.server
    server.guard.unlock("127.0.0.1")
    web = Web(busy_centre)
    assert web.login("agent1", "agent1-password")[0] == 303
    cookie = "; ".join(f"{c.name}={c.value}" for c in web.jar if c.name == "pycc_session")
    ws = CtiClient("127.0.0.1", server.port, cookie=cookie, origin=web.base)
    got = centre.pump([ws], lambda g: any(f.get("event") == "session" for f in g[id(ws)]))[id(ws)]
    assert [(f["role"], f["name"]) for f in got if f.get("event") == "session"] == [("agent", "agent1")]
    assert centre.request(ws, {"cmd": "force_logout", "agent": "agent2"})["code"] == "forbidden"  # an agent's
    view = centre.request(ws, {"cmd": "wallboard"})
    assert [q["queue"] for q in view["queues"]] == ["sales", "support"] and "centre" in view
    assert "lockouts" not in view  # who is locked out is for supervisors
    pushed = centre.pump([ws], lambda g: any(f.get("event") == "wallboard" for f in g[id(ws)]))[id(ws)]
    assert [f for f in pushed if f.get("event") == "wallboard"][0]["time"] > view["time"]
    server.sessions.absolute = 0.0  # the session's absolute limit passes: its open page is closed
    try:
        server.loop.call_soon_threadsafe(server._sweep, False)
        frames = []
        for _ in range(200):
            frames += ws.receive(0.01)
            if ws.closed:
                break
        assert ws.closed and any(f.get("code") == "not_authenticated" for f in frames)
        assert web.request("/api/snapshot")[0] == 401
    finally:
        server.sessions.absolute = 43200.0


class _Keys(HTMLParser):
    """Collect text and data-v of every element carrying data-k."""

    def __init__(self):
        super().__init__()
        self.values, self._open = {}, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if "data-k" in a:
            self.values[a["data-k"]] = a.get("data-v", "")
            if "data-v" not in a:
                self._open.append(a["data-k"])
        elif self._open:
            self._open.append(None)

    def handle_endtag(self, tag):
        if self._open:
            self._open.pop()

    def handle_data(self, data):
        if self._open and self._open[-1]:
            self.values[self._open[-1]] += data


def mmss(s):
    s = math.floor(s + 0.5)  # as JavaScript's Math.round (Python's round goes to even)
    return f"{s // 60}:{s % 60:02d}"


def keys(dom):
    k = _Keys()
    k.feed(dom)
    return k.values


def pct(x):
    return "-" if x is None else f"{x * 100:.1f}%"


def check_page_against_view(v, view):
    """Every figure of the pushed view, as the page shows it."""
    assert v["wall"] == view["wall"][11:]
    c = view["centre"]
    assert (v["c.waiting"], v["c.in_ivr"], v["c.offered"], v["c.answered"], v["c.abandoned"]) == (
        str(c["waiting"]), str(c["in_ivr"]), str(c["offered"]), str(c["answered"]), str(c["abandoned"]))
    for q in view["queues"]:
        p = f"q.{q['queue']}."
        assert v[p + "waiting"] == str(q["waiting"]) and v[f"bar.{q['queue']}"] == str(q["waiting"])
        for f in ("answered", "abandoned"):
            assert v[f"today.{q['queue']}.{f}"] == str(q[f])
        assert v[p + "longest_wait"] == mmss(q["longest_wait"])
        assert v[p + "service_level"] == pct(q["service_level"]) and v[p + "abandon"] == pct(q["abandon"])
        assert v[p + "asa"] == ("-" if q["asa"] is None else mmss(q["asa"]))
        assert v[p + "aht"] == ("-" if q["aht"] is None else mmss(q["aht"]))
        for f in ("offered", "answered", "abandoned"):
            assert v[p + f] == str(q[f])
        assert {s: int(v[p + "agents." + s]) for s in q["agents"]} == q["agents"]
    states = {}
    for a in view["agents"]:
        p = f"a.{a['name']}."
        assert (v[p + "state"], v[p + "reason"], v[p + "calls"], v[p + "caller"], v[p + "queue"]) == (
            a["state"], a["reason"], str(a["calls"]), a["caller"], a["queue"] or "")
        assert v[p + "in_state"] == mmss(a["in_state"])
        states[a["state"]] = states.get(a["state"], 0) + 1
    assert {key[4:]: int(val) for key, val in v.items() if key.startswith("pie.")} == states


def test_page_in_headless_chromium_is_pushed_live_numbers(busy_centre, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    centre = busy_centre
    centre.server.guard.unlock("127.0.0.1")
    tick = lambda: centre.tick(1)  # noqa: E731  the engine runs while the browser waits
    b = Browser(str(tmp_path / "profile"))
    try:
        base = f"http://127.0.0.1:{centre.server.port}"
        b.navigate(base + "/", tick)
        b.evaluate("document.getElementById('name').value='boss';document.getElementById('password').value="
                   "'boss-password';document.querySelector('form').submit();true")
        b.wait("location.pathname === '/wallboard' && document.body.getAttribute('data-rendered')", tick)
        b.evaluate("window.sameDocument = 'yes'; true")  # survives only if the page is never reloaded
        dump = "document.documentElement.outerHTML"

        def settle():
            """Stop at a board second's push; wait until the page shows it; return (its keys, the view)."""
            nxt = centre.hub._next_snapshot
            while centre.hub._next_snapshot == nxt:
                centre.tick(1)
            view = centre.hub.backend.wallboard()
            b.wait(f"Number(document.getElementById('status').getAttribute('data-time')) === {view['time']}")
            return keys(b.evaluate(dump)), view

        first, view1 = settle()
        check_page_against_view(first, view1)
        assert (first["q.sales.waiting"], first["a.agent1.state"], first["a.agent2.state"],
                first["a.agent2.reason"], first["a.agent1.queue"]) == ("3", "talking", "paused", "break", "sales")
        assert first["a.agent1.caller"] == "2025550100"
        # the centre moves on: a new caller, agent1 hangs up; the page follows without a reload
        centre.caller("2025550199", arrival=centre.eng.now / 8000 + 0.2)
        centre.phones["agent1"].on_hook()
        centre.run(2)
        second, view2 = settle()
        check_page_against_view(second, view2)
        assert b.evaluate("window.sameDocument") == "yes"
        assert int(b.evaluate("document.body.getAttribute('data-rendered')")) > 2
        assert second["a.agent1.state"] != "talking" and second["q.sales.answered"] == "1"
        assert second["wall"] != first["wall"]
        alerts = b.evaluate("document.getElementById('alerts').textContent")
        assert ("sales: waiting" in alerts) == ("waiting" in view2["queues"][0]["alerts"])
        # a supervisor's wallboard shows the addresses locked out after failed logins
        for _ in range(centre.server.limits.lockout_after):
            centre.server.guard.failed("198.51.100.9")
        b.wait("document.getElementById('alerts').textContent.indexOf('locked out 198.51.100.9') >= 0", tick)
        centre.server.guard.unlock("198.51.100.9")
        shot = b.screenshot(str(tmp_path / "wallboard.png"))
        head = open(shot, "rb").read(24)
        assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24])[0] >= 1200
        print(f"wallboard screenshot: {shot}")
    finally:
        b.close()
