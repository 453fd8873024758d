"""The layer contract the build checks: every import in the shipped tree, against docs/layers.toml.

Stdlib only. ``python tests/layers.py`` prints the graph's violations; ``tests/test_layers.py`` fails on any
that `docs/layers.toml` does not list as an exception with its reason.

Three checks:
- an import from a lower layer to a higher one (``upward``);
- an import cycle between modules, through module-level imports (``cycle``);
- an import inside a function that would close a cycle if it were at module level (``dodge``): the code
  is in the wrong place, and the function-level import only hides it.
"""
from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CONTRACT = ROOT / "docs" / "layers.toml"

# Source folder -> the package it installs as (see ROOTS in setup.py).
SOURCES = {
    "pycallcenter": "pycallcenter",
    "drivers": "pycallcenter.drivers",
    "_native": "pycallcenter._native",
    "ivr_scripts": "pycallcenter.ivr_scripts",
    "hwtests": "pycallcenter.hwtests",
}
# A top-level name a module may import by (from the repository root) -> its installed name.
ALIASES = {folder: package for folder, package in SOURCES.items() if folder != "pycallcenter"}

_PYX_IMPORT = re.compile(r"^(\s*)(?:from\s+([\w.]+)\s+c?import\s+([\w, ()*]+)|c?import\s+([\w., ]+))")


@dataclass(frozen=True)
class Import:
    """One import statement: who imports what, where, and whether it runs at module level."""

    source: str
    target: str
    path: str
    line: int
    module_level: bool


@dataclass
class Graph:
    """Every module of the tree and every import between two of them."""

    modules: dict[str, Path] = field(default_factory=dict)
    imports: list[Import] = field(default_factory=list)


def module_name(path: Path, root: Path = ROOT) -> str | None:
    """Return the installed dotted name of a source file, or None outside the shipped folders."""
    rel = path.relative_to(root)
    package = SOURCES.get(rel.parts[0])
    if package is None:
        return None
    parts = list(rel.parts[1:])
    parts[-1] = parts[-1].split(".", 1)[0]
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join([package, *parts])


def _source_files(root: Path) -> list[Path]:
    """Return every .py (and _native .pyx) file of the shipped folders, sorted."""
    files = []
    for folder in SOURCES:
        base = root / folder
        files += [p for p in base.rglob("*.py") if "_build" not in p.parts]
        if folder == "_native":
            files += base.glob("*.pyx")
    return sorted(files)


def _canonical(name: str) -> str:
    """Return an absolute module name with repository-root aliases (``drivers.x``) mapped to the package."""
    head, _, rest = name.partition(".")
    if head in ALIASES:
        return ALIASES[head] + ("." + rest if rest else "")
    return name


def _resolve(name: str, modules: dict[str, Path]) -> str | None:
    """Return the tree module ``name`` names, or None for outside and generated (cffi, C) modules."""
    name = _canonical(name)
    return name if name in modules else None


def _absolute(module: str, is_package: bool, level: int, name: str | None) -> str:
    """Return the absolute name a (possibly relative) ``from`` import refers to."""
    if level == 0:
        return name or ""
    base = module.split(".")
    if not is_package:
        base.pop()
    if level > 1:
        base = base[: len(base) - (level - 1)]
    return ".".join(base + ([name] if name else []))


def _is_type_checking(node: ast.If) -> bool:
    """Return True for ``if TYPE_CHECKING:`` blocks, whose imports never run."""
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _walk(node: ast.AST, in_function: bool):
    """Yield (import node, inside a function) for every import under node, skipping TYPE_CHECKING blocks."""
    for child in ast.iter_child_nodes(node):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for other in child.orelse:
                yield from _walk_one(other, in_function)
            continue
        yield from _walk_one(child, in_function)


def _walk_one(child: ast.AST, in_function: bool):
    """Yield the imports of one node and its children (see _walk)."""
    if isinstance(child, (ast.Import, ast.ImportFrom)):
        yield child, in_function
        return
    inner = in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda))
    yield from _walk(child, inner)


def _targets(module: str, is_package: bool, node, modules) -> list[str]:
    """Return the tree modules one import statement loads."""
    found = []
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
    else:
        base = _absolute(module, is_package, node.level, node.module)
        # ``from pkg import sub`` loads the submodule when there is one, else only pkg.
        names = [f"{base}.{alias.name}" if _resolve(f"{base}.{alias.name}", modules) else base
                 for alias in node.names]
    for name in names:
        target = _resolve(name, modules)
        if target is not None and target != module and target not in found:
            found.append(target)
    return found


def _pyx_imports(module: str, rel: str, text: str, modules) -> list[Import]:
    """Return the tree imports of a Cython file, read line by line (module level = no indent)."""
    out = []
    for number, line in enumerate(text.splitlines(), 1):
        match = _PYX_IMPORT.match(line)
        if not match:
            continue
        indent, base, names, plain = match.groups()
        if base is not None:
            level = len(base) - len(base.lstrip("."))
            absolute = _absolute(module, False, level, base.lstrip(".") or None)
            candidates = [f"{absolute}.{n.strip()}" for n in names.strip("()").split(",")] + [absolute]
        else:
            candidates = [n.strip().split(" ")[0] for n in plain.split(",")]
        for name in candidates:
            target = _resolve(name, modules)
            if target is not None and target != module:
                out.append(Import(module, target, rel, number, not indent))
                break
    return out


def build_graph(root: Path = ROOT) -> Graph:
    """Return the import graph of the shipped tree under root; ValueError naming file and line on bad source."""
    graph = Graph()
    for path in _source_files(root):
        name = module_name(path, root)
        if name is not None:
            graph.modules[name] = path
    for name, path in graph.modules.items():
        text = path.read_text(encoding="utf-8")
        rel = str(path.relative_to(root))
        if path.suffix == ".pyx":
            graph.imports += _pyx_imports(name, rel, text, graph.modules)
            continue
        is_package = path.name == "__init__.py"
        try:
            tree = ast.parse(text, filename=rel)
        except SyntaxError as exc:
            raise ValueError(f"{rel}:{exc.lineno}: {exc.msg}") from None
        for node, in_function in _walk(tree, False):
            for target in _targets(name, is_package, node, graph.modules):
                graph.imports.append(Import(name, target, rel, node.lineno, not in_function))
    return graph


@dataclass(frozen=True)
class Contract:
    """The ordered layers (bottom first), the module prefixes of each, and the listed exceptions."""

    layers: list[tuple[str, list[str]]]
    exceptions: dict[tuple[str, str, str], str]

    def layer_of(self, module: str) -> tuple[int, str] | None:
        """Return (rank, layer name) of the longest prefix that claims the module, or None."""
        best = None
        for rank, (layer, prefixes) in enumerate(self.layers):
            for prefix in prefixes:
                if module == prefix or module.startswith(prefix + "."):
                    if best is None or len(prefix) > best[0]:
                        best = (len(prefix), rank, layer)
        return None if best is None else (best[1], best[2])


def load_contract(path: Path = CONTRACT) -> Contract:
    """Return the contract read from docs/layers.toml; a bad entry raises ValueError naming it."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    layers = [(entry["name"], list(entry["modules"])) for entry in data["layer"]]
    exceptions = {}
    for number, entry in enumerate(data.get("exception", []), 1):
        key = (entry.get("kind", ""), entry.get("from", ""), entry.get("to", ""))
        if key[0] not in ("upward", "cycle", "dodge") or not key[1] or not key[2] or not entry.get("reason"):
            raise ValueError(f"{path.name}: exception {number} needs kind (upward/cycle/dodge), from, to "
                             f"and reason")
        if key in exceptions:
            raise ValueError(f"{path.name}: exception {number} ({key[0]} {key[1]} -> {key[2]}) is listed twice")
        exceptions[key] = entry["reason"]
    return Contract(layers, exceptions)


@dataclass(frozen=True)
class Finding:
    """One breach of the contract: its kind, the import edge, where it is, and a line to print."""

    kind: str
    source: str
    target: str
    where: str
    detail: str

    @property
    def key(self) -> tuple[str, str, str]:
        """Return the (kind, from, to) key an exception in docs/layers.toml matches."""
        return (self.kind, self.source, self.target)

    def __str__(self) -> str:
        return f"{self.where}: {self.kind} {self.source} -> {self.target} ({self.detail})"


def unplaced(graph: Graph, contract: Contract) -> list[str]:
    """Return the modules of the tree that no layer claims."""
    return [m for m in graph.modules if contract.layer_of(m) is None]


def upward(graph: Graph, contract: Contract) -> list[Finding]:
    """Return every import (module level or not) from a lower layer to a higher one."""
    out = []
    for imp in graph.imports:
        low, high = contract.layer_of(imp.source), contract.layer_of(imp.target)
        if low is not None and high is not None and high[0] > low[0]:
            out.append(Finding("upward", imp.source, imp.target, f"{imp.path}:{imp.line}",
                               f"{low[1]} imports {high[1]}"))
    return out


def _edges(graph: Graph, module_level_only: bool = True) -> dict[str, set[str]]:
    """Return module -> the modules it imports (at module level by default)."""
    edges: dict[str, set[str]] = {m: set() for m in graph.modules}
    for imp in graph.imports:
        if imp.module_level or not module_level_only:
            edges[imp.source].add(imp.target)
    return edges


def _path(edges: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """Return a shortest import path from start to goal (both included), or None."""
    previous = {start: None}
    frontier = [start]
    while frontier:
        following = []
        for node in frontier:
            for nxt in sorted(edges[node]):
                if nxt in previous:
                    continue
                previous[nxt] = node
                if nxt == goal:
                    path = [goal]
                    while previous[path[-1]] is not None:
                        path.append(previous[path[-1]])
                    return path[::-1]
                following.append(nxt)
        frontier = following
    return None


def _components(edges: dict[str, set[str]]) -> list[list[str]]:
    """Return the strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out = []
    for root in sorted(edges):
        if root in index:
            continue
        work = [(root, iter(sorted(edges[root])))]
        index[root] = low[root] = len(index)
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(edges[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    members = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        members.append(member)
                        if member == node:
                            break
                    if len(members) > 1:
                        out.append(sorted(members))
    return out


def cycles(graph: Graph) -> list[Finding]:
    """Return one finding per module-level import edge that lies on a cycle, each naming a whole cycle."""
    edges = _edges(graph)
    out = []
    for component in _components(edges):
        members = set(component)
        for imp in graph.imports:
            if imp.module_level and imp.source in members and imp.target in members:
                back = _path(edges, imp.target, imp.source)
                out.append(Finding("cycle", imp.source, imp.target, f"{imp.path}:{imp.line}",
                                   "cycle " + " -> ".join([imp.source, *back])))
    return _unique(out)


def dodges(graph: Graph) -> list[Finding]:
    """Return the function-level imports that would close a cycle if they (and the others) were at module level."""
    edges = _edges(graph, module_level_only=False)
    out = []
    for imp in graph.imports:
        if imp.module_level:
            continue
        back = _path(edges, imp.target, imp.source)
        if back is not None:
            out.append(Finding("dodge", imp.source, imp.target, f"{imp.path}:{imp.line}",
                               "would close " + " -> ".join([imp.source, *back])))
    return _unique(out)


def _unique(findings: list[Finding]) -> list[Finding]:
    """Return findings with one per (kind, from, to): the first place it occurs."""
    seen = {}
    for finding in findings:
        seen.setdefault(finding.key, finding)
    return list(seen.values())


def findings(graph: Graph, contract: Contract) -> list[Finding]:
    """Return every upward import, cycle edge and cycle dodge, one per (kind, from, to)."""
    return _unique(upward(graph, contract)) + cycles(graph) + dodges(graph)


BEGIN = "<!-- generated from docs/layers.toml by `python tests/layers.py --markdown`; do not edit -->"
END = "<!-- end of the generated contract -->"


def render_markdown(contract: Contract) -> str:
    """Return the contract as the Markdown block docs/architecture.md prints (between BEGIN and END)."""
    out = [BEGIN, "", "| layer (top first) | modules |", "|---|---|"]
    for layer, prefixes in reversed(contract.layers):
        out.append(f"| {layer} | {', '.join(f'`{p}`' for p in prefixes)} |")
    out += ["", "Allowed exceptions (kind, importer -> imported: reason):", ""]
    for (kind, source, target), reason in contract.exceptions.items():
        out.append(f"- {kind} `{source}` -> `{target}`: {reason}")
    out += ["", END]
    return "\n".join(out)


def main() -> int:
    """Print the findings not listed as exceptions and the stale exceptions; return 1 if there are any."""
    try:
        contract = load_contract()
    except (ValueError, KeyError, tomllib.TOMLDecodeError) as exc:
        print(f"{CONTRACT}: {exc}")
        return 1
    if sys.argv[1:] == ["--markdown"]:
        print(render_markdown(contract))
        return 0
    try:
        graph = build_graph()
    except ValueError as exc:
        print(exc)
        return 1
    found = findings(graph, contract)
    keys = {f.key for f in found}
    new = [f for f in found if f.key not in contract.exceptions]
    stale = [k for k in contract.exceptions if k not in keys]
    for module in unplaced(graph, contract):
        print(f"unplaced: {module} is in no layer of docs/layers.toml")
    for finding in new:
        print(finding)
    for kind, source, target in stale:
        print(f"stale exception: {kind} {source} -> {target} no longer occurs; remove it from docs/layers.toml")
    counts = {kind: sum(f.kind == kind for f in found) for kind in ("upward", "cycle", "dodge")}
    print(f"{len(graph.modules)} modules, {len(graph.imports)} imports; found {counts}; "
          f"{len(contract.exceptions)} listed exceptions; {len(new)} new, {len(stale)} stale")
    return 1 if new or stale or unplaced(graph, contract) else 0


if __name__ == "__main__":
    sys.exit(main())
