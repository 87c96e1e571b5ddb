"""A busy client costs one Redis round trip per lease, and the shared budget still holds."""

from __future__ import annotations

import redis
from redis.asyncio import Redis

from app.security.rate_limit import RateLimiter
from app.settings import RateLimitSettings


async def test_large_budgets_are_taken_from_redis_in_leases(redis_url: str) -> None:
    client = Redis.from_url(redis_url)
    limiter = RateLimiter(RateLimitSettings(requests=10_000, window_s=60), clock=lambda: 120.0)
    limiter.bind(client)
    try:
        decisions = [await limiter.hit("sf-org") for _ in range(45)]
    finally:
        await client.aclose()
    assert all(d.allowed and d.shared for d in decisions)
    # Leases of 20 (0.2% of 10,000): three round trips for 45 requests.
    assert redis.Redis.from_url(redis_url).get("isthmus:rl:sf-org:2") == b"60"
    assert [d.remaining for d in decisions[:3]] == [9_999, 9_998, 9_997]


async def test_small_budgets_are_counted_exactly_across_instances(redis_url: str) -> None:
    first, second = Redis.from_url(redis_url), Redis.from_url(redis_url)
    a = RateLimiter(RateLimitSettings(requests=5, window_s=60), clock=lambda: 120.0)
    b = RateLimiter(RateLimitSettings(requests=5, window_s=60), clock=lambda: 120.0)
    a.bind(first)
    b.bind(second)
    try:
        allowed = []
        for _ in range(3):
            allowed.append((await a.hit("portal")).allowed)
            allowed.append((await b.hit("portal")).allowed)
    finally:
        await first.aclose()
        await second.aclose()
    assert allowed.count(True) == 5
