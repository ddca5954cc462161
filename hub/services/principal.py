"""Who is acting. Every service function takes one."""

from __future__ import annotations

import dataclasses


@dataclasses.dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller: a person or an automation acting through an API token."""

    user_name: str
    is_admin: bool
    token_id: str | None = None


SYSTEM = Principal(user_name="salon", is_admin=True)
