"""Whether the hub can do its work now: its database answers and its object store takes files
(``/readyz``, for load balancers and orchestrators; ``/healthz`` only says the process is up)."""

from __future__ import annotations

import asyncio
import dataclasses

from hub.store import Store
from hub.store.objects import RemoteError

CHECK_SECONDS = 5.0


@dataclasses.dataclass(frozen=True, slots=True)
class Check:
    name: str
    ok: bool
    detail: str  # "ok", or what failed


async def readiness(store: Store) -> list[Check]:
    """Each part the hub needs, checked now, within a few seconds each."""
    return [await _database(store), await asyncio.to_thread(_objects, store)]


async def _database(store: Store) -> Check:
    try:
        found = await asyncio.wait_for(store.ping(), CHECK_SECONDS)
    except TimeoutError:
        return Check("database", False, f"no answer in {CHECK_SECONDS:.0f} s")
    except Exception as exc:  # whatever stops it, the answer is "not ready" and why
        return Check("database", False, f"{type(exc).__name__}: {exc}"[:300])
    if found > store.schema_version:  # a hub of a newer Salon migrated the shared database
        return Check(
            "database",
            False,
            f"a newer Salon brought the database to migration {found:03d}; this hub knows "
            f"{store.schema_version:03d}: upgrade it",
        )
    return Check("database", True, "ok")


def _objects(store: Store) -> Check:
    """The object store takes a file (a full or read-only disk, or a bucket that refuses,
    does not)."""
    try:
        store.objects.probe()
    except OSError as exc:
        return Check("objects", False, f"{store.objects.describe()}: {exc.strerror or exc}")
    except RemoteError as exc:
        return Check("objects", False, str(exc))
    return Check("objects", True, "ok")
