"""Domain code stays free of Flask, so it runs the same in views, jobs and scripts."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
FORBIDDEN = ("flask", "flask_sqlalchemy", "flask_login", "flask_wtf", "app.extensions", "werkzeug")


def _imports(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
    return names


DOMAIN_FILES = sorted(
    [*(ROOT / "app" / "services").rglob("*.py"), *(ROOT / "app" / "risk").rglob("*.py")]
)


def test_there_is_domain_code_to_check():
    assert any(path.name == "accounts.py" for path in DOMAIN_FILES)


@pytest.mark.parametrize("path", DOMAIN_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_domain_module_imports_no_flask(path):
    offending = {
        name
        for name in _imports(path)
        if any(name == bad or name.startswith(bad + ".") for bad in FORBIDDEN)
    }
    assert not offending, f"{path} imports {offending}"


def test_the_check_catches_a_flask_import(tmp_path):
    module = tmp_path / "bad.py"
    module.write_text("from flask import current_app\nimport app.extensions\n")
    assert {"flask", "app.extensions"} <= _imports(module)
