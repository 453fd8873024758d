"""docs/cti.md as printed: its users file (scrypt hashes) and its stdlib agent client, run as a subprocess against
`pycallcenter run` of a centre whose [centre] table turns the CTI server on (cti_port, cti_users)."""
import json
import pathlib
import re
import selectors
import subprocess
import sys
import time

from pycallcenter.apps.demo import board_config

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "cti.md"


def fenced(after, lang):
    """Return the first fenced block of a language after a heading or phrase of docs/cti.md."""
    return re.search(re.escape(after) + r".*?```" + lang + r"\n(.*?)```", DOC.read_text(), re.S).group(1)


def read_until(proc, pattern, seconds, seen):
    """Read proc's stdout lines (into seen) until one matches pattern; return the match."""
    sel = selectors.DefaultSelector()
    sel.register(proc.stdout, selectors.EVENT_READ)
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if sel.select(timeout=max(0.0, end - time.monotonic())):
            line = proc.stdout.readline()
            if not line:
                break
            seen.append(line.rstrip("\n"))
            m = re.search(pattern, line)
            if m:
                return m
    raise AssertionError(f"no line matching {pattern!r} in {seconds} s; got:\n" + "\n".join(seen))


def test_the_documented_agent_client_gets_a_screen_pop_from_a_running_centre(tmp_path):
    users = fenced("### Accounts", "toml")
    (tmp_path / "users.toml").write_text(users)
    assert re.search(r'name = "agent1".*\nrole = "agent"\npassword_hash = "scrypt\$', users)
    password = re.search(r"The example hashes are of `([^`]+)`", DOC.read_text()).group(1)
    (tmp_path / "agent.py").write_text(fenced("## A minimal agent client", "python"))
    centre = fenced("## Turning it on", "toml")
    assert "cti_port = 8080" in centre
    centre = centre.replace("cti_port = 8080", "cti_port = 0")  # as printed, on a port nobody else has
    (tmp_path / "centre.toml").write_text(board_config(2, seed=1) + centre + """start = "2026-01-05T10:00:00"

[[queue]]
name = "sales"

[[agent]]
name = "agent1"
contact = "channel/32"
queues = { sales = 0 }
ready = false    # the documented client makes the agent ready

[simulate]
calls_per_hour = 3600
digits = { "1" = 1 }
wrong_input_share = 0.0
patience_mean = 600
""")
    run = subprocess.Popen([sys.executable, "-m", "pycallcenter", "run", "centre.toml", "--simulate",
                            "--seconds", "90"], cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           text=True)
    client = None
    centre_out, client_out = [], []
    try:
        port = read_until(run, r"CTI and wallboard on http://127\.0\.0\.1:(\d+)/", 120, centre_out).group(1)
        client = subprocess.Popen([sys.executable, "agent.py", "127.0.0.1", port, "agent1", password], cwd=tmp_path,
                                  stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        pop = read_until(client, r"^SCREEN POP: (\d+) (.*)$", 80, client_out)
    finally:
        for proc in (client, run):
            if proc is not None and proc.poll() is None:
                proc.terminate()
        if client is not None:
            client.wait(10)
        _, run_err = run.communicate(timeout=30)
    frames = [json.loads(line) for line in client_out if line.startswith("{")]
    assert frames[0]["type"] == "reply" and frames[0]["role"] == "agent" and frames[0]["name"] == "agent1"
    assert any(f.get("id") == 2 and f["type"] == "reply" for f in frames)  # ready
    assert any(f.get("event") == "agent_state" and f.get("state") == "ready" for f in frames)
    assert pop.group(1).startswith("20255")  # the simulated caller's number
    assert "'menu': '1'" in pop.group(2) and "'queue': 'sales'" in pop.group(2)
    assert run.returncode == 0, run_err  # stopped cleanly by SIGTERM
