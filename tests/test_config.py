"""Settings: checked at start, every bad value named."""
import pytest

from dataclasses import fields

from bridge.config import SANDBOX_API_KEY, ConfigError, Settings, StoreSettings, load_settings


def test_sandbox_mode_defaults_to_the_stand_in():
    settings = load_settings({"BRIDGE_SANDBOX": "1", "BRIDGE_SANDBOX_PORT": "9999"})
    assert (settings.reevo_api_url, settings.reevo_api_key) == ("http://127.0.0.1:9999", SANDBOX_API_KEY)


def test_an_unset_variable_gives_the_default_of_its_settings_field():
    settings = load_settings({"REEVO_API_KEY": "k"})
    differs = {f.name: getattr(settings, f.name) for f in fields(Settings)
               if f.name not in ("reevo_api_key", "env") and getattr(settings, f.name) != f.default}
    assert differs == {}  # a literal in load_settings that drifted from the field would show here


def test_the_store_settings_are_the_same_defaults():
    for f in fields(StoreSettings):
        assert getattr(Settings, f.name) == f.default


def test_a_key_means_the_real_api():
    settings = load_settings({"REEVO_API_KEY": "k"})
    assert (settings.reevo_api_url, settings.sandbox) == ("https://api.reevo.ai", False)


@pytest.mark.parametrize("env,message", [
    ({}, "REEVO_API_KEY is not set"),
    ({"REEVO_API_KEY": "k", "REEVO_API_URL": "ftp://x"}, "REEVO_API_URL='ftp://x' is not an http(s) URL"),
    ({"REEVO_API_KEY": "k", "BRIDGE_DELIVERY_THREADS": "two"}, "BRIDGE_DELIVERY_THREADS='two' is not a whole number"),
    ({"REEVO_API_KEY": "k", "BRIDGE_POLL_INTERVAL": "-1"}, "BRIDGE_POLL_INTERVAL='-1' must be at least 0"),
    ({"REEVO_API_KEY": "k", "BRIDGE_SANDBOX": "sometimes"}, "BRIDGE_SANDBOX='sometimes' is not a boolean"),
    ({"REEVO_API_KEY": "k", "BRIDGE_LEASE_SECONDS": "5", "BRIDGE_READ_TIMEOUT": "10"},
     "BRIDGE_LEASE_SECONDS=5 must be longer than BRIDGE_CONNECT_TIMEOUT + BRIDGE_READ_TIMEOUT"),
    # Issue 12.6: nan passes every comparison (a lease that never expires, a poll loop that spins).
    ({"REEVO_API_KEY": "k", "BRIDGE_LEASE_SECONDS": "nan"}, "BRIDGE_LEASE_SECONDS='nan' is not a finite number"),
    ({"REEVO_API_KEY": "k", "BRIDGE_POLL_INTERVAL": "nan"}, "BRIDGE_POLL_INTERVAL='nan' is not a finite number"),
    ({"REEVO_API_KEY": "k", "BRIDGE_READ_TIMEOUT": "inf"}, "BRIDGE_READ_TIMEOUT='inf' is not a finite number"),
    ({"REEVO_API_KEY": "k", "BRIDGE_AMBIGUOUS_HOLD_SECONDS": "5", "BRIDGE_READ_TIMEOUT": "10"},
     "BRIDGE_AMBIGUOUS_HOLD_SECONDS=5 must be at least BRIDGE_READ_TIMEOUT (10)"),
    ({"REEVO_API_KEY": "k", "BRIDGE_REEVO_CONCURRENCY": "-1"}, "BRIDGE_REEVO_CONCURRENCY='-1' must be at least 0"),
    ({"REEVO_API_KEY": "k", "BRIDGE_BREAKER_PROBE_SECONDS": "0"},
     "BRIDGE_BREAKER_PROBE_SECONDS='0' must be at least 0.01"),
])
def test_bad_settings_name_the_variable(env, message):
    with pytest.raises(ConfigError) as error:
        load_settings(env)
    assert message in str(error.value)


def test_the_admin_token_is_stripped_of_the_spaces_and_newline_a_paste_adds():
    assert load_settings({"REEVO_API_KEY": "k", "BRIDGE_ADMIN_TOKEN": " s3cret-token\n"}).admin_token == "s3cret-token"
