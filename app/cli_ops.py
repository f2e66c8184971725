"""`flask ops backup`, `flask ops restore` (PostgreSQL's own tools) and `flask ops
move-documents` (documents from an upload folder into the database)."""

from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from app.services.errors import DomainError
from app.services.platform import backups

ops_cli = AppGroup("ops", help="Operations: back up and restore the database, move documents.")


@ops_cli.command("backup")
@click.option("--dir", "folder", type=click.Path(file_okay=False, path_type=Path), default=None,
              help="Where to write it (default: BACKUP_DIR).")  # fmt: skip
def backup(folder: Path | None) -> None:
    """Write a timestamped custom-format dump of the database, checked before it is kept."""
    folder = folder or Path(current_app.config["BACKUP_DIR"])
    try:
        made = backups.backup(current_app.config["SQLALCHEMY_DATABASE_URI"], folder)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{made.path} ({made.size_bytes:,} bytes, {made.tables} tables)")


@ops_cli.command("restore")
@click.argument("archive", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--into", "target", default=None,
              help="The database URL to rebuild (default: this app's database).")  # fmt: skip
@click.option("--yes", is_flag=True, help="Replace what the target database holds.")
def restore(archive: Path, target: str | None, yes: bool) -> None:
    """Rebuild a database from a backup in one transaction, then check its ledger."""
    target = target or current_app.config["SQLALCHEMY_DATABASE_URI"]
    if not yes:
        click.confirm(f"Replace everything in {backups.libpq_url(target)}?", abort=True)
    try:
        backups.restore(archive, target)
    except DomainError as error:
        raise click.ClickException(error.message + " Nothing was changed.") from error
    problems = backups.verify_ledger(target)
    counts = backups.table_counts(target)
    click.echo(f"Restored {sum(counts.values()):,} rows in {len(counts)} tables.")
    if problems:
        raise click.ClickException("The restored ledger does not verify: " + "; ".join(problems))
    click.echo("The ledger verifies.")


@ops_cli.command("move-documents")
def move_documents() -> None:
    """Bring documents uploaded before they lived in the database into it; then delete the
    files (only after the database has committed them)."""
    from app.extensions import db, get_key_ring
    from app.services.accounts import documents

    folder = Path(current_app.config["UPLOAD_FOLDER"])
    moved = documents.move_to_database(db.session, folder, get_key_ring())
    db.session.commit()
    for path in moved:
        path.unlink(missing_ok=True)
    click.echo(f"{len(moved)} document(s) moved into the database from {folder}.")
