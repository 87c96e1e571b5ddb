"""The Salesforce org emulator refuses what a real org refuses, in Salesforce's own shapes."""

from __future__ import annotations

import json
import time
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime, timedelta

import httpx
import jwt
import pytest

from sandbox.salesforce import (
    SANDBOX_CONSUMER_KEY,
    SANDBOX_CONSUMER_SECRET,
    SANDBOX_USERNAME,
    Fault,
    SalesforceEmulator,
)
from sandbox.salesforce.auth import generate_key_pair
from sandbox.salesforce.ids import is_id, to_18
from sandbox.xref import build_xref

URL = "https://127.0.0.1:8703"
MISSING_ACCOUNT = to_18("001Sbx000000999")
V = "/services/data/v62.0"


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 5, 4, 12, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture(scope="module")
def clock() -> Clock:
    return Clock()


@pytest.fixture(scope="module")
def org(clock: Clock) -> Iterator[SalesforceEmulator]:
    return SalesforceEmulator(public_url=URL, clock=clock)


@pytest.fixture
async def client(org: SalesforceEmulator) -> AsyncIterator[httpx.AsyncClient]:
    org.clear_faults()
    org.set_api_usage(used=0, limit=15_000)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        token = await http.post(
            "/services/oauth2/token", data={"grant_type": "client_credentials"},
            auth=(SANDBOX_CONSUMER_KEY, SANDBOX_CONSUMER_SECRET),
        )  # fmt: skip
        assert token.status_code == 200, token.text
        http.headers["Authorization"] = f"Bearer {token.json()['access_token']}"
        yield http


def assertion(org: SalesforceEmulator, clock: Clock, **claims: object) -> str:
    body = {"iss": SANDBOX_CONSUMER_KEY, "sub": SANDBOX_USERNAME, "aud": "https://login.salesforce.com",
            "exp": int(clock.now.timestamp()) + 120, **claims}  # fmt: skip
    assert org.jwt_private_key_pem is not None
    return jwt.encode(body, org.jwt_private_key_pem, algorithm="RS256")


def error(response: httpx.Response) -> tuple[int, str, str]:
    body = response.json()
    return response.status_code, body[0]["errorCode"], body[0]["message"]


# -- OAuth ----------------------------------------------------------------------------------


async def test_jwt_bearer_answers_a_token_with_the_documented_fields(
    org: SalesforceEmulator, clock: Clock
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        response = await http.post("/services/oauth2/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(org, clock)})  # fmt: skip
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {
        "access_token",
        "instance_url",
        "id",
        "token_type",
        "issued_at",
        "signature",
        "scope",
    }
    assert body["instance_url"] == URL
    assert body["id"] == f"{URL}/id/{org.org.org_id}/{org.org.user_id}"


@pytest.mark.parametrize(
    ("claims", "expected"),
    [
        ({"iss": "someone-else"}, ("invalid_client_id", "client identifier invalid")),
        ({"aud": "https://evil.example.com"}, ("invalid_grant", "audience is invalid")),
        ({"sub": "nobody@example.com"}, ("invalid_grant", "user hasn't approved this consumer")),
        ({"exp": 0}, ("invalid_grant", "expired authorization code")),
        ({"exp": 10**10}, ("invalid_grant", "invalid assertion")),
    ],
)
async def test_jwt_bearer_refusals(
    org: SalesforceEmulator, clock: Clock, claims: dict[str, object], expected: tuple[str, str]
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        response = await http.post("/services/oauth2/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion(org, clock, **claims)})  # fmt: skip
    assert response.status_code == 400
    assert (response.json()["error"], response.json()["error_description"]) == expected


async def test_jwt_signed_by_another_key_is_an_invalid_assertion(
    org: SalesforceEmulator, clock: Clock
) -> None:
    private, _ = generate_key_pair()
    token = jwt.encode({"iss": SANDBOX_CONSUMER_KEY, "sub": SANDBOX_USERNAME, "aud": URL,
                        "exp": int(clock.now.timestamp()) + 60}, private, algorithm="RS256")  # fmt: skip
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        response = await http.post("/services/oauth2/token", data={
            "grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": token})  # fmt: skip
    assert response.json() == {"error": "invalid_grant", "error_description": "invalid assertion"}


@pytest.mark.parametrize(
    ("form", "auth", "expected"),
    [
        (
            {
                "grant_type": "client_credentials",
                "client_id": SANDBOX_CONSUMER_KEY,
                "client_secret": "wrong",
            },
            None,
            "invalid_client",
        ),
        ({"grant_type": "client_credentials"}, ("unknown", "x"), "invalid_client_id"),
        (
            {"grant_type": "password", "username": "u", "password": "p"},
            None,
            "unsupported_grant_type",
        ),
    ],
)
async def test_token_endpoint_refusals(
    org: SalesforceEmulator, form: dict[str, str], auth: tuple[str, str] | None, expected: str
) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        response = await http.post("/services/oauth2/token", data=form, auth=auth)
    assert response.status_code == 400
    assert response.json()["error"] == expected


async def test_client_credentials_in_the_form_body_are_accepted(org: SalesforceEmulator) -> None:
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=org), base_url=URL) as http:
        response = await http.post("/services/oauth2/token", data={
            "grant_type": "client_credentials", "client_id": SANDBOX_CONSUMER_KEY, "client_secret": SANDBOX_CONSUMER_SECRET})  # fmt: skip
    assert response.status_code == 200


async def test_unknown_and_expired_tokens_answer_invalid_session_id(
    org: SalesforceEmulator, clock: Clock, client: httpx.AsyncClient
) -> None:
    unknown = await client.get(f"{V}/limits/", headers={"Authorization": "Bearer nope"})
    assert unknown.status_code == 401
    assert unknown.json() == [
        {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
    ]
    clock.now += timedelta(hours=3)
    try:
        expired = await client.get(f"{V}/limits/")
    finally:
        clock.now -= timedelta(hours=3)
    assert expired.status_code == 401


# -- versions, limits -------------------------------------------------------------------------


async def test_versions_50_to_62_are_listed_and_others_are_not_found(
    client: httpx.AsyncClient,
) -> None:
    versions = (await client.get("/services/data/")).json()
    assert [v["version"] for v in versions] == [f"{n}.0" for n in range(50, 63)]
    assert error(await client.get("/services/data/v49.0/limits/"))[:2] == (404, "NOT_FOUND")
    assert (await client.get("/services/data/v50.0/limits/")).status_code == 200


async def test_every_call_reports_usage_and_the_daily_limit_refuses_with_403(
    org: SalesforceEmulator, client: httpx.AsyncClient
) -> None:
    org.set_api_usage(used=10, limit=12)
    first = await client.get(f"{V}/limits/")
    assert first.headers["Sforce-Limit-Info"] == "api-usage=11/12"
    assert first.json()["DailyApiRequests"] == {"Max": 12, "Remaining": 1}
    await client.get(f"{V}/limits/")
    refused = await client.get(f"{V}/limits/")
    assert error(refused) == (403, "REQUEST_LIMIT_EXCEEDED", "TotalRequests Limit exceeded.")
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=12/12"


# -- ids and seed -------------------------------------------------------------------------------


async def test_seeded_accounts_are_the_cross_reference_ids(client: httpx.AsyncClient) -> None:
    rows = (
        await client.get(
            f"{V}/query/",
            params={"q": "SELECT Id, ERP_Customer_Number__c FROM Account ORDER BY Id"},
        )
    ).json()["records"]
    xref = build_xref()["accounts"]
    assert {r["Id"] for r in rows} >= set(xref)
    assert all(
        r["ERP_Customer_Number__c"] == xref[r["Id"]]["US01"] for r in rows if r["Id"] in xref
    )


async def test_new_records_get_real_ids_with_the_object_key_prefix(
    client: httpx.AsyncClient,
) -> None:
    created = await client.post(f"{V}/sobjects/Account/", json={"Name": "Prefix Test"})
    record_id = created.json()["id"]
    assert created.status_code == 201
    assert record_id.startswith("001")
    assert len(record_id) == 18
    assert is_id(record_id)
    assert to_18(record_id[:15]) == record_id
    by_15 = await client.get(f"{V}/sobjects/Account/{record_id[:15]}")
    assert by_15.json()["Id"] == record_id
    assert by_15.json()["attributes"] == {
        "type": "Account",
        "url": f"{V}/sobjects/Account/{record_id}",
    }
    assert by_15.json()["CreatedDate"].endswith("+0000")


# -- record refusals ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("path", "body", "expected"),
    [
        (
            "Account",
            {"Nope__c": 1},
            ("INVALID_FIELD", "No such column 'Nope__c' on sobject of type Account"),
        ),
        (
            "Account",
            {"Industry": "x" * 10, "Name": None},
            ("REQUIRED_FIELD_MISSING", "Required fields are missing: [Name]"),
        ),
        (
            "Contact",
            {"LastName": "X", "AccountId": "bogus"},
            ("MALFORMED_ID", "Account ID: id value of incorrect type: bogus"),
        ),
        (
            "Contact",
            {"LastName": "X", "AccountId": MISSING_ACCOUNT},
            ("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id"),
        ),
        (
            "Account",
            {"Name": "X", "Credit_Limit__c": -5},
            ("FIELD_CUSTOM_VALIDATION_EXCEPTION", "Credit limit cannot be negative."),
        ),
        ("Account", {"Name": "X", "IsDeleted": True}, ("INVALID_FIELD_FOR_INSERT_UPDATE", None)),
        (
            "Order",
            {"AccountId": "001Sbx000000001IAA", "EffectiveDate": "2026-05-01", "Status": "Shipped"},
            (
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                "Status: bad value for restricted picklist field: Shipped",
            ),
        ),
        ("Account", {"Name": "x" * 256}, ("STRING_TOO_LONG", None)),
        ("Account", {"Name": "X", "AnnualRevenue": "lots"}, ("JSON_PARSER_ERROR", None)),
    ],
)
async def test_create_refusals(
    client: httpx.AsyncClient, path: str, body: dict[str, object], expected: tuple[str, str | None]
) -> None:
    status, code, message = error(await client.post(f"{V}/sobjects/{path}/", json=body))
    assert (status, code) == (400, expected[0])
    if expected[1] is not None:
        assert message == expected[1]


async def test_unknown_object_and_record_are_not_found(client: httpx.AsyncClient) -> None:
    assert error(await client.post(f"{V}/sobjects/Nope__c/", json={}))[:2] == (404, "NOT_FOUND")
    assert error(await client.get(f"{V}/sobjects/Account/{MISSING_ACCOUNT}")) == (
        404,
        "NOT_FOUND",
        "The requested resource does not exist",
    )
    assert error(await client.get(f"{V}/sobjects/Account/003Sbx000000001IAA"))[:2] == (
        400,
        "MALFORMED_ID",
    )
    assert error(await client.get(f"{V}/sobjects/Account/xyz"))[:2] == (404, "NOT_FOUND")


async def test_unique_external_ids_refuse_duplicates(client: httpx.AsyncClient) -> None:
    first = await client.post(
        f"{V}/sobjects/ERP_Shipment__c/", json={"ERP_Shipment_Id__c": "DUP-1"}
    )
    assert first.status_code == 201
    status, code, message = error(
        await client.post(f"{V}/sobjects/ERP_Shipment__c/", json={"ERP_Shipment_Id__c": "dup-1"})
    )
    assert (status, code) == (400, "DUPLICATE_VALUE")
    assert (
        message
        == f"duplicate value found: ERP_Shipment_Id__c duplicates value on record with id: {first.json()['id']}"
    )


async def test_deleted_records_answer_entity_is_deleted(client: httpx.AsyncClient) -> None:
    record_id = (await client.post(f"{V}/sobjects/Account/", json={"Name": "Doomed"})).json()["id"]
    assert (await client.delete(f"{V}/sobjects/Account/{record_id}")).status_code == 204
    assert error(await client.patch(f"{V}/sobjects/Account/{record_id}", json={"Name": "x"}))[
        :2
    ] == (404, "ENTITY_IS_DELETED")
    assert error(await client.delete(f"{V}/sobjects/Account/{record_id}"))[:2] == (
        404,
        "ENTITY_IS_DELETED",
    )
    assert error(
        await client.post(f"{V}/sobjects/Contact/", json={"LastName": "X", "AccountId": record_id})
    )[:2] == (400, "ENTITY_IS_DELETED")
    rows = (
        await client.get(
            f"{V}/queryAll/",
            params={"q": f"SELECT Id, IsDeleted FROM Account WHERE Id = '{record_id}'"},
        )
    ).json()
    assert rows["records"][0]["IsDeleted"] is True


async def test_locked_records_answer_unable_to_lock_row(
    org: SalesforceEmulator, client: httpx.AsyncClient
) -> None:
    org.lock_record("001Sbx000000002IAA")
    try:
        status, code, _ = error(
            await client.patch(f"{V}/sobjects/Account/001Sbx000000002IAA", json={"Phone": "1"})
        )
    finally:
        org.unlock_record("001Sbx000000002IAA")
    assert (status, code) == (400, "UNABLE_TO_LOCK_ROW")


# -- upsert ----------------------------------------------------------------------------------------


async def test_upsert_creates_then_updates_and_300_when_several_match(
    client: httpx.AsyncClient,
) -> None:
    url = f"{V}/sobjects/ERP_Invoice__c/ERP_Invoice_Id__c/INV-UP-1"
    created = await client.patch(url, json={"Total_Amount__c": 10, "Amount_Due__c": 10})
    assert created.status_code == 201
    assert created.json()["created"] is True
    updated = await client.patch(url, json={"Amount_Due__c": 4})
    assert (updated.status_code, updated.json()["created"]) == (200, False)
    assert (
        await client.patch(url.replace("v62.0", "v45.0"), json={})
    ).status_code == 404  # below our range
    several = await client.patch(
        f"{V}/sobjects/Account/ERP_Customer_Number__c/DUPLICATED", json={"Name": "A"}
    )
    assert several.status_code == 201
    await client.post(
        f"{V}/sobjects/Account/", json={"Name": "B", "ERP_Customer_Number__c": "DUPLICATED"}
    )
    multiple = await client.patch(
        f"{V}/sobjects/Account/ERP_Customer_Number__c/DUPLICATED", json={"Name": "C"}
    )
    assert multiple.status_code == 300
    assert len(multiple.json()) == 2
    assert error(await client.patch(f"{V}/sobjects/Account/Name/A", json={}))[:2] == (
        400,
        "INVALID_FIELD",
    )
    only = await client.patch(
        f"{V}/sobjects/ERP_Invoice__c/ERP_Invoice_Id__c/INV-NEW?updateOnly=true", json={}
    )
    assert only.status_code == 404


# -- SOQL ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("soql", "code"),
    [
        ("SELECT Foo FROM Account", "INVALID_FIELD"),
        ("SELECT Id FROM Nope", "INVALID_TYPE"),
        ("SELECT Id FORM Account", "MALFORMED_QUERY"),
        ("SELECT Id FROM Account WHERE Name = 5", "INVALID_FIELD"),
        ("SELECT Id FROM Account WHERE CreatedDate > 2026-01-01", "INVALID_FIELD"),
        ("SELECT Id FROM Account OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE"),
        ("SELECT Id FROM ERP_Status_Event__e", "INVALID_TYPE"),
        ("SELECT Id FROM Account GROUP BY Name", "MALFORMED_QUERY"),
    ],
)
async def test_query_refusals(client: httpx.AsyncClient, soql: str, code: str) -> None:
    status, got, message = error(await client.get(f"{V}/query/", params={"q": soql}))
    assert (status, got) == (400, code)
    assert "ERROR at Row:1:Column:" in message


async def test_soql_subset_filters_orders_and_traverses_parents(client: httpx.AsyncClient) -> None:
    soql = ("SELECT Id, OrderNumber, Account.Name, Status FROM Order WHERE (Status = 'Activated' OR Status = 'Draft') "
            "AND Account.Name LIKE 'A%' AND EffectiveDate = LAST_N_DAYS:30 AND NOT PoNumber IN ('x') "
            "AND ERP_Order_Number__c = null ORDER BY OrderNumber DESC NULLS LAST LIMIT 5")  # fmt: skip
    body = (await client.get(f"{V}/query/", params={"q": soql})).json()
    assert body["totalSize"] == 2
    assert body["done"] is True
    assert {r["Status"] for r in body["records"]} == {"Draft", "Activated"}
    assert all(r["Account"]["Name"] == "Acme Industrial" for r in body["records"])
    assert body["records"][0]["OrderNumber"] > body["records"][1]["OrderNumber"]
    count = (
        await client.get(
            f"{V}/query/", params={"q": "SELECT COUNT() FROM Product2 WHERE IsActive = true"}
        )
    ).json()
    assert count == {"totalSize": 158, "done": True, "records": []}


async def test_query_pages_by_next_records_url_honouring_batch_size(
    client: httpx.AsyncClient,
) -> None:
    first = (await client.get(f"{V}/query/", params={"q": "SELECT Id FROM PricebookEntry"},
                              headers={"Sforce-Query-Options": "batchSize=500"})).json()  # fmt: skip
    assert (first["totalSize"], first["done"], len(first["records"])) == (1280, False, 500)
    assert first["nextRecordsUrl"].startswith(f"{V}/query/01g")
    ids = [r["Id"] for r in first["records"]]
    url = first["nextRecordsUrl"]
    while url:
        page = (await client.get(url)).json()
        ids += [r["Id"] for r in page["records"]]
        url = page.get("nextRecordsUrl")
    assert len(set(ids)) == 1280
    default = (
        await client.get(f"{V}/query/", params={"q": "SELECT Id FROM PricebookEntry"})
    ).json()
    assert len(default["records"]) == 1280
    assert default["done"] is True
    assert error(await client.get(f"{V}/query/01gSbx000000777AAA-200"))[:2] == (
        400,
        "INVALID_QUERY_LOCATOR",
    )


# -- collections and composite ----------------------------------------------------------------------


async def test_collections_answer_per_record_and_roll_back_with_all_or_none(
    client: httpx.AsyncClient,
) -> None:
    records = [
        {"attributes": {"type": "Account"}, "Name": "Batch OK"},
        {"attributes": {"type": "Account"}, "Phone": "1"},
    ]
    partial = (
        await client.post(f"{V}/composite/sobjects", json={"allOrNone": False, "records": records})
    ).json()
    assert partial[0]["success"] is True
    assert partial[1] == {"id": None, "success": False, "errors": [
        {"statusCode": "REQUIRED_FIELD_MISSING", "message": "Required fields are missing: [Name]", "fields": ["Name"]}]}  # fmt: skip
    rolled = (
        await client.post(f"{V}/composite/sobjects", json={"allOrNone": True, "records": records})
    ).json()
    assert rolled[0]["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    names = (
        await client.get(
            f"{V}/query/", params={"q": "SELECT COUNT() FROM Account WHERE Name = 'Batch OK'"}
        )
    ).json()
    assert names["totalSize"] == 1
    too_many = await client.post(
        f"{V}/composite/sobjects",
        json={"records": [{"attributes": {"type": "Account"}, "Name": "x"}] * 201},
    )
    assert error(too_many)[:2] == (400, "EXCEEDED_ID_LIMIT")
    untyped = (
        await client.post(f"{V}/composite/sobjects", json={"records": [{"Name": "x"}]})
    ).json()
    assert untyped[0]["errors"][0]["statusCode"] == "INVALID_TYPE"


async def test_collection_upsert_by_external_id_reports_created(client: httpx.AsyncClient) -> None:
    body = {"allOrNone": False, "records": [
        {"attributes": {"type": "ERP_Shipment__c"}, "ERP_Shipment_Id__c": "SHP-C-1", "Carrier__c": "UPS"},
        {"attributes": {"type": "ERP_Shipment__c"}, "Carrier__c": "DHL"}]}  # fmt: skip
    first = (
        await client.patch(f"{V}/composite/sobjects/ERP_Shipment__c/ERP_Shipment_Id__c", json=body)
    ).json()
    assert (first[0]["created"], first[1]["success"]) == (True, False)
    again = (
        await client.patch(f"{V}/composite/sobjects/ERP_Shipment__c/ERP_Shipment_Id__c", json=body)
    ).json()
    assert again[0]["created"] is False
    assert again[0]["id"] == first[0]["id"]


async def test_composite_resolves_references_and_rolls_back(client: httpx.AsyncClient) -> None:
    ok = (await client.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "acc", "body": {"Name": "Composite"}},
        {"method": "POST", "url": f"{V}/sobjects/Contact", "referenceId": "con", "body": {"LastName": "C", "AccountId": "@{acc.id}"}},
        {"method": "GET", "url": f"{V}/sobjects/Contact/@{{con.id}}?fields=AccountId", "referenceId": "get"},
    ]})).json()["compositeResponse"]  # fmt: skip
    assert [r["httpStatusCode"] for r in ok] == [201, 201, 200]
    assert ok[2]["body"]["AccountId"] == ok[0]["body"]["id"]
    failed = (await client.post(f"{V}/composite", json={"allOrNone": True, "compositeRequest": [
        {"method": "POST", "url": f"{V}/sobjects/Account", "referenceId": "a1", "body": {"Name": "Rolled back"}},
        {"method": "POST", "url": f"{V}/sobjects/Contact", "referenceId": "c1", "body": {}},
    ]})).json()["compositeResponse"]  # fmt: skip
    assert failed[0]["body"][0]["errorCode"] == "PROCESSING_HALTED"
    assert failed[1]["body"][0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    count = (
        await client.get(
            f"{V}/query/", params={"q": "SELECT COUNT() FROM Account WHERE Name = 'Rolled back'"}
        )
    ).json()
    assert count["totalSize"] == 0
    too_many = [{"method": "GET", "url": f"{V}/limits", "referenceId": f"r{i}"} for i in range(26)]
    assert error(await client.post(f"{V}/composite", json={"compositeRequest": too_many}))[:2] == (
        400,
        "LIMIT_EXCEEDED",
    )


# -- replication, events, describe, faults ------------------------------------------------------------


async def test_updated_and_deleted_list_changes_in_a_window(
    org: SalesforceEmulator, clock: Clock, client: httpx.AsyncClient
) -> None:
    start = (clock.now - timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    record_id = (
        await client.post(f"{V}/sobjects/Contact/", json={"LastName": "Replicated"})
    ).json()["id"]
    await client.delete(f"{V}/sobjects/Contact/{record_id}")
    end = (clock.now + timedelta(minutes=1)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    deleted = (
        await client.get(f"{V}/sobjects/Contact/deleted/", params={"start": start, "end": end})
    ).json()
    assert record_id in [d["id"] for d in deleted["deletedRecords"]]
    created = (await client.post(f"{V}/sobjects/Contact/", json={"LastName": "Kept"})).json()["id"]
    updated = (
        await client.get(f"{V}/sobjects/Contact/updated/", params={"start": start, "end": end})
    ).json()
    assert created in updated["ids"]
    assert record_id not in updated["ids"]
    backwards = await client.get(
        f"{V}/sobjects/Contact/updated/", params={"start": end, "end": start}
    )
    assert error(backwards)[:2] == (400, "INVALID_REPLICATION_DATE")
    old = (clock.now - timedelta(days=31)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
    assert (
        error(
            await client.get(f"{V}/sobjects/Contact/updated/", params={"start": old, "end": end})
        )[1]
        == "INVALID_REPLICATION_DATE"
    )


async def test_platform_events_are_enqueued_and_recorded(
    org: SalesforceEmulator, client: httpx.AsyncClient
) -> None:
    response = await client.post(
        f"{V}/sobjects/ERP_Status_Event__e/", json={"Kind__c": "order", "Status__c": "Booked"}
    )
    body = response.json()
    assert response.status_code == 201
    assert body["id"].startswith("e00")
    assert body["success"] is True
    assert body["errors"][0]["statusCode"] == "OPERATION_ENQUEUED"
    assert org.events[-1]["EventUuid"] == body["errors"][0]["message"]
    assert (
        error(await client.post(f"{V}/sobjects/ERP_Status_Event__e/", json={"Kind__c": "order"}))[1]
        == "REQUIRED_FIELD_MISSING"
    )


STANDARD = [
    "Account",
    "Contact",
    "Opportunity",
    "Quote",
    "Order",
    "OrderItem",
    "Product2",
    "Pricebook2",
    "PricebookEntry",
]


@pytest.mark.parametrize("name", STANDARD)
async def test_describe_carries_real_field_properties_and_every_field_is_selectable(
    client: httpx.AsyncClient, name: str
) -> None:
    describe = (await client.get(f"{V}/sobjects/{name}/describe/")).json()
    fields = {f["name"]: f for f in describe["fields"]}
    assert fields["Id"]["type"] == "id"
    assert fields["Id"]["createable"] is False
    assert fields["CreatedDate"]["updateable"] is False
    every = ", ".join(fields)
    rows = await client.get(f"{V}/query/", params={"q": f"SELECT {every} FROM {name} LIMIT 1"})
    assert rows.status_code == 200, rows.text
    assert set(rows.json()["records"][0]) == {"attributes", *fields}


async def test_describe_details_match_the_object_reference(client: httpx.AsyncClient) -> None:
    order = {
        f["name"]: f for f in (await client.get(f"{V}/sobjects/Order/describe/")).json()["fields"]
    }
    assert order["Status"]["type"] == "picklist"
    assert [p["value"] for p in order["Status"]["picklistValues"]] == ["Draft", "Activated"]
    assert order["AccountId"]["referenceTo"] == ["Account"]
    assert order["AccountId"]["relationshipName"] == "Account"
    assert order["ERP_Order_Number__c"]["externalId"] is True
    assert order["ERP_Order_Number__c"]["unique"] is True
    assert order["ERP_Order_Number__c"]["length"] == 40
    assert order["ERP_Order_Number__c"]["custom"] is True
    assert order["OrderNumber"]["autoNumber"] is True
    assert order["OrderNumber"]["createable"] is False
    item = {
        f["name"]: f
        for f in (await client.get(f"{V}/sobjects/OrderItem/describe/")).json()["fields"]
    }
    assert item["OrderId"]["updateable"] is False
    assert item["OrderId"]["nillable"] is False
    account = (await client.get(f"{V}/sobjects/Account/describe/")).json()
    assert {"Contacts", "Orders", "ERP_Invoices__r"} <= {
        c["relationshipName"] for c in account["childRelationships"]
    }
    not_modified = await client.get(
        f"{V}/sobjects/Account/describe/",
        headers={"If-Modified-Since": "Fri, 01 Jan 2100 00:00:00 GMT"},
    )
    assert not_modified.status_code == 304


async def test_faults_and_the_received_record(
    org: SalesforceEmulator, client: httpx.AsyncClient
) -> None:
    org.set_fault("query", Fault(kind="status", status=503, times=1))
    failing = await client.get(f"{V}/query/", params={"q": "SELECT Id FROM Account LIMIT 1"})
    assert error(failing)[:2] == (503, "SERVER_UNAVAILABLE")
    assert (
        await client.get(f"{V}/query/", params={"q": "SELECT Id FROM Account LIMIT 1"})
    ).status_code == 200
    org.set_fault("/services/data/*/limits/", Fault(kind="malformed", times=1))
    malformed = await client.get(f"{V}/limits/")
    with pytest.raises(json.JSONDecodeError):
        json.loads(malformed.content)
    await client.post(f"{V}/sobjects/Account/", json={"Name": "Recorded"})
    last = org.received_op("create")[-1]
    assert (last.sobject, last.body, last.authorization) == (
        "Account",
        {"Name": "Recorded"},
        "bearer",
    )
    tokens = org.received_op("token")
    assert all(set(t.body) == {"grant_type", "client_id"} for t in tokens)


async def test_hang_answers_when_faults_are_cleared(
    org: SalesforceEmulator, client: httpx.AsyncClient
) -> None:
    org.set_fault("limits", Fault(kind="hang", delay_ms=50))
    started = time.monotonic()
    response = await client.get(f"{V}/limits/")
    assert response.status_code == 500
    assert time.monotonic() - started >= 0.05
