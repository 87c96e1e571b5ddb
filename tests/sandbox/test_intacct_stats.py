"""The emulator reports the most requests it saw in flight per company, and its refusals."""

from __future__ import annotations

import asyncio

import httpx

from sandbox.intacct import Fault, IntacctEmulator
from tests.support.servers import free_port, serve

LOGIN_READ = """<?xml version="1.0" encoding="UTF-8"?>
<request><control><senderid>{sender}</senderid><password>{spw}</password><controlid>{cid}</controlid>
<uniqueid>false</uniqueid><dtdversion>3.0</dtdversion></control>
<operation><authentication><login><userid>{user}</userid><companyid>{company}</companyid>
<password>{upw}</password><locationid>DE01</locationid></login></authentication>
<content><function controlid="f1"><readByQuery><object>CUSTOMER</object><fields>CUSTOMERID</fields>
<query></query><pagesize>1</pagesize></readByQuery></function></content></operation></request>"""


async def test_stats_show_the_concurrency_high_water_mark_and_refusals() -> None:
    from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as cred

    port = free_port()
    emulator = IntacctEmulator(public_url=f"http://127.0.0.1:{port}", max_in_flight=2)
    emulator.set_fault("readByQuery", Fault(kind="latency", delay_ms=200))
    body = LOGIN_READ.format(
        sender=cred.sender_id, spw=cred.sender_password, user=cred.user_id,
        company=cred.company_id, upw=cred.user_password, cid="{cid}",
    )  # fmt: skip
    with serve(emulator.app, port=port) as url:
        async with httpx.AsyncClient(base_url=url) as client:
            await asyncio.gather(
                *(
                    client.post("/ia/xml/xmlgw.phtml", content=body.replace("{cid}", f"c{i}"))
                    for i in range(4)
                )
            )
            stats = (await client.get("/_sandbox/stats")).json()
    assert stats["max_in_flight"] == 2
    assert stats["max_in_flight_seen"] == {"isthmus-sandbox": 2}
    assert stats["rate_limited_total"] == 2
    assert stats["sessions_issued"] == 4  # each request signed in with its login
    # The two admitted were held back by the latency fault, each until its own due time.
    assert stats["delayed_total"] == 2
    assert stats["max_late_ms"] >= 0


async def test_a_service_time_holds_each_request_in_flight_without_faults() -> None:
    # With no service time the emulator answers each request before reading the next, so the
    # cap is never reached; with one, overlapping requests fill it as they do on the real gateway.
    from sandbox.intacct import INTACCT_SANDBOX_CREDENTIALS as cred

    body = LOGIN_READ.format(
        sender=cred.sender_id, spw=cred.sender_password, user=cred.user_id,
        company=cred.company_id, upw=cred.user_password, cid="{cid}",
    )  # fmt: skip
    seen = {}
    for service_time_s in (0.0, 1.0):
        port = free_port()
        emulator = IntacctEmulator(
            public_url=f"http://127.0.0.1:{port}", max_in_flight=2, service_time_s=service_time_s
        )
        with serve(emulator.app, port=port) as url:
            async with httpx.AsyncClient(base_url=url) as client:
                answers = await asyncio.gather(
                    *(
                        client.post("/ia/xml/xmlgw.phtml", content=body.replace("{cid}", f"c{i}"))
                        for i in range(3)
                    )
                )
                seen[service_time_s] = (await client.get("/_sandbox/stats")).json()
        assert all(a.status_code in (200, 429) for a in answers)
    assert seen[0.0]["max_in_flight_seen"] == {"isthmus-sandbox": 1}
    assert seen[0.0]["rate_limited_total"] == 0
    assert seen[1.0]["max_in_flight_seen"] == {"isthmus-sandbox": 2}
    assert seen[1.0]["rate_limited_total"] == 1
