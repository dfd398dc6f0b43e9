"""The package's shape: imports only go down the layers, and no module imports itself back
through others, counting imports inside functions too."""

from __future__ import annotations

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "sheetgen"

# What each layer may import, besides its own modules. `__init__` (the public API) sits on top.
# Nothing after `config` reads it: config builds the `Training` (core/training.py), and layout,
# writers, readers, checks, generation and report take that object, never a `Config`.
ALLOWED = {
    "errors": set(),
    "core": {"errors"},
    "config": {"errors", "core"},
    "layout": {"errors", "core"},
    "write": {"errors", "core", "layout"},
    "read": {"errors", "core"},
    "check": {"errors", "core", "read"},
    "generation": {"errors", "core", "layout", "write"},
    "report": {"errors", "core", "layout", "write", "check", "generation"},
    "classroom": {"errors", "core", "layout", "write", "read", "check", "generation"},
    "cli": {"errors", "core", "config", "layout", "write", "read", "check", "generation", "report",
            "classroom", "__init__"},
    "__main__": {"cli"},
    "__init__": {"errors", "core", "config", "layout", "write", "read", "check", "generation", "report",
                 "classroom"},
}


def module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules() -> dict[str, Path]:
    return {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _runtime_nodes(tree: ast.AST):
    """Every node of a module but those under `if TYPE_CHECKING:` (type hints only, never run)."""
    stack = [tree]
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, ast.If) and getattr(node.test, "id", "") == "TYPE_CHECKING":
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The sheetgen modules a module imports anywhere in its body (functions included)."""
    is_package = path.name == "__init__.py"
    found = set()
    for node in _runtime_nodes(ast.parse(path.read_text("utf-8"))):
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = name.split(".") if is_package else name.split(".")[:-1]
                anchor = anchor[:len(anchor) - node.level + 1]
                base = ".".join(anchor + ([base] if base else []))
            targets = [f"{base}.{alias.name}" for alias in node.names] + [base]
        for target in targets:
            while target and target not in known:
                target = target.rpartition(".")[0]
            if target and target != name and target.startswith("sheetgen"):
                found.add(target)
    return found


def graph() -> dict[str, set[str]]:
    found = modules()
    known = set(found)
    return {name: imports_of(name, path, known) for name, path in found.items()}


def layer(module: str) -> str:
    parts = module.split(".")
    return "__init__" if len(parts) == 1 else parts[1]


def test_the_graph_is_read():
    edges = graph()
    assert "sheetgen.core.model" in edges["sheetgen.layout.book"]
    assert "sheetgen.core.expressions" in edges["sheetgen.core.model"]


def test_imports_only_go_down_the_layers():
    wrong = [f"{source} imports {target}"
             for source, targets in graph().items() for target in targets
             if layer(target) != layer(source) and layer(target) not in ALLOWED[layer(source)]]
    assert wrong == []


def test_nothing_after_config_imports_it():
    """Only the command line and the public API turn settings into a Training."""
    readers = sorted(source for source, targets in graph().items()
                     if "sheetgen.config" in targets)
    assert readers == ["sheetgen", "sheetgen.cli"]


def test_no_import_cycle():
    edges = graph()
    state: dict[str, int] = {}
    cycles = []

    def visit(node: str, path: list[str]) -> None:
        state[node] = 1
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                cycles.append(path[path.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt, path + [nxt])
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node, [node])
    assert cycles == []


def test_a_cycle_would_be_found(tmp_path, monkeypatch):
    """The checker itself: two modules importing each other inside functions are a cycle."""
    fake = tmp_path / "sheetgen"
    (fake / "core").mkdir(parents=True)
    (fake / "__init__.py").write_text("")
    (fake / "core" / "__init__.py").write_text("")
    (fake / "core" / "a.py").write_text("def f():\n    from sheetgen.core import b\n")
    (fake / "core" / "b.py").write_text("from sheetgen.core.a import f\n")
    monkeypatch.setattr(__import__(__name__), "PACKAGE", fake)
    with __import__("pytest").raises(AssertionError):
        test_no_import_cycle()
