"""Size limits on what users send, with the checks that enforce them."""

from __future__ import annotations

from collections.abc import Iterable

from hub.errors import InvalidInput, LimitExceeded

MAX_NAME = 200
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
MAX_NOTES = 100_000
MAX_PARAMS_PER_CALL = 1000
MAX_TAGS_PER_CALL = 1000
MAX_SERIES_BUCKETS = 5000
MAX_SERIES_REQUEST = 200  # (run, key) pairs in one series request
MAX_PACKAGES = 5000


def check_name(value: str, what: str) -> str:
    value = value.strip()
    if not value:
        raise InvalidInput(f"The {what} name must not be empty.", field="name")
    if len(value) > MAX_NAME:
        raise LimitExceeded(
            f"The {what} name is {len(value)} characters long; the limit is {MAX_NAME}.",
            field="name",
        )
    if any(ord(ch) < 32 for ch in value):
        raise InvalidInput(f"The {what} name contains control characters.", field="name")
    return value


def check_key(key: str, what: str) -> str:
    if not key or not key.strip():
        raise InvalidInput(f"A {what} name must not be empty.", field=what)
    if len(key) > MAX_KEY:
        raise LimitExceeded(
            f"The {what} name {key[:40]!r}… is {len(key)} characters long; the limit is {MAX_KEY}.",
            field=what,
        )
    if any(ord(ch) < 32 for ch in key):
        raise InvalidInput(f"The {what} name {key!r} contains control characters.", field=what)
    return key


def check_pairs(
    pairs: Iterable[tuple[str, str]], what: str, max_value: int, max_count: int
) -> list[tuple[str, str]]:
    checked = []
    for key, value in pairs:
        check_key(key, what)
        if len(value) > max_value:
            raise LimitExceeded(
                f"The value of {what} {key!r} is {len(value)} characters long; the limit is "
                f"{max_value}.",
                field=what,
            )
        checked.append((key, value))
    if len(checked) > max_count:
        raise LimitExceeded(
            f"{len(checked)} {what}s in one call; send at most {max_count} at a time.", field=what
        )
    return checked
