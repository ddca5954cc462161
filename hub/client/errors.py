"""Errors the client raises."""

from __future__ import annotations

from typing import Any


class HubError(Exception):
    """The hub refused a request or could not be reached. ``message`` says why."""

    def __init__(self, message: str, *, status: int | None = None, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.details = details


def answer_of(result: dict[str, Any], kind: str) -> dict[str, Any]:
    """A mutation's or query's result union: the ``kind`` asked for, or HubError with the
    hub's message."""
    if result["__typename"] != kind:
        raise HubError(result["message"])
    return result


class HubWarning(UserWarning):
    """Something worth knowing that is not an error: logging to the hub is degraded
    (unreachable, refusing a batch, buffer full), or a query returned only part of what
    matches."""
