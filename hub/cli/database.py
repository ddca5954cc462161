"""``salon db|backup|restore``: the store's schema, backups while serving, restores."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import connect, fail, read_settings

if TYPE_CHECKING:
    from hub.settings import Settings
    from hub.store.backends import Backend

db_app = typer.Typer(help="The store's schema: status, upgrade (stop the hub first).")


@db_app.command("status")
def db_status(
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON, for scripts.")] = False,
) -> None:
    """The migrations applied to the store (SALON_DATABASE_URL, or SALON_DATA_DIR's file) and
    those pending."""
    from hub.errors import StoreUnavailable
    from hub.store import migrations

    backend = _backend(read_settings())
    path = backend.describe()
    try:
        found = migrations.status_of(backend)
    except StoreUnavailable as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None
    if found is None:
        typer.echo(f"No store at {path} yet: the hub creates it at its first start.")
        return
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
    pending = _pending(settings)
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
    typer.echo(f"{_backend(settings).describe()} is up to date.")


@db_app.command("copy")
def db_copy(
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="The PostgreSQL database to fill, e.g. postgresql://salon:secret@db/salon "
            "(new or empty).",
        ),
    ],
) -> None:
    """Copy SALON_DATA_DIR's DuckDB store, every table and the audit trail, into an empty
    PostgreSQL database, so that hubs started with SALON_DATABASE_URL carry on from it (stop
    the hub first)."""
    from hub.errors import SalonError
    from hub.services.policy.keep import FolderKeep, copy_secrets
    from hub.store import store_for
    from hub.store.objects import FolderObjects, copy_objects

    settings = read_settings()
    source = settings.database_path
    if not source.is_file():
        fail(f"There is no Salon store at {source} to copy. Set SALON_DATA_DIR to its folder.", 2)
    try:
        target_settings = settings.replace(database_url=to, auto_migrate=True)
    except ValueError as exc:
        fail(f"--to: {exc}".replace("SALON_DATABASE_URL: ", ""), 2)
        raise
    try:
        target = store_for(target_settings)
    except SalonError as exc:
        fail(exc.message)
        raise
    try:
        copied = target.fill_from(
            source, lambda table, rows: typer.echo(f"  {table:<28} {rows:>12,} rows")
        )
        secrets = copy_secrets(FolderKeep(settings.data_dir), target.secrets)
        files, size = copy_objects(
            FolderObjects(settings.data_dir / "objects"), target.objects, target.scratch
        )
        head = target.audit.head
        where = target.describe()
        objects = target.objects.describe()
    except SalonError as exc:
        fail(exc.message)
        raise
    finally:
        target.close()
    total = sum(rows for _, rows in copied)
    typer.echo(
        f"Copied {total:,} rows of {len(copied)} tables from {source} into {where}, "
        f"{secrets} of its secrets (signing keys, cookie secrets, audit checkpoint: tokens "
        f"and sign-ins stay good), and {files:,} stored files ({size / 1e6:,.1f} MB) into "
        f"{objects}. The audit trail ends at event {head[0]}. Start the hubs with "
        "SALON_DATABASE_URL and SALON_OBJECT_STORE set as here, then check with "
        "`salon audit verify`."
    )


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


def _backend(settings: Settings) -> Backend:
    from hub.store import points_location
    from hub.store.backends import backend_for

    return backend_for(
        settings.database_url.get_secret_value(),
        settings.data_dir,
        settings.database_connections,
        points_location(settings.object_store, settings.data_dir),
    )


def _pending(settings: Settings) -> list[str]:
    from hub.errors import StoreUnavailable
    from hub.store import migrations

    try:
        found = migrations.status_of(_backend(settings))
    except StoreUnavailable:
        return []  # opening it again says why
    return [f"{m.version:03d} {m.name}" for m in found.pending] if found else []
