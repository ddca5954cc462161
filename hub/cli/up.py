"""``salon up``: the hub, the dashboard and (unless told otherwise) a local Ray head, with demo
data the first time."""

from __future__ import annotations

import asyncio
import atexit
import os
import signal
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import (
    PortOption,
    configure_logging,
    open_store,
    read_settings,
)
from hub.cli.server import run_hub, seed_demo
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

# Streamlit with Salon's frame policy in front (dashboard/serve.py serves dashboard/app.py).
DASHBOARD_ENTRY = Path(__file__).resolve().parents[2] / "dashboard" / "serve.py"


def streamlit_command(entry: Path, host: str, port: int) -> list[str]:
    """How the dashboard is served (by ``salon up``, and so by the tests and the bench):
    headless, without usage stats or Streamlit's own menu entries (Deploy), and without
    watching its source files (a served dashboard's code does not change under it, and
    Streamlit's watcher walked every loaded module after each script run: about a quarter of
    the dashboard's CPU while the Compare page was opened)."""
    return [
        sys.executable,
        "-m",
        "streamlit",
        "run",
        str(entry),
        "--server.address",
        host,
        "--server.port",
        str(port),
        "--server.headless",
        "true",
        "--server.fileWatcherType",
        "none",
        "--browser.gatherUsageStats",
        "false",
        "--client.toolbarMode",
        "minimal",
    ]


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
    from hub import extras
    from hub.cli import local_ray

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
    atexit.register(_stop_local_ray, head)  # at exit, however it comes, even before serving
    return head, settings.replace(ray_address=head.dashboard, ray_token=head.token)


def _demo_jobs(store: Store, settings: Settings) -> None:
    """Two demo people's training jobs, so the demo's cluster is in use."""
    from hub.services.cluster import cluster
    from hub.services.identity.tokens import principal_for_user

    async def submit() -> None:
        from hub.services.cluster import bookings
        from hub.services.policy.principal import SYSTEM

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
    from hub.cli import local_ray

    typer.echo("Stopping the local Ray cluster…")
    local_ray.remove(head)


def _exit_on_sigterm(signum: int, frame: Any) -> None:
    raise SystemExit(128 + signum)


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
    from hub.services.identity.tokens import ensure_admin_token_sync, local_admin_token_sync
    from hub.services.policy.keep import keep_for

    settings = read_settings(port)
    configure_logging(settings)
    # systemd, Docker and kill stop a service with SIGTERM: end as on Ctrl+C, through the
    # finally below that stops the dashboard and the exit handler that stops the local Ray
    # cluster. (uvicorn handles the signal while it serves, then raises it again, which lands
    # here.)
    signal.signal(signal.SIGTERM, _exit_on_sigterm)
    store = open_store(settings)
    starting_ray = None
    if not settings.ray_address and settings.ray_start:
        # The head takes 10-15 s to start: it starts while the demo data loads. (An exit
        # meanwhile waits for the start to end, then stops the head: see _start_ray.)
        starting_ray = ThreadPoolExecutor(1, "salon-ray").submit(_start_ray, settings)
    if demo_data:
        empty = not asyncio.run(store.projects.all())
        if empty:
            typer.echo("Loading demo data (a team of eight, three projects, 46 runs, datasets)…")
        seed_demo(store, settings, runs=empty)
    kept = settings.data_dir / "demo-password"
    demo_password = kept.read_text().strip() if kept.is_file() else None
    if settings.admin_token:
        token = ensure_admin_token_sync(
            store, "bootstrap (SALON_ADMIN_TOKEN)", settings.admin_token.get_secret_value()
        )
    else:
        token = local_admin_token_sync(store, settings.data_dir / "admin-token")
    hub_url = settings.url
    secrets_file = write_dashboard_secrets(
        settings, ensure_dashboard_client(store, settings), keep_for(store, settings.data_dir)
    )
    local_cluster = None
    if starting_ray is not None:
        local_cluster, settings = starting_ray.result()

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
                streamlit_command(DASHBOARD_ENTRY, settings.host, settings.dashboard_port),
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
                f"{local_cluster.gpus} logical GPUs, its logs in {local_cluster.temp_dir}; "
                "stops with Salon)"
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
        run_hub(settings, store)
    finally:
        if dashboard_process is not None:
            dashboard_process.send_signal(signal.SIGTERM)
            try:
                dashboard_process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                dashboard_process.kill()
