"""The wheel, installed with its dependencies into a fresh virtual environment outside the source tree,
runs the product: the CLI, the self-test, the board acceptance suite on the bundled bench and a short
demo with the bundled IVR scripts.

The wheel is built once per run, from the build the test run already has (`make native` leaves the
compiled extensions under build/, so the wheel build only copies and zips them).
"""
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def _run(cmd, cwd, env=None, timeout=900):
    """Return the finished process; a failure shows its output."""
    proc = subprocess.run([str(c) for c in cmd], cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd} exited {proc.returncode}\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """Return (virtual environment, working folder, environment variables) with the wheel installed."""
    top = tmp_path_factory.mktemp("wheel")
    dist = top / "dist"
    _run([sys.executable, "-m", "pip", "wheel", "-q", "--no-build-isolation", "--no-deps", "-w", dist, ROOT], cwd=ROOT)
    (wheel,) = dist.glob("pycallcenter-*.whl")
    venv = top / "venv"
    _run([sys.executable, "-m", "venv", venv], cwd=top)
    _run([venv / "bin" / "python", "-m", "pip", "install", "-q", wheel], cwd=top)
    work = top / "elsewhere"
    work.mkdir()
    # Nothing may lead back to the tree: no PYTHONPATH, no source-only switch, the tree's venv off PATH.
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYCC_PURE", "VIRTUAL_ENV")}
    env["PATH"] = os.pathsep.join([str(venv / "bin")] + [p for p in env.get("PATH", "").split(os.pathsep)
                                                          if not p.startswith(str(ROOT))])
    return venv, work, env


def _cli(installed, *args, **kwargs):
    venv, work, env = installed
    return _run([venv / "bin" / "pycallcenter", *args], cwd=work, env=env, **kwargs)


def _files(folder):
    """Return the relative paths of the files under folder, byte-code left out."""
    return {str(p.relative_to(folder)) for p in folder.rglob("*")
            if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"}


def test_the_installed_package_is_its_own_complete_copy(installed):
    venv, work, env = installed
    probe = ("import json, importlib, pycallcenter\n"
             "from pycallcenter import bundled, _compiled\n"
             "print(json.dumps(dict(package=pycallcenter.__file__, scripts=str(bundled.scripts_dir()),\n"
             "    examples=str(bundled.examples_dir()), bench=str(bundled.hwtests_config()),\n"
             "    compiled=[_compiled.is_compiled(importlib.import_module(m)) for m in _compiled.MODULES])))\n")
    where = json.loads(_run([venv / "bin" / "python", "-c", probe], cwd=work, env=env).stdout)
    site = str(venv / "lib")
    assert all(where[k].startswith(site) for k in ("package", "scripts", "examples", "bench")), where
    assert {"main_menu.py", "queue.py", "voicemail.py", "fax.py", "README.md"} <= _files(Path(where["scripts"]))
    assert Path(where["bench"]).is_file()
    # Whatever the tree's bundled folders hold ships, examples placed later included.
    for key, folder in (("scripts", "ivr_scripts"), ("examples", "pycallcenter/examples"),
                        ("bench", "hwtests")):
        installed_folder = Path(where[key]) if key != "bench" else Path(where[key]).parent
        tree = _files(ROOT / folder)
        if key == "examples":  # what running an example in place wrote into its data folder does not ship
            tree = {f for f in tree if not f.startswith("data/")}
        assert tree == _files(installed_folder), folder
    # An installer stamps every file with its own time; the compiled modules must still be the ones used.
    assert all(where["compiled"]), where["compiled"]


def test_help_lists_the_commands(installed):
    out = _cli(installed, "--help").stdout
    for command in ("demo", "hwtests", "selftest", "report", "run"):
        assert re.search(rf"^\s+{command}\s", out, re.M), command


def test_selftest_passes(installed):
    out = _cli(installed, "selftest").stdout
    assert re.search(r"^\d+ passed, 0 failed$", out, re.M), out


def test_hwtests_pass_on_the_bundled_bench(installed):
    venv, _, _ = installed
    out = _cli(installed, "hwtests").stdout
    assert re.search(r"^hwtests: \d+ passed, 0 failed, 0 skipped$", out, re.M), out
    assert f"hwtests on the emulator ({venv / 'lib'}" in out


def test_short_demo_runs_calls_through_the_bundled_scripts_and_reports(installed):
    _, work, _ = installed
    data = work / "data"
    out = _cli(installed, "demo", "--hours", "0.02", "--quiet", "--data", data).stdout
    reached = re.search(r"reached an agent (\d+)", out)
    recordings = re.search(r"recordings (\d+), script errors (\d+)", out)
    assert reached and int(reached.group(1)) > 0, out
    assert recordings and int(recordings.group(1)) > 0 and recordings.group(2) == "0", out
    report = _cli(installed, "report", "--db", data).stdout
    assert "Interval report" in report
