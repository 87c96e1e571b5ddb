from __future__ import annotations

from pathlib import Path

import pytest

from app.settings import SettingsError, load_settings


def test_defaults_need_no_configuration() -> None:
    settings = load_settings({})
    assert (settings.host, settings.port, settings.redis_url) == ("127.0.0.1", 8000, None)
    assert settings.deadline_default_ms == 2500


def test_environment_values_are_converted_to_their_types() -> None:
    settings = load_settings({"ISTHMUS_PORT": "9001", "ISTHMUS_LOG_JSON": "false"})
    assert (settings.port, settings.log_json) == (9001, False)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"ISTHMUS_PORT": "eighty"}, "invalid setting `port` (env ISTHMUS_PORT): Expected `int`"),
        ({"ISTHMUS_PORT": "0"}, "invalid setting `port` (env ISTHMUS_PORT)"),
        (
            {"ISTHMUS_COLOUR": "blue"},
            "invalid setting `colour` (env ISTHMUS_COLOUR): unknown setting",
        ),
        ({"ISTHMUS_REDIS_URL": "localhost:6379"}, "invalid setting `redis_url`"),
        (
            {"ISTHMUS_INTACCT__SENDER_ID": "acme"},
            "invalid setting `intacct` (env ISTHMUS_INTACCT): Object missing required field",
        ),
        ({"ISTHMUS_DEADLINE_DEFAULT_MS": "9000"}, "invalid setting `deadline_default_ms`"),
    ],
)
def test_bad_settings_are_named_with_their_environment_variable(
    env: dict[str, str], message: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        load_settings(env)
    assert message in str(caught.value)


def test_toml_file_is_read_and_environment_overrides_it(tmp_path: Path) -> None:
    config = tmp_path / "isthmus.toml"
    config.write_text(
        'port = 8100\nredis_url = "redis://cache:6379/0"\n'
        '[entities.FR01]\nerp = "sage_intacct"\ncompany = "FR01"\ncurrency = "EUR"\n'
    )
    settings = load_settings({"ISTHMUS_CONFIG_FILE": str(config), "ISTHMUS_PORT": "8200"})
    assert settings.port == 8200
    assert settings.redis_url == "redis://cache:6379/0"
    assert settings.entities["FR01"].erp == "sage_intacct"


def test_missing_config_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(SettingsError, match="config file not found"):
        load_settings({"ISTHMUS_CONFIG_FILE": str(tmp_path / "nope.toml")})


def test_intacct_settings_repr_hides_passwords() -> None:
    settings = load_settings(
        {
            "ISTHMUS_INTACCT__SENDER_ID": "acme",
            "ISTHMUS_INTACCT__SENDER_PASSWORD": "s3nder-pw",
            "ISTHMUS_INTACCT__USER_ID": "api",
            "ISTHMUS_INTACCT__COMPANY_ID": "acme-co",
            "ISTHMUS_INTACCT__USER_PASSWORD": "us3r-pw",
        }
    )
    assert "s3nder-pw" not in repr(settings)
    assert "us3r-pw" not in repr(settings)


@pytest.mark.parametrize("name", ["AVAILABILITY", "STOCK"], ids=["availability", "old-name-stock"])
def test_availability_cache_ages_are_read_under_their_name_and_the_old_one(name: str) -> None:
    from app.wiring import cache_policy

    ages = {"FRESH_S": "7", "STALE_S": "8", "ERROR_S": "9"}
    settings = load_settings({f"ISTHMUS_CACHE__{name}__{k}": v for k, v in ages.items()})
    policy = cache_policy(settings).availability
    assert (policy.fresh_seconds, policy.stale_seconds, policy.error_seconds) == (7, 8, 9)
