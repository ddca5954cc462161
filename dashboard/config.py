"""The dashboard's settings: the same ``SALON_*`` settings (and ``.env``) the hub and the
notebook client read, declared once in :mod:`hub.settings`."""

from __future__ import annotations

import functools
import os

from hub.settings import ENV_PREFIX, Settings, load_settings


def settings() -> Settings:
    """The settings as the environment holds them now: read again only when a ``SALON_*``
    variable changed (reading costs a millisecond; pages ask on every request)."""
    return _read(
        tuple(sorted(item for item in os.environ.items() if item[0].startswith(ENV_PREFIX)))
    )


@functools.lru_cache(maxsize=8)
def _read(environment: tuple[tuple[str, str], ...]) -> Settings:
    return load_settings()
