"""`pycallcenter wallboard` (the live emulated centre) and CTI users files."""
import subprocess
import sys

import pytest

from pycallcenter.cti.config import load_users
from pycallcenter.errors import ConfigError


def test_live_command_serves_and_reports(tmp_path):
    users = tmp_path / "users.toml"
    users.write_text('[[agent]]\nname = "agent1"\ntoken = "agent1-secret"\n'
                     '[[supervisor]]\nname = "sue"\ntoken = "sue-secret"\ncontact = "channel/40"\n')
    r = subprocess.run([sys.executable, "-m", "pycallcenter", "wallboard", "--port", "0", "--seconds", "30",
                        "--speed", "0", "--agents", "2", "--calls-per-hour", "600", "--users", str(users)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    first, last = r.stdout.splitlines()[0], r.stdout.splitlines()[-1]
    assert first.startswith("wallboard: http://127.0.0.1:") and "/ws" in first
    assert "password for" not in r.stdout  # accounts come from the file, nothing printed
    offered = int(last.split("offered ")[1].split(",")[0])
    answered = int(last.split("answered ")[1])
    assert last.startswith("stopped after 30 s") and offered >= 1 and 1 <= answered <= offered


def test_live_centre_agents_take_calls_and_the_snapshot_shows_it(tmp_path):
    from pycallcenter.cti import serve
    from pycallcenter.wallboard import live

    centre, sim = live.build(agents=2, calls_per_hour=900, seed=2, hours=0.02, data=str(tmp_path))
    server = serve(centre.binding, {"t-supervisor-token": {"role": "supervisor", "name": "s"}})
    try:
        for _ in range(50 * 40):
            sim.tick()
        snap = server.hub.publish()
        total = {k: sum(q[k] for q in snap["queues"]) for k in ("offered", "answered")}
        assert total["offered"] >= 3 and total["answered"] >= 1
        assert sum(a["calls"] for a in snap["agents"]) == total["answered"]
    finally:
        server.stop()
        sim.close()


@pytest.mark.parametrize("text, problem", [
    ('[[agent]]\nname = "a"\ntoken = "short"\n', "8 characters"),
    ('[[agent]]\nname = "a"\ntoken = "samesame1"\n[[agent]]\nname = "b"\ntoken = "samesame1"\n', "twice"),
    ('[[admin]]\nname = "a"\ntoken = "whatever1"\n', "unknown table"),
    ('[[agent]]\nname = "a"\ntoken = "whatever1"\npin = 1\n', "unknown key"),
    ('[[agent]\n', ""),
    ('[[user]]\nname = "a"\nrole = "boss"\npassword_hash = "x"\n', "role must be"),
    ('[[user]]\nname = "a"\nrole = "agent"\npassword_hash = "plain-text-password"\n', "password_hash"),
    ('[[user]]\nname = "a"\nrole = "agent"\npassword_hash = "scrypt$3$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=="\n',
     "power of two"),
    ('[[user]]\nname = "a"\nrole = "agent"\ntoken = "whatever1"\n', "unknown key"),
    ('[[supervisor]]\nname = "s"\ntoken = "whatever1"\ncontact = "anywhere"\n', "contact must be"),
    ('[[user]]\nname = "s"\nrole = "supervisor"\npassword_hash = "scrypt$1024$8$1$AAAAAAAAAAA=$AAAAAAAAAAAAAAAAAAAAAA=="\n'
     'contact = 40\n', "contact must be"),
])
def test_bad_users_files_are_config_errors(tmp_path, text, problem):
    f = tmp_path / "u.toml"
    f.write_text(text)
    with pytest.raises(ConfigError) as e:
        load_users(f)
    assert problem in str(e.value)


def test_older_users_file_gives_api_tokens_and_contacts(tmp_path):
    f = tmp_path / "u.toml"
    f.write_text('[[agent]]\nname = "a"\ntoken = "token-of-a"\n[[supervisor]]\nname = "s"\ntoken = "token-of-s"\n'
                 'contact = "channel/9"\n')
    accounts = load_users(f)
    assert accounts.by_token("token-of-a") == ("agent", "a") and accounts.by_token("token-of-s") == ("supervisor", "s")
    assert accounts.by_token("token-of-") is None and accounts.by_token("\ud800") is None
    assert accounts.contacts() == {"s": "channel/9"}


def test_passwd_command_writes_a_hash_the_server_accepts(tmp_path):
    users = tmp_path / "users.toml"
    for name, role, pw in (("alice", "agent", "alice-password"), ("sue", "supervisor", "sue-password")):
        r = subprocess.run([sys.executable, "-m", "pycallcenter", "cti", "passwd", name, "--role", role,
                            "--users", str(users), "--password-stdin"], input=pw + "\n", capture_output=True,
                           text=True, timeout=60)
        assert r.returncode == 0, r.stderr
    assert oct(users.stat().st_mode & 0o777) == "0o600" and "alice-password" not in users.read_text()
    accounts = load_users(users)
    assert accounts.by_password("alice", "alice-password") == ("agent", "alice")
    assert accounts.by_password("sue", "sue-password") == ("supervisor", "sue")
    assert accounts.by_password("alice", "sue-password") is None and accounts.by_password("bob", "x") is None
    r = subprocess.run([sys.executable, "-m", "pycallcenter", "cti", "passwd", "alice", "--password-stdin"],
                       input="short\n", capture_output=True, text=True, timeout=60)
    assert r.returncode != 0 and "at least 8 characters" in r.stderr and "Traceback" not in r.stderr
