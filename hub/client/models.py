"""The model registry from Python: register a run's model, read a model, review, move aliases."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from hub.client.errors import HubError, answer_of

if TYPE_CHECKING:
    from hub.client.client import Client

VERSION_FIELDS = """id model project number runId source aliases createdBy createdAt
  inputSchema { name type }
  checks { kind title status detail jobId }
  reviews { reviewer verdict body }
  gate { open reasons approvals needed }"""
REGISTER = f"""mutation($runId: ID!, $name: String!, $source: String!, $description: String!,
  $tags: [KeyValueInput!], $inputs: [InputInput!]) {{
  registerModelVersion(runId: $runId, name: $name, source: $source, description: $description,
    tags: $tags, inputSchema: $inputs) {{
    __typename ... on ModelVersion {{ {VERSION_FIELDS} }} ... on Error {{ message }} }} }}"""
VERSION = f"""query($id: ID!) {{ modelVersion(id: $id) {{
  __typename ... on ModelVersion {{ {VERSION_FIELDS} }} ... on Error {{ message }} }} }}"""
MODEL = f"""query($project: String!, $name: String!) {{ model(project: $project, name: $name) {{
  __typename ... on Model {{ id name description aliases {{ alias version movedBy movedAt }}
    versions {{ {VERSION_FIELDS} }} }} ... on Error {{ message }} }} }}"""
REVIEW = """mutation($id: ID!, $verdict: String!, $body: String!) {
  reviewModelVersion(id: $id, verdict: $verdict, body: $body) {
    __typename ... on ModelReview { id verdict } ... on Error { message } } }"""
CARD = """query($id: ID!) { modelCard(versionId: $id) {
  __typename ... on ModelCard { markdown } ... on Error { message } } }"""
MOVE = """mutation($project: String!, $model: String!, $alias: String!, $version: Int) {
  moveModelAlias(project: $project, model: $model, alias: $alias, version: $version) {
    __typename ... on AliasMove { alias version previous } ... on Error { message } } }"""


def input_schema(inputs: Any) -> list[dict[str, str]] | None:
    """``[{name, type}]`` from a mapping of names to types, a pyarrow schema or table, or a
    pandas or polars frame (the columns a model takes)."""
    if inputs is None:
        return None
    if isinstance(inputs, Mapping):
        return [{"name": str(k), "type": str(v)} for k, v in inputs.items()]
    schema = getattr(inputs, "schema", inputs)
    if isinstance(schema, pa.Schema):
        return [{"name": f.name, "type": str(f.type)} for f in schema]
    if hasattr(schema, "items"):  # a polars schema
        return [{"name": str(k), "type": str(v).lower()} for k, v in schema.items()]
    dtypes = getattr(inputs, "dtypes", None)  # pandas
    if dtypes is not None and hasattr(dtypes, "items"):
        return [{"name": str(k), "type": str(v)} for k, v in dtypes.items()]
    raise HubError("Give the inputs as {name: type}, a pyarrow schema or table, or a frame.")


class Models:
    """``client.models``: the registry."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def register(
        self,
        run_id: str,
        name: str,
        source: str,
        *,
        description: str = "",
        tags: Mapping[str, Any] | None = None,
        inputs: Any = None,
    ) -> dict[str, Any]:
        """Register the run's model (``source``: a path in the run or a URI) as the next
        version of ``name``; returns the version with its checks and gate."""
        variables = {
            "runId": run_id,
            "name": name,
            "source": source,
            "description": description,
            "tags": [{"key": k, "value": str(v)} for k, v in (tags or {}).items()],
            "inputs": input_schema(inputs),
        }
        return answer_of(
            self._client.query(REGISTER, variables)["registerModelVersion"], "ModelVersion"
        )

    def version(self, version_id: str) -> dict[str, Any]:
        return answer_of(
            self._client.query(VERSION, {"id": version_id})["modelVersion"], "ModelVersion"
        )

    def get(self, project: str, name: str) -> dict[str, Any]:
        return answer_of(
            self._client.query(MODEL, {"project": project, "name": name})["model"], "Model"
        )

    def review(self, version_id: str, verdict: str, body: str = "") -> dict[str, Any]:
        """``verdict``: ``approve`` or ``request_changes`` (with what should change)."""
        variables = {"id": version_id, "verdict": verdict, "body": body}
        return answer_of(self._client.query(REVIEW, variables)["reviewModelVersion"], "ModelReview")

    def card(self, version_id: str) -> str:
        """The version's model card, as Markdown."""
        found = answer_of(self._client.query(CARD, {"id": version_id})["modelCard"], "ModelCard")
        return str(found["markdown"])

    def move_alias(
        self, project: str, name: str, alias: str, version: int | None
    ) -> dict[str, Any]:
        variables = {"project": project, "model": name, "alias": alias, "version": version}
        return answer_of(self._client.query(MOVE, variables)["moveModelAlias"], "AliasMove")
