"""People and groups: built-in accounts with argon2-hashed passwords, people who sign in
through an outside provider, and the groups that hold roles."""

from __future__ import annotations

import asyncio
import functools
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from hub.clock import now
from hub.domain.identity import GroupRecord, UserRecord
from hub.errors import Conflict, Forbidden, InvalidInput, LimitExceeded, NotFound
from hub.ids import new_id
from hub.services.policy import audit, permissions
from hub.services.policy.principal import SYSTEM, Principal
from hub.store import Store

MIN_PASSWORD = 10
MAX_PASSWORD = 1024  # argon2 costs the same for any length; the cap stops giant request bodies
_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,63}$")
_hasher = PasswordHasher()


@functools.cache
def _dummy_hash() -> str:
    """Verifying against this keeps an unknown name as slow as a wrong password (no user
    enumeration). Made on first use: every process importing this module (each CLI command)
    would otherwise spend a tenth of a second or more on it."""
    return _hasher.hash("salon-no-such-user")


def _check_login_name(name: str, what: str) -> str:
    name = name.strip().lower()
    if not _NAME.match(name):
        raise InvalidInput(
            f"A {what} name is 1 to 64 lowercase letters, digits, '.', '_' or '-', starting "
            "with a letter or digit (for example 'ada' or 'ml-team').",
            field="name",
        )
    return name


def check_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise InvalidInput(
            f"Choose a password of at least {MIN_PASSWORD} characters.", field="password"
        )
    if len(password) > MAX_PASSWORD:
        raise LimitExceeded(
            f"Passwords are limited to {MAX_PASSWORD} characters.", field="password"
        )
    return password


def hash_password(password: str) -> str:
    return _hasher.hash(check_password(password))


async def prepare_sign_ins() -> None:
    """Make the hash unknown names are checked against before the first sign-in: made during
    it, that answer would be slower than a wrong password's, telling the name is unknown."""
    await asyncio.to_thread(_dummy_hash)


async def _hashed(password: str) -> str:
    """``hash_password`` on a worker thread: argon2 takes a tenth of a second or more of CPU by
    design, and the event loop serves every other request meanwhile."""
    return await asyncio.to_thread(_hasher.hash, check_password(password))


def _matches(stored: str | None, password: str) -> bool:
    try:
        return bool(_hasher.verify(stored or _dummy_hash(), password[:MAX_PASSWORD]))
    except (VerificationError, InvalidHashError):
        return False


def _require_manager(principal: Principal) -> None:
    if not permissions.can_manage_people(principal):
        raise Forbidden("Only site admins may manage people and groups.")


async def _deny_unless_manager(store: Store, principal: Principal, action: str) -> None:
    if not permissions.can_manage_people(principal):
        await audit.deny(store, principal, action, "user")
        _require_manager(principal)


def _new_user(
    name: str,
    display_name: str | None,
    email: str | None,
    is_admin: bool,
    is_compliance: bool,
) -> UserRecord:
    return UserRecord(
        new_id(),
        name,
        (display_name or name).strip()[:200],
        email,
        is_admin,
        is_compliance,
        now(),
        None,
    )


async def create_user(
    store: Store,
    principal: Principal,
    name: str,
    password: str | None,
    *,
    display_name: str | None = None,
    email: str | None = None,
    is_admin: bool = False,
    is_compliance: bool = False,
) -> UserRecord:
    """Add a built-in account. Without a password the person can only use API tokens until
    one is set."""
    await _deny_unless_manager(store, principal, "user.create")
    name = _check_login_name(name, "user")
    if await store.users.by_name(name) is not None:
        raise Conflict(f"There is already a user called {name!r}.", field="name")
    password_hash = None if password is None else await _hashed(password)
    user = _new_user(name, display_name, email, is_admin, is_compliance)
    events = [audit.event(principal, "user.create", "user", user.id, rows=1)]
    return await store.users.create(user, password_hash, audit=events)


def create_user_sync(
    store: Store,
    name: str,
    password: str | None,
    *,
    is_admin: bool = False,
    display_name: str | None = None,
    email: str | None = None,
) -> UserRecord:
    """For start-up and the command line on a stopped hub (acts as Salon itself)."""
    name = _check_login_name(name, "user")
    if store.users.by_name_sync(name) is not None:
        raise Conflict(f"There is already a user called {name!r}.", field="name")
    password_hash = None if password is None else hash_password(password)
    user = _new_user(name, display_name, email, is_admin, False)
    events = [audit.event(SYSTEM, "user.create", "user", user.id, rows=1)]
    return store.users.create_sync(user, password_hash, audit=events)


async def verify_password(store: Store, name: str, password: str) -> UserRecord | None:
    """The active user when ``password`` is theirs; None otherwise (same time either way)."""
    found = await store.users.with_password_hash(name.strip().lower()[:64])
    known = found[1] if found is not None else None
    if not await asyncio.to_thread(_matches, known, password):  # off the loop, as _hashed
        return None
    if found is None or not found[1] or found[0].disabled_at is not None:
        return None
    return found[0]


async def set_password(
    store: Store, principal: Principal, user_name: str, password: str
) -> UserRecord:
    """Site admins may set anyone's password; people may set their own."""
    user = await store.users.by_name(user_name)
    if user is None or (
        user.id != principal.user_id and not permissions.can_manage_people(principal)
    ):
        await audit.deny(store, principal, "user.set_password", "user")
        raise NotFound(f"No user called {user_name!r}.")
    events = [audit.event(principal, "user.set_password", "user", user.id, rows=1)]
    updated = await store.users.update(
        user.id, {"password_hash": await _hashed(password)}, audit=events
    )
    assert updated is not None
    return updated


async def set_disabled(
    store: Store, principal: Principal, user_name: str, disabled: bool
) -> UserRecord:
    """Disable (or re-enable) an account. Disabling revokes its API tokens and ends its
    sign-in sessions for good: re-enabled, the person signs in again and makes new tokens."""
    await _deny_unless_manager(store, principal, "user.disable")
    user = await store.users.by_name(user_name)
    if user is None:
        raise NotFound(f"No user called {user_name!r}.")
    if user.id == principal.user_id and disabled:
        raise InvalidInput("You cannot disable your own account.")
    action = "user.disable" if disabled else "user.enable"
    events = [audit.event(principal, action, "user", user.id, rows=1)]
    if disabled:
        updated = await store.users.disable(user.id, now(), audit=events)
    else:
        updated = await store.users.update(user.id, {"disabled_at": None}, audit=events)
    assert updated is not None
    return updated


async def own_account(
    store: Store, principal: Principal
) -> tuple[UserRecord, dict[str, permissions.Access]]:
    """The principal's account and their role on each project, as every check sees it."""
    user = await store.users.by_id(principal.user_id)
    if user is None:
        raise NotFound("Your account is not there any more.")
    return user, await permissions.roles_held(store, principal)


async def list_users(store: Store, principal: Principal) -> list[UserRecord]:
    """Everyone, for admins; for others, the people they can mention and add (names only are
    shown to them by the API)."""
    users = await store.users.all()
    await audit.read(store, principal, "users.list", "user", None, None, len(users))
    return users


async def user_from_provider(
    store: Store, issuer: str, subject: str, name: str, email: str | None, display: str | None
) -> UserRecord:
    """The Salon account of a person from an outside provider, created at first sign-in."""
    found = await store.users.by_subject(issuer, subject)
    if found is not None:
        return found
    base = re.sub(r"[^a-z0-9._-]", "-", (name or subject).lower())[:50].strip("-._") or "user"
    login = base
    while await store.users.by_name(login) is not None:
        login = f"{base}-{new_id()[-4:]}"
    user = UserRecord(
        new_id(),
        login,
        (display or name or subject)[:200],
        email,
        False,
        False,
        now(),
        None,
        issuer,
        subject,
    )
    events = [audit.event(SYSTEM, "user.create", "user", user.id, rows=1)]
    return await store.users.create(user, None, audit=events)


# Groups ------------------------------------------------------------------------------------


async def create_group(
    store: Store, principal: Principal, name: str, description: str = ""
) -> GroupRecord:
    await _deny_unless_manager(store, principal, "group.create")
    name = _check_login_name(name, "group")
    if await store.users.group_by_name(name) is not None:
        raise Conflict(f"There is already a group called {name!r}.", field="name")
    group = GroupRecord(new_id(), name, description[:1000], now())
    events = [audit.event(principal, "group.create", "group", group.id, rows=1)]
    return await store.users.create_group(group, audit=events)


async def _group_and_user(
    store: Store, group_name: str, user_name: str
) -> tuple[GroupRecord, UserRecord]:
    group = await store.users.group_by_name(group_name)
    if group is None:
        raise NotFound(f"No group called {group_name!r}.", field="group")
    user = await store.users.by_name(user_name)
    if user is None:
        raise NotFound(f"No user called {user_name!r}.", field="user")
    return group, user


async def add_member(
    store: Store, principal: Principal, group_name: str, user_name: str
) -> GroupRecord:
    await _deny_unless_manager(store, principal, "group.add_member")
    group, user = await _group_and_user(store, group_name, user_name)
    events = [audit.event(principal, "group.add_member", "group", group.id, rows=1)]
    await store.users.add_member(group.id, user.id, now(), audit=events)
    return group


async def remove_member(
    store: Store, principal: Principal, group_name: str, user_name: str
) -> GroupRecord:
    await _deny_unless_manager(store, principal, "group.remove_member")
    group, user = await _group_and_user(store, group_name, user_name)
    events = [audit.event(principal, "group.remove_member", "group", group.id, rows=1)]
    await store.users.remove_member(group.id, user.id, audit=events)
    return group


async def list_groups(store: Store, principal: Principal) -> list[GroupRecord]:
    groups = await store.users.groups()
    await audit.read(store, principal, "groups.list", "group", None, None, len(groups))
    return groups
