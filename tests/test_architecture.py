"""Dependencies between our packages point one way, as DESIGN.md draws them."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
OURS = ("artwork", "bandit", "vision", "simulator", "api")
ALLOWED = {
    "artwork": set(),
    "bandit": set(),
    "vision": {"artwork"},
    "simulator": {"artwork", "bandit"},
    "api": {"artwork", "bandit", "vision", "simulator"},
}


def _imports(path: Path) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value).split(".")[0])
    return found & set(OURS)


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_what_it_may(package):
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = _imports(path) - ALLOWED[package] - {package}
        assert not bad, f"{path.relative_to(ROOT)} imports {sorted(bad)}"


def test_only_api_reads_the_environment():
    for package in OURS[:-1]:
        for path in sorted((ROOT / package).rglob("*.py")):
            text = path.read_text()
            assert "os.environ" not in text and "getenv" not in text, path.relative_to(ROOT)
