"""``salon digest|notebook|job|share``: the team's shared work, through the hub."""

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
)

if TYPE_CHECKING:
    pass

digest_app = typer.Typer(help="Digests of what people missed, by e-mail or to a folder.")


@digest_app.command("send")
def digest_send(
    force: Annotated[bool, typer.Option(help="Everyone's digest, due or not.")] = False,
    user: Annotated[str | None, typer.Option(help="Only this person's.")] = None,
) -> None:
    """Send the digests that are due now (by SMTP when SALON_SMTP_URL is set, else to files)."""
    result = call(
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
        made = connect().attach_notebook(project, path, run_id=run, slug=slug, message=message)
    except HubError as exc:
        fail(str(exc))
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
        made = connect().submit_job(
            shlex.join(command), project=project, gpus=gpus, cpus=cpus, run_id=run
        )
    except HubError as exc:
        fail(str(exc))
        raise
    typer.echo(f"Submitted {made['id']} ({made['gpus']:g} GPUs) for {made['project']}.")


@job_app.command("stop")
def job_stop(job_id: str) -> None:
    """Stop a job (yours, or any in a project you maintain)."""
    from hub.client.errors import HubError

    try:
        stopped = connect().stop_job(job_id)
    except HubError as exc:
        fail(str(exc))
        raise
    typer.echo(f"Asked the cluster to stop {job_id}." if stopped else f"{job_id} had ended.")


@job_app.command("logs")
def job_logs(job_id: str) -> None:
    """What a job printed."""
    result = call(
        "query($i: ID!) { jobLogs(id: $i) { __typename ... on JobLogs { text } "
        "... on Error { message } } }",
        {"i": job_id},
        "jobLogs",
    )
    typer.echo(result["text"], nl=False)


share_app = typer.Typer(help="Share links: list a project's, revoke one.")


@share_app.command("list")
def share_list(project: str, as_json: JsonOption = False) -> None:
    """A project's share links, newest first: what they show, who made them, their state."""
    from hub.client.errors import HubError

    try:
        found = connect().query(
            "query($p: String!) { shareLinks(project: $p) "
            "{ id view title createdBy expiresAt lastViewedAt state } }",
            {"p": project},
        )
    except HubError as exc:
        fail(str(exc))
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
    call(
        "mutation($i: ID!) { revokeShareLink(id: $i) { __typename ... on ShareLink { id }"
        " ... on Error { message } } }",
        {"i": link_id},
        "revokeShareLink",
    )
    typer.echo(f"Revoked {link_id}.")
