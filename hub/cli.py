"""The ``salon`` command line."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub import __version__
from hub.settings import Settings, SettingsError, load_settings

if TYPE_CHECKING:
    from hub.store import Store

app = typer.Typer(
    help="Salon: the collaboration hub for machine-learning teams.",
    no_args_is_help=True,
)
# Streamlit with Salon's frame policy in front (dashboard/serve.py serves dashboard/app.py).
DASHBOARD_ENTRY = Path(__file__).resolve().parents[1] / "dashboard" / "serve.py"

PortOption = Annotated[
    int | None, typer.Option("--port", help="Port of the hub (default: SALON_PORT or 8000).")
]


def _settings(port: int | None = None) -> Settings:
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


def _open_store(settings: Settings) -> Store:
    from hub.errors import StoreUnavailable
    from hub.store import store_for

    try:
        return store_for(settings)
    except StoreUnavailable as exc:
        typer.secho(exc.message, fg=typer.colors.RED, err=True)
        raise typer.Exit(1) from None


def _configure_logging(settings: Settings) -> None:
    from hub import logs

    logs.configure(settings.log_level, settings.log_format)


@app.command()
def version() -> None:
    """Print Salon's version."""
    typer.echo(f"salon {__version__}")


@app.command("settings")
def show_settings(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the settings as one JSON object, for scripts.")
    ] = False,
) -> None:
    """Print every setting's effective value (environment over .env over the default); secrets
    show only whether they are set."""
    from hub.admin_cli import print_json
    from hub.settings import env_name, is_secret

    settings = _settings()
    shown: dict[str, str] = {}
    for field in type(settings).model_fields:
        value = getattr(settings, field)
        if is_secret(field):
            value = "(set, not shown)" if value.get_secret_value() else ""
        shown[env_name(field)] = str(value)
    if as_json:
        print_json(shown)
        return
    for name, value in shown.items():
        typer.echo(f"{name}={value}")


def _version_option(value: bool) -> None:
    if value:
        version()
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


@app.command()
def demo() -> None:
    """Load the demo team's projects, runs and curves into the store (hub must be stopped)."""
    settings = _settings()
    store = _open_store(settings)
    try:
        count, password = _load_demo(store, settings)
    finally:
        store.close()
    typer.echo(f"Loaded {count} demo runs into {settings.database_path}.")
    typer.echo(f"The demo team signs in with the password {password}")


def _load_demo(store: Store, settings: Settings, *, runs: bool = True) -> tuple[int, str]:
    """The demo team's work, completing what a data directory lacks: the runs (when ``runs``),
    then, in a demo store, the people, the datasets and the discussions, which earlier versions
    of Salon did not have. Returns the runs made and the people's password
    (``<data dir>/demo-password``)."""
    from hub.auth.clients import private_secret
    from hub.demo import load_demo, load_people
    from hub.demo_data import load_datasets
    from hub.demo_discussions import load_discussions
    from hub.demo_models import load_models
    from hub.services.principal import SYSTEM
    from hub.store.activity import FeedQuery

    password = private_secret(settings.data_dir / "demo-password", size=12)
    count = asyncio.run(load_demo(store, SYSTEM)) if runs else 0
    vision = asyncio.run(store.projects.by_name("vision-defects"))
    if vision is None:  # not a demo store: leave it alone
        return count, password
    if store.users.by_name_sync("ana.silva") is None:
        asyncio.run(load_people(store, SYSTEM, password))
    if not asyncio.run(store.datasets.of_projects([vision.id])):
        asyncio.run(load_datasets(store, settings, SYSTEM))
    talked = FeedQuery([vision.id], verbs=["comment."], limit=1)
    if not asyncio.run(store.activity.feed(talked)):
        asyncio.run(load_discussions(store))
    if not asyncio.run(store.models.of_project(vision.id)):
        asyncio.run(load_models(store, settings))
    return count, password


def _serve(settings: Settings, store: Store) -> None:
    import uvicorn

    from hub.app import create_app

    application = create_app(settings, store)
    config = uvicorn.Config(
        application,
        host=settings.host,
        port=settings.port,
        log_level=settings.log_level,
        log_config=None,  # uvicorn's lines go through the hub's own (hub.logs)
        access_log=False,  # hub.logs writes one line a request, with its route and id
        proxy_headers=False,  # SALON_TRUSTED_PROXIES decides (hub.app.proxy_headers)
    )
    server = uvicorn.Server(config)
    try:
        server.run()
    finally:
        store.close()


@app.command()
def serve(port: PortOption = None) -> None:
    """Run the hub (GraphQL at /graphql) on SALON_DATA_DIR."""
    from hub.services.tokens import ensure_admin_token_sync

    settings = _settings(port)
    _configure_logging(settings)
    store = _open_store(settings)
    if settings.admin_token:
        ensure_admin_token_sync(
            store, "bootstrap (SALON_ADMIN_TOKEN)", settings.admin_token.get_secret_value()
        )
    _serve(settings, store)


def _wait_for(url: str, seconds: float) -> bool:
    import httpx

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=1.0).status_code == 200:
                return True
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    return False


def _start_ray(settings: Settings) -> tuple[Any, Settings]:
    """A local Ray head for the demo (or None when Ray cannot start here, said once)."""
    from hub import extras, local_ray

    typer.echo(f"Starting a local Ray cluster ({settings.ray_gpus} logical GPUs)…")
    try:
        extras.needs("ray", "psutil")
    except extras.MissingExtra as exc:
        message = f"No local Ray cluster, so the Resources page will be empty. {exc}"
        typer.secho(message, fg=typer.colors.YELLOW, err=True)
        return None, settings
    try:
        head = local_ray.start(settings.ray_gpus)
    except (RuntimeError, OSError) as exc:
        typer.secho(
            f"Ray did not start, so the Resources page will be empty: {exc}",
            fg=typer.colors.YELLOW,
            err=True,
        )
        return None, settings
    return head, settings.replace(ray_address=head.dashboard, ray_token=head.token)


def _demo_jobs(store: Store, settings: Settings) -> None:
    """Two demo people's training jobs, so the demo's cluster is in use."""
    from hub.services import cluster
    from hub.services.tokens import principal_for_user

    async def submit() -> None:
        from hub.services import bookings
        from hub.services.principal import SYSTEM

        for project, quota in (("vision-defects", 3), ("churn-forecast", 2), ("support-llm", 2)):
            await bookings.set_quota(store, SYSTEM, "project", project, quota)
        for name, project, gpus, minutes in (
            ("ana.silva", "vision-defects", 2, 20),
            ("ben.okafor", "churn-forecast", 1, 10),
        ):
            user = await store.users.by_name(name)
            if user is None:
                continue
            person = await principal_for_user(store, user, auth_method="system", auth_id=None)
            sleep = f"import time; print('training'); time.sleep({minutes * 60})"
            command = f'{sys.executable} -c "{sleep}"'
            try:
                await cluster.submit(store, settings, person, project, command, gpus=gpus)
            except Exception as exc:  # the demo works without its jobs; say which and why
                typer.secho(
                    f"The demo job of {name} in {project} was not submitted: {exc}",
                    fg=typer.colors.YELLOW,
                    err=True,
                )

    asyncio.run(submit())


def _stop_local_ray(head: Any) -> None:
    from hub import local_ray

    typer.echo("Stopping the local Ray cluster…")
    local_ray.remove(head)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


@app.command()
def up(
    port: PortOption = None,
    dashboard: Annotated[bool, typer.Option(help="Also start the Streamlit dashboard.")] = True,
    demo_data: Annotated[
        bool, typer.Option("--demo/--no-demo", help="Load demo data into an empty store.")
    ] = True,
) -> None:
    """Start the hub and the dashboard on an embedded store, with demo data the first time."""
    from hub import extras

    extras.needs("duckdb", *(["streamlit"] if dashboard else []))
    from hub.auth.clients import ensure_dashboard_client, write_dashboard_secrets
    from hub.services.tokens import ensure_admin_token_sync, local_admin_token_sync

    settings = _settings(port)
    _configure_logging(settings)
    # systemd, Docker and kill stop a service with SIGTERM: end as on Ctrl+C, through the
    # finally below that stops the dashboard and the exit handler that stops the local Ray
    # cluster. (uvicorn handles the signal while it serves, then raises it again, which lands
    # here.)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    store = _open_store(settings)
    if demo_data:
        empty = not asyncio.run(store.projects.all())
        if empty:
            typer.echo("Loading demo data (a team of eight, three projects, 46 runs, datasets)…")
        _load_demo(store, settings, runs=empty)
    kept = settings.data_dir / "demo-password"
    demo_password = kept.read_text().strip() if kept.is_file() else None
    if settings.admin_token:
        token = ensure_admin_token_sync(
            store, "bootstrap (SALON_ADMIN_TOKEN)", settings.admin_token.get_secret_value()
        )
    else:
        token = local_admin_token_sync(store, settings.data_dir / "admin-token")
    hub_url = settings.url
    secrets_file = write_dashboard_secrets(settings, ensure_dashboard_client(store, settings))
    local_cluster = None
    if not settings.ray_address and settings.ray_start:
        local_cluster, settings = _start_ray(settings)
    if local_cluster is not None:  # at exit, however it comes, even before serving starts
        atexit.register(_stop_local_ray, local_cluster)

    dashboard_process: subprocess.Popen[bytes] | None = None

    def start_dashboard() -> None:
        nonlocal dashboard_process
        if not _wait_for(f"{hub_url}/healthz", 60):
            typer.secho("The hub did not become ready in 60 s.", fg=typer.colors.RED, err=True)
            return
        if dashboard:
            env = {
                **os.environ,
                "SALON_URL": hub_url,
                "SALON_DASHBOARD_URL": settings.dashboard_url,
                "SALON_EMBED_ORIGINS": settings.embed_origins,
                "SALON_EMBED_REFRESH_SECONDS": str(settings.embed_refresh_seconds),
                "STREAMLIT_SECRETS_FILES": str(secrets_file),
            }
            env.pop("SALON_TOKEN", None)  # people sign in; the dashboard acts as them
            dashboard_process = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "streamlit",
                    "run",
                    str(DASHBOARD_ENTRY),
                    "--server.address",
                    settings.host,
                    "--server.port",
                    str(settings.dashboard_port),
                    "--server.headless",
                    "true",
                    "--browser.gatherUsageStats",
                    "false",
                    "--client.toolbarMode",
                    "minimal",
                ],
                env=env,
            )
        lines = [
            "",
            "Salon is running.",
            f"  Hub:        {hub_url}   (GraphiQL: {hub_url}/graphql)",
        ]
        if dashboard:
            lines.append(f"  Dashboard:  {settings.dashboard_url}")
            if demo_password is not None:
                from hub.demo import who_is_who

                lines.append(
                    f"    Sign in as ana.silva (or ben.okafor, farah.haddad, hana.kim, …) with the "
                    f"demo password {demo_password}. Who is who:"
                )
                lines += [f"      {person}" for person in who_is_who()]
            lines.append(
                "    Admin account: admin; set its password with `salon user password admin`"
            )
        if local_cluster is not None:
            lines.append(
                f"  Ray:        {local_cluster.dashboard}   (a local head with "
                f"{local_cluster.gpus} logical GPUs; stops with Salon)"
            )
            if demo_password is not None:
                _demo_jobs(store, settings)
        elif settings.ray_address:
            lines.append(f"  Ray:        {settings.ray_address}")
        lines += [
            f"  Admin token (send as 'Authorization: Bearer …'):  {token}",
            f"    (kept in {settings.data_dir / 'admin-token'}, readable only by you)"
            if not settings.admin_token
            else "    (from SALON_ADMIN_TOKEN)",
            "  In a notebook:",
            f"    export SALON_URL={hub_url} SALON_TOKEN={token}",
            '    python -c "import hub; print(hub.Client().runs(limit=5))"',
            "  Stop with Ctrl+C.",
            "",
        ]
        typer.echo("\n".join(lines))

    threading.Thread(target=start_dashboard, daemon=True).start()
    try:
        _serve(settings, store)
    finally:
        if dashboard_process is not None:
            dashboard_process.send_signal(signal.SIGTERM)
            try:
                dashboard_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                dashboard_process.kill()


from hub.admin_cli import register  # noqa: E402  (after the commands defined above)

register(app)


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


if __name__ == "__main__":
    main()
