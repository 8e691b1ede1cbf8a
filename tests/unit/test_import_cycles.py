"""No import cycle between orchestrator's stage packages (issue 24), checked on the source's AST.

A stage package is a direct child of orchestrator/ (actions, load, plan, roll, …; a top-level module
such as plan.py or workflow.py counts as one). An edge A → B is a *module-level* `import`/`from … import`
in A naming orchestrator.B. Not counted, and why:
- imports under `if TYPE_CHECKING:` — never executed, they exist for the type checker only;
- function-local imports — they run when the function is called, after every module has finished
  loading, so they cannot make an import fail half-way; they are the tool's explicit way to defer a
  dependency (the CLI defers its commands' imports so that `--help` stays fast). They are still a
  dependency, so each one is a candidate to remove, not a licence.

KNOWN_CYCLES lists the cycles tolerated; issue 24 emptied it. The test fails on any other cycle, and
also when a listed one is gone, so the list can only shrink.
"""

from __future__ import annotations

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2] / "orchestrator"

# Strongly connected groups of stage packages tolerated (none since issue 24). Never add one.
KNOWN_CYCLES: frozenset[frozenset[str]] = frozenset()


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _module_level_imports(tree: ast.Module) -> list[str]:
    found: list[str] = []
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append(node.module)
        elif isinstance(node, ast.Import):
            found.extend(alias.name for alias in node.names)
        elif isinstance(node, ast.If) and not _is_type_checking(node):
            pending.extend(node.body + node.orelse)
        elif isinstance(node, ast.Try):
            pending.extend(node.body + node.orelse + node.finalbody + [s for h in node.handlers for s in h.body])
    return found


def package_graph(root: Path = ROOT) -> dict[str, set[str]]:
    """Stage package → the stage packages its modules import at module level."""
    graph: dict[str, set[str]] = {}
    for path in sorted(root.rglob("*.py")):
        parts = path.relative_to(root).parts
        package = parts[0] if len(parts) > 1 else parts[0].removesuffix(".py")
        if package == "__init__":
            continue
        targets = graph.setdefault(package, set())
        for module in _module_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            names = module.split(".")
            if names[0] == "orchestrator" and len(names) > 1 and names[1] != package:
                targets.add(names[1])
    return graph


def cycles(graph: dict[str, set[str]]) -> set[frozenset[str]]:
    """The strongly connected groups of more than one package (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    out: set[frozenset[str]] = set()

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in sorted(graph.get(node, ())):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            group: set[str] = set()
            while True:
                top = stack.pop()
                on_stack.discard(top)
                group.add(top)
                if top == node:
                    break
            if len(group) > 1:
                out.add(frozenset(group))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return out


def test_the_checker_finds_a_cycle_and_ignores_deferred_imports(tmp_path: Path) -> None:
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.py").write_text("from orchestrator.b.y import f\n")
    (tmp_path / "b" / "y.py").write_text("def f():\n    from orchestrator.a.x import g\n")
    assert cycles(package_graph(tmp_path)) == set()
    (tmp_path / "b" / "y.py").write_text("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n"
                                         "    from orchestrator.a import x\nimport orchestrator.a.x\n")  # fmt: skip
    assert cycles(package_graph(tmp_path)) == {frozenset({"a", "b"})}


def test_no_new_import_cycle_between_stage_packages() -> None:
    found = cycles(package_graph())
    new = found - KNOWN_CYCLES
    assert not new, f"import cycle(s) between stage packages: {[sorted(c) for c in new]} (see README layout)"
    gone = KNOWN_CYCLES - found
    assert not gone, f"cycle(s) no longer there, remove them from KNOWN_CYCLES: {[sorted(c) for c in gone]}"
