"""The compiled-module switch made visible: a compiled module runs only while its source has the digest the
build recorded; a stale one says so once (StaleBuildWarning naming the module) and the source runs; states()
lists where every module comes from."""
import hashlib
import json
import os
import subprocess
import sys
import textwrap

import pytest

from pycallcenter import _compiled
from test_compiled import ROOT, _fake_tree

_IMPORT_TWICE = textwrap.dedent("""
    import importlib, sys, warnings
    warnings.simplefilter("always")
    from pycallcenter import _compiled
    _compiled._NAMES = frozenset({'fakepkg.mod'})
    _compiled.DIGESTS = sys.argv[1]
    import fakepkg.mod
    print(fakepkg.mod.WHERE)
    del sys.modules['fakepkg.mod']
    import fakepkg.mod
    print(fakepkg.mod.WHERE)
""")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """A tree with fakepkg/mod.py and its compiled copy, the .py newer than the build (as after a checkout)."""
    return _fake_tree(tmp_path_factory.mktemp("switch"), stale=True)


def _run(root, digests, pure=False):
    path = root / "digests.json"
    path.write_text(json.dumps(digests))
    env = dict(os.environ, PYTHONPATH=f"{root}{os.pathsep}{ROOT}", PYCC_PURE="1" if pure else "0")
    out = subprocess.run([sys.executable, "-c", _IMPORT_TWICE, str(path)], env=env, check=True, capture_output=True,
                         text=True)
    return out.stdout.split(), out.stderr


def _digest(text):
    return hashlib.sha256(text.encode()).hexdigest()


def test_a_recorded_digest_keeps_a_fresh_build_in_use_whatever_the_file_times(built):
    (built / "fakepkg" / "mod.py").write_text("WHERE = 'source'\n")
    where, err = _run(built, {"fakepkg.mod": _digest("WHERE = 'source'\n")})
    assert where == ["compiled", "compiled"] and "StaleBuildWarning" not in err


def test_an_edited_source_runs_and_the_stale_build_says_so_once(built):
    (built / "fakepkg" / "mod.py").write_text("WHERE = 'source'\n")
    where, err = _run(built, {"fakepkg.mod": _digest("WHERE = 'what was compiled'\n")})
    assert where == ["source", "source"]
    assert err.count("StaleBuildWarning") == 1 and "fakepkg.mod: the compiled module was built from an older" in err
    assert "PYCC_NATIVE_ONLY=mod" in err


def test_pure_runs_the_source_without_a_warning(built):
    where, err = _run(built, {"fakepkg.mod": "0" * 64}, pure=True)
    assert where == ["source", "source"] and "StaleBuildWarning" not in err


def test_without_a_recorded_digest_file_times_decide(built):
    where, _ = _run(built, {})  # the fake tree's .py is newer than its build
    assert where == ["source", "source"]


def test_states_lists_every_compiled_module_and_where_it_comes_from():
    states = dict(_compiled.states())
    assert list(states) == list(_compiled.MODULES)
    assert set(states.values()) <= {_compiled.COMPILED, _compiled.STALE, _compiled.NOT_BUILT, _compiled.PURE}
    for name, state in states.items():
        module = sys.modules.get(name)
        if module is not None and state in (_compiled.COMPILED, _compiled.NOT_BUILT):
            assert _compiled.is_compiled(module) == (state == _compiled.COMPILED), name
