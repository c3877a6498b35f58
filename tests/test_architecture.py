"""The package's layers, as the README draws them: analyses compute, reports label, maps draw, the CLI talks.

Read from the source (every ``import`` statement, module level or inside a
function), not from what happens to be imported at run time:

* no module of ``gis_town.analysis`` imports ``gis_town.maps``, ``gis_town.reports``,
  ``gis_town.cli`` or ``gis_town.runners``;
* no module of ``gis_town.maps`` imports ``gis_town.analysis`` (maps draw a runner's result);
* the module-level imports of the package have no cycle.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PKG = Path(__file__).resolve().parents[1] / "gis_town"


def _module_name(path: Path) -> str:
    rel = path.relative_to(PKG.parent).with_suffix("")
    parts = list(rel.parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def _imports(path: Path, *, top_level_only: bool) -> set[str]:
    """Modules of gis_town that ``path`` imports (absolute names)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    me = _module_name(path)
    package = me if path.name == "__init__.py" else me.rsplit(".", 1)[0]
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found: set[str] = set()
    for node in nodes:
        if isinstance(node, ast.If) and top_level_only and "TYPE_CHECKING" in ast.unparse(node.test):
            continue
        if isinstance(node, ast.Import):
            found |= {a.name for a in node.names if a.name.startswith("gis_town")}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
            else:
                mod = node.module or ""
            if mod.startswith("gis_town"):
                found.add(mod)
                found |= {f"{mod}.{a.name}" for a in node.names}
    return found


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in PKG.rglob("*.py")}


def _under(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


@pytest.mark.parametrize(
    "layer, forbidden",
    [
        ("gis_town.analysis", ("gis_town.maps", "gis_town.reports", "gis_town.cli", "gis_town.runners")),
        ("gis_town.maps", ("gis_town.analysis",)),
    ],
)
def test_layers_import_only_downwards(layer, forbidden):
    bad = []
    for name, path in _modules().items():
        if not _under(name, layer):
            continue
        for imp in _imports(path, top_level_only=False):
            if any(_under(imp, f) for f in forbidden):
                bad.append(f"{name} imports {imp}")
    assert not bad, "\n".join(sorted(bad))


def test_no_import_cycle():
    modules = _modules()
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        deps = set()
        for imp in _imports(path, top_level_only=True):
            # "from gis_town.x import y": y is a module when gis_town.x.y exists, else a name in gis_town.x
            target = imp if imp in modules else imp.rsplit(".", 1)[0] if imp.rsplit(".", 1)[0] in modules else None
            if target and target != name and not _under(name, target):  # a package's own __init__ is not a cycle
                deps.add(target)
        graph[name] = deps

    state: dict[str, int] = {}
    stack: list[str] = []
    cycles: list[list[str]] = []

    def visit(n: str) -> None:
        state[n] = 1
        stack.append(n)
        for d in sorted(graph.get(n, ())):
            if state.get(d) == 1:
                cycles.append(stack[stack.index(d):] + [d])
            elif d not in state:
                visit(d)
        stack.pop()
        state[n] = 2

    for n in sorted(graph):
        if n not in state:
            visit(n)
    assert not cycles, "\n".join(" -> ".join(c) for c in cycles[:10])
