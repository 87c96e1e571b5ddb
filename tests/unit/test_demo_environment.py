"""``isthmus demo`` adds its keys to the ones given in the environment, and opens /metrics."""

from __future__ import annotations

import json

import msgspec

from app.demo_environment import merged_environment
from app.factory import create_app
from app.security import hash_api_key
from app.settings import load_settings
from sandbox.server import security_environment
from tests.support.apps import client_for

OWN_KEY = {"client": "my-org", "key_sha256": hash_api_key("isk_mine"), "scopes": ["credit:read"]}


def _demo() -> dict[str, str]:
    return security_environment("127.0.0.1", issuer_port=1)


def test_keys_given_in_the_environment_are_kept_beside_the_demo_keys() -> None:
    given = {"ISTHMUS_SECURITY__API_KEYS": json.dumps([OWN_KEY]), "HOME": "/root"}
    merged = merged_environment(given, _demo())
    keys = json.loads(merged["ISTHMUS_SECURITY__API_KEYS"])
    assert keys[0] == OWN_KEY
    assert {k["client"] for k in keys} == {
        "my-org", "salesforce-named-credential", "partner-a-portal", "ops-console",
    }  # fmt: skip
    assert "HOME" not in merged  # only the demo's variables are set


def test_partners_given_win_and_the_demo_partners_are_added() -> None:
    given = {"ISTHMUS_SECURITY__PARTNERS": json.dumps({"PARTNER-A": ["001000000000001AAA"]})}
    merged = json.loads(merged_environment(given, _demo())["ISTHMUS_SECURITY__PARTNERS"])
    assert merged["PARTNER-A"] == ["001000000000001AAA"]
    assert "PARTNER-B" in merged


def test_a_value_that_is_not_json_is_left_for_the_settings_check_to_report() -> None:
    given = {"ISTHMUS_SECURITY__API_KEYS": "not json"}
    assert merged_environment(given, _demo())["ISTHMUS_SECURITY__API_KEYS"] == "not json"


def test_the_documented_ops_key_opens_metrics_and_ops_status() -> None:
    env = merged_environment({}, _demo())
    settings = load_settings(env)
    settings = msgspec.structs.replace(
        settings, security=msgspec.structs.replace(settings.security, issuers=[])
    )
    with client_for(create_app(settings), api_key="isk_demo_ops") as client:
        metrics = client.get("/metrics")
        status = client.get("/ops/v1/status")
        quote = client.post("/process/v1/validate-quote", json={})
    assert metrics.status_code == 200
    assert "isthmus_" in metrics.text
    assert status.status_code == 200
    assert quote.status_code == 403  # the ops key opens operations only
