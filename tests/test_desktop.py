"""The agent desktop and the supervisor console in headless Chromium, on a centre built from its
configuration by the composition root (`pycallcenter run`'s Centre) on the emulator: a PRI caller presses 1
in the main menu and reaches agent1, who logs in through the form; the screen pop shows the caller's
number, IVR choice and queue; the agent hangs up from the page and saves a disposition and notes, which
land in the call's CDR; the customer record is edited and shows the call in its history; a supervisor
sees the agent talking, finds the recording, plays it through its authenticated link and scores it.
Another agent cannot act on agent1's call, and no page or data route answers without a login."""
import http.cookiejar
import json
import struct
import urllib.error
import urllib.request

import pytest

from prompt_cache import prompt_cache  # noqa: F401 - the module's prompt set, built once
from pycallcenter.apps.centre import Centre
from pycallcenter.apps.demo import board_config
from pycallcenter.apps.settings import load_text
from pycallcenter.apps.simulation import Simulation
from pycallcenter.cti.auth import hash_password
from pycallcenter.cti.client import CtiClient
from pycallcenter.sim.pstn import Caller
from web_browser import Browser, chromium

CALLER = "2025550147"
PASSWORDS = {"agent1": ("agent", "agent1-password"), "agent2": ("agent", "agent2-password"),
             "boss": ("supervisor", "boss-password")}

CONFIG = """
[centre]
data = "{data}"
tone_plan = "etsi"
station_features = false
start = "2026-01-05T10:00:00"
cti_port = 0
cti_users = "users.toml"

[fax]
detect = false

[recording]
calls = "queued"

[desktop]
dispositions = ["sale", "no_sale", "complaint"]

[[quality.criterion]]
name = "greeting"
weight = 1

[[quality.criterion]]
name = "identification"
weight = 3
fatal = true

[[queue]]
name = "sales"
ring_timeout = 60

[[agent]]
name = "agent1"
contact = "channel/32"
queues = {{ sales = 0 }}
ready = false

[[agent]]
name = "agent2"
contact = "channel/33"
queues = {{ sales = 0 }}
login = false

[simulate]
calls_per_hour = 0
agents = []
"""


def users_file():
    """Return a users file of PASSWORDS (scrypt at the lowest cost accepted: tests only)."""
    out = []
    for name, (role, password) in PASSWORDS.items():
        out.append(f'[[user]]\nname = "{name}"\nrole = "{role}"\npassword_hash = "{hash_password(password, n=1024)}"\n')
        if name == "boss":
            out.append('contact = "channel/34"\n')
    return "\n".join(out)


@pytest.fixture
def centre(tmp_path):
    """A running centre (CTI on a free port) with its simulation; closed at the end."""
    (tmp_path / "users.toml").write_text(users_file())
    path = tmp_path / "centre.toml"
    path.write_text(board_config(3, 1) + CONFIG.format(data=tmp_path / "data"))
    board_text, settings = load_text(path.read_text(), file=str(path))
    c = Centre(board_text, settings)
    sim = Simulation(c, hours=0)
    yield c, sim
    sim.close()


class Web:
    """An HTTP client with its own cookie jar that does not follow redirects."""

    class _NoRedirect(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kw):
            return None

    def __init__(self, port):
        self.base = f"http://127.0.0.1:{port}"
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), self._NoRedirect)

    def get(self, path):
        """Return (status, headers) of a GET."""
        try:
            with self.opener.open(self.base + path, timeout=10) as r:
                return r.status, r.headers
        except urllib.error.HTTPError as e:
            return e.code, e.headers


def login(b, base, name, tick):
    """Log in through the form in the browser; return the page's path once it has loaded its codes."""
    b.log_in(base, name, PASSWORDS[name][1], tick)
    b.wait("document.body && document.body.getAttribute('data-ready') === 'yes'", tick)
    return b.evaluate("location.pathname")


def text(b, key):
    """Return the text of the element with data-k = key ('' when there is none)."""
    return b.evaluate(f"(function(){{var e=document.querySelector('[data-k=\"{key}\"]');return e?e.textContent:''}})()")


def click(b, selector):
    b.evaluate(f"document.querySelector({json.dumps(selector)}).click();true")


def test_a_pri_caller_reaches_the_browser_agent_and_the_wrapup_lands_in_the_cdr(centre, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    c, sim = centre
    port = c.cti.port
    base = f"http://127.0.0.1:{port}"

    def tick():
        sim.tick()

    # nothing without a login: pages send to the login form, data routes answer 401
    anon = Web(port)
    assert anon.get("/agent")[0] == 303 and anon.get("/console")[0] == 303 and anon.get("/wallboard")[0] == 303
    assert anon.get("/api/snapshot")[0] == 401 and anon.get("/recording/anything")[0] == 401

    agent = Browser(str(tmp_path / "agent-profile"))
    boss = Browser(str(tmp_path / "boss-profile"))
    other = None
    try:
        assert login(agent, base, "agent1", tick) == "/agent"
        assert text(agent, "state") == "paused"
        agent.wait("document.body.getAttribute('data-phone') === 'no'", tick)  # no [webrtc]: no browser phone
        assert agent.evaluate("document.getElementById('phonebox').hidden") is True
        click(agent, "#ready")
        agent.wait("document.querySelector('[data-k=state]').textContent === 'ready'", tick)

        sim.pstn.add(Caller(CALLER, "5000", arrival=sim.centre.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                            talk=600.0, patience=600.0))
        # the screen pop: caller's number, the IVR choice, the queue; the customer lookup follows
        agent.wait(f"document.querySelector('[data-k=\"pop.caller\"]').textContent === '{CALLER}'", tick, 90)
        assert text(agent, "pop.queue") == "sales" and text(agent, "pop.data.menu") == "1"
        assert text(agent, "state") == "ringing" and text(agent, "cust.number") == ""  # an input: value, not text
        assert agent.evaluate("document.getElementById('cnum').value") == CALLER
        agent.screenshot(str(tmp_path / "desktop-screen-pop.png"))
        click(agent, "#answer")  # lifts the (emulated) phone bound to the agent
        agent.wait("document.querySelector('[data-k=state]').textContent === 'talking'", tick)
        call_id = text(agent, "pop.call")
        assert call_id.startswith("C")

        # the supervisor's console shows agent1 busy with the caller
        assert login(boss, base, "boss", tick) == "/console"
        boss.wait("document.querySelector('[data-k=\"a.agent1.state\"]') && "
                  "document.querySelector('[data-k=\"a.agent1.state\"]').textContent === 'talking'", tick)
        assert text(boss, "a.agent1.caller") == CALLER and text(boss, "a.agent1.queue") == "sales"
        boss.screenshot(str(tmp_path / "console-agent-busy.png"))
        # listen from the console: the supervisor's phone (channel 34) rings and joins the call when lifted
        click(boss, 'tr[data-agent=agent1] button[data-act=listen]')
        boss.wait("document.getElementById('log').textContent.indexOf('listen agent1: your phone channel/34 rings') >= 0",
                  tick)
        c.board.emulator.far_ends["agent3"].off_hook()
        boss.wait("document.getElementById('log').textContent.indexOf('listen on agent1') >= 0", tick)
        assert "listen" not in agent.evaluate("document.getElementById('log').textContent")  # agents are never told
        c.board.emulator.far_ends["agent3"].on_hook()

        # another agent cannot act on agent1's call (their session, their own calls only)
        other = CtiClient("127.0.0.1", port)
        frames = []

        def ask(msg):
            other.send(msg)
            for _ in range(3000):
                tick()
                frames.extend(other.receive())
                got = [f for f in frames if f.get("id") == msg["id"]]
                if got:
                    return got[0]
            raise AssertionError(f"no answer to {msg}")

        assert ask({"cmd": "auth", "user": "agent2", "password": "agent2-password", "id": 1})["type"] == "reply"
        refused = ask({"cmd": "wrapup", "code": "sale", "call": call_id, "id": 2})
        assert (refused["type"], refused["code"]) == ("error", "forbidden")
        assert ask({"cmd": "hangup", "id": 3})["code"] == "bad_state"
        assert ask({"cmd": "console_nope", "id": 4})["code"] == "unknown_command"
        assert ask({"cmd": "recordings", "id": 5})["code"] == "forbidden"  # a supervisor's command
        assert c.acd.agents["agent1"].activity == "talking"

        # the agent hangs up from the page, then saves the disposition and notes
        click(agent, "#hangup")
        agent.wait("document.getElementById('callstate').textContent === 'ended'", tick)
        agent.evaluate("document.getElementById('code').value='complaint';"
                       "document.getElementById('notes').value='Parcel late; promised a refund.';true")
        click(agent, "#save")
        agent.wait("document.querySelector('[data-k=\"wrap.status\"]').getAttribute('data-saved') === 'yes'", tick, 60)
        # the console follows without a reload
        boss.wait("document.querySelector('[data-k=\"a.agent1.state\"]').textContent !== 'talking'", tick)
        c.writer.flush()
        row = [r for r in c.store.cdrs() if r["call_id"] == call_id][0]
        assert (row["caller"], row["wrapup_code"], row["wrapup_notes"], row["wrapup_agent"]) == (
            CALLER, "complaint", "Parcel late; promised a refund.", "agent1")

        # the customer record: edited in the page, stored, and its history shows the call with its code
        agent.evaluate("document.getElementById('cname').value='Ada Lovelace';"
                       "document.getElementById('cnotes').value='Prefers mornings.';"
                       "document.getElementById('cfield').value='account';document.getElementById('cvalue').value='4711';"
                       "true")
        click(agent, "#cadd")
        click(agent, "#csave")
        agent.wait("document.getElementById('cstatus').textContent === 'saved'", tick)
        click(agent, "#lookup")
        row = f"document.querySelector('#history tr[data-call=\"{call_id}\"]')"
        agent.wait(f"{row} !== null && {row}.textContent.indexOf('complaint') >= 0", tick)
        rec = c.store.select("customers", "number = ?", (CALLER,))[0]
        assert (rec["name"], rec["notes"], rec["data"], rec["updated_by"]) == (
            "Ada Lovelace", "Prefers mornings.", {"account": "4711"}, "agent1")
        agent.screenshot(str(tmp_path / "desktop-wrapup.png"))

        # the supervisor finds the recording by caller and disposition, plays it, and scores it
        boss.evaluate(f"document.getElementById('fcaller').value='{CALLER[:6]}';"
                      "document.getElementById('fcode').value='complaint';true")
        click(boss, "#search")
        boss.wait("document.body.getAttribute('data-found') === '1'", tick)
        click(boss, "#recs button[data-act=play]")
        boss.wait("document.getElementById('player').getAttribute('src') !== null", tick)
        src = boss.evaluate("document.getElementById('player').getAttribute('src')")
        head = boss.evaluate(f"fetch({json.dumps(src)}).then(r => r.arrayBuffer().then(b => "
                             "[r.status, String.fromCharCode.apply(null, new Uint8Array(b.slice(0, 4))), b.byteLength]))",
                             tick)
        # a WAV with audio in it: how long the call lasted depends on how fast the browser answered (7-15 kB
        # seen), so the bound is the header and a tenth of a second of the smallest format (8-bit, 8 kHz)
        assert head[0] == 200 and head[1] == "RIFF" and head[2] > 44 + 800
        assert anon.get(src)[0] == 401  # the link is worth nothing without the supervisor's session
        click(boss, "#recs button[data-act=check]")
        boss.evaluate("document.querySelector(\"select[data-criterion='greeting']\").value='5';"
                      "document.querySelector(\"select[data-criterion='identification']\").value='3';true")
        click(boss, "#qsave")
        boss.wait("document.querySelector('[data-k=\"qa.total\"]').textContent.indexOf('total') === 0", tick)
        expected = round(100 * (1 * 5 / 5 + 3 * 3 / 5) / 4, 1)
        assert text(boss, "qa.total") == f"total {expected:g}"
        click(boss, "#report")
        boss.wait("document.querySelector('#qreport tr[data-agent=agent1]') !== null", tick)
        checks = c.store.select("quality")
        assert [(q["agent"], q["supervisor"], q["total"], q["fatal"]) for q in checks] == [("agent1", "boss", expected, 0)]
        shot = boss.screenshot(str(tmp_path / "console-quality.png"))
        png = open(shot, "rb").read(24)
        assert png[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", png[16:24])[0] >= 1200

        # roles: an agent's session does not open the console
        status = agent.evaluate("fetch('/console', {redirect: 'manual'}).then(r => r.status)", tick)
        assert status == 403
        # the supervisor takes agent2 out of sales and gives agent1 a skill from the console
        boss.evaluate("document.getElementById('magent').value='agent2';document.getElementById('mqueue').value='sales';true")
        click(boss, "#mremove")
        boss.wait("document.getElementById('log').textContent.indexOf('agent2 out of sales') >= 0", tick)
        assert "agent2" not in c.acd.queues["sales"].members
        boss.evaluate("document.getElementById('magent').value='agent1';document.getElementById('mskills').value='fr=3';true")
        click(boss, "#mskillset")
        boss.wait("document.getElementById('log').textContent.indexOf('agent1 skills set') >= 0", tick)
        assert c.acd.agents["agent1"].skills == {"fr": 3}
        # the supervisor logs agent1 out from the console; the desktop shows it
        click(boss, 'tr[data-agent=agent1] button[data-act=logout]')
        agent.wait("document.querySelector('[data-k=state]').textContent === 'logged_out'", tick)
    finally:
        if other is not None:
            other.close()
        agent.close()
        boss.close()


def test_consult_then_complete_the_transfer_from_the_desktop(centre, tmp_path):
    if chromium() is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    c, sim = centre
    base = f"http://127.0.0.1:{c.cti.port}"

    def tick():
        sim.tick()

    c.cti.hub.backend.login("agent2", ready=False)  # in, but not taking queue calls: only the consultation reaches them
    agent = Browser(str(tmp_path / "agent-profile"))
    try:
        login(agent, base, "agent1", tick)
        click(agent, "#ready")
        agent.wait("document.querySelector('[data-k=state]').textContent === 'ready'", tick)
        sim.pstn.add(Caller(CALLER, "5000", arrival=c.engine.now / 8000 + 0.5, digits="1", digit_delay=3.0,
                            talk=600.0, patience=600.0))
        agent.wait(f"document.querySelector('[data-k=\"pop.caller\"]').textContent === '{CALLER}'", tick, 90)
        click(agent, "#answer")
        agent.wait("document.querySelector('[data-k=state]').textContent === 'talking'", tick)
        call = c.acd.agents["agent1"].call
        agent.evaluate("document.getElementById('xfer').value='agent2';true")
        click(agent, "#consult")  # the caller waits on hold while agent2's phone rings
        phone2 = c.board.emulator.far_ends["agent2"]
        for _ in range(500):
            tick()
            if phone2.ringing:
                break
        assert phone2.ringing and c.acd.calls[call].hold_since is not None
        phone2.off_hook()
        for _ in range(100):
            tick()
        click(agent, "#complete")
        agent.wait("document.getElementById('status').textContent === 'transfer: ok'", tick)
        for _ in range(100):
            tick()
        assert c.acd.agents["agent2"].call == call and c.acd.agents["agent2"].activity == "talking"
        assert c.acd.agents["agent1"].call != call
        agent.screenshot(str(tmp_path / "desktop-transferred.png"))
    finally:
        agent.close()
