"""What every command shares: settings, the hub client, failing with one line, JSON output."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer

from hub.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from hub.client.client import Client
    from hub.store import Store

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the hub's answer as JSON, for scripts.")
]


PortOption = Annotated[
    int | None, typer.Option("--port", help="Port of the hub (default: SALON_PORT or 8000).")
]


def print_json(value: Any) -> None:
    """What a list or show command found, as JSON on stdout (one document)."""
    import json

    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def fail(message: str, code: int = 1) -> NoReturn:
    """Stop the command with one red line on stderr and ``code`` (1: refused, 2: misused)."""
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def read_settings(port: int | None = None) -> Settings:
    """The settings, with ``--port`` over ``SALON_PORT``; a bad value stops the command (2)."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        typer.secho(str(exc), fg=typer.colors.RED, err=True)
        raise typer.Exit(2) from None
    if port is None:
        return settings
    url = settings.url
    if url == f"http://{settings.host}:{settings.port}":  # derived, so it follows the port
        url = f"http://{settings.host}:{port}"
    return settings.replace(port=port, url=url)


def open_store(settings: Settings) -> Store:
    """The store in ``SALON_DATA_DIR``, for the commands that run the hub on this machine."""
    from hub.errors import StoreUnavailable
    from hub.store import store_for

    try:
        return store_for(settings)
    except StoreUnavailable as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def configure_logging(settings: Settings) -> None:
    from hub import logs

    logs.configure(settings.log_level, settings.log_format)


def token_of(settings: Settings) -> str:
    """``SALON_TOKEN``, else the admin token ``salon up`` keeps in the data folder."""
    token = settings.token.get_secret_value()
    kept = settings.data_dir / "admin-token"
    if not token and kept.is_file():
        token = kept.read_text().strip()
    if not token:
        fail("No token: set SALON_TOKEN, or run this where `salon up` keeps its admin token.")
    return token


def connect() -> Client:
    """The notebook's client, signed in as ``token_of`` says: every command's way to the hub."""
    from hub.client.client import Client

    settings = read_settings()
    return Client(settings.url, token_of(settings))


def call(document: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """Run a mutation or query and return ``data[field]``; typed errors become messages."""
    from hub.client.errors import HubError

    try:
        result: dict[str, Any] = connect().query(document, variables)[field]
    except HubError as exc:
        fail(str(exc))
        raise
    if result and result.get("message") and result.get("__typename", "").endswith("Error"):
        fail(result["message"])
    return result
