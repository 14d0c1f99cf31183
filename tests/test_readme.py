"""The README's code samples work as written, and its two commands are the Makefile's."""

import re
from pathlib import Path

from django.urls import resolve
from django.urls.resolvers import RegexPattern, URLResolver

from rtropo.conf import BackendConfig
from rtropo.views import message_received

README = Path(__file__).parents[1] / "README.rst"
MAKEFILE = Path(__file__).parents[1] / "Makefile"


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


def test_the_commands_and_options_it_gives_are_the_makefiles():
    text, makefile = README.read_text(encoding="utf-8"), MAKEFILE.read_text(encoding="utf-8")
    commands = re.findall(r"^    (make [\w-]+.*)$", text, flags=re.MULTILINE)
    assert commands[:2] == ["make demo", "make test"]
    for command in commands:
        assert re.search(rf"^{command.split()[1]}:", makefile, flags=re.MULTILINE), command
        for option in re.findall(r"(\w+)=", command):
            assert f"$({option})" in makefile, option
    assert "``QUICK=1``" in text and "$(QUICK)" in makefile


def test_each_django_it_claims_runs_on_the_python_the_makefile_gives_it():
    text, makefile = README.read_text(encoding="utf-8"), MAKEFILE.read_text(encoding="utf-8")
    claims = re.findall(r"Django ([\d.]+)(?: and ([\d.]+))? on\s+Python (\d+\.\d+)", text)
    pairs = {(django, python) for *djangos, python in claims for django in djangos if django}
    assert {django for django, _ in pairs} == {"4.2", "5.2", "6.0", "6.1"}
    for django, python in pairs:
        assert f"PYTHON_FOR_{django.replace('.', '')} := {python}" in makefile
    for django in re.findall(r"``DJANGO=([\d.]+)``", text):
        assert django in {django for django, _ in pairs}
