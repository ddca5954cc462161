"""MLflow's artifact proxy (``/api/2.0/mlflow-artifacts/artifacts``) over Salon's artifacts.

Runs answer ``artifact_uri = mlflow-artifacts:/<experiment>/<run>/artifacts`` and logged models
``mlflow-artifacts:/<experiment>/models/<model>/artifacts``; the client puts, lists and gets
files under those paths, which name the run or model the file belongs to.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from hub.errors import InvalidInput, NotFound
from hub.http.body import save_limited
from hub.http.mlflow.protocol import Fields, parts
from hub.services.lifecycle import trash
from hub.services.tracking import artifacts


def _owner(path: str) -> tuple[str, str, str]:
    """(owner kind, owner id, path inside the owner's files) of an artifact proxy path."""
    segments = path.strip("/").split("/")
    if len(segments) >= 3 and segments[2] == "artifacts":
        return "run", segments[1], "/".join(segments[3:])
    if len(segments) >= 4 and segments[1] == "models" and segments[3] == "artifacts":
        return "logged_model", segments[2], "/".join(segments[4:])
    raise NotFound(
        f"{path!r} is not under a run's or a logged model's artifacts "
        "(<experiment>/<run>/artifacts/… or <experiment>/models/<model>/artifacts/…).",
        field="path",
    )


async def upload(request: Request, fields: Fields) -> Fields:
    store, settings, principal = parts(request)
    kind, owner_id, inside = _owner(request.path_params["path"])

    async def receive(target: Path) -> str:
        _, digest = await save_limited(request, target, settings.max_artifact_bytes)
        return digest

    await artifacts.upload(store, principal, kind, owner_id, inside, receive)
    return {}


async def delete(request: Request, fields: Fields) -> Fields:
    """A run's file or folder goes to Salon's trash (restorable until purged)."""
    store, _, principal = parts(request)
    kind, owner_id, inside = _owner(request.path_params["path"])
    if kind != "run":
        raise InvalidInput(
            "A logged model's files go with its experiment; only a run's files can be deleted "
            "one by one.",
            field="path",
        )
    await trash.move_files(store, principal, owner_id, inside)
    return {}


async def download(request: Request, fields: Fields) -> Response:
    store, _, principal = parts(request)
    kind, owner_id, inside = _owner(request.path_params["path"])
    artifact, content = await artifacts.open_file(store, principal, kind, owner_id, inside)
    name = quote(artifact.path.rsplit("/", 1)[-1])
    return StreamingResponse(  # a sync iterator: Starlette reads it in a worker thread
        content,
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(artifact.size),
            "Content-Disposition": f"attachment; filename*=utf-8''{name}",
        },
    )


async def listing(request: Request, fields: Fields) -> Fields:
    store, _, principal = parts(request)
    kind, owner_id, inside = _owner(str(fields.get("path") or ""))
    files, folders = await artifacts.listing(store, principal, kind, owner_id, inside)
    found: list[Fields] = [{"path": name, "is_dir": True} for name in folders]
    found += [
        {"path": f.path.rsplit("/", 1)[-1], "is_dir": False, "file_size": f.size} for f in files
    ]
    return {"files": sorted(found, key=lambda item: item["path"])}
