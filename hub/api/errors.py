"""Expected failures as GraphQL types, so clients can branch on them without parsing text."""

from __future__ import annotations

import strawberry

from hub.errors import FilterSyntaxError, Forbidden, NotFound, SalonError


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


ErrorResult = (
    ValidationErrorType
    | NotFoundErrorType
    | ForbiddenErrorType
    | ConflictErrorType
    | FilterErrorType
)


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
    return ValidationErrorType(message=exc.message, field=exc.field)
