"""``salon trash|gc|hold|privacy|retention``: the trash (list, move, restore, purge), garbage
collection, legal holds, a person's rights (export, erasure) and retention policies, through
the hub."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from hub.cli.common import JsonOption, call, connect, print_json

trash_app = typer.Typer(help="The trash: what was moved there comes back until it is purged.")
hold_app = typer.Typer(help="Legal holds: nothing they cover is purged or erased (officers).")

WAITING_FOR_BACKUP = "A backup is under way: the files are deleted once it has copied them."
GARBAGE = """mutation($dry: Boolean!) { collectGarbage(dryRun: $dry) { __typename
  ... on Garbage { dryRun orphanFiles orphanBytes totalBytes filesWaitForBackup
    purge { entries { id kind label trashedBy trashedAt } objects { kind count } points files
      fileBytes held { id kind label } } }
  ... on Error { message } } }"""


def _size(count: float) -> str:
    """Bytes for people: 1.4 MB."""
    size = float(count)
    for unit in ("bytes", "KB", "MB", "GB", "TB"):
        if size < 1000 or unit == "TB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1000
    return f"{size} TB"


def _held(entry: dict[str, Any]) -> str:
    return ", ".join(f"{h['count']} {h['kind'].lower().replace('_', ' ')}" for h in entry["holds"])


@trash_app.command("list")
def trash_list(
    project: Annotated[str | None, typer.Option(help="Only this project's trash.")] = None,
    as_json: JsonOption = False,
) -> None:
    """What is in the trash of the projects you read, newest first."""
    entries = connect().trash.entries(project)
    if as_json:
        print_json(entries)
        return
    if not entries:
        typer.echo("The trash is empty.")
        return
    for entry in entries:
        typer.echo(
            f"{entry['id']}  {entry['kind'].lower():<15} {entry['label']}  (by "
            f"{entry['trashedBy']} on {entry['trashedAt'][:10]}; {_held(entry)}; purged after "
            f"{entry['purgeAfter'][:10]})"
        )


@trash_app.command("move")
def trash_move(
    kind: Annotated[
        str,
        typer.Argument(
            help="run, experiment, project, dataset, dataset_version, model, model_version, "
            "page, task, logged_model or artifact"
        ),
    ],
    object_id: Annotated[
        str, typer.Argument(help='Its id; for an artifact (a run\'s file) "RUN_ID/path".')
    ],
) -> None:
    """Move something (and what it holds) to the trash; prints the entry to restore it by."""
    entry = connect().trash.move(kind, object_id)
    typer.echo(f"Moved {kind} {entry['label']} to the trash ({_held(entry)}): entry {entry['id']}.")


@trash_app.command("restore")
def trash_restore(entry_id: Annotated[str, typer.Argument(help="The trash entry's id.")]) -> None:
    """Bring a trash entry back whole."""
    entry = connect().trash.restore(entry_id)
    typer.echo(f"Restored {entry['kind'].lower().replace('_', ' ')} {entry['label']}.")


@trash_app.command("purge")
def trash_purge(
    entry_id: Annotated[str, typer.Argument(help="The trash entry's id.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Remove a trash entry for good now (maintainers): it cannot be undone."""
    if not yes:
        typer.confirm(f"Purge trash entry {entry_id} for good?", abort=True)
    purged = connect().trash.purge(entry_id)
    typer.echo(
        f"Purged {', '.join(e['label'] for e in purged['entries'])}: "
        f"{_objects(purged)}, {int(purged['points']):,} metric points, {purged['files']} files "
        f"({_size(purged['fileBytes'])})."
    )
    if purged.get("filesWaitForBackup"):
        typer.echo(WAITING_FOR_BACKUP)


def _objects(purge: dict[str, Any]) -> str:
    counts = [f"{o['count']} {o['kind'].lower().replace('_', ' ')}" for o in purge["objects"]]
    return ", ".join(counts) or "nothing"


def gc(
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Only say what would go and how many bytes.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Purge what stayed in the trash longer than SALON_TRASH_DAYS and delete stored files
    nothing refers to (site admins)."""
    found = call(GARBAGE, {"dry": dry_run}, "collectGarbage")
    if as_json:
        print_json(found)
        return
    purge = found["purge"]
    verb = "Would remove" if dry_run else "Removed"
    typer.echo(
        f"{verb} {len(purge['entries'])} trash entries ({_objects(purge)}, "
        f"{int(purge['points']):,} metric points, {purge['files']} files, "
        f"{_size(purge['fileBytes'])}) and {found['orphanFiles']} files nothing refers to "
        f"({_size(found['orphanBytes'])}): {_size(found['totalBytes'])} in all."
    )
    if found["filesWaitForBackup"]:
        typer.echo(WAITING_FOR_BACKUP)
    for entry in purge["entries"]:
        typer.echo(
            f"  {entry['kind'].lower():<15} {entry['label']} (trashed by {entry['trashedBy']} "
            f"on {entry['trashedAt'][:10]})"
        )
    if purge["held"]:
        held = ", ".join(entry["label"] for entry in purge["held"])
        typer.echo(f"Kept by a legal hold, although due: {held}.")


HOLD_FIELDS = "id kind label reason placedBy placedAt releasedBy releasedAt"
PLACE = f"""mutation($kind: HoldKind!, $name: String!, $reason: String!, $project: String) {{
  placeLegalHold(kind: $kind, name: $name, reason: $reason, project: $project) {{
    __typename ... on LegalHold {{ {HOLD_FIELDS} }} ... on Error {{ message }} }} }}"""
RELEASE = f"""mutation($id: ID!) {{ releaseLegalHold(id: $id) {{
  __typename ... on LegalHold {{ {HOLD_FIELDS} }} ... on Error {{ message }} }} }}"""
HOLDS = f"query($all: Boolean!) {{ legalHolds(released: $all) {{ {HOLD_FIELDS} }} }}"


@hold_app.command("place")
def hold_place(
    kind: Annotated[str, typer.Argument(help="project, dataset or person")],
    name: Annotated[str, typer.Argument(help="The project's, dataset's or account's name.")],
    reason: Annotated[str, typer.Option(help="What the hold is for (a matter, a request).")],
    project: Annotated[str | None, typer.Option(help="The dataset's project.")] = None,
) -> None:
    """Place a legal hold: purging and erasing what it covers is refused until released."""
    variables = {"kind": kind.upper(), "name": name, "reason": reason, "project": project}
    hold = call(PLACE, variables, "placeLegalHold")
    typer.echo(f"Placed a legal hold on {hold['kind'].lower()} {hold['label']}: {hold['id']}.")


@hold_app.command("release")
def hold_release(hold_id: Annotated[str, typer.Argument(help="The hold's id.")]) -> None:
    """Release a legal hold."""
    hold = call(RELEASE, {"id": hold_id}, "releaseLegalHold")
    typer.echo(f"Released the legal hold on {hold['kind'].lower()} {hold['label']}.")


@hold_app.command("list")
def hold_list(
    released: Annotated[bool, typer.Option("--all", help="Released holds too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Legal holds in force (with --all, released ones too), newest first."""
    found: list[dict[str, Any]] = connect().query(HOLDS, {"all": released})["legalHolds"]
    if as_json:
        print_json(found)
        return
    if not found:
        typer.echo("No legal holds.")
    for hold in found:
        state = f"released by {hold['releasedBy']}" if hold["releasedAt"] else "in force"
        typer.echo(
            f"{hold['id']}  {hold['kind'].lower():<8} {hold['label']}  {hold['reason']!r} "
            f"(placed by {hold['placedBy']} on {hold['placedAt'][:10]}; {state})"
        )


privacy_app = typer.Typer(help="A person's rights: export their data, erase them (officers).")
ERASE = """mutation($name: String!) { erasePerson(name: $name) { __typename
  ... on Erasure { pseudonym erasedAt changes { section count } } ... on Error { message } } }"""


@privacy_app.command("export")
def privacy_export(
    user: Annotated[str, typer.Argument(help="The person's account name.")],
    out: Annotated[Path, typer.Option("--out", help="The archive to write (.zip).")],
) -> None:
    """Everything Salon holds about a person, as one ZIP of JSON files (admins and compliance
    officers). The file appears only once whole."""
    from urllib.parse import quote

    partial = out.with_name(out.name + ".part")
    response = connect().connection.send("GET", f"/api/v1/people/{quote(user)}/export")
    partial.write_bytes(response.content)
    partial.replace(out)
    typer.echo(
        f"Wrote everything Salon holds about {user} to {out} ({_size(len(response.content))})."
    )


@privacy_app.command("erase")
def privacy_erase(
    user: Annotated[str, typer.Argument(help="The person's account name.")],
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Erase a person: their account becomes a pseudonym ("former member 7"), their name is
    replaced where Salon stored it, what only concerned them is deleted, and the addresses the
    audit trail recorded for them become unreadable; the trail still verifies."""
    if not yes:
        typer.confirm(f"Erase {user} for good? This cannot be undone.", abort=True)
    done = call(ERASE, {"name": user}, "erasePerson")
    changed = sum(change["count"] for change in done["changes"])
    typer.echo(f"Erased {user}: now {done['pseudonym']} ({changed:,} rows changed).")


retention_app = typer.Typer(help="Retention policies: what a project keeps.")
POLICY_FIELDS = """runsDays keepTag versionsKept auditYears updatedBy updatedAt lastApplied
  nextRuns { label } nextVersions { label } nextAuditEvents auditBefore"""
POLICY = f"query($p: String!) {{ retentionPolicy(project: $p) {{ {POLICY_FIELDS} }} }}"
SET_POLICY = f"""mutation($p: String!, $d: Int, $k: Int, $t: String!, $y: Int) {{
  setRetentionPolicy(project: $p, runsDays: $d, versionsKept: $k, keepTag: $t, auditYears: $y) {{
    __typename
    ... on RetentionPolicy {{ {POLICY_FIELDS} }} ... on Error {{ message }} }} }}"""


def _show_policy(project: str, policy: dict[str, Any] | None) -> None:
    if policy is None:
        typer.echo(f"{project} keeps everything (no retention policy).")
        return
    runs = (
        f"finished runs for {policy['runsDays']} days unless tagged {policy['keepTag']!r}"
        if policy["runsDays"]
        else "every run"
    )
    versions = (
        f"the newest {policy['versionsKept']} versions of each dataset"
        if policy["versionsKept"]
        else "every dataset version"
    )
    events = (
        f"audit events for {policy['auditYears']} years"
        if policy["auditYears"]
        else "every audit event"
    )
    typer.echo(f"{project} keeps {runs}, {versions}, and {events} (set by {policy['updatedBy']}).")
    upcoming = [r["label"] for r in policy["nextRuns"]] + [
        v["label"] for v in policy["nextVersions"]
    ]
    more = f" and {len(upcoming) - 10} more" if len(upcoming) > 10 else ""
    shown = ", ".join(upcoming[:10]) + more
    typer.echo(f"Next to the trash: {shown or 'nothing'}.")
    if policy["auditYears"]:
        typer.echo(
            f"Audit events emptied next: {policy['nextAuditEvents']:,} "
            f"(from before {policy['auditBefore'][:10]})."
        )


@retention_app.command("show")
def retention_show(project: str, as_json: JsonOption = False) -> None:
    """A project's retention policy and what it moves to the trash next."""
    found = connect().query(POLICY, {"p": project})["retentionPolicy"]
    if as_json:
        print_json(found)
        return
    _show_policy(project, found)


@retention_app.command("set")
def retention_set(
    project: str,
    runs_days: Annotated[
        int | None, typer.Option(help="Keep finished runs this many days (default: forever).")
    ] = None,
    versions_kept: Annotated[
        int | None, typer.Option(help="Keep this many newest versions of each dataset.")
    ] = None,
    keep_tag: Annotated[str, typer.Option(help="Runs with this tag are always kept.")] = "keep",
    audit_years: Annotated[
        int | None,
        typer.Option(help="Keep the project's audit events this many years (default: forever)."),
    ] = None,
) -> None:
    """Set a project's retention policy (maintainers); without limits it keeps everything."""
    variables = {"p": project, "d": runs_days, "k": versions_kept, "t": keep_tag, "y": audit_years}
    _show_policy(project, call(SET_POLICY, variables, "setRetentionPolicy"))
