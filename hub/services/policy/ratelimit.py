"""Limits on failed sign-ins and token guesses, per account and per client address.

Only failures count, so a busy notebook with a good token is never slowed. When a key has
failed too often in the window, further failures get :class:`RateLimited` (429): an API token
is checked first (a hash and a lookup), so a valid one from the same address still works;
passwords are refused unchecked while their account is over its limit.

One hub counts in memory. Hubs sharing a database count in it, so that guesses spread over
the hubs behind a load balancer add up as if one hub had them all.
"""

from __future__ import annotations

import time
from datetime import timedelta

from limits import RateLimitItem, parse
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter

from hub.clock import now
from hub.errors import RateLimited
from hub.store import Store


def _refused(wait: float) -> RateLimited:
    seconds = max(1, int(wait))
    return RateLimited(
        f"Too many failed attempts; try again in {seconds} seconds.", retry_after=seconds
    )


class FailureLimiter:
    """Counts failures per key (``address:1.2.3.4``, ``account:ada``) in a moving window."""

    def __init__(self, per_address: str, per_account: str, store: Store | None = None) -> None:
        """With ``store`` on a shared database, failures are counted there; else here."""
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._address: RateLimitItem = parse(per_address)
        self._account: RateLimitItem = parse(per_account)
        self._store = store if store is not None and store.shared else None

    def _items(self, address: str | None, account: str | None) -> list[tuple[RateLimitItem, str]]:
        items = []
        if address:
            items.append((self._address, f"address:{address}"))
        if account:
            items.append((self._account, f"account:{account.strip().lower()[:64]}"))
        return items

    async def check(self, address: str | None, account: str | None = None) -> None:
        """Raise RateLimited when either key is over its limit."""
        for item, key in self._items(address, account):
            if self._store is None:
                if not self._limiter.test(item, key):
                    stats = self._limiter.get_window_stats(item, key)
                    raise _refused(stats.reset_time - time.time())
                continue
            window = timedelta(seconds=item.get_expiry())
            at = now()
            count, oldest = await self._store.failures.since(key, at - window)
            if count >= item.amount and oldest is not None:
                raise _refused((oldest + window - at).total_seconds())

    async def fail(self, address: str | None, account: str | None = None) -> None:
        for item, key in self._items(address, account):
            if self._store is None:
                self._limiter.hit(item, key)
                continue
            at = now()
            await self._store.failures.add(key, at, at - timedelta(seconds=item.get_expiry()))
