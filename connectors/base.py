"""What every connector implements, and the one error it raises.

A connector reads (and sometimes drives) an outside system — an MLflow store, a Ray cluster, an
object store — and hands Salon plain Python values. Connectors import nothing from ``hub`` and
import their vendor package lazily, so Salon installs without them.
"""

from __future__ import annotations

import abc
import importlib
from types import ModuleType


class ConnectorError(Exception):
    """The outside system failed or could not be reached; ``message`` says which and why."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` or raise ConnectorError naming the extra that installs it."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise ConnectorError(
            f"This connector needs the '{module}' package: pip install 'salon[{extra}]'."
        ) from exc


class Connector(abc.ABC):
    """A connection to one outside system, identified by ``address``."""

    name: str = "connector"

    def __init__(self, address: str) -> None:
        self.address = address

    @abc.abstractmethod
    def check(self) -> None:
        """Raise :class:`ConnectorError` unless the system answers at ``address``."""

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections; the default holds none."""
