"""``salon user|group|grant|revoke|token``: accounts, groups, roles and tokens, through the
running hub."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated

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

users_app = typer.Typer(help="Accounts: add, list, disable, enable, set a password.")


groups_app = typer.Typer(help="Groups: add, list, add-member, remove-member.")


tokens_app = typer.Typer(help="Personal API tokens: create, list, revoke.")


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
    result = call(
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
    found = connect().query("{ users { name displayName isAdmin isCompliance disabled } }")
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
    call(
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
    call(
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
    call(
        "mutation($n: String!, $d: String!) {"
        f" createGroup(name: $n, description: $d) {{ {GROUP} }} }}",
        {"n": name, "d": description},
        "createGroup",
    )
    typer.echo(f"Added group {name}.")


@groups_app.command("list")
def group_list(as_json: JsonOption = False) -> None:
    """Every group."""
    groups = connect().query("{ groups { name description } }")["groups"]
    if as_json:
        print_json(groups)
        return
    for group in groups:
        typer.echo(f"{group['name']:<24} {group['description']}")


@groups_app.command("add-member")
def group_add_member(group: str, user: str) -> None:
    """Put a person in a group."""
    call(
        "mutation($g: String!, $u: String!) {"
        f" addGroupMember(group: $g, user: $u) {{ {GROUP} }} }}",
        {"g": group, "u": user},
        "addGroupMember",
    )
    typer.echo(f"{user} is in {group}.")


@groups_app.command("remove-member")
def group_remove_member(group: str, user: str) -> None:
    """Take a person out of a group."""
    call(
        "mutation($g: String!, $u: String!) {"
        f" removeGroupMember(group: $g, user: $u) {{ {GROUP} }} }}",
        {"g": group, "u": user},
        "removeGroupMember",
    )
    typer.echo(f"{user} is no longer in {group}.")


def _subject(user: str | None, group: str | None) -> tuple[str, str]:
    if bool(user) == bool(group):
        fail("Name exactly one of --user or --group.", 2)
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
    call(
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
    result = call(
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
        fail(f"--expires {expires!r}: use days like 30d, weeks like 4w, or 1y.", 2)
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
    result = call(
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
    found = connect().query(
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
    call(
        "mutation($i: ID!) { revokeApiToken(id: $i) { __typename ... on ApiToken { id }"
        " ... on Error { message } } }",
        {"i": token_id},
        "revokeApiToken",
    )
    typer.echo(f"Revoked {token_id}.")
