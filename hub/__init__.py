"""Salon: the collaboration hub for machine-learning teams.

As a library this package is the notebook client::

    import hub
    run = hub.init(project="vision", experiment="resnet", config={"lr": 0.01})
    run.log({"loss": 0.3}, step=10)
    run.finish()

    client = hub.Client()          # SALON_URL and SALON_TOKEN from the environment
    client.runs("vision", filter="metrics.val_acc > 0.8")

The server lives in the subpackages (``hub.store``, ``hub.services``, ``hub.api``, ``hub.http``);
importing ``hub`` does not load them.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

if TYPE_CHECKING:
    from hub.client import Client, HubError, HubWarning, Run, flush, init


def __getattr__(name: str) -> Any:
    if name in ("Client", "Run", "init", "flush", "HubError", "HubWarning"):
        from hub import client

        return getattr(client, name)
    raise AttributeError(f"module 'hub' has no attribute {name!r}")


__all__ = ["Client", "HubError", "HubWarning", "Run", "__version__", "flush", "init"]
