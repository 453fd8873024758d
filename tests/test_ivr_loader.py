import os

from engine_rig import analog_engine
from pycallcenter.ivr.loader import ScriptSet

V1 = """
async def main(call):
    call.set("version", 1)
    await call.wait(5)
    call.set("done", 1)
"""
V2 = V1.replace('"version", 1', '"version", 2')


def _write(path, text):
    path.write_text(text)
    st = os.stat(path)
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))  # a new mtime even within one tick


def test_reload_gives_new_calls_new_code_and_keeps_calls_in_progress(tmp_path):
    _write(tmp_path / "menu.py", V1)
    scripts = ScriptSet(tmp_path)
    eng, ends = analog_engine()
    calls = []
    eng.router = lambda leg: scripts.get("menu")
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, call: calls.append(dict(call.vars))})())
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    _write(tmp_path / "menu.py", V2)
    assert scripts.reload() == ["menu"]
    ends["bob"].off_hook()
    eng.run(seconds=6.0)
    ends["alice"].on_hook()
    ends["bob"].on_hook()
    eng.run(seconds=2.0)
    assert sorted((c["version"], c["done"]) for c in calls) == [(1, 1), (2, 1)]


def test_a_broken_edit_keeps_the_previous_version_and_reports_the_error(tmp_path):
    _write(tmp_path / "menu.py", V1)
    scripts = ScriptSet(tmp_path)
    old = scripts.get("menu")
    _write(tmp_path / "menu.py", "async def main(call):\n    await call.play(\n")
    assert scripts.reload() == []
    assert scripts.get("menu") is old
    assert "SyntaxError" in scripts.errors["menu"]


def test_handoff_by_name_and_unknown_script_error(tmp_path):
    _write(tmp_path / "first.py", "async def main(call):\n    call.set('a', 1)\n    return await call.handoff('second')\n")
    _write(tmp_path / "second.py", "async def main(call):\n    call.set('b', 2)\n    await call.hangup()\n")
    scripts = ScriptSet(tmp_path)
    eng, ends = analog_engine()
    eng.scripts = scripts
    ended = []
    eng.listeners.append(type("L", (), {"on_call_ended": lambda self, call: ended.append(dict(call.vars))})())
    eng.router = lambda leg: scripts.get("first")
    ends["alice"].off_hook()
    eng.run(seconds=1.0)
    assert ended == [{"a": 1, "b": 2}]
    try:
        scripts.get("nope")
    except KeyError as exc:
        assert "first" in str(exc) and "second" in str(exc)
    else:
        raise AssertionError("unknown script accepted")
