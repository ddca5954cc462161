"""The ``salon`` command line: one module per group of commands, composed here.

- ``server``: ``serve``, ``demo``, ``settings``, ``version``, on this machine's store;
- ``up``: the hub, the dashboard and a local Ray head together, for trying Salon;
- ``database``: ``db status|upgrade``, ``backup``, ``restore``;
- ``accounts``, ``audit``, ``datasets``, ``work``, ``transfer``, ``lifecycle``: through the
  running hub's API, as the person whose token they send (``common.connect``), so every
  change is checked and audited like any other.

Commands import what they need inside their functions, so that ``salon --help`` and the light
client's commands start without loading the server.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from hub.cli import (
    accounts,
    audit,
    database,
    datasets,
    lifecycle,
    server,
    transfer,
    up,
    work,
)

app = typer.Typer(
    help="Salon: the collaboration hub for machine-learning teams.",
    no_args_is_help=True,
)


def _version_option(value: bool) -> None:
    if value:
        server.version()
        raise typer.Exit()


@app.callback()
def _options(
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version_option, is_eager=True, help="Print Salon's version."
        ),
    ] = False,
) -> None:
    """Salon: the collaboration hub for machine-learning teams."""


app.command()(server.version)
app.command("settings")(server.show_settings)
app.command()(server.demo)
app.command()(server.serve)
app.command()(up.up)
app.command("backup")(database.backup)
app.command("restore")(database.restore)
app.command("grant")(accounts.grant)
app.command("revoke")(accounts.revoke)
app.add_typer(accounts.users_app, name="user")
app.add_typer(accounts.groups_app, name="group")
app.add_typer(accounts.tokens_app, name="token")
app.add_typer(audit.audit_app, name="audit")
app.add_typer(audit.keys_app, name="keys")
app.add_typer(datasets.datasets_app, name="dataset")
app.add_typer(work.share_app, name="share")
app.add_typer(transfer.import_app, name="import")
app.add_typer(transfer.export_app, name="export")
app.add_typer(work.digest_app, name="digest")
app.add_typer(work.notebook_app, name="notebook")
app.add_typer(work.job_app, name="job")
app.add_typer(database.db_app, name="db")
app.add_typer(lifecycle.trash_app, name="trash")
app.add_typer(lifecycle.hold_app, name="hold")
app.add_typer(lifecycle.privacy_app, name="privacy")
app.add_typer(lifecycle.retention_app, name="retention")
app.command("gc")(lifecycle.gc)


def main() -> None:
    """The ``salon`` command: a hub that is down or a refused token is one line and status 1,
    never a traceback."""
    from hub import extras
    from hub.client.errors import HubError

    try:
        app()
    except (HubError, extras.MissingExtra) as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        sys.exit(1)
    except ModuleNotFoundError as exc:  # a part of Salon that this install left out
        found = extras.missing(exc)
        if found is None:
            raise
        typer.secho(str(found), fg=typer.colors.RED, err=True)
        sys.exit(1)
