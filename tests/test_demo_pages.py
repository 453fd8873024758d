"""The example centre's pages, as a person reaches them: `pycallcenter run centre.toml --simulate` prints
an HTTPS address, the demo accounts of the example log in through the login form, the agent left to
people takes a live call from the emulated PSTN at the desktop, the supervisor opens the console and the
wallboard, and the process stops cleanly on SIGINT."""
import asyncio
import contextlib
import importlib.util
import json
import queue
import re
import signal
import ssl
import subprocess
import sys
import threading
import time

import aiohttp
import pytest

from pycallcenter import bundled

CLI = [sys.executable, "-m", "pycallcenter"]
EXAMPLE = bundled.examples_dir() / "centre.toml"


def demo_password(name):
    """Return the example's demo password of name, as the example configuration's comment writes it."""
    text = EXAMPLE.read_text()
    if name == "sue":
        assert "supervisor sue: password sue-demo" in text
        return "sue-demo"
    assert re.search(rf"agents .*\b{name}\b.*: password NAME-demo", text)
    return f"{name}-demo"


class Lines:
    """The process's output lines, read by a thread so a test can wait for one with a deadline."""

    def __init__(self, proc):
        self.seen, self._q = [], queue.Queue()
        threading.Thread(target=self._read, args=(proc.stdout,), daemon=True).start()

    def _read(self, stream):
        for line in stream:
            self._q.put(line.rstrip("\n"))
        self._q.put(None)

    def wait_for(self, pattern, timeout):
        """Return the match of the first line (from now on) matching pattern; fail after timeout seconds."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                line = self._q.get(timeout=max(0.01, end - time.monotonic()))
            except queue.Empty:
                break
            if line is None:
                break
            self.seen.append(line)
            m = re.search(pattern, line)
            if m:
                return m
        pytest.fail(f"no line matching {pattern!r} in {timeout} s; the output was:\n" + "\n".join(self.seen))


@contextlib.contextmanager
def serving(args, cwd):
    """Run `pycallcenter ARGS` in cwd until it prints its pages; yield (https base URL, output lines); then stop
    it with SIGINT and check that it stopped cleanly."""
    proc = subprocess.Popen(CLI + args, cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines = Lines(proc)
    try:
        base = lines.wait_for(r"CTI and wallboard on (https://127\.0\.0\.1:\d+)/", 120).group(1)
        lines.wait_for(r"agent accounts \(centre-users\.toml\): alice, bob", 10)
        lines.wait_for(r"supervisor accounts \(centre-users\.toml\): sue", 10)
        lines.wait_for(r"left to people at the desktop .*: frank", 10)
        lines.wait_for(r"^running: ", 10)
        yield base, lines
        proc.send_signal(signal.SIGINT)
        lines.wait_for(r"^stopped after [\d.]+ s board time; \d+ CDR\(s\) written", 60)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def trusting(cert):
    """Return a client SSL context that trusts exactly the centre's self-signed certificate."""
    return ssl.create_default_context(cafile=str(cert))


async def log_in(session, base, name, password):
    """Post the login form (with its CSRF token) as a browser does; return the page it lands on and its URL."""
    async with session.get(base + "/") as r:
        form = await r.text()
    assert r.status == 200 and 'action="/login"' in form
    csrf = re.search(r'name="csrf" value="([^"]+)"', form).group(1)
    async with session.post(base + "/login", data={"name": name, "password": password, "csrf": csrf},
                            headers={"Origin": base}) as r:
        return r.status, str(r.url), await r.text()


async def next_event(ws, name, timeout):
    """Return the first event called name on the WebSocket within timeout seconds."""
    end = time.monotonic() + timeout
    while True:
        msg = await asyncio.wait_for(ws.receive_json(), max(0.01, end - time.monotonic()))
        if msg.get("type") == "event" and msg.get("event") == name:
            return msg


async def ask(ws, msg):
    """Send a command and return its reply or error (events in between are skipped)."""
    await ws.send_json(msg)
    while True:
        got = await asyncio.wait_for(ws.receive_json(), 10)
        if got.get("type") in ("reply", "error") and got.get("id") == msg["id"]:
            return got


async def agent_takes_a_call(base, ctx):
    jar = aiohttp.CookieJar(unsafe=True)  # cookies of an address, not a host name
    async with aiohttp.ClientSession(cookie_jar=jar, connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        async with s.get(base + "/agent", allow_redirects=False) as r:
            assert r.status == 303  # nothing without logging in
        status, url, page = await log_in(s, base, "frank", "wrong-password")
        assert status == 401 and "Wrong name or password" in page
        await asyncio.sleep(1.0)  # a failed login makes the address wait half a second before the next
        status, url, page = await log_in(s, base, "frank", demo_password("frank"))
        assert status == 200 and url == base + "/agent", (status, url)
        assert "frank" in page
        async with s.ws_connect(base.replace("https", "wss") + "/ws", headers={"Origin": base}) as ws:
            assert (await ask(ws, {"cmd": "ready", "id": 1}))["type"] == "reply"
            offer = await next_event(ws, "call_offered", 120)  # a sales caller through the menu and the queue
            assert offer.get("queue") == "sales", offer
            reply = await ask(ws, {"cmd": "answer", "id": 2})
            assert reply["type"] == "reply", reply
            while True:  # the emulated phone is off hook and the caller is connected to frank
                state = await next_event(ws, "agent_state", 20)
                if state.get("agent") == "frank" and state.get("state") == "talking":
                    break
            assert (await ask(ws, {"cmd": "hangup", "id": 3}))["type"] == "reply"


async def supervisor_pages(base, ctx, browser_phone=False):
    jar = aiohttp.CookieJar(unsafe=True)
    async with aiohttp.ClientSession(cookie_jar=jar, connector=aiohttp.TCPConnector(ssl=ctx)) as s:
        status, url, page = await log_in(s, base, "sue", demo_password("sue"))
        assert status == 200 and url == base + "/console", (status, url)
        async with s.get(base + "/wallboard") as r:
            assert r.status == 200 and "<html" in (await r.text()).lower()
        async with s.get(base + "/agent", allow_redirects=False) as r:
            assert r.status == 403  # the desktop is the agents' page
        async with s.get(base + "/phone.js") as r:
            assert r.status == (200 if browser_phone else 404)  # the pages carry the phone only with [webrtc] on
        async with s.ws_connect(base.replace("https", "wss") + "/ws", headers={"Origin": base}) as ws:
            reply = await ask(ws, {"cmd": "agent_snapshot", "id": 1})
            agents = {a["name"] for a in reply["agents"]}
            assert {"alice", "bob", "frank"} <= agents, json.dumps(reply)[:400]


def test_the_example_centre_serves_its_pages_over_https(tmp_path):
    data = tmp_path / "data"  # run from another folder: the users file is found beside the configuration
    args = ["run", str(EXAMPLE), "--simulate", "--data", str(data), "--cti-port", "0", "--calls-per-hour", "1500"]
    with serving(args, tmp_path) as (base, lines):
        cert = data / "cti-cert.pem"
        assert cert.exists()  # made at start: cti_tls = "self-signed"
        ctx = trusting(cert)
        asyncio.run(agent_takes_a_call(base, ctx))
        asyncio.run(supervisor_pages(base, ctx))


def test_the_demo_serves_the_same_pages_after_its_report(tmp_path):
    data = tmp_path / "demo"
    args = ["demo", "--hours", "0.005", "--agents", "4", "--quiet", "--data", str(data), "--serve", "--cti-port", "0"]
    with serving(args, tmp_path) as (base, lines):
        assert any("busy hour report" in line for line in lines.seen)
        phone = importlib.util.find_spec("aiortc") is not None  # the webrtc extra: frank gets the browser phone
        assert any(re.search(r"browser phones .*: frank$", line) for line in lines.seen) == phone
        asyncio.run(supervisor_pages(base, trusting(data / "live" / "cti-cert.pem"), browser_phone=phone))


def test_people_must_be_agents_and_not_simulated_too(tmp_path, capsys):
    from pycallcenter.cli import main

    text = EXAMPLE.read_text()
    assert 'people = ["frank"]' in text
    config = tmp_path / "centre.toml"
    config.write_text(text.replace('people = ["frank"]', 'people = ["fred"]'))
    (tmp_path / "centre-users.toml").write_text((EXAMPLE.parent / "centre-users.toml").read_text())
    assert main(["config", "check", str(config)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "simulate.people: no agent named 'fred'" in err, err
    config.write_text(text.replace('people = ["frank"]', 'people = ["frank"]\nagents = ["alice", "frank"]'))
    assert main(["config", "check", str(config)]) == 1
    assert "'frank' is also in simulate.agents" in capsys.readouterr().err
    config.write_text(text)
    assert main(["run", str(config), "--browser-phone", "fred", "--check"]) == 1
    assert "--browser-phone: no agent named 'fred'" in capsys.readouterr().err
    plain = tmp_path / "plain.toml"
    plain.write_text(text.replace("cti_port = 8443", "").replace('cti_users = "centre-users.toml"', ""))
    assert main(["run", str(plain), "--cti-port", "0", "--check"]) == 1
    assert "--cti-port: the centre serves no pages" in capsys.readouterr().err
