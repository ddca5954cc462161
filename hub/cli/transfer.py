"""``salon import|export mlflow``: bring another tool's runs in, or take a project out."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import (
    call,
    fail,
    read_settings,
    token_of,
)

if TYPE_CHECKING:
    pass

import_app = typer.Typer(help="Bring what another tool holds into Salon.")


export_app = typer.Typer(help="Take a project out of Salon, in another tool's format.")


def _copy(copier: Any, what: str) -> Any:
    """Run a copy with a progress bar; on failure say how to resume."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from connectors.base import ConnectorError
    from hub.cli.mlflow_copy import CopyFailed

    with Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), transient=True
    ) as progress:
        task = progress.add_task(f"Reading {what}…", total=None)
        try:
            plan = copier.plan()
            progress.update(
                task, description="Copying runs", total=sum(len(runs) for _, _, runs in plan)
            )
            copier.step = lambda name: progress.advance(task)
            return copier.run(plan)
        except (ConnectorError, CopyFailed) as exc:
            fail(f"{exc}\nRun the same command again to resume where it stopped.")
            raise


@import_app.command("mlflow")
def import_mlflow(
    source: Annotated[
        str,
        typer.Option(
            "--from",
            help="A tracking server URL, a SQLite or PostgreSQL store URI, or an mlruns folder.",
        ),
    ],
    project: Annotated[
        str | None,
        typer.Option(
            help="Put every experiment and model in this "
            "project (default: by their names, see the "
            "README)."
        ),
    ] = None,
    artifacts_from: Annotated[
        Path | None,
        typer.Option(
            "--artifacts-from",
            help="For a SQLite or PostgreSQL store whose runs logged files through an MLflow "
            "server (mlflow-artifacts:/ URIs): the folder where that server keeps them (its "
            "--artifacts-destination, ./mlartifacts by default).",
        ),
    ] = None,
) -> None:
    """Copy experiments, runs (params, tags, full metric histories, artifacts) and registered
    models from MLflow, through the running hub. Run it again to resume: what is done is
    skipped, and what could not be read before is tried again."""
    from connectors.base import ConnectorError
    from connectors.mlflow import MlflowSource, quiet
    from hub.cli.mlflow_copy import Copier, safe_source
    from hub.cli.mlflow_hub import HubTarget

    quiet()
    settings = read_settings()
    try:
        reader = MlflowSource(source, artifacts_from)
        reader.check()
    except ConnectorError as exc:
        fail(exc.message)
        raise
    target = HubTarget(settings.url, token_of(settings))
    try:
        summary = _copy(Copier(reader, target, project), "the MLflow store")
    finally:
        target.close()
        reader.close()
    typer.echo(f"Imported from {safe_source(reader.address)}:")
    for line in summary.lines():
        typer.echo(f"  {line}")


@export_app.command("mlflow")
def export_mlflow(
    project: str,
    to: Annotated[
        str,
        typer.Option(
            "--to",
            help="An mlruns folder, a SQLite or PostgreSQL store URI, or a tracking server URL.",
        ),
    ],
) -> None:
    """Copy a project's experiments, runs and registered models to an MLflow store, readable
    by MLflow alone. Run it again to resume or to bring the copy up to date."""
    from connectors.base import ConnectorError
    from connectors.mlflow import MlflowSource, quiet
    from connectors.mlflow_target import MlflowTarget
    from hub.cli.mlflow_copy import Copier, safe_source

    quiet()
    settings = read_settings()
    # The hub, read as an MLflow source with a read-only token for this project alone: its
    # experiments and models come by their own names, and nothing else is seen.
    scoped = call(
        'mutation($p: [String!]) { createApiToken(name: "mlflow export", projects: $p, '
        "canWrite: false, expiresInDays: 1) { __typename ... on NewApiToken { secret "
        "token { id } } ... on Error { message } } }",
        {"p": [project]},
        "createApiToken",
    )
    os.environ["MLFLOW_TRACKING_TOKEN"] = scoped["secret"]
    try:
        reader = MlflowSource(settings.url)
        target = MlflowTarget(to)
        summary = _copy(Copier(reader, target), f"project {project}")
    except ConnectorError as exc:
        fail(exc.message)
        raise
    finally:
        call(
            "mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }",
            {"id": scoped["token"]["id"]},
            "revokeApiToken",
        )
    typer.echo(f"Exported {project} to {safe_source(target.address)}:")
    for line in summary.lines():
        typer.echo(f"  {line}")
