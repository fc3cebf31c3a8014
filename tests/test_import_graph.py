"""The import graph points one way: the domain never imports the service layer, the
service layer never imports an edge (CLI, web), ``workflow`` never imports ``schedules``
outside the edges, and module-level imports have no cycles."""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("workflow", "schedules")

#: The edges: they may import anything.
EDGES = ("workflow.cli", "workflow.web", "workflow.demo")
#: The use-cases; above them the applications (reports, FHIR, letters, exports, the
#: synthetic cohort), below them the domain.
SERVICE = "workflow.service"
#: The domain: pure rules, models, schemas, settings, the action catalogue.
DOMAIN = tuple(
    f"workflow.{m}"
    for m in (
        "states", "machine", "models", "schemas", "dosing", "review", "followups",
        "outcomes", "clock", "errors", "config", "catalogue", "relapse_signal",
        "validation", "terminology", "db", "diagram", "request_doc", "hostile",
    )
)  # fmt: skip


def _module(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(path: Path, module: str) -> set[str]:
    """Imports at module level (not inside functions: those are deliberate and lazy)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]

    def visit(nodes: list[ast.stmt]) -> None:
        for node in nodes:
            if isinstance(node, ast.Import):
                found.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom):
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, base] if base else anchor)
                found.add(base)
                found.update(f"{base}.{a.name}" for a in node.names)
            elif isinstance(node, ast.If) and not _is_type_checking(node):
                visit(node.body)
                visit(node.orelse)
            elif isinstance(node, ast.Try):
                visit(node.body)

    visit(tree.body)
    return found


def _is_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _graph() -> dict[str, set[str]]:
    paths = {
        _module(p): p
        for pkg in PACKAGES
        for p in (ROOT / pkg).rglob("*.py")
        if "migrations" not in p.parts
    }
    graph: dict[str, set[str]] = {}
    for module, path in paths.items():
        targets = {i for i in _top_level_imports(path, module) if i in paths}
        # Importing a.b.c first runs the package a.b's __init__, so that edge is real too.
        for target in list(targets):
            parts = target.split(".")
            targets.update(".".join(parts[:n]) for n in range(1, len(parts)))
        # A module's own packages are initialised before it: importing them is no edge.
        graph[module] = {t for t in targets if t in paths and not _within(module, t)}
    return graph


def _within(module: str, prefixes: tuple[str, ...] | str) -> bool:
    prefixes = (prefixes,) if isinstance(prefixes, str) else prefixes
    return any(module == p or module.startswith(p + ".") for p in prefixes)


def test_no_upward_imports() -> None:
    wrong = []
    for module, imports in _graph().items():
        if _within(module, EDGES):
            continue
        for target in imports:
            if _within(target, EDGES):
                wrong.append(f"{module} -> {target} (an edge)")
            elif _within(module, DOMAIN) and not _within(target, DOMAIN):
                wrong.append(f"{module} -> {target} (above the domain)")
            elif _within(target, "schedules") and _within(module, "workflow"):
                wrong.append(f"{module} -> {target} (schedules builds on workflow)")
    assert not wrong, "\n".join(sorted(wrong))


def test_no_import_cycles() -> None:
    graph = _graph()
    seen: dict[str, int] = {}  # 1: on the stack, 2: done
    cycles: list[str] = []

    def walk(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for target in sorted(graph.get(node, ())):
            if seen.get(target) == 1:
                cycles.append(" -> ".join([*stack[stack.index(target) :], target]))
            elif target not in seen:
                walk(target, [*stack, target])
        seen[node] = 2

    for module in sorted(graph):
        if module not in seen:
            walk(module, [module])
    assert not cycles, "\n".join(cycles)
