"""simple-salesforce itself, unmodified and used the way its README shows, against the org.

Its login helpers only build ``https://{domain}.salesforce.com`` URLs, so the token comes from
its own ``token_login`` pointed at the org's token endpoint; everything after that is the
library's public API on a session that trusts the sandbox CA.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import jwt
import pytest
from simple_salesforce.api import Salesforce
from simple_salesforce.exceptions import (
    SalesforceExpiredSession,
    SalesforceMalformedRequest,
    SalesforceResourceNotFound,
)
from simple_salesforce.login import token_login

from sandbox.salesforce import SANDBOX_CONSUMER_KEY, SANDBOX_USERNAME
from system_apis.salesforce import build_session
from tests.support.salesforce_env import OrgEnv, running_org


@pytest.fixture(scope="module")
def env() -> Iterator[OrgEnv]:
    with running_org() as org_env:
        yield org_env


@pytest.fixture(scope="module")
def sf(env: OrgEnv) -> Iterator[Salesforce]:
    session = build_session(ca_file=str(env.ca_file))
    claims = {"iss": SANDBOX_CONSUMER_KEY, "sub": SANDBOX_USERNAME, "aud": "https://login.salesforce.com",
              "exp": f"{(datetime.now(UTC) + timedelta(minutes=3)).timestamp():.0f}"}  # fmt: skip
    assertion = jwt.encode(claims, Path(env.key_file).read_bytes(), algorithm="RS256")
    session_id, instance = token_login(
        f"{env.url}/services/oauth2/token",
        {"grant_type": "urn:ietf:params:oauth:grant-type:jwt-bearer", "assertion": assertion},
        "login", SANDBOX_CONSUMER_KEY, None, None, session,
    )  # fmt: skip
    yield Salesforce(
        instance_url=f"https://{instance}", session_id=session_id, session=session, version="59.0"
    )
    session.close()


def test_query_all_and_is_sandbox(sf: Salesforce) -> None:
    result = sf.query_all(
        "SELECT Id, Name, ProductCode FROM Product2 WHERE IsActive = true ORDER BY ProductCode"
    )
    assert result["totalSize"] == 158
    assert result["records"][0]["ProductCode"] == "SKU-0001"
    assert sf.is_sandbox() is True
    assert sf.api_usage["api-usage"].total == 15_000


def test_crud_through_sftype(sf: Salesforce) -> None:
    created = sf.Account.create({"Name": "Public Client Co", "Industry": "Manufacturing"})
    assert created["success"] is True
    assert created["id"].startswith("001")
    assert sf.Account.update(created["id"], {"Phone": "+1 555 0100"}) == 204
    fetched = sf.Account.get(created["id"])
    assert (fetched["Name"], fetched["Phone"]) == ("Public Client Co", "+1 555 0100")
    assert sf.Account.delete(created["id"]) == 204
    with pytest.raises(SalesforceResourceNotFound):
        sf.Account.delete(created["id"])


def test_upsert_and_get_by_custom_id(sf: Salesforce) -> None:
    assert (
        sf.ERP_Invoice__c.upsert(
            "ERP_Invoice_Id__c/PUB-1", {"Total_Amount__c": 12.5, "Amount_Due__c": 12.5}
        )
        == 201
    )
    assert sf.ERP_Invoice__c.upsert("ERP_Invoice_Id__c/PUB-1", {"Amount_Due__c": 2.5}) == 200
    assert sf.ERP_Invoice__c.get_by_custom_id("ERP_Invoice_Id__c", "PUB-1")["Amount_Due__c"] == 2.5


def test_describe_limits_and_replication(sf: Salesforce) -> None:
    assert len(sf.describe()["sobjects"]) >= 15
    fields = {f["name"] for f in sf.Order.describe()["fields"]}
    assert {"ERP_Order_Number__c", "OrderNumber", "TotalAmount"} <= fields
    assert sf.limits()["DailyApiRequests"]["Max"] == 15_000
    end = datetime.now(UTC) + timedelta(minutes=2)
    assert "ids" in sf.Account.updated(end - timedelta(days=1), end)
    assert "deletedRecords" in sf.Account.deleted(end - timedelta(days=1), end)


def test_errors_arrive_as_simple_salesforce_exceptions(sf: Salesforce, env: OrgEnv) -> None:
    with pytest.raises(SalesforceMalformedRequest) as bad:
        sf.query("SELECT Nope FROM Account")
    assert bad.value.content[0]["errorCode"] == "INVALID_FIELD"
    with pytest.raises(SalesforceMalformedRequest) as missing:
        sf.Contact.create({"FirstName": "No last name"})
    assert missing.value.content[0]["errorCode"] == "REQUIRED_FIELD_MISSING"
    env.org.expire_sessions()
    with pytest.raises(SalesforceExpiredSession):
        sf.query("SELECT Id FROM Account LIMIT 1")
