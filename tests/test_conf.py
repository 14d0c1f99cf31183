import copy

import pytest
from django.core.exceptions import ImproperlyConfigured

from rtropo.conf import DEFAULT_API_URL, BackendConfig, get_config, normalise_number
from rtropo.outgoing import TropoBackend

TOKEN = "f" * 88


def test_nested_config_as_in_the_02_tutorial():
    entry = {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "config": {"messaging_token": TOKEN, "number": "+1-555-555-1212"},
    }
    config = BackendConfig.from_entry("my-tropo-backend", entry)
    assert config.messaging_token == TOKEN
    assert config.number == "+15555551212"
    assert config.api_url == DEFAULT_API_URL
    assert config.inline_replies is True
    assert config.inbound_secrets == ()


def test_flat_config_as_rapidsms_backends_take_it_with_unknown_keys_ignored():
    entry = {
        "ENGINE": "rtropo.outgoing.TropoBackend",
        "MESSAGING_TOKEN": TOKEN,
        "number": "15555551212",
        "router.celery.eager": True,
        "batch_size": 7,
        "timeout": 2,
        "inbound_secret": "s3cret",
    }
    config = BackendConfig.from_entry("flat", entry)
    assert (config.number, config.batch_size, config.timeout) == ("+15555551212", 7, 2.0)
    assert config.inbound_secrets == ("s3cret",)


def test_nested_keys_win_over_flat_ones():
    entry = {"number": "15555550001", "config": {"messaging_token": TOKEN, "number": "15555550002"}}
    assert BackendConfig.from_entry("b", entry).number == "+15555550002"


@pytest.mark.parametrize("missing", ["messaging_token", "number"])
def test_missing_required_key_names_backend_and_key(missing):
    config = {"messaging_token": TOKEN, "number": "+15555551212"}
    del config[missing]
    with pytest.raises(ImproperlyConfigured) as raised:
        BackendConfig.from_entry("clinic-sms", {"config": config})
    assert "'clinic-sms'" in str(raised.value)
    assert f"'{missing}'" in str(raised.value)


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("number", "call me"),
        ("number", "+1"),
        ("messaging_token", ""),
        ("messaging_token", 42),
        ("api_url", "ftp://tropo"),
        ("timeout", 0),
        ("timeout", "5"),
        ("batch_size", 2.5),
        ("batch_size", True),
        ("inbound_secret", ["ok", ""]),
        ("inbound_secret", 7),
        ("inline_replies", "yes"),
    ],
)
def test_malformed_values_name_the_key(key, value):
    config = {"messaging_token": TOKEN, "number": "+15555551212", key: value}
    with pytest.raises(ImproperlyConfigured, match=f"'{key}'"):
        BackendConfig.from_entry("b", {"config": config})


def test_token_never_appears_in_repr_or_errors():
    config = BackendConfig.from_entry("b", {"messaging_token": TOKEN, "number": "15555551212"})
    assert TOKEN not in repr(config)
    with pytest.raises(ImproperlyConfigured) as raised:
        BackendConfig.from_entry("b", {"messaging_token": TOKEN, "number": "nope"})
    assert TOKEN not in str(raised.value)


def test_get_config_names_an_unknown_backend(settings):
    with pytest.raises(ImproperlyConfigured, match="'nope'"):
        get_config("nope")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("+1 (555) 555-1212", "+15555551212"),
        ("15555551212", "+15555551212"),
        ("555.555.1212", "+5555551212"),
        (15555551212, "+15555551212"),
        ("12", None),
        ("+1234567890123456", None),
        ("1555abc1212", None),
        ("++15555551212", None),
        (None, None),
        (True, None),
    ],
)
def test_normalise_number(raw, expected):
    assert normalise_number(raw) == expected


def test_a_backend_rapidsms_builds_again_reuses_the_validated_config():
    entry = {"config": {"messaging_token": TOKEN, "number": "+15555550000", "batch_size": 5}}
    router = object()
    first = TropoBackend(router, "cached-tropo", **entry)
    second = TropoBackend(router, "cached-tropo", **copy.deepcopy(entry))
    assert second.config is first.config
    entry["config"]["batch_size"] = 6
    assert TropoBackend(router, "cached-tropo", **entry).config.batch_size == 6
    entry["config"]["batch_size"] = 0
    for _ in range(2):
        with pytest.raises(ImproperlyConfigured, match="'batch_size'"):
            TropoBackend(router, "cached-tropo", **entry)
