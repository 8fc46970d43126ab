"""Rate limits: in memory by default, shared through Redis when REDIS_URL is set."""

import socket
import uuid

import pytest

from core.errors import RateLimited
from core.ratelimit import RateLimiter
from tests.conftest import make_settings


def _redis_up() -> bool:
    try:
        socket.create_connection(("127.0.0.1", 6379), timeout=1).close()
        return True
    except OSError:
        return False


async def test_memory_limiter_counts_and_reports_retry_after():
    limiter = RateLimiter(make_settings())
    await limiter.hit("2/minute", "k")
    await limiter.hit("2/minute", "k")
    with pytest.raises(RateLimited) as err:
        await limiter.hit("2/minute", "k")
    assert 1 <= err.value.retry_after <= 60
    await limiter.hit("2/minute", "autre")  # other keys are independent


async def test_disabled_limiter_never_limits():
    limiter = RateLimiter(make_settings(rate_limit_enabled=False))
    for _ in range(5):
        await limiter.hit("1/minute", "k")


@pytest.mark.skipif(not _redis_up(), reason="no Redis on 127.0.0.1:6379")
async def test_redis_limiter_is_shared_between_processes():
    settings = make_settings(redis_url="redis://127.0.0.1:6379/0")
    key = str(uuid.uuid4())
    one, two = RateLimiter(settings), RateLimiter(settings)  # as two server processes
    await one.hit("2/minute", key)
    await two.hit("2/minute", key)
    with pytest.raises(RateLimited):
        await one.hit("2/minute", key)
