"""The wire rules of MLflow's REST API: how requests carry their fields, how errors look, how
non-finite numbers and times are written.

GET requests carry their fields in the query string (a list as repeated keys); the others send
JSON. Errors are ``{"error_code", "message"}`` with the status MLflow gives each code. The
client retries 408, 429 and 5xx, so no error a caller causes may use those.
"""

from __future__ import annotations

import functools
import json
import logging
import posixpath
import re
import secrets
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import Response

from hub.errors import (
    AlreadyExists,
    Conflict,
    Forbidden,
    InvalidInput,
    NotFound,
    RateLimited,
    SalonError,
    Unauthenticated,
)
from hub.http.body import read_limited
from hub.http.mlflow import messages
from hub.priority import first
from hub.services.policy.principal import Principal
from hub.settings import Settings

if TYPE_CHECKING:
    from hub.store import Store

log = logging.getLogger("salon.mlflow")
MAX_JSON_BODY = 32 * 1024 * 1024  # a full log-batch of long values stays far below this
MAX_RESULTS = 50_000  # MLflow's largest search page

Fields = dict[str, Any]
Handler = Callable[[Request, Fields], Awaitable[Fields | Response]]


class NotSupported(SalonError):
    """An MLflow call Salon does not serve; the client reads ENDPOINT_NOT_FOUND."""

    status = 404
    code = "ENDPOINT_NOT_FOUND"


class BadRequest(SalonError):
    """What MLflow's server answers BAD_REQUEST for (e.g. a rename onto a name in use)."""

    status = 400
    code = "BAD_REQUEST"


def _code(exc: SalonError) -> tuple[int, str]:
    if isinstance(exc, NotSupported):
        return 404, "ENDPOINT_NOT_FOUND"
    if isinstance(exc, RateLimited):
        return 429, "REQUEST_LIMIT_EXCEEDED"
    if isinstance(exc, Unauthenticated):
        return 401, "UNAUTHENTICATED"
    if isinstance(exc, Forbidden):
        return 403, "PERMISSION_DENIED"
    if isinstance(exc, NotFound):
        return 404, "RESOURCE_DOES_NOT_EXIST"
    if isinstance(exc, AlreadyExists):
        return 400, "RESOURCE_ALREADY_EXISTS"
    if isinstance(exc, InvalidInput | Conflict):
        return 400, "INVALID_PARAMETER_VALUE"
    return 400, "BAD_REQUEST"


def error(exc: SalonError) -> Response:
    status, code = _code(exc)
    headers = {"Retry-After": str(exc.retry_after)} if isinstance(exc, RateLimited) else None
    return Response(
        json.dumps({"error_code": code, "message": exc.message}),
        status_code=status,
        media_type="application/json",
        headers=headers,
    )


def respond(fields: Fields) -> Response:
    return Response(
        json.dumps(fields, separators=(",", ":"), allow_nan=False), media_type="application/json"
    )


async def fields_of(request: Request) -> Fields:
    """The request's fields: the query string of a GET, the JSON body otherwise."""
    if request.method == "GET":
        query = request.query_params
        return {
            key: (values if len(values := query.getlist(key)) > 1 else values[0]) for key in query
        }
    body = await read_limited(request, MAX_JSON_BODY)
    if not body.strip():
        return {}
    try:
        fields = json.loads(body)
    except (ValueError, UnicodeDecodeError):
        raise InvalidInput("The request body is not JSON.") from None
    if not isinstance(fields, dict):
        raise InvalidInput("The request body must be a JSON object.")
    return fields


def endpoint(
    handler: Handler, raw: bool = False, change: bool = False
) -> Callable[[Request], Awaitable[Response]]:
    """A route from a handler of (request, fields): errors come out in MLflow's shape. A
    ``raw`` handler reads the body itself (uploads); its fields are the query string's. A
    ``change`` goes ahead of reads (``hub.priority``)."""

    @functools.wraps(handler)
    async def route(request: Request) -> Response:
        fields: Fields = {}
        try:
            fields = dict(request.query_params) if raw else await fields_of(request)
            work = handler(request, fields)
            result = await (first(work) if change else work)
        except SalonError as exc:
            return error(messages.worded(exc, request.url.path, fields))
        except Exception:
            error_id = secrets.token_hex(4)
            log.exception(
                "unexpected error %s on %s %s", error_id, request.method, request.url.path
            )
            return Response(
                json.dumps(
                    {
                        "error_code": "INTERNAL_ERROR",
                        "message": f"Unexpected error (id {error_id}); see the hub's log.",
                    }
                ),
                status_code=500,
                media_type="application/json",
            )
        return result if isinstance(result, Response) else respond(result)

    return route


def parts(request: Request) -> tuple[Store, Settings, Principal]:
    """The hub's store and settings, and the caller."""
    hub = request.app.state.hub
    return hub.store, hub.settings, request.state.principal


def offset_of(fields: Fields) -> int:
    """Where a page starts: MLflow's ``page_token`` as this hub gave it out."""
    token = fields.get("page_token")
    if token in (None, ""):
        return 0
    if not isinstance(token, str) or not token.isdigit():
        raise InvalidInput("The page token is not one this hub gave out.", field="page_token")
    return int(token)


# Field readers: each names the field and what it should be when the value is wrong. ---------


SHOWN_AT_MOST = 300  # characters of a wrong value an error message repeats


def invalid(name: str, value: Any, should: str) -> InvalidInput:
    """A value of the wrong kind, in MLflow's words (clients and scripts match on them), then
    what it should be."""
    shown = json.dumps(value, separators=(",", ":"), default=str)
    if len(shown) > SHOWN_AT_MOST:
        shown = shown[:SHOWN_AT_MOST] + "…"
    return InvalidInput(
        f"Invalid value {shown} for parameter '{name}' supplied: it should be {should}.",
        field=name,
    )


def run_id_of(fields: Fields) -> str:
    """The run a call is about: ``run_id`` (``run_uuid`` from older clients)."""
    value = fields.get("run_id") or fields.get("run_uuid")
    if value in (None, ""):
        raise InvalidInput("Missing value for required parameter 'run_id'.", field="run_id")
    if not isinstance(value, str):
        raise invalid("run_id", value, "a run id")
    return value


def text(fields: Fields, name: str, default: str | None = None) -> str:
    value = fields.get(name, default)
    if value is None:
        raise InvalidInput(f"Missing value for required parameter '{name}'.", field=name)
    if not isinstance(value, str):
        raise invalid(name, value, "a string")
    return value


def optional_text(fields: Fields, name: str) -> str | None:
    return None if fields.get(name) in (None, "") else text(fields, name)


def whole(fields: Fields, name: str, default: int | None = None) -> int:
    value = fields.get(name, default)
    if value is None:
        raise InvalidInput(f"Missing value for required parameter '{name}'.", field=name)
    try:
        if isinstance(value, bool) or (isinstance(value, float) and not value.is_integer()):
            raise ValueError
        number = int(value)
    except (TypeError, ValueError):
        raise invalid(name, value, "an integer") from None
    if not -(2**63) <= number < 2**63:
        raise invalid(name, value, "an integer of 64 bits")
    return number


def page_size(fields: Fields, default: int, most: int) -> int:
    """``max_results``: from 1 to ``most``."""
    limit = whole(fields, "max_results", default)
    if not 1 <= limit <= most:
        raise invalid("max_results", limit, f"from 1 to {most:,}")
    return limit


def number(value: Any, name: str) -> float:
    """A double as MLflow writes it: a number, or "NaN", "Infinity", "-Infinity"."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        return float(value)
    if isinstance(value, str) and value in ("NaN", "Infinity", "-Infinity"):
        return float(value.replace("Infinity", "inf"))
    raise invalid(name, value, "a number")


def pairs(fields: Fields, name: str) -> list[tuple[str, str]]:
    """``[{"key", "value"}, …]`` as (key, value) pairs; values become text."""
    items = fields.get(name) or []
    if not isinstance(items, list):
        raise invalid(name, items, "a list of key-value pairs")
    found = []
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("key"), str):
            raise InvalidInput(f"Each of '{name}' needs a 'key' string.", field=name)
        value = item.get("value", "")
        found.append((item["key"], value if isinstance(value, str) else json.dumps(value)))
    return found


def key_value(fields: Fields, strict: bool = False) -> dict[str, str]:
    """A single param or tag: its key, and its value as text (MLflow's client sends numbers
    for params; a tag's value must be ``strict``ly text, as MLflow's server checks)."""
    value = fields.get("value")
    key = text(fields, "key")
    if strict and value is not None and not isinstance(value, str):
        raise invalid("value", value, "a string")
    check_names([key])
    return {key: value if isinstance(value, str) else "" if value is None else str(value)}


def listed(fields: Fields, name: str) -> list[str]:
    value = fields.get(name) or []
    values = value if isinstance(value, list) else [value]
    if not all(isinstance(v, str) for v in values):
        raise invalid(name, value, "a list of strings")
    return values


def millis(moment: datetime | None) -> int | None:
    return None if moment is None else int(moment.timestamp() * 1000)


def moment(ms: int) -> datetime:
    try:
        return datetime.fromtimestamp(ms / 1000, UTC)
    except (OverflowError, OSError, ValueError):
        raise InvalidInput(f"{ms} is not a time in milliseconds since 1970.") from None


# MLflow's rule for metric, param and tag names (``mlflow/utils/validation.py``): names may be
# stored as files, so they keep to a safe alphabet and must not resolve to another path.
_NAME = re.compile(r"[/\w.\- :]*")


def check_names(names: Iterable[str], field: str = "key") -> None:
    """InvalidInput (INVALID_PARAMETER_VALUE) for the first name MLflow would refuse."""
    for name in dict.fromkeys(names):
        normal = posixpath.normpath(name)
        if not _NAME.fullmatch(name):
            reason = (
                "Names may only contain alphanumerics, underscores (_), dashes (-), periods "
                "(.), spaces ( ), colon(:) and slashes (/)."
            )
        elif normal != name or normal == "." or normal.startswith(("..", "/")):
            reason = (
                "Names may be treated as files in certain cases, and must not resolve to other "
                f"names when treated as such. This name would resolve to {normal!r}"
            )
        else:
            continue
        raise InvalidInput(
            f"Invalid value {name!r} for parameter '{field}' supplied: {reason}", field=field
        )
