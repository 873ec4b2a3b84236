"""The style is mechanical: ruff's lint and format checks pass on the whole tree, and the
package's modules import one another without cycles and stay a readable size."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "ntm_nb"
MODULES = sorted(p for p in PACKAGE.rglob("*.py"))


def _ruff(*args: str) -> subprocess.CompletedProcess:
    ruff = shutil.which("ruff")
    command = [ruff] if ruff else [sys.executable, "-m", "ruff"]
    return subprocess.run([*command, *args], cwd=ROOT, capture_output=True, text=True)


def test_ruff_lint_passes():
    result = _ruff("check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


def test_ruff_format_check_passes():
    result = _ruff("format", "--check", ".")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_no_module_is_over_600_lines(path):
    assert len(path.read_text().splitlines()) <= 600


def _module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_package_imports_are_at_module_top(path):
    """No ``import ntm_nb...`` inside a function or class: every dependency between the
    package's modules is visible at the top of the module."""
    tree = ast.parse(path.read_text())
    top = set(map(id, tree.body))
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ntm_nb"):
            assert id(node) in top, f"line {node.lineno}: from {node.module} import inside a body"
        if isinstance(node, ast.Import) and any(a.name.startswith("ntm_nb") for a in node.names):
            assert id(node) in top, f"line {node.lineno}: import inside a body"


_IMPORT_EACH = """
import importlib, sys
failed = []
for name in sys.argv[1:]:
    for loaded in [m for m in sys.modules if m == "ntm_nb" or m.startswith("ntm_nb.")]:
        del sys.modules[loaded]  # a fresh import of the package each time; torch stays loaded
    try:
        importlib.import_module(name)
    except Exception as err:
        failed.append(f"{name}: {type(err).__name__}: {err}")
print("\\n".join(failed))
sys.exit(1 if failed else 0)
"""


def test_every_module_imports_on_its_own():
    """Each module, imported first in a fresh package, imports cleanly: a cycle would fail."""
    names = [_module_name(p) for p in MODULES if p.name != "__main__.py"]
    result = subprocess.run(
        [sys.executable, "-c", _IMPORT_EACH, *names], cwd=ROOT, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stdout + result.stderr[-2000:]


def test_no_import_cycle_between_the_package_modules():
    graph: dict[str, set[str]] = {}
    names = {_module_name(p) for p in MODULES}
    for path in MODULES:
        me = _module_name(path)
        deps = graph.setdefault(me, set())
        for node in ast.parse(path.read_text()).body:
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("ntm_nb"):
                targets = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
                deps.update(t for t in targets if t in names and t != me)
    # a package may import its own submodules (re-exports); what matters is the cycle between
    # siblings, so drop edges from a package to its children
    for me, deps in graph.items():
        graph[me] = {d for d in deps if not d.startswith(me + ".")}
    seen: dict[str, int] = {}

    def visit(node: str, stack: list[str]) -> None:
        seen[node] = 1
        for dep in graph.get(node, ()):
            if seen.get(dep) == 1:
                raise AssertionError("import cycle: " + " -> ".join([*stack, node, dep]))
            if dep not in seen:
                visit(dep, [*stack, node])
        seen[node] = 2

    for node in sorted(graph):
        if node not in seen:
            visit(node, [])
