"""What the side-by-side MLflow tests share: each side (a real ``mlflow server``, the hub) as
an MLflow client sees it, and comparing what the same calls give on both."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import httpx
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException


@dataclasses.dataclass(frozen=True)
class Side:
    name: str
    url: str
    token: str | None

    def rest(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        return httpx.request(method, self.url + path, headers=headers, timeout=30, **kwargs)

    @contextlib.contextmanager
    def client(self) -> Iterator[MlflowClient]:
        saved = {k: os.environ.get(k) for k in ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_URI")}
        os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] = "0"
        os.environ["MLFLOW_TRACKING_URI"] = self.url
        if self.token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        else:
            os.environ.pop("MLFLOW_TRACKING_TOKEN", None)
        try:
            yield MlflowClient(tracking_uri=self.url)
        finally:
            for key, value in saved.items():
                if value is None:
                    os.environ.pop(key, None)
                else:
                    os.environ[key] = value


def outcome(side: Side, work: Callable[[MlflowClient], Any]) -> Any:
    """What ``work`` returned, or the error code it was refused with."""
    with side.client() as client:
        try:
            return work(client)
        except MlflowException as exc:
            return ("refused", exc.error_code)


def same(sides: tuple[Side, Side], work: Callable[[MlflowClient], Any]) -> Any:
    """``work`` against both servers; what it gave, which must be equal."""
    expected, got = (outcome(side, work) for side in sides)
    assert got == expected, f"MLflow: {expected!r}\nSalon:  {got!r}"
    return expected


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"
