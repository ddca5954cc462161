"""Command-line groups for the team's shared work, through the hub like every admin command:
digests, notebooks, jobs on the cluster, share links, imports and exports."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.admin_cli import JsonOption, _call, _client, _fail, print_json

digest_app = typer.Typer(help="Digests of what people missed, by e-mail or to a folder.")


@digest_app.command("send")
def digest_send(
    force: Annotated[bool, typer.Option(help="Everyone's digest, due or not.")] = False,
    user: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
) -> None:
    """Send the digests that are due now (by SMTP when SALON_SMTP_URL is set, else to files)."""
    result = _call(
        "mutation($f: Boolean!, $u: String) { sendDigests(force: $f, only: $u) { __typename "
        "... on DigestsSent { people } ... on Error { message } } }",
        {"f": force, "u": user},
        "sendDigests",
    )
    people = result["people"]
    typer.echo(f"Sent {len(people)} digest(s){': ' + ', '.join(people) if people else '.'}")


notebook_app = typer.Typer(help="Share Jupyter notebooks, read-only with their outputs.")


@notebook_app.command("attach")
def notebook_attach(
    project: str,
    path: Annotated[Path, typer.Argument(help="The .ipynb file.", exists=True, dir_okay=False)],
    run: Annotated[str | None, typer.Option(help="Attach it to this run (its id).")] = None,
    slug: Annotated[str | None, typer.Option(help="Its address (default: from the name).")] = None,
    message: Annotated[str, typer.Option("--message", "-m", help="What changed.")] = "",
) -> None:
    """Share a notebook in a project (or on a run's page); again, and it gets a new version."""
    from hub.client.errors import HubError

    try:
        made = _client().attach_notebook(project, path, run_id=run, slug=slug, message=message)
    except HubError as exc:
        _fail(str(exc))
        raise
    typer.echo(f"Shared {made['title']!r} as {project}/{made['slug']}, version {made['version']}.")


job_app = typer.Typer(help="Jobs on the team's Ray cluster.")


@job_app.command("submit")
def job_submit(
    project: str,
    command: Annotated[list[str], typer.Argument(help="The command, after --.")],
    gpus: Annotated[float, typer.Option(help="GPUs the job needs.")] = 0,
    cpus: Annotated[float, typer.Option(help="CPUs the job needs.")] = 1,
    run: Annotated[
        str | None, typer.Option(help="The run it trains or evaluates (its id).")
    ] = None,
) -> None:
    """Run a command on the cluster for a project: salon job submit vision --gpus 2 -- python
    train.py. Refused, with the reason, when others booked the GPUs or the quota is reached."""
    import shlex

    from hub.client.errors import HubError

    try:
        made = _client().submit_job(
            shlex.join(command), project=project, gpus=gpus, cpus=cpus, run_id=run
        )
    except HubError as exc:
        _fail(str(exc))
        raise
    typer.echo(f"Submitted {made['id']} ({made['gpus']:g} GPUs) for {made['project']}.")


@job_app.command("stop")
def job_stop(job_id: str) -> None:
    """Stop a job (yours, or any in a project you maintain)."""
    from hub.client.errors import HubError

    try:
        stopped = _client().stop_job(job_id)
    except HubError as exc:
        _fail(str(exc))
        raise
    typer.echo(f"Asked the cluster to stop {job_id}." if stopped else f"{job_id} had ended.")


@job_app.command("logs")
def job_logs(job_id: str) -> None:
    """What a job printed."""
    result = _call(
        "query($i: ID!) { jobLogs(id: $i) { __typename ... on JobLogs { text } "
        "... on Error { message } } }",
        {"i": job_id},
        "jobLogs",
    )
    typer.echo(result["text"], nl=False)


import_app = typer.Typer(help="Bring what another tool holds into Salon.")
export_app = typer.Typer(help="Take a project out of Salon, in another tool's format.")


def _copy(copier: Any, what: str) -> Any:
    """Run a copy with a progress bar; on failure say how to resume."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    from connectors.base import ConnectorError
    from hub.mlflow_copy import CopyFailed

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
            _fail(f"{exc}\nRun the same command again to resume where it stopped.")
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
) -> None:
    """Copy experiments, runs (params, tags, full metric histories, artifacts) and registered
    models from MLflow, through the running hub. Run it again to resume: what is done is
    skipped."""
    from connectors.base import ConnectorError
    from connectors.mlflow import MlflowSource, quiet
    from hub.admin_cli import _settings, _token
    from hub.mlflow_copy import Copier, HubTarget, safe_source

    quiet()
    settings = _settings()
    try:
        reader = MlflowSource(source)
        reader.check()
    except ConnectorError as exc:
        _fail(exc.message)
        raise
    target = HubTarget(settings.url, _token(settings))
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
    from connectors.mlflow import MlflowSource, MlflowTarget, quiet
    from hub.admin_cli import _settings
    from hub.mlflow_copy import Copier, safe_source

    quiet()
    settings = _settings()
    # The hub, read as an MLflow source with a read-only token for this project alone: its
    # experiments and models come by their own names, and nothing else is seen.
    scoped = _call(
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
        _fail(exc.message)
        raise
    finally:
        _call(
            "mutation($id: ID!) { revokeApiToken(id: $id) { __typename } }",
            {"id": scoped["token"]["id"]},
            "revokeApiToken",
        )
    typer.echo(f"Exported {project} to {safe_source(target.address)}:")
    for line in summary.lines():
        typer.echo(f"  {line}")


share_app = typer.Typer(help="Share links: list a project's, revoke one.")


@share_app.command("list")
def share_list(project: str, as_json: JsonOption = False) -> None:
    """A project's share links, newest first: what they show, who made them, their state."""
    from hub.client.errors import HubError

    try:
        found = _client().query(
            "query($p: String!) { shareLinks(project: $p) "
            "{ id view title createdBy expiresAt lastViewedAt state } }",
            {"p": project},
        )
    except HubError as exc:
        _fail(str(exc))
        raise
    if as_json:
        print_json(found["shareLinks"])
        return
    for link in found["shareLinks"]:
        seen = (link["lastViewedAt"] or "never")[:16].replace("T", " ")
        typer.echo(
            f"{link['id']}  {link['state']:<8} {link['view'].lower():<16} "
            f"by {link['createdBy']:<14} expires {link['expiresAt'][:10]}  "
            f"last viewed {seen}  {link['title']}"
        )
    if not found["shareLinks"]:
        typer.echo(f"Nothing from {project} is shared.")


@share_app.command("revoke")
def share_revoke(link_id: str) -> None:
    """Revoke a share link (its maker, or a maintainer): its embeds stop showing data at once."""
    _call(
        "mutation($i: ID!) { revokeShareLink(id: $i) { __typename ... on ShareLink { id }"
        " ... on Error { message } } }",
        {"i": link_id},
        "revokeShareLink",
    )
    typer.echo(f"Revoked {link_id}.")


def register(app: typer.Typer) -> None:
    app.add_typer(share_app, name="share")
    app.add_typer(import_app, name="import")
    app.add_typer(export_app, name="export")
    app.add_typer(digest_app, name="digest")
    app.add_typer(notebook_app, name="notebook")
    app.add_typer(job_app, name="job")
