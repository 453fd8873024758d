"""The wallboard: HTTP endpoints, and the page rendered by a real headless Chromium against a running
emulated centre, every number in the DOM checked against /api/snapshot; a screenshot is saved."""
import json
import re
import shutil
import struct
import subprocess
import urllib.error
import urllib.request
from html.parser import HTMLParser

import pytest

from cti_rig import Centre
from pycallcenter.sim.pstn import Caller


def chromium():
    return shutil.which("chromium") or shutil.which("chromium-browser")


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


def get(centre, path):
    with urllib.request.urlopen(f"http://127.0.0.1:{centre.server.port}{path}", timeout=10) as r:
        return r.status, r.headers["Content-Type"], r.read()


def test_http_endpoints(busy_centre):
    status, ctype, body = get(busy_centre, "/")
    assert status == 200 and ctype.startswith("text/html") and b"<svg id=\"pie\"" in body
    assert b"http://" not in body.replace(b"http://www.w3.org/2000/svg", b"")  # nothing fetched from outside
    status, ctype, body = get(busy_centre, "/api/snapshot")
    snap = json.loads(body)
    assert ctype == "application/json" and snap == busy_centre.hub.backend.snapshot() | {"time": snap["time"]}
    sales = snap["queues"][0]
    assert (sales["queue"], sales["waiting"], sales["answered"], sales["abandoned"]) == ("sales", 3, 1, 1)
    with pytest.raises(urllib.error.HTTPError) as e:
        get(busy_centre, "/nope")
    assert e.value.code == 404


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
    s = round(s)
    return f"{s // 60}:{s % 60:02d}"


def test_page_in_headless_chromium_shows_the_api_numbers(busy_centre, tmp_path):
    exe = chromium()
    if exe is None:
        pytest.skip("chromium is not installed (Debian: apt-get install -y chromium); the browser check did not run")
    url = f"http://127.0.0.1:{busy_centre.server.port}/"
    flags = [exe, "--headless", "--disable-gpu", "--no-sandbox", "--virtual-time-budget=3000",
             f"--user-data-dir={tmp_path / 'profile'}"]
    dom = subprocess.run(flags + ["--dump-dom", url], capture_output=True, text=True, timeout=120).stdout
    assert 'data-rendered="1"' in dom, dom[:2000]
    k = _Keys()
    k.feed(dom)
    v = k.values
    snap = json.loads(get(busy_centre, "/api/snapshot")[2])
    for q in snap["queues"]:
        p = f"q.{q['queue']}."
        assert v[p + "waiting"] == str(q["waiting"]) and v[f"bar.{q['queue']}"] == str(q["waiting"])
        for f in ("answered", "abandoned"):
            assert v[f"today.{q['queue']}.{f}"] == str(q[f])
        assert v[p + "longest_wait"] == mmss(q["longest_wait"])
        sl = "-" if q["service_level"] is None else f"{q['service_level'] * 100:.1f}%"
        assert v[p + "service_level"] == sl
        for f in ("offered", "answered", "abandoned"):
            assert v[p + f] == str(q[f])
        assert {s: int(v[p + "agents." + s]) for s in q["agents"]} == q["agents"]
    states = {}
    for a in snap["agents"]:
        p = f"a.{a['name']}."
        assert (v[p + "state"], v[p + "reason"], v[p + "calls"]) == (a["state"], a["reason"], str(a["calls"]))
        states[a["state"]] = states.get(a["state"], 0) + 1
    assert {key[4:]: int(val) for key, val in v.items() if key.startswith("pie.")} == states
    # what the test set up, as the page shows it
    assert (v["q.sales.waiting"], v["a.agent1.state"], v["a.agent2.state"], v["a.agent2.reason"]) == \
        ("3", "talking", "paused", "break")
    shot = tmp_path / "wallboard.png"
    subprocess.run(flags + ["--window-size=1280,900", f"--screenshot={shot}", url], capture_output=True, timeout=120)
    head = shot.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n" and struct.unpack(">II", head[16:24]) == (1280, 900)
    print(f"wallboard screenshot: {shot}")
    assert re.search(r"board time \d+:\d\d", dom)
