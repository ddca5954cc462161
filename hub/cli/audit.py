"""``salon audit|keys``: verify and export the audit trail, rotate the signing keys."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from hub.cli.common import (
    JsonOption,
    call,
    connect,
    fail,
    print_json,
    read_settings,
)

if TYPE_CHECKING:
    pass

audit_app = typer.Typer(help="The audit trail: verify the hash chain, export events.")


keys_app = typer.Typer(help="The hub's signing keys.")


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Recompute the audit hash chain; report the first broken event (exit 1 if any)."""
    from hub.auth.keys import KeyRing
    from hub.errors import InvalidInput, StoreUnavailable
    from hub.services.policy.audit_trail import read_checkpoint
    from hub.services.policy.keep import keep_for
    from hub.store import open_store, store_for

    settings = read_settings()
    shared = bool(settings.database_url.get_secret_value())  # hubs share it: open it alongside
    if not shared and not settings.database_path.is_file():
        # Opening would create an empty store and a signing key, and "verify" it.
        fail(
            f"There is no Salon store at {settings.database_path}: nothing to verify. Set "
            "SALON_DATA_DIR to the data folder of the hub whose trail you want to check.",
            2,
        )
    try:
        if shared:
            store = store_for(settings.replace(auto_migrate=False))
        else:
            store = open_store(settings.database_path)
    except StoreUnavailable:
        result = call(
            "{ auditVerification { __typename ... on AuditVerification { ok checked headSeq"
            " problem brokenSeq checkpointFound } ... on Error { message } } }",
            {},
            "auditVerification",
        )
        _report(
            result["ok"], result["checked"], result["problem"], result["checkpointFound"], as_json
        )
        return
    try:
        keys = KeyRing(keep_for(store, settings.data_dir), create=False)
        try:
            checkpoint = read_checkpoint(keys.keep, keys.verify_bytes)
        except InvalidInput as exc:
            fail(exc.message)
            raise
        report = store.audit.verify_sync([checkpoint] if checkpoint else [])
    finally:
        store.close()
    _report(report.ok, report.checked, report.problem, checkpoint is not None, as_json)


def _report(
    ok: bool, checked: int, problem: str | None, checkpoint: bool, as_json: bool = False
) -> None:
    if as_json:
        print_json({"ok": ok, "checked": checked, "problem": problem, "checkpoint": checkpoint})
        if not ok:
            raise typer.Exit(1)
        return
    if not checkpoint:
        typer.secho("No signed checkpoint yet: a truncated tail would go unnoticed.", err=True)
    if ok:
        typer.echo(f"The audit trail is intact: {checked} events verified.")
        return
    fail(f"The audit trail is broken: {problem} ({checked} events verified before it).")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .parquet).")],
    actor: Annotated[str | None, typer.Option(help="Only this user id.")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project id.")] = None,
    outcome: Annotated[str | None, typer.Option(help="allow, deny or error.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or time.")] = None,
) -> None:
    """Export audit events to CSV or Parquet (admins and compliance officers)."""
    kind = "parquet" if out.suffix == ".parquet" else "csv"
    params = {
        "format": kind,
        "actor_id": actor,
        "project_id": project,
        "outcome": outcome,
        "since": since,
        "until": until,
    }
    from hub.client.errors import HubError

    try:
        with (
            connect().connection.stream(
                "GET", "/api/v1/audit/export", params={k: v for k, v in params.items() if v}
            ) as response,
            out.open("wb") as handle,
        ):
            for chunk in response.iter_bytes():
                handle.write(chunk)
    except HubError as exc:
        fail(exc.message)
    typer.echo(f"Wrote {out}.")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; the hubs sign with it within a minute, and tokens signed with
    the previous keys stay valid until they expire."""
    from hub.auth.keys import KeyRing
    from hub.services.policy.keep import FolderKeep
    from hub.store import store_for

    settings = read_settings()
    if not settings.database_url.get_secret_value():  # the hub's folder (it may be running)
        kid = KeyRing(FolderKeep(settings.data_dir)).rotate()
        typer.echo(f"New signing key {kid}.")
        return
    store = store_for(settings.replace(auto_migrate=False))  # shared: the hubs' database
    try:
        kid = KeyRing(store.secrets).rotate()
    finally:
        store.close()
    typer.echo(f"New signing key {kid}.")
