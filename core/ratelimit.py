"""Rate limits through the `limits` package.

In memory by default (one process); with REDIS_URL set, the counters live in Redis so
several server processes share them. RATE_LIMIT_ENABLED=false turns every limit off
(benchmarks only).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from limits import RateLimitItem, parse
from limits.aio.storage import MemoryStorage, Storage
from limits.aio.strategies import MovingWindowRateLimiter
from limits.storage import storage_from_string

from core.errors import RateLimited
from core.settings import Settings


class RateLimiter:
    def __init__(self, settings: Settings) -> None:
        self.enabled = settings.rate_limit_enabled
        self.storage: Storage
        if settings.redis_url:
            url = settings.redis_url
            if not url.startswith("async+"):
                url = "async+" + url
            storage = storage_from_string(url)
            assert isinstance(storage, Storage)
            self.storage = storage
        else:
            self.storage = MemoryStorage()
        self.strategy = MovingWindowRateLimiter(self.storage)
        self._items: dict[str, RateLimitItem] = {}

    def item(self, limit: str) -> RateLimitItem:
        if limit not in self._items:
            self._items[limit] = parse(limit)
        return self._items[limit]

    async def retry_after(self, limit: str, *key: str) -> int:
        stats = await self.strategy.get_window_stats(self.item(limit), *key)
        return max(1, math.ceil(stats.reset_time - time.time()))

    async def check(self, limit: str, *key: str) -> None:
        """Raise RateLimited if the limit is already reached (does not count a hit)."""
        if not self.enabled:
            return
        if not await self.strategy.test(self.item(limit), *key):
            raise RateLimited(await self.retry_after(limit, *key))

    async def hit(
        self,
        limit: str,
        *key: str,
        cost: int = 1,
        message: Callable[[int], str] | None = None,
    ) -> None:
        """Count `cost` hits at once (atomic: all or none); raise RateLimited (with
        `message(seconds)`, else the generic one) when they would go over the limit."""
        if not self.enabled:
            return
        if not await self.strategy.hit(self.item(limit), *key, cost=cost):
            wait = await self.retry_after(limit, *key)
            raise RateLimited(wait, message(wait) if message else None)

    async def check_each(self, checks: list[tuple[str, tuple[str, ...]]]) -> None:
        """Raise RateLimited if any (limit, key) is reached, with the longest Retry-After."""
        if not self.enabled:
            return
        waits = [
            await self.retry_after(limit, *key)
            for limit, key in checks
            if not await self.strategy.test(self.item(limit), *key)
        ]
        if waits:
            raise RateLimited(max(waits))

    async def hit_each(self, checks: list[tuple[str, tuple[str, ...]]]) -> None:
        """Count one hit on every (limit, key), never raising (the next check refuses)."""
        if not self.enabled:
            return
        for limit, key in checks:
            await self.strategy.hit(self.item(limit), *key)

    async def reset(self) -> None:
        await self.storage.reset()
