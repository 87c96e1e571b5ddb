"""The gateway wired to the org: settings, readiness, the usage metric, secrets kept out."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from app.settings import SettingsError, load_settings
from app.wiring import build_services
from sandbox.server import salesforce_environment
from tests.support.salesforce_env import OrgEnv, running_org


@pytest.fixture(scope="module")
def env() -> Iterator[OrgEnv]:
    with running_org() as org_env:
        yield org_env


def test_settings_take_exactly_one_way_to_log_in() -> None:
    with pytest.raises(SettingsError, match="either consumer_key, username and private_key_file"):
        load_settings({"ISTHMUS_SALESFORCE__LOGIN_URL": "https://login.salesforce.com"})
    both = {
        "ISTHMUS_SALESFORCE__CONSUMER_KEY": "k", "ISTHMUS_SALESFORCE__USERNAME": "u",
        "ISTHMUS_SALESFORCE__PRIVATE_KEY_FILE": "/k.pem", "ISTHMUS_SALESFORCE__CLIENT_ID": "c",
        "ISTHMUS_SALESFORCE__CLIENT_SECRET": "very-secret-value",
    }  # fmt: skip
    with pytest.raises(SettingsError) as caught:
        load_settings(both)
    assert "very-secret-value" not in str(caught.value)
    ok = load_settings(
        {
            "ISTHMUS_SALESFORCE__CLIENT_ID": "c",
            "ISTHMUS_SALESFORCE__CLIENT_SECRET": "very-secret-value",
        }
    )
    assert ok.salesforce is not None
    assert "very-secret-value" not in repr(ok.salesforce)
    with pytest.raises(SettingsError, match="api_version"):
        load_settings({"ISTHMUS_SALESFORCE__CLIENT_ID": "c", "ISTHMUS_SALESFORCE__CLIENT_SECRET": "s",
                       "ISTHMUS_SALESFORCE__API_VERSION": "v62"})  # fmt: skip


async def test_readiness_shows_the_org_up_and_metrics_show_its_budget(env: OrgEnv) -> None:
    port = int(env.url.rsplit(":", 1)[1])
    settings = load_settings(salesforce_environment("127.0.0.1", port, env.ca_file.parent))
    services = await build_services(settings)
    try:
        check = next(c for c in services.readiness_checks if c.name == "salesforce")
        assert check.required is False
        await check.probe()
        text = services.metrics.render().decode()
    finally:
        await services.aclose()
    assert 'isthmus_salesforce_api_requests{kind="limit"} 15000.0' in text
    assert 'isthmus_salesforce_api_requests{kind="reserve"} 500.0' in text
