"""The layer contract (docs/layers.toml) holds for every import of the shipped tree, and the checker finds what it names."""
from __future__ import annotations

from pathlib import Path

import pytest

import layers
from layers import Contract, Graph, Import


@pytest.fixture(scope="module")
def tree():
    """Return (graph, contract, findings) for the real tree."""
    graph = layers.build_graph()
    contract = layers.load_contract()
    return graph, contract, layers.findings(graph, contract)


def test_every_module_has_a_layer(tree):
    graph, contract, _ = tree
    assert layers.unplaced(graph, contract) == []


def test_no_import_breaks_the_contract(tree):
    _, contract, found = tree
    new = [str(f) for f in found if f.key not in contract.exceptions]
    assert new == [], "imports against docs/layers.toml (fix them, or list them there with a reason):\n" + "\n".join(new)


def test_every_exception_still_occurs(tree):
    _, contract, found = tree
    keys = {f.key for f in found}
    assert [k for k in contract.exceptions if k not in keys] == []


def test_the_graph_sees_relative_aliased_function_and_cython_imports(tree):
    graph, _, _ = tree
    edges = {(i.source, i.target, i.module_level) for i in graph.imports}
    # relative, inside a package __init__
    assert ("pycallcenter.drivers", "pycallcenter.drivers.base", True) in edges
    # a function-level import is seen and marked so
    assert any(not level for _, _, level in edges)
    assert "pycallcenter.hwtests.cli" in graph.modules and "pycallcenter._native.g711" in graph.modules
    assert "pycallcenter.ivr_scripts.queue" in graph.modules


def _graph(*edges):
    """Return a Graph of (source, target, module_level) edges over made-up modules."""
    graph = Graph()
    for source, target, _ in edges:
        graph.modules.setdefault(source, Path(source))
        graph.modules.setdefault(target, Path(target))
    graph.imports = [Import(s, t, s, 1, level) for s, t, level in edges]
    return graph


CONTRACT = Contract([("low", ["p.low"]), ("high", ["p.high", "p.high.special"])], {})


def test_an_upward_import_is_found_even_inside_a_function():
    graph = _graph(("p.low.a", "p.high.b", False), ("p.high.b", "p.low.c", True))
    found = layers.upward(graph, CONTRACT)
    assert [(f.source, f.target) for f in found] == [("p.low.a", "p.high.b")]


def test_a_cycle_is_reported_whole():
    graph = _graph(("p.low.a", "p.low.b", True), ("p.low.b", "p.low.c", True), ("p.low.c", "p.low.a", True),
                   ("p.low.c", "p.low.d", True))
    found = layers.cycles(graph)
    assert {(f.source, f.target) for f in found} == {("p.low.a", "p.low.b"), ("p.low.b", "p.low.c"),
                                                     ("p.low.c", "p.low.a")}
    assert "cycle p.low.a -> p.low.b -> p.low.c -> p.low.a" in {f.detail for f in found}


def test_a_function_level_import_that_would_close_a_cycle_is_a_dodge():
    graph = _graph(("p.low.a", "p.low.b", True), ("p.low.b", "p.low.a", False), ("p.low.a", "p.low.c", False))
    found = layers.dodges(graph)
    assert [(f.source, f.target) for f in found] == [("p.low.b", "p.low.a")]
    assert layers.cycles(graph) == []


def test_the_longest_prefix_places_a_module():
    assert CONTRACT.layer_of("p.high.special.x") == (1, "high")
    assert CONTRACT.layer_of("p.lowest") is None


def test_relative_imports_resolve_like_python():
    assert layers._absolute("a.b.c", False, 1, "d") == "a.b.d"
    assert layers._absolute("a.b", True, 1, "d") == "a.b.d"
    assert layers._absolute("a.b.c", False, 2, None) == "a"


def test_an_exception_without_a_reason_is_refused(tmp_path):
    path = tmp_path / "layers.toml"
    path.write_text('[[layer]]\nname = "x"\nmodules = ["p"]\n[[exception]]\nkind = "upward"\nfrom = "p.a"\nto = "p.b"\n')
    with pytest.raises(ValueError, match="exception 1 needs"):
        layers.load_contract(path)


def test_architecture_prints_the_contract_as_checked(tree):
    _, contract, _ = tree
    text = (layers.ROOT / "docs" / "architecture.md").read_text(encoding="utf-8")
    assert layers.render_markdown(contract) in text, "run `python tests/layers.py --markdown` and paste it into docs/architecture.md"


def _write(root, files):
    """Write {relative path: text} under root."""
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")


def test_a_small_tree_on_disk_is_read_like_python_reads_it(tmp_path):
    _write(tmp_path, {
        "pycallcenter/__init__.py": "",
        "pycallcenter/low/__init__.py": "from .a import f\n",
        "pycallcenter/low/a.py": "import os\nfrom typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                 "    from pycallcenter.high import b\n\ndef f():\n    from ..high import b\n",
        "pycallcenter/low/c.py": "from drivers import base\nfrom pycallcenter.low import a, VALUE\n"
                                 "from ._generated import ffi\n",
        "pycallcenter/high/__init__.py": "",
        "pycallcenter/high/b.py": "from pycallcenter.low.a import f\n",
        "drivers/__init__.py": "",
        "drivers/base.py": "",
        "_native/k.pyx": "from libc.stdint cimport int16_t\n\ndef g():\n    from pycallcenter.high import b\n",
    })
    graph = layers.build_graph(tmp_path)
    edges = {(i.source, i.target, i.module_level) for i in graph.imports}
    assert edges == {
        ("pycallcenter.low", "pycallcenter.low.a", True),
        ("pycallcenter.low.a", "pycallcenter.high.b", False),  # the TYPE_CHECKING one never runs
        ("pycallcenter.low.c", "pycallcenter.drivers.base", True),
        ("pycallcenter.low.c", "pycallcenter.low.a", True),
        ("pycallcenter.low.c", "pycallcenter.low", True),  # VALUE is a name in the package's __init__
        # _generated (a built cffi or C module) is outside the tree: no edge
        ("pycallcenter.high.b", "pycallcenter.low.a", True),
        ("pycallcenter._native.k", "pycallcenter.high.b", False),
    }
    assert [(f.source, f.target) for f in layers.dodges(graph)] == [("pycallcenter.low.a", "pycallcenter.high.b")]


def test_bad_source_is_named_by_file_and_line(tmp_path):
    _write(tmp_path, {"pycallcenter/__init__.py": "", "pycallcenter/x.py": "ok = 1\ndef broken(:\n"})
    with pytest.raises(ValueError, match=r"^pycallcenter/x.py:2: "):
        layers.build_graph(tmp_path)
