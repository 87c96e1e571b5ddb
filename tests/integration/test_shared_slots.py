"""Two gateway replicas together stay within Intacct's per-company concurrency limit."""

from __future__ import annotations

import asyncio

import httpx
from redis.asyncio import Redis

from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as cred
from sandbox.intacct import Fault, IntacctEmulator
from system_apis.contract import CallContext
from system_apis.resilience import SharedSlots
from system_apis.sage_intacct import IntacctAdapter
from tests.support.redis_server import RedisServer
from tests.support.servers import free_port, serve


def _replica(http: httpx.AsyncClient, url: str, redis: Redis | None) -> IntacctAdapter:
    slots = SharedSlots(redis, key="isthmus:slots:test", limit=2) if redis is not None else None
    return IntacctAdapter(
        http,
        endpoint_url=f"{url}/ia/xml/xmlgw.phtml",
        sender_id=cred.sender_id,
        sender_password=cred.sender_password,
        user_id=cred.user_id,
        company_id=cred.company_id,
        user_password=cred.user_password,
        max_in_flight=2,
        request_timeout=5,
        slots=slots,
    )


async def _load(redis_url: str | None) -> IntacctEmulator:
    port = free_port()
    emulator = IntacctEmulator(public_url=f"http://127.0.0.1:{port}", max_in_flight=2)
    emulator.set_fault("*", Fault(kind="latency", delay_ms=30))
    with serve(emulator.app, port=port) as url:
        redises = (
            [Redis.from_url(redis_url), Redis.from_url(redis_url)] if redis_url else [None, None]
        )
        try:
            async with httpx.AsyncClient() as a, httpx.AsyncClient() as b:
                replicas = [_replica(a, url, redises[0]), _replica(b, url, redises[1])]
                ctx = CallContext(company="DE01")
                results = await asyncio.gather(
                    *(
                        replicas[i % 2].get_customer_credit(ctx, f"CUST-DE-{1 + i % 10:03d}")
                        for i in range(20)
                    ),
                    return_exceptions=True,
                )
                if redis_url is not None:
                    assert [r for r in results if isinstance(r, BaseException)] == []
        finally:
            for r in redises:
                if r is not None:
                    await r.aclose()
    return emulator


async def test_replicas_sharing_redis_never_exceed_the_company_limit(redis_url: str) -> None:
    emulator = await _load(redis_url)
    assert emulator.max_in_flight_seen == {cred.company_id: 2}
    assert emulator.rate_limited_total == 0


async def test_without_shared_slots_two_replicas_exceed_it() -> None:
    # The reason SharedSlots exists: per-process caps add up across replicas.
    emulator = await _load(None)
    assert emulator.rate_limited_total > 0


async def test_redis_down_falls_back_to_the_per_process_cap(killable_redis: RedisServer) -> None:
    redis = Redis.from_url(killable_redis.url)
    slots = SharedSlots(redis, key="isthmus:slots:down", limit=2)
    killable_redis.stop()
    try:
        async with slots.slot(1.0):
            held = True
    finally:
        await redis.aclose()
    assert held
