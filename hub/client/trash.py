"""The trash from Python: move a run, experiment, project, dataset or dataset version there,
list it, restore, purge."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from hub.client.errors import HubError, answer_of

if TYPE_CHECKING:
    from hub.client.client import Client

ENTRY_FIELDS = """id kind objectId projectId label trashedBy trashedAt purgeAfter
  holds { kind count }"""
MOVE = f"""mutation($kind: TrashKind!, $id: ID!) {{ moveToTrash(kind: $kind, id: $id) {{
  __typename ... on TrashEntry {{ {ENTRY_FIELDS} }} ... on Error {{ message }} }} }}"""
RESTORE = f"""mutation($id: ID!) {{ restoreFromTrash(entryId: $id) {{
  __typename ... on TrashEntry {{ {ENTRY_FIELDS} }} ... on Error {{ message }} }} }}"""
PURGE = f"""mutation($id: ID!) {{ purgeFromTrash(entryId: $id) {{
  __typename ... on Purge {{ entries {{ {ENTRY_FIELDS} }} objects {{ kind count }} points files
    fileBytes filesWaitForBackup }} ... on Error {{ message }} }} }}"""
LIST = f"""query($project: String) {{ trash(project: $project) {{ {ENTRY_FIELDS} }} }}"""
KINDS = (
    "project",
    "experiment",
    "run",
    "dataset",
    "dataset_version",
    "model",
    "model_version",
    "page",
    "task",
    "artifact",
    "logged_model",
)


class Trash:
    """``client.trash``: what was moved there can come back until it is purged."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def move(self, kind: str, object_id: str) -> dict[str, Any]:
        """Move the object (``kind``: run, experiment, project, dataset, dataset_version, model,
        model_version, page (a wiki page or notebook), task, logged_model, or artifact: one
        file of a run, its id ``"RUN_ID/path"``) and what it holds to the trash; returns the
        entry (its ``id`` restores it)."""
        if kind not in KINDS:
            raise HubError(f"{kind!r} cannot be moved to the trash; use one of {', '.join(KINDS)}.")
        variables = {"kind": kind.upper(), "id": object_id}
        return answer_of(self._client.query(MOVE, variables)["moveToTrash"], "TrashEntry")

    def entries(self, project: str | None = None) -> list[dict[str, Any]]:
        """What is in the trash of the projects you read (or of ``project``), newest first."""
        found: list[dict[str, Any]] = self._client.query(LIST, {"project": project})["trash"]
        return found

    def restore(self, entry_id: str) -> dict[str, Any]:
        return answer_of(
            self._client.query(RESTORE, {"id": entry_id})["restoreFromTrash"], "TrashEntry"
        )

    def purge(self, entry_id: str) -> dict[str, Any]:
        """Remove the entry for good (maintainers); returns what went."""
        return answer_of(self._client.query(PURGE, {"id": entry_id})["purgeFromTrash"], "Purge")
