"""``salon dataset``: upload, list, download and register dataset versions."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from hub.cli.common import (
    JsonOption,
    call,
    connect,
    fail,
    print_json,
)

if TYPE_CHECKING:
    pass

datasets_app = typer.Typer(help="Datasets: upload a version, list, download, erase rows.")


FormatOption = Annotated[
    str | None, typer.Option(help="csv or parquet (default: from the file name).")
]


@datasets_app.command("upload")
def dataset_upload(
    project: str,
    name: str,
    file: Annotated[Path, typer.Argument(exists=True, dir_okay=False, readable=True)],
    message: Annotated[str, typer.Option("--message", "-m", help="What changed.")] = "",
    format: FormatOption = None,
) -> None:
    """Upload a CSV or Parquet file as a new version of a dataset, with a progress bar."""
    from urllib.parse import quote

    from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn

    from hub.client.errors import HubError

    client = connect()
    size = file.stat().st_size
    path = f"/api/v1/projects/{quote(project, safe='')}/datasets/{quote(name, safe='')}/versions"
    params = {"filename": file.name, "message": message, **({"format": format} if format else {})}
    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        transient=True,
    ) as progress:
        task = progress.add_task(f"Uploading {file.name}", total=size)

        def chunks() -> Any:
            with file.open("rb") as handle:
                while chunk := handle.read(1024 * 1024):
                    progress.advance(task, len(chunk))
                    yield chunk
            progress.update(task, description="Reading and profiling on the hub")

        try:
            response = client.connection.send(
                "POST",
                path,
                params=params,
                content=chunks(),
                timeout=None,
                headers={"Content-Length": str(size)},
            )
        except HubError as exc:
            fail(exc.message)
            raise
    body = response.json()
    if body["created"]:
        typer.echo(f"{project}/{name} version {body['version']}: {body['rows']:,} rows.")
    else:
        typer.echo(f"Same content as version {body['version']}; nothing new was stored.")


@datasets_app.command("list")
def dataset_list(project: str, as_json: JsonOption = False) -> None:
    """A project's datasets and their latest versions."""
    found = connect().query(
        "query($p: String!) { datasets(project: $p) { name versions { number rowCount author "
        "createdAt message } } }",
        {"p": project},
    )["datasets"]
    if as_json:
        print_json(found)
        return
    for item in found:
        latest = item["versions"][0] if item["versions"] else None
        if latest is None:
            typer.echo(f"{item['name']:<28} (no versions)")
            continue
        typer.echo(
            f"{item['name']:<28} v{latest['number']:<4} {latest['rowCount']:>10,} rows  "
            f"{latest['createdAt'][:10]} {latest['author']}: {latest['message']}"
        )


@datasets_app.command("download")
def dataset_download(
    project: str,
    name: str,
    out: Annotated[Path, typer.Option("--out", help="File to write (.parquet or .csv).")],
    version: Annotated[int | None, typer.Option(help="Version number (default: latest).")] = None,
) -> None:
    """Write a dataset version to a Parquet or CSV file (PII masked unless you may see it)."""
    from hub.client.errors import HubError

    try:
        frame = connect().dataset(project, name, version)
    except HubError as exc:
        fail(str(exc))
        raise
    if out.suffix == ".csv":
        import pyarrow.csv as pa_csv

        from hub.client.cells import defused

        pa_csv.write_csv(defused(frame.to_arrow()), out)  # no cell runs as a formula
    else:
        frame.write_parquet(out)
    typer.echo(f"Wrote {len(frame):,} rows to {out}.")


@datasets_app.command("register")
def dataset_register(
    project: str,
    name: str,
    path: Annotated[
        str, typer.Argument(help="A Parquet file on the hub's machine, or an s3:// address.")
    ],
    message: Annotated[str, typer.Option("--message", "-m", help="What changed.")] = "",
) -> None:
    """Register a Parquet file on the hub's machine or in S3 as a version, without copying it
    (it must lie under a folder or prefix listed in SALON_DATASET_ROOTS)."""
    from hub.client.errors import HubError

    try:
        made = connect().register_dataset(project, name, path, message)
    except HubError as exc:
        fail(str(exc))
        raise
    if made["created"]:
        typer.echo(f"{project}/{name} version {made['version']}: {made['rows']:,} rows, in place.")
    else:
        typer.echo(f"Same content as version {made['version']}; nothing new was recorded.")


ERASE_ROWS = """mutation($p: String!, $d: String!, $f: String!) {
  eraseDatasetRows(project: $p, dataset: $d, filter: $f) { __typename
    ... on DatasetErasure { id state } ... on Error { message } } }"""
ERASURES = """query($p: String!, $d: String!) { dataset(project: $p, name: $d) {
  ... on Dataset { erasures { id state problem total versions { version rows } } } } }"""
POLL_SECONDS = 1.0


@datasets_app.command("erase-rows")
def dataset_erase_rows(
    project: str,
    name: str,
    where: Annotated[
        str, typer.Option("--where", help="The rows to erase, e.g. \"customer_id = 'C-1042'\".")
    ],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
    wait: Annotated[
        bool, typer.Option(help="Wait until the hub has erased them (--no-wait: only ask).")
    ] = True,
) -> None:
    """Erase a data subject: the rows the filter matches leave every version of the dataset
    (maintainers). The hub checks the request at once and then writes each affected version
    again without them, in the background; it cannot be undone."""
    if not yes:
        typer.confirm(
            f"Erase the rows matching {where!r} from every version of {project}/{name}?",
            abort=True,
        )
    asked = call(ERASE_ROWS, {"p": project, "d": name, "f": where}, "eraseDatasetRows")
    if not wait:
        typer.echo(
            f"Asked: erasure {asked['id']} is queued; `salon dataset erasures {project} {name}` "
            "follows it."
        )
        return
    client, shown = connect(), ""
    started = time.monotonic()
    while True:
        found = client.query(ERASURES, {"p": project, "d": name})["dataset"] or {}
        done = next((e for e in found.get("erasures", []) if e["id"] == asked["id"]), None)
        if done is None:
            fail(f"Erasure {asked['id']} is gone: the dataset was purged meanwhile.")
        state = done["state"].lower()
        if state != shown:
            typer.echo(f"{state} ({time.monotonic() - started:.0f} s)", err=True)
            shown = state
        if state == "failed":
            fail(f"The erasure failed: {done['problem']}")
        if state == "done":
            versions = ", ".join(f"v{v['version']}: {v['rows']:,}" for v in done["versions"])
            typer.echo(f"Erased {done['total']:,} rows from {project}/{name} ({versions}).")
            return
        time.sleep(POLL_SECONDS)


@datasets_app.command("erasures")
def dataset_erasures(project: str, name: str, as_json: JsonOption = False) -> None:
    """The dataset's erasure requests, newest first, with their state."""
    found = connect().query(ERASURES, {"p": project, "d": name})["dataset"] or {}
    erasures = found.get("erasures", [])
    if as_json:
        print_json(erasures)
        return
    if not erasures:
        typer.echo(f"No rows were erased from {project}/{name}.")
    for e in erasures:
        counts = ", ".join(f"v{v['version']}: {v['rows']:,}" for v in e["versions"])
        said = counts or e["problem"] or ""
        typer.echo(f"{e['id']}  {e['state'].lower():<8} {e['total']:>10,} rows  {said}")
