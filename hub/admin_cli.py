"""``salon user|group|grant|revoke|token|audit|keys|dataset``: work through the running hub.

These commands talk to the hub's GraphQL API (``SALON_URL``) with ``SALON_TOKEN``, or with the
admin token ``salon up`` keeps in the data directory, so they work while the hub runs and every
change is checked and audited like any other. ``salon audit verify`` also works on a stopped
hub, reading the database file itself.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from hub.settings import Settings

users_app = typer.Typer(help="Accounts: add, list, disable, enable, set a password.")
groups_app = typer.Typer(help="Groups: add, list, add-member, remove-member.")
tokens_app = typer.Typer(help="Personal API tokens: create, list, revoke.")
audit_app = typer.Typer(help="The audit trail: verify the hash chain, export events.")
keys_app = typer.Typer(help="The hub's signing keys.")


JsonOption = Annotated[
    bool, typer.Option("--json", help="Print the hub's answer as JSON, for scripts.")
]


def print_json(value: Any) -> None:
    """What a list or show command found, as JSON on stdout (one document)."""
    import json

    typer.echo(json.dumps(value, indent=2, ensure_ascii=False))


def _fail(message: str, code: int = 1) -> None:
    typer.secho(message, fg=typer.colors.RED, err=True)
    raise typer.Exit(code)


def _settings() -> Settings:
    from hub.cli import _settings as load

    return load()


def _token(settings: Settings) -> str:
    token = settings.token.get_secret_value()
    kept = settings.data_dir / "admin-token"
    if not token and kept.is_file():
        token = kept.read_text().strip()
    if not token:
        _fail("No token: set SALON_TOKEN, or run this where `salon up` keeps its admin token.")
    return token


def _client() -> Any:
    from hub.client.client import Client

    settings = _settings()
    return Client(settings.url, _token(settings))


def _call(document: str, variables: dict[str, Any], field: str) -> dict[str, Any]:
    """Run a mutation or query and return ``data[field]``; typed errors become messages."""
    from hub.client.errors import HubError

    try:
        result: dict[str, Any] = _client().query(document, variables)[field]
    except HubError as exc:
        _fail(str(exc))
        raise
    if result and result.get("message") and result.get("__typename", "").endswith("Error"):
        _fail(result["message"])
    return result


def _password(prompt: bool, from_stdin: bool) -> str | None:
    if from_stdin:
        return sys.stdin.readline().rstrip("\n")
    if prompt:
        value: str = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
        return value
    return None


USER = (
    "__typename ... on User { name displayName isAdmin isCompliance disabled }"
    " ... on Error { message }"
)


@users_app.command("add")
def user_add(
    name: str,
    display_name: Annotated[str | None, typer.Option(help="Full name shown to others.")] = None,
    email: Annotated[str | None, typer.Option()] = None,
    admin: Annotated[bool, typer.Option("--admin", help="Site admin.")] = False,
    compliance: Annotated[
        bool, typer.Option("--compliance", help="May read the audit trail.")
    ] = False,
    password: Annotated[
        bool, typer.Option("--password/--no-password", help="Ask for a password.")
    ] = True,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
) -> None:
    """Add an account."""
    result = _call(
        f"mutation($n: String!, $p: String, $d: String, $e: String, $a: Boolean!, $c: Boolean!)"
        f" {{ createUser(name: $n, password: $p, displayName: $d, email: $e, isAdmin: $a,"
        f" isCompliance: $c) {{ {USER} }} }}",
        {
            "n": name,
            "p": _password(password, password_stdin),
            "d": display_name,
            "e": email,
            "a": admin,
            "c": compliance,
        },
        "createUser",
    )
    typer.echo(f"Added {result['name']}.")


@users_app.command("list")
def user_list(as_json: JsonOption = False) -> None:
    """Everyone with an account."""
    found = _client().query("{ users { name displayName isAdmin isCompliance disabled } }")
    if as_json:
        print_json(found["users"])
        return
    for user in found["users"]:
        flags = [
            f
            for f, on in (
                ("admin", user["isAdmin"]),
                ("compliance", user["isCompliance"]),
                ("DISABLED", user["disabled"]),
            )
            if on
        ]
        typer.echo(f"{user['name']:<24} {user['displayName']:<28} {' '.join(flags)}")


def _set_disabled(name: str, disabled: bool) -> None:
    _call(
        "mutation($n: String!, $d: Boolean!) {"
        f" setUserDisabled(name: $n, disabled: $d) {{ {USER} }} }}",
        {"n": name, "d": disabled},
        "setUserDisabled",
    )
    typer.echo(
        f"{name} is disabled: their sessions and tokens stopped working."
        if disabled
        else f"{name} is enabled."
    )


@users_app.command("disable")
def user_disable(name: str) -> None:
    """Disable an account; its sessions and tokens stop working at once."""
    _set_disabled(name, True)


@users_app.command("enable")
def user_enable(name: str) -> None:
    """Re-enable a disabled account."""
    _set_disabled(name, False)


@users_app.command("password")
def user_password(
    name: str,
    password_stdin: Annotated[
        bool, typer.Option(help="Read the password from standard input.")
    ] = False,
) -> None:
    """Set a password (your own, or anyone's as a site admin)."""
    _call(
        "mutation($n: String!, $p: String!) {"
        f" setPassword(name: $n, password: $p) {{ {USER} }} }}",
        {"n": name, "p": _password(True, password_stdin)},
        "setPassword",
    )
    typer.echo(f"Password of {name} set.")


GROUP = "__typename ... on Group { name description } ... on Error { message }"


@groups_app.command("add")
def group_add(name: str, description: Annotated[str, typer.Option()] = "") -> None:
    """Add a group."""
    _call(
        "mutation($n: String!, $d: String!) {"
        f" createGroup(name: $n, description: $d) {{ {GROUP} }} }}",
        {"n": name, "d": description},
        "createGroup",
    )
    typer.echo(f"Added group {name}.")


@groups_app.command("list")
def group_list(as_json: JsonOption = False) -> None:
    """Every group."""
    groups = _client().query("{ groups { name description } }")["groups"]
    if as_json:
        print_json(groups)
        return
    for group in groups:
        typer.echo(f"{group['name']:<24} {group['description']}")


@groups_app.command("add-member")
def group_add_member(group: str, user: str) -> None:
    """Put a person in a group."""
    _call(
        "mutation($g: String!, $u: String!) {"
        f" addGroupMember(group: $g, user: $u) {{ {GROUP} }} }}",
        {"g": group, "u": user},
        "addGroupMember",
    )
    typer.echo(f"{user} is in {group}.")


@groups_app.command("remove-member")
def group_remove_member(group: str, user: str) -> None:
    """Take a person out of a group."""
    _call(
        "mutation($g: String!, $u: String!) {"
        f" removeGroupMember(group: $g, user: $u) {{ {GROUP} }} }}",
        {"g": group, "u": user},
        "removeGroupMember",
    )
    typer.echo(f"{user} is no longer in {group}.")


def _subject(user: str | None, group: str | None) -> tuple[str, str]:
    if bool(user) == bool(group):
        _fail("Name exactly one of --user or --group.", 2)
    return ("user", user) if user else ("group", group or "")


UserOption = Annotated[str | None, typer.Option("--user", help="A person's sign-in name.")]
GroupOption = Annotated[str | None, typer.Option("--group", help="A group's name.")]


def grant(
    project: str,
    role: Annotated[str, typer.Argument(help="viewer, commenter, editor, maintainer or admin.")],
    user: UserOption = None,
    group: GroupOption = None,
    pii: Annotated[
        bool, typer.Option("--pii", help="Also let them see columns tagged PII.")
    ] = False,
) -> None:
    """Give a person or group a role on a project."""
    kind, name = _subject(user, group)
    _call(
        "mutation($p: String!, $k: String!, $n: String!, $r: String!, $x: Boolean!) {"
        " grantRole(project: $p, kind: $k, name: $n, role: $r, pii: $x) {"
        " __typename ... on Member { role } ... on Error { message } } }",
        {"p": project, "k": kind, "n": name, "r": role, "x": pii},
        "grantRole",
    )
    typer.echo(f"{name} is {role} on {project}{' with PII access' if pii else ''}.")


def revoke(project: str, user: UserOption = None, group: GroupOption = None) -> None:
    """Take a person's or group's role on a project away."""
    kind, name = _subject(user, group)
    result = _call(
        "mutation($p: String!, $k: String!, $n: String!) { revokeRole(project: $p, kind: $k,"
        " name: $n) { __typename ... on Done { ok } ... on Error { message } } }",
        {"p": project, "k": kind, "n": name},
        "revokeRole",
    )
    typer.echo(f"{name} has no role on {project} now." if result["ok"] else f"{name} had no role.")


def _days(expires: str) -> int:
    text = expires.strip().lower()
    try:
        if text.endswith("d"):
            return int(text[:-1])
        if text.endswith("w"):
            return int(text[:-1]) * 7
        if text.endswith("y"):
            return int(text[:-1]) * 365
        return int(text)
    except ValueError:
        _fail(f"--expires {expires!r}: use days like 30d, weeks like 4w, or 1y.", 2)
        raise


@tokens_app.command("create")
def token_create(
    name: str,
    project: Annotated[
        list[str] | None,
        typer.Option("--project", "--scope", help="Limit to this project (repeat for more)."),
    ] = None,
    read_only: Annotated[
        bool, typer.Option("--read-only", help="The token may only read.")
    ] = False,
    expires: Annotated[str, typer.Option(help="Lifetime: 30d, 12w, 1y.")] = "90d",
) -> None:
    """Make a personal API token for notebooks and CI; prints its secret once."""
    result = _call(
        "mutation($n: String!, $p: [String!], $w: Boolean!, $d: Int!) {"
        " createApiToken(name: $n, projects: $p, canWrite: $w, expiresInDays: $d) {"
        " __typename ... on NewApiToken { secret token { id expiresAt } }"
        " ... on Error { message } } }",
        {"n": name, "p": project or None, "w": not read_only, "d": _days(expires)},
        "createApiToken",
    )
    typer.echo(result["secret"])
    typer.secho(
        f"Token {result['token']['id']} expires {result['token']['expiresAt']}. The secret above "
        "is shown only now.",
        err=True,
    )


@tokens_app.command("list")
def token_list(as_json: JsonOption = False) -> None:
    """Your tokens."""
    found = _client().query(
        "{ apiTokens { id name createdAt expiresAt revokedAt canWrite projectIds } }"
    )
    if as_json:
        print_json(found["apiTokens"])
        return
    for token in found["apiTokens"]:
        expires = token["expiresAt"]
        state = "revoked" if token["revokedAt"] else f"expires {expires[:10]}" if expires else ""
        scope = (
            "all projects"
            if token["projectIds"] is None
            else f"{len(token['projectIds'])} project(s)"
        )
        mode = "read-write" if token["canWrite"] else "read-only"
        typer.echo(f"{token['id']}  {token['name']:<20} {mode:<10} {scope:<14} {state}")


@tokens_app.command("revoke")
def token_revoke(token_id: str) -> None:
    """Revoke a token; it stops working on its next request."""
    _call(
        "mutation($i: ID!) { revokeApiToken(id: $i) { __typename ... on ApiToken { id }"
        " ... on Error { message } } }",
        {"i": token_id},
        "revokeApiToken",
    )
    typer.echo(f"Revoked {token_id}.")


@audit_app.command("verify")
def audit_verify(as_json: JsonOption = False) -> None:
    """Recompute the audit hash chain; report the first broken event (exit 1 if any)."""
    from hub.auth.keys import KeyRing
    from hub.errors import InvalidInput, StoreUnavailable
    from hub.services.audit_trail import read_checkpoint
    from hub.store import open_store

    settings = _settings()
    if not settings.database_path.is_file():
        # Opening would create an empty store and a signing key, and "verify" it.
        _fail(
            f"There is no Salon store at {settings.database_path}: nothing to verify. Set "
            "SALON_DATA_DIR to the data folder of the hub whose trail you want to check.",
            2,
        )
    try:
        store = open_store(settings.database_path)
    except StoreUnavailable:
        result = _call(
            "{ auditVerification { __typename ... on AuditVerification { ok checked headSeq"
            " problem brokenSeq checkpointFound } ... on Error { message } } }",
            {},
            "auditVerification",
        )
        _report(
            result["ok"], result["checked"], result["problem"], result["checkpointFound"], as_json
        )
        return
    try:
        keys = KeyRing(settings.data_dir / "keys", create=False)
        try:
            checkpoint = read_checkpoint(settings.data_dir, keys.verify_bytes)
        except InvalidInput as exc:
            _fail(exc.message)
            raise
        report = store.audit.verify_sync([checkpoint] if checkpoint else [])
    finally:
        store.close()
    _report(report.ok, report.checked, report.problem, checkpoint is not None, as_json)


def _report(
    ok: bool, checked: int, problem: str | None, checkpoint: bool, as_json: bool = False
) -> None:
    if as_json:
        print_json({"ok": ok, "checked": checked, "problem": problem, "checkpoint": checkpoint})
        if not ok:
            raise typer.Exit(1)
        return
    if not checkpoint:
        typer.secho("No signed checkpoint yet: a truncated tail would go unnoticed.", err=True)
    if ok:
        typer.echo(f"The audit trail is intact: {checked} events verified.")
        return
    _fail(f"The audit trail is broken: {problem} ({checked} events verified before it).")


@audit_app.command("export")
def audit_export(
    out: Annotated[Path, typer.Option("--out", help="File to write (.csv or .parquet).")],
    actor: Annotated[str | None, typer.Option(help="Only this user id.")] = None,
    project: Annotated[str | None, typer.Option(help="Only this project id.")] = None,
    outcome: Annotated[str | None, typer.Option(help="allow, deny or error.")] = None,
    since: Annotated[str | None, typer.Option(help="ISO date or time.")] = None,
    until: Annotated[str | None, typer.Option(help="ISO date or time.")] = None,
) -> None:
    """Export audit events to CSV or Parquet (admins and compliance officers)."""
    kind = "parquet" if out.suffix == ".parquet" else "csv"
    params = {
        "format": kind,
        "actor_id": actor,
        "project_id": project,
        "outcome": outcome,
        "since": since,
        "until": until,
    }
    from hub.client.errors import HubError

    try:
        with (
            _client().connection.stream(
                "GET", "/api/v1/audit/export", params={k: v for k, v in params.items() if v}
            ) as response,
            out.open("wb") as handle,
        ):
            for chunk in response.iter_bytes():
                handle.write(chunk)
    except HubError as exc:
        _fail(exc.message)
    typer.echo(f"Wrote {out}.")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """Add a new signing key; the hub signs with it within a minute, and tokens signed with
    the previous keys stay valid until they expire."""
    from hub.auth.keys import KeyRing

    settings = _settings()
    kid = KeyRing(settings.data_dir / "keys").rotate()
    typer.echo(f"New signing key {kid}.")


def register(app: typer.Typer) -> None:
    app.add_typer(users_app, name="user")
    app.add_typer(groups_app, name="group")
    app.add_typer(tokens_app, name="token")
    app.add_typer(audit_app, name="audit")
    app.add_typer(keys_app, name="keys")
    app.add_typer(datasets_app, name="dataset")
    from hub import work_cli

    work_cli.register(app)
    from hub.db_cli import backup, db_app, restore

    app.add_typer(db_app, name="db")
    app.command("backup")(backup)
    app.command("restore")(restore)
    app.command("grant")(grant)
    app.command("revoke")(revoke)


datasets_app = typer.Typer(help="Datasets: upload a version, list, download.")
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

    client = _client()
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
            _fail(exc.message)
            raise
    body = response.json()
    if body["created"]:
        typer.echo(f"{project}/{name} version {body['version']}: {body['rows']:,} rows.")
    else:
        typer.echo(f"Same content as version {body['version']}; nothing new was stored.")


@datasets_app.command("list")
def dataset_list(project: str, as_json: JsonOption = False) -> None:
    """A project's datasets and their latest versions."""
    found = _client().query(
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
        frame = _client().dataset(project, name, version)
    except HubError as exc:
        _fail(str(exc))
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
        made = _client().register_dataset(project, name, path, message)
    except HubError as exc:
        _fail(str(exc))
        raise
    if made["created"]:
        typer.echo(f"{project}/{name} version {made['version']}: {made['rows']:,} rows, in place.")
    else:
        typer.echo(f"Same content as version {made['version']}; nothing new was recorded.")
