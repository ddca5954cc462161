"""Limits on failed sign-ins and token guesses, per account and per client address.

Only failures count, so a busy notebook with a good token is never slowed. When a key has
failed too often in the window, further failures get :class:`RateLimited` (429): an API token
is checked first (a hash and a lookup), so a valid one from the same address still works;
passwords are refused unchecked while their account is over its limit.
"""

from __future__ import annotations

import time

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.errors import RateLimited


class FailureLimiter:
    """Counts failures per key (``address:1.2.3.4``, ``account:ada``) in a moving window."""

    def __init__(self, per_address: str, per_account: str) -> None:
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._address: RateLimitItem = parse(per_address)
        self._account: RateLimitItem = parse(per_account)

    def _items(self, address: str | None, account: str | None) -> list[tuple[RateLimitItem, str]]:
        items = []
        if address:
            items.append((self._address, f"address:{address}"))
        if account:
            items.append((self._account, f"account:{account.strip().lower()[:64]}"))
        return items

    def check(self, address: str | None, account: str | None = None) -> None:
        """Raise RateLimited when either key is over its limit."""
        for item, key in self._items(address, account):
            if not self._limiter.test(item, key):
                stats = self._limiter.get_window_stats(item, key)
                wait = max(1, int(stats.reset_time - time.time()))
                raise RateLimited(
                    f"Too many failed attempts; try again in {wait} seconds.", retry_after=wait
                )

    def fail(self, address: str | None, account: str | None = None) -> None:
        for item, key in self._items(address, account):
            self._limiter.hit(item, key)
