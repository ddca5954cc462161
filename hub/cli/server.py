"""``salon serve``, ``salon demo``, ``salon settings`` and ``salon version``: the hub on this
machine."""

from __future__ import annotations

import asyncio
import gc
from typing import TYPE_CHECKING, Annotated

import typer

from hub import __version__
from hub.cli.common import (
    PortOption,
    configure_logging,
    open_store,
    print_json,
    read_settings,
)
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store


def version() -> None:
    """Print Salon's version."""
    typer.echo(f"salon {__version__}")


def show_settings(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print the settings as one JSON object, for scripts.")
    ] = False,
) -> None:
    """Print every setting's effective value (environment over .env over the default); secrets
    show only whether they are set."""
    from hub.settings import env_name, is_secret

    settings = read_settings()
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


def demo() -> None:
    """Load the demo team's projects, runs and curves into the store (hub must be stopped)."""
    settings = read_settings()
    store = open_store(settings)
    try:
        count, password = seed_demo(store, settings)
        where = store.describe()
    finally:
        store.close()
    typer.echo(f"Loaded {count} demo runs into {where}.")
    typer.echo(f"The demo team signs in with the password {password}")


def seed_demo(store: Store, settings: Settings, *, runs: bool = True) -> tuple[int, str]:
    """The demo team's work, completing what a data directory lacks: the runs (when ``runs``),
    then, in a demo store, the people, the datasets and the discussions, which earlier versions
    of Salon did not have. Returns the runs made and the people's password
    (``<data dir>/demo-password``)."""
    from hub.demo import load_demo, load_people
    from hub.demo.datasets import load_datasets
    from hub.demo.discussions import load_discussions
    from hub.demo.models import load_models
    from hub.services.policy.keep import FolderKeep, secret
    from hub.services.policy.principal import SYSTEM
    from hub.store.activity import FeedQuery

    password = secret(FolderKeep(settings.data_dir), "demo-password", size=12)
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


def collect_less() -> None:
    """Python's cyclic garbage collector, tuned for a server that allocates a great deal per
    request. With the defaults, under 50 readers and 5 writers it took 17 % of a core, all of
    it holding the GIL, and each full collection stopped every request for 100-180 ms
    (``bench/RESULTS.md``). What exists once the hub is built (modules, the GraphQL schema:
    about 140,000 objects) is frozen out of every later collection, and the youngest objects
    are looked at after 50,000 new ones instead of 700: most of a request's objects are freed
    by reference counting before a collection would have looked at them. Cycles are still
    collected; only less often."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 100)


def run_hub(settings: Settings, store: Store) -> None:
    import uvicorn

    from hub.app import create_app

    application = create_app(settings, store)
    collect_less()
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


def serve(port: PortOption = None) -> None:
    """Run the hub (GraphQL at /graphql) on SALON_DATA_DIR."""
    from hub.services.identity.tokens import ensure_admin_token_sync

    settings = read_settings(port)
    configure_logging(settings)
    store = open_store(settings)
    if settings.admin_token:
        ensure_admin_token_sync(
            store, "bootstrap (SALON_ADMIN_TOKEN)", settings.admin_token.get_secret_value()
        )
    run_hub(settings, store)
