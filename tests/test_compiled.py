"""The Cython-compiled copies of hot pure-Python modules: used when built and fresh, never when stale, and
the source alone passes the PRI, SS7, engine and simulation tests (PYCC_PURE=1)."""
import importlib
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from pycallcenter import _compiled

ROOT = Path(__file__).resolve().parent.parent


def _build_of(name):
    """Return the path of name's compiled copy in this tree, or None."""
    folder = ROOT / Path(*name.split(".")[:-1])
    return next(folder.glob(name.rpartition(".")[2] + ".cpython-*.so"), None)


@pytest.mark.parametrize("name", _compiled.MODULES)
def test_built_module_is_the_one_imported(name):
    module = importlib.import_module(name)
    source = ROOT / Path(*name.split(".")[:-1]) / (name.rpartition(".")[2] + ".py")
    build = _build_of(name)
    if _compiled.pure_requested():
        assert not _compiled.is_compiled(module)
    elif build is None:
        pytest.skip(f"{name} has no compiled copy in this tree (run make native)")
    elif _compiled._stale(name, str(source), str(build)):  # the finder's own rule: recorded digest, else file times
        assert not _compiled.is_compiled(module), f"{name}: a stale build was imported"
    else:
        assert _compiled.is_compiled(module), f"{name} was built but the source was imported"


def _fake_tree(tmp_path, stale):
    """A package with one module compiled by the test (a .so beside its .py), the .py newer when stale."""
    pkg = tmp_path / "fakepkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "mod.py").write_text("WHERE = 'source'\n")
    build = tmp_path / "build"
    build.mkdir()
    (build / "mod.py").write_text("WHERE = 'compiled'\n")
    script = textwrap.dedent(f"""
        from setuptools import setup, Extension
        from Cython.Build import cythonize
        setup(packages=[], py_modules=[], script_args=['build_ext', '-q', '--build-lib', {str(build)!r},
              '--build-temp', {str(build / 'tmp')!r}],
              ext_modules=cythonize([Extension('fakepkg.mod', [{str(build / 'mod.py')!r}])], quiet=True,
                                    language_level=3, build_dir={str(build / 'c')!r}))
    """)
    subprocess.run([sys.executable, "-c", script], cwd=build, check=True, capture_output=True)
    so = next((build / "fakepkg").glob("mod.cpython-*.so"))
    target = pkg / so.name
    target.write_bytes(so.read_bytes())
    old, new = 1_000_000_000, 1_000_000_100
    os.utime(pkg / "mod.py", (new, new) if stale else (old, old))
    os.utime(target, (old, old) if stale else (new, new))
    return tmp_path


@pytest.mark.parametrize("stale,pure,expected", [(False, False, "compiled"), (True, False, "source"),
                                                 (False, True, "source")],
                         ids=["fresh-build", "edited-source", "PYCC_PURE"])
def test_finder_prefers_source_when_stale_or_asked(tmp_path, stale, pure, expected):
    root = _fake_tree(tmp_path, stale)
    code = textwrap.dedent("""
        import sys
        from pycallcenter import _compiled
        _compiled._NAMES = frozenset({'fakepkg.mod'})
        import fakepkg.mod
        print(fakepkg.mod.WHERE)
    """)
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{ROOT}", PYCC_PURE="1" if pure else "0")
    out = subprocess.run([sys.executable, "-c", code], env=env, check=True, capture_output=True, text=True)
    assert out.stdout.strip() == expected


def _passes_from_source(tests):
    """Run the given test files in a fresh interpreter with every compiled module taken from its .py."""
    env = dict(os.environ, PYCC_PURE="1")
    out = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-x", *tests],
                         env=env, cwd=ROOT, capture_output=True, text=True)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]


def test_protocol_suites_pass_from_source():
    """The reference is the source: the PRI tests (libpri peer included) and the SS7 unit tests pass with
    every compiled module imported from its .py (the libss7 and tshark runs are left to the compiled pass)."""
    tests = sorted(str(p) for p in (ROOT / "tests").glob("test_isdn_*.py")
                   if p.name not in ("test_isdn_tshark.py", "test_isdn_decode_cli.py"))
    tests += sorted(str(p) for p in (ROOT / "tests").glob("test_ss7_*.py")
                    if p.name not in ("test_ss7_libss7.py", "test_ss7_tshark.py"))
    assert len(tests) > 10
    _passes_from_source(tests)


def test_engine_and_simulation_tests_pass_from_source():
    """The engine and the simulation are compiled too; their tests pass from source as well."""
    assert {"pycallcenter.engine.engine", "pycallcenter.sim.agents"} <= set(_compiled.MODULES)
    _passes_from_source([str(ROOT / "tests" / name)
                         for name in ("test_engine.py", "test_recording.py", "test_sim.py", "test_demo.py")])
