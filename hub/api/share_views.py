"""What a share link shows: one fixed GraphQL operation per view, run as the link.

The operations live in ``share_views.graphql``. A link's arguments (fixed when it was made)
are the operation's only input, so a link reads its one view of its one object and nothing
else; the services check every read as usual, as the link's maker narrowed to reading one
project, and audit it with the link's id. The same rendering checks a link before it is made.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import strawberry

from hub.api.context import Context, reading_as
from hub.clock import now
from hub.errors import NotFound
from hub.services.collaboration import share_links
from hub.services.policy.principal import Principal

DOCUMENT = (Path(__file__).with_name("share_views.graphql")).read_text()

OPERATIONS = {
    "run_comparison": "SharedCurves",
    "metric_chart": "SharedCurves",
    "dataset_profile": "SharedDataset",
    "model_card": "SharedModelCard",
    "review_summary": "SharedReview",
    "resource_usage": "SharedUsage",
    "wiki_page": "SharedPage",
}


def _variables(view: str, arguments: dict[str, Any]) -> dict[str, Any]:
    project = arguments["project"]
    if OPERATIONS[view] == "SharedCurves":
        ids = ", ".join(f"'{run_id}'" for run_id in arguments["runIds"])  # ids are checked
        return {
            "project": project,
            "filter": f"id in ({ids})",
            "runIds": arguments["runIds"],
            "keys": arguments["metrics"],
        }
    if view == "dataset_profile":
        return {"project": project, "name": arguments["dataset"], "number": arguments["version"]}
    if view in ("model_card", "review_summary"):
        return {"id": arguments["id"]}
    if view == "resource_usage":
        return {"since": (now() - timedelta(days=arguments["days"])).isoformat()}
    return {"project": project, "slug": arguments["slug"]}


def _shown(view: str, arguments: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """The view's data, or NotFound when its object is gone or out of reach."""
    if OPERATIONS[view] == "SharedCurves":
        runs = data["runs"]
        if runs["__typename"] != "RunConnection" or len(runs["nodes"]) != len(arguments["runIds"]):
            raise NotFound("Some of these runs are not found.", field="runIds")
        if not data["metricSeries"]:
            raise NotFound("None of these metrics were logged by these runs.", field="metrics")
        return data
    if view == "dataset_profile":
        if (data["dataset"] or {}).get("version") is None:
            raise NotFound("No such dataset version.", field="dataset")
        return data
    if view == "resource_usage":
        return data
    (value,) = data.values()
    if value is None or str(value.get("__typename", "")).endswith("Error"):
        message = None if value is None else value.get("message")
        raise NotFound(message or "Not found.", field="id")
    return data


async def render(
    schema: strawberry.Schema, context: Context, view: str, arguments: dict[str, Any]
) -> dict[str, Any]:
    """The data of ``view``, read as ``context.principal`` (a link)."""
    result = await schema.execute(
        DOCUMENT,
        variable_values=_variables(view, arguments),
        context_value=context,
        operation_name=OPERATIONS[view],
    )
    if result.errors or result.data is None:
        raise NotFound("; ".join(e.message for e in result.errors or []) or "Not found.")
    return _shown(view, arguments, dict(result.data))


def renderer(schema: strawberry.Schema, base: Context) -> share_links.Render:
    """How :mod:`hub.services.collaboration.share_links` reads a view: this schema, in
    ``base``'s hub, as the principal it is given."""

    async def read(principal: Principal, view: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return await render(schema, reading_as(base, principal), view, arguments)

    return read
