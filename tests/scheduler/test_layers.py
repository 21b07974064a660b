"""The code reads as one path downward: planning above the domains, nothing dodging a cycle.

`scheduler/planning/` imports the domain folders; none of their modules imports it (their
routers, the HTTP edge, call it). No first-party import is hidden inside a function to dodge
an import cycle; one made lazily on purpose says so in a comment.
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCHEDULER = ROOT / "scheduler"
DOMAINS = ("bulletins", "broadcasts", "groups", "playbacks", "programmes", "stations",
           "streams", "timetables")
FIRST_PARTY = ("scheduler", "wardcast", "agents", "media")


def _imported(node: ast.Import | ast.ImportFrom) -> list[str]:
    if isinstance(node, ast.ImportFrom):
        base = node.module or ""
        return [base, *(f"{base}.{alias.name}" for alias in node.names)]
    return [alias.name for alias in node.names]


def _imports(path: Path) -> Iterator[tuple[int, str]]:
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import | ast.ImportFrom):
            for name in _imported(node):
                yield node.lineno, name


def _in_functions(path: Path) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement inside a function body."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            for inner in ast.walk(node):
                if isinstance(inner, ast.Import | ast.ImportFrom):
                    yield inner


def _said_lazy(lines: list[str], lineno: int) -> bool:
    """Tell whether the import at lineno, or the comment just above its block, says lazily."""
    at = lineno - 1
    if "lazily" in lines[at]:
        return True
    while at > 0 and lines[at - 1].strip().startswith(("from ", "import ")):
        at -= 1  # up to the first import of the block
    while at > 0 and lines[at - 1].strip().startswith("#"):
        if "lazily" in lines[at - 1]:
            return True
        at -= 1
    return False


@pytest.mark.parametrize("domain", DOMAINS)
def test_a_domain_folder_does_not_import_the_planning_layer(domain: str) -> None:
    offending = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for path in sorted((SCHEDULER / domain).glob("*.py")) if path.name != "router.py"
                 for line, name in _imports(path)
                 if name == "scheduler.planning" or name.startswith("scheduler.planning.")]
    assert not offending, offending


def test_the_planning_layer_imports_no_router_page_or_runtime() -> None:
    offending = [f"{path.relative_to(ROOT)}:{line} imports {name}"
                 for path in sorted((SCHEDULER / "planning").glob("*.py"))
                 for line, name in _imports(path)
                 if name.endswith(".router") or name.startswith(("scheduler.web", "scheduler.deps",
                                                                  "scheduler.runtime"))]
    assert not offending, offending


def test_no_first_party_import_hides_in_a_function_unless_said_lazy() -> None:
    offending = []
    for path in sorted(SCHEDULER.rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        for node in _in_functions(path):
            names = _imported(node)
            if (any(n.split(".")[0] in FIRST_PARTY for n in names)
                    and not _said_lazy(lines, node.lineno)):
                where = f"{path.relative_to(ROOT)}:{node.lineno}"
                offending.append(f"{where}: {lines[node.lineno - 1].strip()}")
    assert not offending, offending
