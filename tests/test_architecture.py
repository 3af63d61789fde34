"""The layout docs/ARCHITECTURE.md draws: dependencies point one way, HTTP stays in its layers, one reader of the environment."""
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
HTTP = {"flask", "werkzeug"}
# Inside api/, the folders that may know HTTP.
HTTP_LAYERS = ("api/web", "api/studio")
ENV_READER = "api/config.py"
MAX_LINES = 500


def _modules(*packages: str) -> list[Path]:
    return sorted(p for package in packages for p in (ROOT / package).rglob("*.py"))


def _tree(path: Path) -> ast.AST:
    return ast.parse(path.read_text(), str(path))


def _imported(path: Path) -> set[str]:
    """Every module name imported by `path`, in full (`a.b.c`), including `__import__("x")`."""
    found = set()
    for node in ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module)
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") == "__import__":
            if node.args and isinstance(node.args[0], ast.Constant):
                found.add(str(node.args[0].value))
    return found


def _top(names: set[str]) -> set[str]:
    return {n.split(".")[0] for n in names}


def _rel(path: Path) -> str:
    return path.relative_to(ROOT).as_posix()


@pytest.mark.parametrize("package", OURS)
def test_package_imports_only_what_it_may(package):
    for path in _modules(package):
        bad = _top(_imported(path)) & set(OURS) - ALLOWED[package] - {package}
        assert not bad, f"{_rel(path)} imports {sorted(bad)}"


def test_only_the_web_and_studio_layers_import_flask():
    for path in _modules(*OURS):
        if _top(_imported(path)) & HTTP:
            assert _rel(path).startswith(HTTP_LAYERS), f"{_rel(path)} imports Flask or Werkzeug"


def test_the_runtime_knows_no_http_even_indirectly():
    """Nothing under api/runtime imports Flask, Werkzeug, or a module of the HTTP layers."""
    for path in _modules("api/runtime"):
        names = _imported(path)
        assert not _top(names) & HTTP, f"{_rel(path)} imports Flask or Werkzeug"
        layers = {n for n in names if n.startswith(("api.web", "api.studio"))}
        assert not layers, f"{_rel(path)} imports {sorted(layers)}"


def test_the_cli_and_demo_import_no_http_layer_at_module_level():
    """The command line starts without Flask; `serve` loads the app only when it runs."""
    for path in _modules("api/cli", "api/demo"):
        for node in _tree(path).body:  # module level only
            if isinstance(node, (ast.Import, ast.ImportFrom)):
                names = ({a.name for a in node.names} if isinstance(node, ast.Import)
                         else {node.module or ""})
                assert not {n for n in names if n.startswith(("api.web", "api.studio", "flask"))}, \
                    f"{_rel(path)} imports an HTTP layer at module level"


def _reads_environment(tree: ast.AST) -> list[int]:
    lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) \
                and node.value.id == "os" and node.attr in ("environ", "environb", "getenv", "getenvb"):
            lines.append(node.lineno)
        elif isinstance(node, ast.ImportFrom) and node.module == "os" \
                and {a.name for a in node.names} & {"environ", "environb", "getenv", "getenvb"}:
            lines.append(node.lineno)
    return lines


def test_only_the_configuration_reads_the_environment():
    for path in _modules(*OURS):
        if _rel(path) == ENV_READER:
            continue
        assert not _reads_environment(_tree(path)), \
            f"{_rel(path)} reads the environment at line(s) {_reads_environment(_tree(path))}"


def test_the_environment_check_sees_every_form():
    """The AST check above catches the forms it is meant to (and not request.environ)."""
    sample = ast.parse("import os\nfrom os import getenv\nos.environ['A']\nos.getenv('B')\n"
                       "request.environ.get('C')\n")
    assert _reads_environment(sample) == [2, 3, 4]


def test_no_module_is_over_the_line_limit():
    for path in _modules(*OURS, "tests", "bench"):
        lines = len(path.read_text().splitlines())
        assert lines <= MAX_LINES, f"{_rel(path)} has {lines} lines (at most {MAX_LINES})"
