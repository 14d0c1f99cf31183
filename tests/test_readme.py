"""The README's code samples work as written."""

import re
from pathlib import Path

from django.urls import resolve
from django.urls.resolvers import RegexPattern, URLResolver

from rtropo.conf import BackendConfig
from rtropo.views import message_received

README = Path(__file__).parents[1] / "README.rst"


def python_samples():
    text = README.read_text(encoding="utf-8")
    blocks = re.findall(r"\.\. code-block:: python\n\n((?:    .*\n|\n)+)", text)
    return [re.sub(r"^    ", "", block, flags=re.MULTILINE) for block in blocks]


def run(sample):
    namespace = {}
    exec(compile(sample, str(README), "exec"), namespace)  # noqa: S102
    return namespace


def test_settings_sample_configures_a_valid_backend():
    settings_sample = next(s for s in python_samples() if "INSTALLED_BACKENDS" in s)
    namespace = run(settings_sample)
    assert "rtropo" in namespace["INSTALLED_APPS"]
    config = BackendConfig.from_entry(
        "my-tropo-backend", namespace["INSTALLED_BACKENDS"]["my-tropo-backend"]
    )
    assert config.number == "+15555551212"
    assert config.inbound_secrets


def test_url_sample_routes_the_messaging_url_to_the_view():
    url_sample = next(s for s in python_samples() if "urlpatterns" in s)
    resolver = URLResolver(RegexPattern(r"^/"), run(url_sample)["urlpatterns"])
    match = resolver.resolve("/tropo/")
    assert match.func is message_received
    assert match.kwargs == {"backend_name": "my-tropo-backend"}
    assert resolve("/tropo/").func is message_received
