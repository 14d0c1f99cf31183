from django.core import checks

from rtropo.checks import check_api_urls, check_backends


def ids(settings_backends, settings):
    settings.INSTALLED_BACKENDS = settings_backends
    return sorted(message.id for message in [*check_backends(), *check_api_urls()])


def entry(**config):
    return {"ENGINE": "rtropo.outgoing.TropoBackend", "config": config}


def test_a_complete_backend_passes(settings):
    backends = {"t": entry(messaging_token="x", number="+15555550000", inbound_secret="s")}
    assert ids(backends, settings) == []


def test_missing_token_is_an_error_naming_backend_and_key(settings):
    settings.INSTALLED_BACKENDS = {"clinic": entry(number="+15555550000")}
    [error] = check_backends()
    assert error.id == "rtropo.E001"
    assert error.level == checks.ERROR
    assert "'clinic'" in error.msg and "'messaging_token'" in error.msg


def test_warnings_for_no_secret_and_plain_http(settings):
    backends = {"t": entry(messaging_token="x", number="+15555550000", api_url="http://10.0.0.1/s")}
    assert ids(backends, settings) == ["rtropo.W001", "rtropo.W002"]


def test_other_backends_are_not_checked(settings):
    backends = {"db": {"ENGINE": "rapidsms.backends.database.DatabaseBackend"}}
    assert ids(backends, settings) == []


def test_the_check_is_registered(settings):
    settings.INSTALLED_BACKENDS = {"t": entry(number="+15555550000")}
    assert "rtropo.E001" in [message.id for message in checks.run_checks()]
