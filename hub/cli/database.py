"""``salon db|backup|restore``: the store's schema, backups while serving, restores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import (
    connect,
    fail,
    read_settings,
)

if TYPE_CHECKING:
    pass

db_app = typer.Typer(help="The store's schema: status, upgrade (stop the hub first).")


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """The migrations applied to SALON_DATA_DIR's store and those pending."""
    from hub.store import migrations

    settings = read_settings()
    path = settings.database_path
    if not path.is_file():
        typer.echo(f"No store at {path} yet: the hub creates it at its first start.")
        return
    try:
        found = migrations.status_of_file(path)
    except migrations.MigrationError as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if as_json:
        import json

        shown = {
            "database": str(path),
            "migration": found.current,
            "applied": found.applied,
            "pending": [f"{m.version:03d}_{m.name}" for m in found.pending],
            "unknown": found.unknown,
        }
        typer.echo(json.dumps(shown, indent=2))
        raise typer.Exit(1 if found.unknown else 0)
    typer.echo(f"{path}: migration {found.current:03d}, {len(found.applied)} applied.")
    for migration in found.pending:
        typer.echo(f"  pending  {migration.version:03d} {migration.name}")
    for version in found.unknown:
        typer.echo(f"  unknown  {version:03d} (written by a newer Salon)")
    if not found.pending and not found.unknown:
        typer.echo("Up to date.")
    raise typer.Exit(1 if found.unknown else 0)


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Back the store up (to SALON_DATA_DIR/backups) and apply the pending migrations."""
    from hub.errors import StoreUnavailable
    from hub.store import store_for

    settings = read_settings().replace(auto_migrate=True)
    pending = _pending(settings.database_path)
    try:
        store = store_for(settings)
    except StoreUnavailable as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    store.close()
    for name in pending:
        typer.echo(f"  applied  {name}")
    backups = settings.data_dir / "backups"
    if pending and backups.is_dir():
        typer.echo(f"The store as it was is in {backups}.")
    typer.echo(f"{settings.database_path} is up to date.")


def backup(
    destination: Annotated[str, typer.Argument(help="A new or empty folder on the hub's machine.")],
) -> None:
    """Back the running hub up (database, objects, keys) without stopping it (admins)."""
    from hub.client.errors import HubError

    folder = str(Path(destination).expanduser().absolute())
    try:
        answer = connect().connection.send(
            "POST",
            "/api/v1/backups",
            json={"destination": folder},
            timeout=None,  # as long as copying takes
        )
    except HubError as exc:
        fail(exc.message)
        raise
    body = answer.json()
    typer.echo(
        f"Backed up to {body['folder']}: the database at migration {body['migration']:03d} "
        f"({body['database_bytes']:,} bytes) and {body['files']} other files."
    )


def restore(
    source: Annotated[Path, typer.Argument(help="A folder made by `salon backup`.")],
) -> None:
    """Fill SALON_DATA_DIR (new or empty; the hub stopped) from a backup."""
    from hub.errors import InvalidInput
    from hub.services.operations import backups

    settings = read_settings()
    try:
        made = backups.restore(source.expanduser().absolute(), settings.data_dir)
    except InvalidInput as exc:
        fail(exc.message)
        raise
    typer.echo(
        f"Restored {settings.data_dir} from the backup of {made.created_at} (Salon {made.salon}, "
        f"migration {made.migration:03d}). Start the hub on it; `salon audit verify` checks "
        "the audit trail."
    )


def _pending(path: Path) -> list[str]:
    from hub.store import migrations

    if not path.is_file():
        return []
    try:
        found = migrations.status_of_file(path)
    except migrations.MigrationError:
        return []  # opening it again says why
    return [f"{m.version:03d} {m.name}" for m in found.pending]
