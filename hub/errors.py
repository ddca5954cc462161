"""The one error tree of Salon.

Every failure a user can cause is a :class:`SalonError`; anything else is a bug, masked for the
client and logged with an id::

    SalonError                  something the caller can fix; message says what to change
     ├── Unauthenticated        no or bad credentials                       → 401
     │    └── RateLimited       too many failed sign-ins or token guesses   → 429
     ├── Forbidden              a member without the role this needs        → 403
     ├── NotFound               no such object, or one the caller may not see → 404
     ├── InvalidInput           malformed or out-of-range input             → 400
     │    ├── FilterSyntaxError a run filter that does not parse            → 400
     │    └── LimitExceeded     input larger than a configured limit        → 413 / 400
     ├── Conflict               the change clashes with the current state   → 409
     │    └── AlreadyExists     a name that is taken                        → 409
     └── StoreUnavailable       the database file cannot be opened (in use)  → 503

An object the caller may not see is reported as :class:`NotFound`, so that an outsider cannot
tell "forbidden" from "does not exist". :class:`Forbidden` is only for callers who may already
see the object (a viewer trying to edit a run), where saying why helps them.
"""

from __future__ import annotations


class SalonError(Exception):
    """Base of every expected failure. ``message`` is shown to the user as is."""

    status = 400
    code = "error"

    def __init__(self, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field

    @property
    def extensions(self) -> dict[str, str]:
        """Machine-readable details; GraphQL copies them into the error's ``extensions``."""
        details = {"code": self.code}
        if self.field:
            details["field"] = self.field
        return details


class Unauthenticated(SalonError):
    status = 401
    code = "unauthenticated"


class RateLimited(Unauthenticated):
    status = 429
    code = "rate_limited"

    def __init__(self, message: str, *, retry_after: int) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class Forbidden(SalonError):
    status = 403
    code = "forbidden"


class NotFound(SalonError):
    status = 404
    code = "not_found"


class InvalidInput(SalonError):
    status = 400
    code = "invalid_input"


class FilterSyntaxError(InvalidInput):
    code = "filter_syntax"

    def __init__(self, message: str, *, position: int | None = None) -> None:
        super().__init__(message, field="filter")
        self.position = position


class LimitExceeded(InvalidInput):
    status = 413
    code = "limit_exceeded"


class Conflict(SalonError):
    status = 409
    code = "conflict"


class AlreadyExists(Conflict):
    code = "already_exists"


class StoreUnavailable(SalonError):
    status = 503
    code = "store_unavailable"
