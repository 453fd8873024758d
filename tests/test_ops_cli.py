"""Operations commands: run (in-process and as a process stopped by SIGTERM, with its metrics endpoint),
status (from the status file and from the database), report (text, HTML with SVG charts, PNG)."""
import argparse
import importlib
import importlib.util
import json
import os
import re
import signal
import subprocess
import sys
import threading
import urllib.request

import pytest

from pycallcenter.apps.centre import Centre
from pycallcenter.apps.settings import load_text, split
from pycallcenter.errors import ConfigError

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from engine_rig import ANALOG  # noqa: E402

def main(argv):
    """Run one of these commands through its own parser; return its exit status. (Not cli.main, which
    imports every command module: another command's half-finished edit must not fail these tests; the
    subprocess test below goes through the real entry point.)"""
    parser = argparse.ArgumentParser(prog="pycallcenter")
    importlib.import_module(f"pycallcenter.commands.{argv[0]}").register(parser.add_subparsers())
    args = parser.parse_args(argv)
    return args.func(args)


SCRIPT = """
async def main(call):
    await call.answer()
    call.set("menu", "sales")
    await call.wait(0.5)
    await call.hangup()
"""


def _centre_files(tmp_path, extra=""):
    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "main.py").write_text(SCRIPT)
    cfg = tmp_path / "centre.toml"
    cfg.write_text(ANALOG.format(seed=1) + f'\n[centre]\ndata = "data"\nscripts = "scripts"\ndefault_script = "main"\nappliance = "box1"\n{extra}')
    return cfg


def test_split_cuts_the_centre_tables_and_keeps_line_numbers():
    text = '[board]\nlaw = "ulaw"\n[centre]\ndata = "d"\n[[span]]\nspan = 1\n[[queue]]\nname = "q"\n'
    board, centre = split(text)
    assert board.splitlines() == ['[board]', 'law = "ulaw"', "", "", "[[span]]", "span = 1", "", ""]
    assert centre.splitlines() == ["", "", "[centre]", 'data = "d"', "", "", "[[queue]]", 'name = "q"']
    _, settings = load_text(text)
    assert settings.centre.data == "d" and settings.queue[0].name == "q"
    with pytest.raises(ConfigError, match=r"^f.toml:4: centre.colour: unknown key"):
        load_text("[board]\n\n[centre]\ncolour = 1\n", file="f.toml")


def test_centre_runs_a_call_through_script_cdr_and_status(tmp_path, capsys):
    c = Centre.from_file(_centre_files(tmp_path))
    c.board.emulator.far_ends["alice"].off_hook()
    c.loop(seconds=2, fast=True)
    assert c.writer.written == 1
    row = c.store.cdrs()[0]
    assert row["vars"] == {"menu": "sales", "route": "script:main"} and row["disposition"] == "ANSWERED" and row["appliance"] == "box1"
    c.close()
    status = json.loads((tmp_path / "data" / "status.json").read_text())
    assert status["state"] == "stopped" and status["cdrs_written"] == 1 and len(status["spans"]) == 2
    assert main(["status", "--data", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    assert "appliance box1: stopped" in out and "1 CDR(s) written" in out and re.search(r"\n\s+1 FXS\s+OK\s+0/2", out)
    assert main(["status", "--db", str(tmp_path / "data"), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["appliance"] == "box1"


QUEUE_SCRIPT = """
from pycallcenter.acd.engine_binding import queue_call

async def main(call):
    await call.answer()
    await queue_call(call, "sales")
    await call.hangup()
"""

ACD_TOML = """
[[queue]]
name = "sales"
ring_timeout = 20
[[agent]]
name = "bea"
contact = "channel/2"
queues = { sales = 0 }
login = true
"""


def test_centre_with_acd_writes_queue_log_with_the_cdr_and_reports_it(tmp_path, capsys):
    cfg = _centre_files(tmp_path, 'acd = "acd.toml"\n')
    (tmp_path / "scripts" / "main.py").write_text(QUEUE_SCRIPT)
    (tmp_path / "acd.toml").write_text(ACD_TOML)
    c = Centre.from_file(cfg)
    far = c.board.emulator.far_ends
    far["alice"].off_hook()
    for _ in range(10):  # the agent's phone rings: bea answers; the caller hangs up after a while
        c.loop(seconds=0.5, fast=True)
        if far["bob"].ringing:
            far["bob"].off_hook()
    snap = c.publish()
    assert snap["queues"][0]["queue"] == "sales" and snap["agents"][0]["agent"] == "bea"
    assert snap["queues"][0]["offered"] == 1 and snap["queues"][0]["answered"] == 1
    far["alice"].on_hook()
    c.loop(seconds=2, fast=True)
    far["bob"].on_hook()
    c.loop(seconds=2, fast=True)
    cdr = [r for r in c.store.cdrs() if r["queue"] == "sales"][0]
    assert cdr["agent"] == "bea" and cdr["disposition"] == "ANSWERED"
    events = [r["event"] for r in c.store.queue_log() if r["call_id"] == cdr["call_id"]]
    assert events[:3] == ["ENTER", "OFFER", "CONNECT"] and "COMPLETE" in events
    c.close()
    assert main(["report", "--db", str(tmp_path / "data"), "--interval", "1h"]) == 0
    out = capsys.readouterr().out
    assert "from the queue log" in out and re.search(r"\n\d{4}-\d\d-\d\d \d\d:00\s+1\s+1\s+0\s+100%", out), out


def test_database_dsn_in_centre_is_not_taken_for_a_path(tmp_path, monkeypatch):
    import pycallcenter.apps.centre as centre_module
    import pycallcenter.storage as storage

    class Opened(Exception):
        pass

    seen = []

    def fake_open(target, **options):
        seen.append(target)
        raise Opened

    monkeypatch.setattr(storage, "open_store", fake_open)
    monkeypatch.setattr(centre_module, "open_store", fake_open)  # the composition root's own reference
    cfg = _centre_files(tmp_path, 'database = "host=/run/postgresql dbname=cc"\n')
    with pytest.raises(Opened):
        Centre.from_file(cfg)
    assert seen == ["host=/run/postgresql dbname=cc"]


def test_stopping_clears_calls_in_progress_and_writes_their_cdrs(tmp_path):
    from test_sim import CFG as PRI_CENTRE  # a PRI span facing the emulated PSTN, and two phones

    from pycallcenter.sim.pstn import Caller, PstnSimulator
    from pycallcenter.storage import open_store

    (tmp_path / "scripts").mkdir()
    (tmp_path / "scripts" / "main.py").write_text("async def main(call):\n    await call.answer()\n    await call.wait(600)\n")
    cfg = tmp_path / "centre.toml"
    cfg.write_text(PRI_CENTRE + '\n[centre]\nscripts = "scripts"\ndefault_script = "main"\n')
    c = Centre.from_file(cfg)
    pstn = PstnSimulator(c.board)
    pstn.add(Caller("2025550100", "5000", arrival=0.2, talk=600, patience=600))
    c.loop(seconds=2, fast=True)
    assert len(c.engine.calls) == 1 and c.writer.written == 0
    c.close()  # a PRI call needs DISCONNECT/RELEASE exchanged before it has ended
    status = json.loads((tmp_path / "data" / "status.json").read_text())
    assert status["cdrs_written"] == 1 and status["calls"]["active"] == 0
    s = open_store(tmp_path / "data")
    assert [(r["tech"], r["disposition"], r["cause"]) for r in s.cdrs()] == [("pri", "ANSWERED", 16)]
    s.close()


def test_status_without_a_running_centre_says_so(tmp_path, capsys):
    assert main(["status", "--data", str(tmp_path)]) == 1
    assert "is `pycallcenter run` running" in capsys.readouterr().out


def test_run_process_serves_metrics_and_stops_on_sigterm(tmp_path):
    cfg = _centre_files(tmp_path)
    metrics = importlib.util.find_spec("prometheus_client") is not None  # optional dependency
    proc = subprocess.Popen([sys.executable, "-m", "pycallcenter", "run", str(cfg)] + (["--metrics-port", "0"] if metrics else []),
                            stdout=subprocess.PIPE, text=True, cwd=tmp_path)
    watchdog = threading.Timer(60, proc.kill)
    watchdog.start()
    try:
        url = None
        for line in proc.stdout:
            m = re.match(r"metrics on (\S+)", line)
            url = url or (m.group(1) if m else None)
            if line.startswith("running:"):
                break
        if metrics:
            assert url, "run printed no metrics address"
            body = urllib.request.urlopen(url, timeout=10).read().decode()
            assert 'pycc_channels{span="1"} 2.0' in body and "pycc_board_seconds" in body
            assert "pycc_store_backlog 0.0" in body
        proc.send_signal(signal.SIGTERM)
        rest = proc.stdout.read()
        assert proc.wait() == 0 and "stopped after" in rest
    finally:
        watchdog.cancel()
        if proc.poll() is None:
            proc.kill()
    status = json.loads((tmp_path / "data" / "status.json").read_text())
    assert status["state"] == "stopped" and status["ticks"]["count"] > 0


def test_centre_with_cti_serves_the_wallboard_and_api(tmp_path):
    import urllib.request

    cfg = _centre_files(tmp_path, 'acd = "acd.toml"\ncti_port = 0\ncti_users = "users.toml"\n')
    (tmp_path / "scripts" / "main.py").write_text(QUEUE_SCRIPT)
    (tmp_path / "acd.toml").write_text(ACD_TOML)
    (tmp_path / "users.toml").write_text('[[agent]]\nname = "bea"\ntoken = "token-bea-1234"\n'
                                         '[[supervisor]]\nname = "sue"\ntoken = "token-sue-5678"\n')
    c = Centre.from_file(cfg)
    try:
        assert c.cti is not None and c.cti.port
        c.loop(seconds=0.5, fast=True)
        page = urllib.request.urlopen(f"http://127.0.0.1:{c.cti.port}/", timeout=5).read().decode()
        assert "<html" in page.lower()
        req = urllib.request.Request(f"http://127.0.0.1:{c.cti.port}/api/snapshot",
                                     headers={"Authorization": "Bearer token-sue-5678"})  # open to nobody else
        snap = json.loads(urllib.request.urlopen(req, timeout=5).read())
        assert "queues" in snap
    finally:
        c.close()


def test_cti_port_without_users_is_a_config_error(tmp_path):
    cfg = _centre_files(tmp_path, 'acd = "acd.toml"\ncti_port = 0\n')
    (tmp_path / "acd.toml").write_text(ACD_TOML)
    with pytest.raises(ConfigError, match="cti_users"):
        Centre.from_file(cfg)
