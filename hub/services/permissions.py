"""Who may do what. Until roles land (issue 3) an authenticated admin may do everything; the
checks already sit where every later rule will go, so callers need not change."""

from __future__ import annotations

from hub.errors import NotFound
from hub.services.principal import Principal


def can_read_project(principal: Principal, project_id: str) -> bool:
    return principal.is_admin


def can_write_project(principal: Principal, project_id: str) -> bool:
    return principal.is_admin


def can_create_project(principal: Principal) -> bool:
    return principal.is_admin


def require_read(principal: Principal, project_id: str, what: str) -> None:
    """Raise NotFound (never "forbidden", so nothing leaks) unless ``principal`` may read."""
    if not can_read_project(principal, project_id):
        raise NotFound(f"No {what} found.")


def require_write(principal: Principal, project_id: str, what: str) -> None:
    if not can_write_project(principal, project_id):
        raise NotFound(f"No {what} found.")
