"""Each layer imports only what sits below it; seeds and the CLI move money through services."""

import ast
import re
from dataclasses import dataclass
from pathlib import Path

import pytest
from sqlalchemy import Numeric

from app import models
from app.models import Base

ROOT = Path(__file__).resolve().parents[2]
WEB = ("flask", "flask_*", "werkzeug")  # "flask_*": every flask_ package (flask_login, ...)
NOT_THE_APP = ("config", "seeds", "tests", "benchmarks", "worker", "wsgi")
ABOVE_SERVICES = (
    "app.create_app",
    "app.extensions",
    "app.blueprints",
    "app.htmx",
    "app.access",
    "app.forms",
    "app.links",
    "app.errors",
    "app.devserver",
    "app.background",
    "app.integrations",
    "app.cli",
)


@dataclass(frozen=True)
class Layer:
    name: str
    folder: str
    forbidden: tuple[str, ...]  # module prefixes
    only_app: str | None = None  # when set, the one app package it may import from

    def files(self) -> list[Path]:
        return sorted((ROOT / self.folder).rglob("*.py"))


LAYERS = (
    Layer("risk", "app/risk", WEB + NOT_THE_APP, only_app="app.risk"),
    Layer("models", "app/models", WEB + NOT_THE_APP, only_app="app.models"),
    Layer("services", "app/services", WEB + NOT_THE_APP + ABOVE_SERVICES),
)


def _module_name(path: Path) -> str:
    parts = path.resolve().relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imported_modules(path: Path, module: str | None = None) -> set[str]:
    """Every module a file imports, anywhere in it, as absolute dotted names.

    `from x import y` counts as x and as x.y (y may be a submodule); relative imports are
    resolved against `module`, the file's own dotted name.
    """
    module = module or _module_name(path)
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, *([node.module] if node.module else [])])
            names.add(base)
            names.update(f"{base}.{alias.name}" for alias in node.names if alias.name != "*")
    return names


def _within(name: str, prefix: str) -> bool:
    if prefix.endswith("*"):
        return name.split(".")[0].startswith(prefix[:-1])
    return name == prefix or name.startswith(prefix + ".")


def layer_violations(layer: Layer, path: Path, module: str | None = None) -> set[str]:
    """What `path` imports that `layer` must not."""
    return {
        name
        for name in imported_modules(path, module)
        if any(_within(name, prefix) for prefix in layer.forbidden)
        or (layer.only_app and _within(name, "app") and not _within(name, layer.only_app))
    }


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: layer.name)
def test_layer_imports_nothing_above_it(layer):
    files = layer.files()
    assert len(files) > 3, f"{layer.folder} moved? the check would check nothing"
    found = {
        str(path.relative_to(ROOT)): sorted(bad)
        for path in files
        if (bad := layer_violations(layer, path))
    }
    assert not found, f"{layer.name} reaches above its layer: {found}"


def _bad_module(tmp_path: Path, source: str) -> Path:
    path = tmp_path / "bad.py"
    path.write_text(source)
    return path


def test_the_check_catches_risk_code_reaching_into_the_app(tmp_path):
    path = _bad_module(
        tmp_path,
        "from app.risk import features\n"
        "import numpy\n"
        "def score():\n"
        "    from app.models import Loan\n"
        "    import flask\n"
        "    from ..services import policy\n",
    )
    assert layer_violations(LAYERS[0], path, module="app.risk.bad") == {
        "app.models",
        "app.models.Loan",
        "flask",
        "app.services",
        "app.services.policy",
    }


def test_the_check_catches_models_importing_services_or_flask(tmp_path):
    path = _bad_module(
        tmp_path,
        "from sqlalchemy.orm import Mapped\n"
        "from app.models.base import Base\n"
        "from flask_login import UserMixin\n"
        "from app.extensions import db\n"
        "def rate():\n"
        "    from app.services.policy import DEFAULT_POLICY\n",
    )
    assert layer_violations(LAYERS[1], path, module="app.models.bad") == {
        "flask_login",
        "flask_login.UserMixin",
        "app.extensions",
        "app.extensions.db",
        "app.services.policy",
        "app.services.policy.DEFAULT_POLICY",
    }


def test_the_check_catches_services_importing_web_jobs_or_integrations(tmp_path):
    path = _bad_module(
        tmp_path,
        "from app.models import Loan\n"
        "from app.risk import predict\n"
        "from app import extensions\n"
        "import werkzeug.security\n"
        "def send():\n"
        "    from app.integrations.smtp import SmtpMailer\n"
        "    from app.background import jobs\n"
        "    from flask_wtf import FlaskForm\n"
        "    import config\n",
    )
    assert layer_violations(LAYERS[2], path, module="app.services.bad") == {
        "app.extensions",
        "werkzeug.security",
        "app.integrations.smtp",
        "app.integrations.smtp.SmtpMailer",
        "app.background",
        "app.background.jobs",
        "flask_wtf",
        "flask_wtf.FlaskForm",
        "config",
    }


# Seeds and the CLI move money only through services: these rows are the services' to write.
MONEY_MODELS = {
    mapper.class_
    for mapper in Base.registry.mappers
    if mapper.class_.__module__ in ("app.models.ledger", "app.models.payment")
} | {models.Investment}
BALANCES = {
    models.Loan: ("funded_amount", "principal_outstanding"),
    models.Installment: ("principal_paid", "interest_paid", "fee_paid"),
}
MONEY_TABLES = {model.__tablename__ for model in MONEY_MODELS}
MONEY_COLUMNS = {
    column.name
    for model in MONEY_MODELS
    for column in model.__table__.columns
    if isinstance(column.type, Numeric) and column.type.scale == 2
} | {name for names in BALANCES.values() for name in names}
MONEY_SQL = re.compile(
    r"\b(?:insert\s+into|update|delete\s+from|truncate(?:\s+table)?|copy)\s+(?:only\s+)?"
    r"(?:\"?public\"?\.)?\"?(" + "|".join(sorted(MONEY_TABLES)) + r")\b",
    re.IGNORECASE,
)


def money_writes(path: Path, module: str | None = None) -> set[str]:
    """Ways `path` could write money rows or balances without going through a service."""
    names = {model.__name__ for model in MONEY_MODELS}
    found = {
        f"imports {name.rsplit('.', 1)[-1]}"
        for name in imported_modules(path, module)
        if _within(name, "app.models") and name.rsplit(".", 1)[-1] in names
    }
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Attribute) and node.attr in names:
            found.add(f"uses {node.attr}")
        elif isinstance(node, ast.Attribute) and isinstance(node.ctx, ast.Store):
            if node.attr in MONEY_COLUMNS:
                found.add(f"sets .{node.attr}")
        elif isinstance(node, ast.Call) and getattr(node.func, "id", None) == "setattr":
            attribute = node.args[1] if len(node.args) > 1 else None
            if isinstance(attribute, ast.Constant) and attribute.value in MONEY_COLUMNS:
                found.add(f"sets .{attribute.value}")
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            if node.value in MONEY_TABLES:
                found.add(f"names table {node.value}")
            found.update(f"SQL writes {m.group(1)}" for m in MONEY_SQL.finditer(node.value))
    return found


SEED_AND_CLI_FILES = sorted([*(ROOT / "seeds").rglob("*.py"), ROOT / "app" / "cli.py"])


def test_the_money_models_are_the_ledger_payments_and_notes():
    assert {"JournalEntry", "Posting", "LedgerAccount", "Payment", "CashTransfer"} <= {
        model.__name__ for model in MONEY_MODELS
    }
    assert {"postings", "payments", "cash_transfers", "investments"} <= MONEY_TABLES
    for model, columns in BALANCES.items():
        assert set(columns) <= set(model.__table__.columns.keys()), model


@pytest.mark.parametrize("path", SEED_AND_CLI_FILES, ids=lambda path: str(path.relative_to(ROOT)))
def test_seeds_and_cli_move_money_only_through_services(path):
    assert not money_writes(path), f"{path.relative_to(ROOT)}: {sorted(money_writes(path))}"


def test_the_check_catches_seeds_building_ledger_rows(tmp_path):
    path = _bad_module(
        tmp_path,
        "from app.models import Loan, User\n"
        "def fund(session, loan):\n"
        "    from app.models.ledger import JournalEntry, Posting\n"
        "    entry = JournalEntry(kind='repayment')\n"
        "    session.add(Posting(entry=entry, amount=1))\n"
        "    session.add(models.CashTransfer(amount=1))\n",
    )
    assert money_writes(path, module="seeds.bad") == {
        "imports JournalEntry",
        "imports Posting",
        "uses CashTransfer",
    }


def test_the_check_catches_seeds_setting_balances(tmp_path):
    path = _bad_module(
        tmp_path,
        "from app.models import Installment, Loan\n"
        "def fast_forward(loan, installment, note):\n"
        "    left = loan.principal_outstanding - installment.principal_due\n"
        "    loan.principal_outstanding -= left\n"
        "    installment.principal_paid, installment.status = left, 'paid'\n"
        "    setattr(note, 'principal_outstanding', left)\n"
        "    loan.investments[0].amount = left\n",
    )
    assert money_writes(path, module="seeds.bad") == {
        "sets .principal_outstanding",
        "sets .principal_paid",
        "sets .amount",
    }


def test_the_check_catches_raw_sql_on_money_tables(tmp_path):
    path = _bad_module(
        tmp_path,
        "from sqlalchemy import table, text\n"
        "def cheat(session):\n"
        "    session.execute(text('UPDATE ledger_accounts SET balance = 0'))\n"
        '    session.execute(text(\'insert into "public"."postings" (amount) values (1)\'))\n'
        "    session.execute(text('UPDATE users SET first_name = 1'))\n"
        "    return table('payments')\n",
    )
    assert money_writes(path, module="seeds.bad") == {
        "SQL writes ledger_accounts",
        "SQL writes postings",
        "names table payments",
    }
