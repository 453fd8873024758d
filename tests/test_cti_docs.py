"""docs/cti.md's stdlib agent client, run as written against the emulated centre."""
import json
import pathlib
import re
import subprocess
import sys

from cti_rig import Centre

DOC = pathlib.Path(__file__).resolve().parent.parent / "docs" / "cti.md"


def test_the_documented_agent_client_gets_a_screen_pop(tmp_path):
    text = DOC.read_text()
    block = re.search(r"## A minimal agent client.*?```python\n(.*?)```", text, re.S).group(1)
    script = tmp_path / "agent.py"
    script.write_text(block)
    centre = Centre(config={"queue": [{"name": "sales", "strategy": "linear"}],
                            "agent": [{"name": "agent1", "contact": "channel/32", "queues": {"sales": 0},
                                       "ready": False}]})
    proc = subprocess.Popen([sys.executable, str(script), "127.0.0.1", str(centre.server.port), "tok-a1", "10"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        centre.caller("2025550199", arrival=1.0)
        for _ in range(5000):
            centre.tick()
            if proc.poll() is not None:
                break
        out, err = proc.communicate(timeout=30)
    finally:
        proc.kill()
        centre.close()
    assert proc.returncode == 0, err
    lines = out.splitlines()
    frames = [json.loads(line) for line in lines if line.startswith("{")]
    assert frames[0]["type"] == "reply" and frames[0]["role"] == "agent"
    assert any(f.get("id") == 2 and f["type"] == "reply" for f in frames)
    assert "SCREEN POP: 2025550199 {'account': '4711', 'menu': '2'}" in lines
