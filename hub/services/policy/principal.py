"""Who is acting. Every service function takes one."""

from __future__ import annotations

import dataclasses

ROLES = ("viewer", "commenter", "editor", "maintainer", "admin")
"""Project roles, weakest first; each may do everything the ones before it may."""

AUTH_METHODS = ("token", "session", "link", "system")


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a person signed in, or acting through an API token.

    ``scope_projects`` and ``scope_write`` narrow what a token may do below what its owner may
    do; a session is never narrowed. ``address`` is the client's IP address, for the audit
    trail."""

    user_id: str
    user_name: str
    is_admin: bool = False
    is_compliance: bool = False
    group_ids: frozenset[str] = frozenset()
    auth_method: str = "token"
    auth_id: str | None = None
    address: str | None = None
    scope_projects: frozenset[str] | None = None
    scope_write: bool = True

    def at(self, address: str | None) -> Principal:
        """The same principal, calling from ``address``."""
        return dataclasses.replace(self, address=address)


SYSTEM = Principal(user_id="system", user_name="salon", is_admin=True, auth_method="system")
"""Salon itself: start-up tasks, the demo loader and the command line on a stopped hub."""
