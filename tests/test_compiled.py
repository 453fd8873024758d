"""The Cython-compiled copies of hot pure-Python modules: used when built and fresh, never when stale, and the
source when PYCC_PURE=1 asks for it. (That the source alone passes the suite is CI's other axis, `make
test-pure`, not a subprocess inside this file.)"""
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
