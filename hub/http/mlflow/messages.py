"""MLflow's own words for the errors its clients and scripts match on.

MLflow's tests and many users' scripts look for MLflow's phrases (``Run with id=… not found``,
``Registered Model with name=… not found``). A Salon error of the same kind is answered with
MLflow's phrase first and Salon's explanation after it, so both are read.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hub.errors import AlreadyExists, NotFound, SalonError

Fields = Mapping[str, Any]


def _value(fields: Fields, *keys: str) -> str:
    return next((str(fields[k]) for k in keys if fields.get(k) not in (None, "")), "")


def _phrase(exc: SalonError, path: str, fields: Fields) -> str | None:
    name = _value(fields, "name")
    registry = "/registered-models/" in path or "/model-versions/" in path
    if isinstance(exc, NotFound):
        if exc.field == "runId":
            return f"Run with id={_value(fields, 'run_id', 'run_uuid')} not found"
        if registry and exc.field == "version":
            return f"Model Version (name={name}, version={_value(fields, 'version')}) not found"
        if registry and exc.field == "name":
            return f"Registered Model with name={name} not found"
    if isinstance(exc, AlreadyExists) and path.endswith("/registered-models/create"):
        return f"Registered Model (name={name}) already exists."
    return None


def worded(exc: SalonError, path: str, fields: Fields) -> SalonError:
    """``exc`` as MLflow would word it, where MLflow has a phrase for it."""
    phrase = _phrase(exc, path, fields)
    if phrase is None:
        return exc
    return type(exc)(f"{phrase} — {exc.message}", field=exc.field)
