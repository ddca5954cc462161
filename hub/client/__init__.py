"""The Python client: ``hub.init`` to log runs, ``hub.Client`` to query from notebooks."""

from hub.client.client import Client
from hub.client.errors import HubError, HubWarning
from hub.client.run import Run, init
from hub.client.sender import flush

__all__ = ["Client", "HubError", "HubWarning", "Run", "flush", "init"]
