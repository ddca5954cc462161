"""How Salon's Python code speaks to a hub: the notebook client, the CLI and the dashboard all
send their requests through a :class:`Connection`.

A connection holds one pooled HTTP client for a hub and a token, and turns every way a request
can go wrong into a :class:`~hub.client.errors.HubError`: :class:`HubUnreachable` when no
answer came (``timed_out`` says whether the hub was too slow), otherwise the hub's own message
with the HTTP status, and for GraphQL the ``errors`` it returned.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator, Mapping
from typing import Any

import httpx

from hub import __version__
from hub.client.errors import HubError


class HubUnreachable(HubError):
    """No answer came from the hub: it is down, elsewhere, or took longer than the timeout."""

    def __init__(self, message: str, *, timed_out: bool) -> None:
        super().__init__(message)
        self.timed_out = timed_out


class Connection:
    """Requests to one hub, with one token (or none, for share links and sign-in)."""

    def __init__(self, url: str, token: str = "", *, timeout: float = 30.0) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        headers = {"User-Agent": f"salon-client/{__version__}"}
        if token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(base_url=self.url, headers=headers, timeout=timeout)

    def close(self) -> None:
        self._http.close()

    def send(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One request; an answer of 400 or more raises HubError with the hub's message (and
        the JSON body it came in as ``details``)."""
        response = self._request(method, path, **kwargs)
        if response.status_code >= 400:
            raise HubError(said(response), status=response.status_code, details=_json(response))
        return response

    @contextlib.contextmanager
    def stream(self, method: str, path: str, **kwargs: Any) -> Iterator[httpx.Response]:
        """A request whose answer is read as it arrives (downloads, exports); a refusal
        raises HubError before any of the body is handed over."""
        try:
            with self._http.stream(method, path, **kwargs) as response:
                if response.status_code >= 400:
                    response.read()
                    raise HubError(said(response), status=response.status_code)
                yield response
        except httpx.TimeoutException:
            raise HubUnreachable(
                f"The hub at {self.url} stopped answering for {self.timeout:.0f} s.",
                timed_out=True,
            ) from None
        except httpx.HTTPError as exc:
            raise HubUnreachable(
                f"Cannot reach the hub at {self.url}: {exc}", timed_out=False
            ) from None

    def graphql(
        self,
        document: str,
        variables: Mapping[str, Any] | None = None,
        operation: str | None = None,
    ) -> dict[str, Any]:
        """Run a GraphQL operation and return its ``data``; the ``errors`` it returned, if
        any, raise HubError (their messages, with the list as ``details``)."""
        payload: dict[str, Any] = {"query": document, "variables": dict(variables or {})}
        if operation:
            payload["operationName"] = operation
        response = self._request("POST", "/graphql", json=payload)
        body = _json(response)
        if isinstance(body, dict) and body.get("errors"):
            messages = "; ".join(str(error.get("message", "?")) for error in body["errors"])
            raise HubError(messages, status=response.status_code, details=body["errors"])
        if response.status_code >= 400:
            raise HubError(said(response), status=response.status_code)
        if not isinstance(body, dict):
            raise HubError(
                f"The hub at {self.url} answered with something that is not GraphQL.",
                status=response.status_code,
            )
        data: dict[str, Any] = body.get("data") or {}
        return data

    def _request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            return self._http.request(method, path, **kwargs)
        except httpx.TimeoutException:
            waited = kwargs.get("timeout") or self.timeout
            raise HubUnreachable(
                f"The hub at {self.url} took longer than {waited:.0f} s to answer.", timed_out=True
            ) from None
        except httpx.HTTPError as exc:
            raise HubUnreachable(
                f"Cannot reach the hub at {self.url}: {exc}", timed_out=False
            ) from None


@functools.lru_cache(maxsize=64)
def shared_connection(url: str, token: str, timeout: float = 30.0) -> Connection:
    """One connection per hub and token for the whole process, reusing its pooled sockets
    (opening an HTTP client costs milliseconds; the dashboard asks on every click)."""
    return Connection(url, token, timeout=timeout)


def said(response: httpx.Response) -> str:
    """What the hub said in a refusal: its ``message``, GraphQL's error messages, or the body."""
    body = _json(response)
    if isinstance(body, dict):
        if isinstance(body.get("message"), str):
            return str(body["message"])
        if isinstance(body.get("errors"), list):
            return "; ".join(str(error.get("message", "?")) for error in body["errors"])
    return response.text or f"HTTP {response.status_code}"


def _json(response: httpx.Response) -> Any:
    try:
        return response.json()
    except ValueError:
        return None
