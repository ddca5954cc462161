"""Expected failures as GraphQL types, so clients can branch on them without parsing text."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

import strawberry

from hub.errors import FilterSyntaxError, Forbidden, NotFound, SalonError, StoreUnavailable

T = TypeVar("T")
R = TypeVar("R")


@strawberry.interface(name="Error", description="Something the caller can fix.")
class ErrorType:
    message: str = strawberry.field(description="What went wrong and what to change.")


@strawberry.type(name="ValidationError", description="Input that is malformed or too large.")
class ValidationErrorType(ErrorType):
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(name="NotFoundError", description="No such object, or one you may not see.")
class NotFoundErrorType(ErrorType):
    pass


@strawberry.type(
    name="ForbiddenError", description="You can see this, but your role does not allow the change."
)
class ForbiddenErrorType(ErrorType):
    pass


@strawberry.type(name="ConflictError", description="The change clashes with what is stored.")
class ConflictErrorType(ErrorType):
    field: str | None = strawberry.field(description="The input field at fault, if one is.")


@strawberry.type(name="FilterError", description="A run filter or sort order that does not parse.")
class FilterErrorType(ErrorType):
    position: int | None = strawberry.field(
        description="Character offset in the filter where reading failed."
    )


@strawberry.type(
    name="UnavailableError",
    description="The hub cannot do this now (its database does not answer); nothing was "
    "changed. Try again shortly.",
)
class UnavailableErrorType(ErrorType):
    pass


ErrorResult = (
    ValidationErrorType
    | NotFoundErrorType
    | ForbiddenErrorType
    | ConflictErrorType
    | FilterErrorType
    | UnavailableErrorType
)


# What any field with a result union can fail with: every typed error, so that whatever a
# service raises reaches the client as a result it can branch on (see result_of).
Errors = ErrorResult


def as_error(exc: SalonError) -> ErrorResult:
    """The typed result for an expected failure."""
    if isinstance(exc, FilterSyntaxError):
        return FilterErrorType(message=exc.message, position=exc.position)
    if isinstance(exc, NotFound):
        return NotFoundErrorType(message=exc.message)
    if isinstance(exc, Forbidden):
        return ForbiddenErrorType(message=exc.message)
    if exc.code == "conflict":
        return ConflictErrorType(message=exc.message, field=exc.field)
    if isinstance(exc, StoreUnavailable):
        return UnavailableErrorType(message=exc.message)
    return ValidationErrorType(message=exc.message, field=exc.field)


async def result_of(work: Awaitable[T], wrap: Callable[[T], R]) -> R | ErrorResult:
    """``wrap`` of what ``work`` returns, or the typed result of the expected failure it raised:
    what a mutation resolver returns."""
    try:
        value = await work
    except SalonError as exc:
        return as_error(exc)
    return wrap(value)
