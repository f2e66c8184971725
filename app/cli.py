"""Command-line tools: `flask users create-admin`, `flask seed`, `flask jobs relay`."""

import getpass
import json
import logging
import time
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy.exc import OperationalError

from app.cli_ops import ops_cli
from app.extensions import db, get_gateway, get_policy
from app.services.accounts import accounts
from app.services.errors import ValidationFailed
from app.services.platform import imports

log = logging.getLogger(__name__)
users_cli = AppGroup("users", help="Manage user accounts.")
risk_cli = AppGroup("risk", help="The risk model: train, list, activate.")
jobs_cli = AppGroup("jobs", help="Background job plumbing.")
import_cli = AppGroup("import", help="Import a CSV file: every row, or none when any is bad.")
keys_cli = AppGroup("keys", help="Encryption keys for data at rest.")


@users_cli.command("create-admin")
@click.option("--email", prompt=True)
@click.option("--first-name", prompt=True)
@click.option("--last-name", prompt=True)
@click.option(
    "--password",
    envvar="ADMIN_PASSWORD",
    default=None,
    help="Read from ADMIN_PASSWORD, or asked for without echo.",
)
def create_admin(email: str, first_name: str, last_name: str, password: str | None) -> None:
    """Create an administrator (the only way one comes to exist)."""
    if password is None:
        password = getpass.getpass("Password: ")
        if password != getpass.getpass("Repeat password: "):
            raise click.ClickException("The passwords do not match.")
    try:
        user = accounts.create_admin(db.session, email, password, first_name, last_name)
    except ValidationFailed as error:
        db.session.rollback()
        raise click.ClickException(
            "; ".join(f"{k}: {v}" for k, v in error.errors.items())
        ) from error
    db.session.commit()
    click.echo(f"Created admin {user.email} (id {user.id}).")


@click.command("seed")
def seed() -> None:
    """Load the demo data (development only; refuses in production)."""
    from seeds import run

    if not current_app.config["SEED_DEMO_DATA"]:
        raise click.ClickException("Demo data is disabled here (SEED_DEMO_DATA is off).")
    for line in run(db.session):
        click.echo(line)


@jobs_cli.command("relay")
@click.option("--once", is_flag=True, help="Relay what is due and stop.")
@click.option("--interval", default=2.0, show_default=True, help="Seconds between passes.")
def relay(once: bool, interval: float) -> None:
    """Move outbox messages onto the queue (run one of these beside the workers)."""
    from app.background.jobs import relay as relay_once

    while True:
        try:
            count = relay_once()
        except OperationalError as error:  # the database restarts: wait, then go on
            _database_unavailable("relay", error)
            count = 0
        if once:
            click.echo(f"Relayed {count} message(s).")
            return
        time.sleep(interval if count == 0 else 0)


@jobs_cli.command("schedule")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between ticks.")
@click.option("--once", is_flag=True, help="One tick and stop.")
def schedule(interval: float, once: bool) -> None:
    """Write due recurring jobs (daily cycle, hourly expiry, daily ledger check, auto-invest)."""
    from app.background.scheduler import tick

    while True:
        try:
            created = tick()
        except OperationalError as error:
            _database_unavailable("scheduler", error)
            created = 0
        if once:
            click.echo(f"Scheduled {created} job(s).")
            return
        time.sleep(interval)


def _database_unavailable(process: str, error: Exception) -> None:
    """Log, drop the broken connection and let the loop try again on its next pass."""
    log.warning("%s: database unavailable (%s); trying again", process, str(error).strip()[:200])
    db.session.rollback()
    db.session.remove()


@jobs_cli.command("cycle")
@click.option("--date", "business_date", default=None, help="Business date (default: today).")
def cycle(business_date: str | None) -> None:
    """Run the daily servicing cycle now (a date runs once; repeats report the first run)."""
    from datetime import date

    from app.services.servicing import servicing

    day = date.fromisoformat(business_date) if business_date else date.today()
    stats = servicing.run_cycle(db.session, day, get_policy(), gateway=get_gateway())
    db.session.commit()
    click.echo(json.dumps(stats, sort_keys=True))


@jobs_cli.command("settle")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--date", "business_date", required=True, help="The business date it settles.")
@click.option("--provider", type=click.Choice(["simulated", "stripe", "manual"]), default="stripe")
def settle(path: Path, business_date: str, provider: str) -> None:
    """Apply a provider's settlement file (CSV) for a business date, set-based."""
    from datetime import date

    from app.models import Provider
    from app.services.servicing import settlement

    if provider == "simulated" and current_app.config["APP_ENV"] == "production":
        raise click.ClickException("Production settles no simulated money.")
    with path.open(newline="", encoding="utf-8") as handle:
        rows, errors = settlement.read_file(handle, Provider(provider))
    if errors:
        for error in errors:
            click.echo(error, err=True)
        raise click.ClickException(f"{len(errors)} bad lines; nothing was applied.")
    result = settlement.settle(db.session, rows, date.fromisoformat(business_date), get_policy())
    db.session.commit()
    for row, reason in result.refused:
        click.echo(f"refused: loan {row.loan_id} {row.amount} ({row.idempotency_key}): {reason}")
    click.echo(
        f"{result.together:,} applied together, {result.one_by_one:,} one by one, "
        f"{len(result.refused):,} refused."
    )


@risk_cli.command("train")
@click.option(
    "--with-platform-loans",
    is_flag=True,
    help="Add the platform's matured loans and imported outcomes.",
)
def risk_train(with_platform_loans: bool) -> None:
    """Train a new model version; it scores nothing until activated."""
    from app.services.platform import risk_models

    version = risk_models.train_and_register(db.session, with_platform_loans=with_platform_loans)
    db.session.commit()
    meta = risk_models.sidecar(db.session, version)
    chosen = meta["cv"]["chosen"]
    click.echo(
        f"Trained {version}: {meta['family']} + {meta['calibration']}, "
        f"CV AUC {chosen['auc']:.4f} ± {chosen['auc_sd']:.4f}, Brier {chosen['brier']:.4f}, "
        f"ECE {chosen['ece']:.4f}. Activate with: flask risk activate {version}"
    )


@risk_cli.command("activate")
@click.argument("version")
def risk_activate(version: str) -> None:
    """Make VERSION the model that scores applications."""
    from app.services.errors import DomainError
    from app.services.platform import risk_models

    try:
        risk_models.activate(db.session, version)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    db.session.commit()
    click.echo(f"{version} is now active.")


@risk_cli.command("list")
def risk_list() -> None:
    """Every model version on disk, and which one is active."""
    from app.services.platform import risk_models

    active = risk_models.active_version(db.session)
    for version in risk_models.versions(db.session):
        chosen = risk_models.sidecar(db.session, version)["cv"]["chosen"]
        mark = "*" if version == active else " "
        click.echo(f"{mark} {version}  AUC {chosen['auc']:.4f}  Brier {chosen['brier']:.4f}")


def _import_command(kind: str):
    @import_cli.command(kind, help=imports.format_for(kind).description)
    @click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
    def command(path: Path) -> None:
        started = time.perf_counter()
        batch, report = imports.import_file(
            db.session, kind, path, loan_terms=get_policy().loan_terms
        )
        if report is None:
            db.session.rollback()
            click.echo(f"{path.name} was already imported (batch #{batch.id}): nothing to do.")
            return
        if not report.ok:
            db.session.rollback()
            for error in report.errors:
                where = ", ".join(
                    part
                    for part in (error["row"] and f"row {error['row']}", error["column"])
                    if part
                )
                value = f" (value {error['value']!r})" if error["value"] is not None else ""
                click.echo(f"{where or 'file'}: {error['message']}{value}", err=True)
            if report.error_count > len(report.errors):
                click.echo(f"… and {report.error_count - len(report.errors)} more.", err=True)
            raise click.ClickException(f"{report.error_count} problems; nothing was imported.")
        db.session.commit()
        click.echo(
            f"Imported {report.rows_imported:,} {kind} from {path.name} as batch #{batch.id}"
            f" ({report.rows_existing:,} already present, skipped)"
            f" in {time.perf_counter() - started:.1f} s."
        )

    return command


for _kind in imports.KINDS:
    _import_command(_kind)


def register(app: Flask) -> None:
    """Attach the commands to the app's CLI."""
    app.cli.add_command(users_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(risk_cli)
    app.cli.add_command(seed)
    app.cli.add_command(import_cli)
    app.cli.add_command(keys_cli)
    app.cli.add_command(ops_cli)


@keys_cli.command("rotate")
def rotate_keys() -> None:
    """Seal every sealed value and stored document again under the newest ENCRYPTION_KEYS key."""
    from app.extensions import get_key_ring
    from app.services.platform import rekeying

    counts = rekeying.rotate(db.session, get_key_ring(), Path(current_app.config["UPLOAD_FOLDER"]))
    db.session.commit()
    click.echo(", ".join(f"{count:,} {kind}" for kind, count in counts.items()) + " sealed again.")
