"""``salon db``: the store's schema version, and upgrading it (with the hub stopped)."""

from __future__ import annotations

from pathlib import Path

import typer

db_app = typer.Typer(help="The store's schema: status, upgrade (stop the hub first).")


@db_app.command("status")
def db_status() -> None:
    """The migrations applied to SALON_DATA_DIR's store and those pending."""
    import duckdb

    from hub.cli import _settings
    from hub.store import migrations

    settings = _settings()
    path = settings.database_path
    if not path.is_file():
        typer.echo(f"No store at {path} yet: the hub creates it at its first start.")
        return
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error as exc:
        typer.secho(
            f"Cannot open {path}: {exc}. Is the hub running? Stop it first.",
            fg=typer.colors.RED,
            err=True,
        )
        raise typer.Exit(1) from None
    try:
        found = migrations.status(connection)
    finally:
        connection.close()
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
    from hub.cli import _settings
    from hub.errors import StoreUnavailable
    from hub.store import store_for

    settings = _settings().replace(auto_migrate=True)
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


def _pending(path: Path) -> list[str]:
    import duckdb

    from hub.store import migrations

    if not path.is_file():
        return []
    try:
        connection = duckdb.connect(str(path), read_only=True)
    except duckdb.Error:
        return []  # opening it again below says why
    try:
        return [f"{m.version:03d} {m.name}" for m in migrations.status(connection).pending]
    finally:
        connection.close()
