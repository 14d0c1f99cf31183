"""The emulator's pytest plugin in a project fresh from ``django-admin startproject``.

The project is the quickstart's (settings, URL, handler) with the conftest and
tests of docs/emulator.rst, on Django's default test database: in-memory SQLite.
"""

import os
import subprocess
import sys
import textwrap

import pytest

from tests.test_docs import sample

RUNS = 3


def write(path, text):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def build_project(root):
    """``startproject mysite`` in ``root`` plus the docs' settings, URL, handler and tests."""
    subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-m", "django", "startproject", "mysite", str(root)],
        check=True,
        capture_output=True,
        timeout=60,
    )
    settings = sample("sample-settings-nested")
    settings += "\n" + sample("sample-settings-handlers") + "\n"
    with (root / "mysite" / "settings.py").open("a", encoding="utf-8") as file:
        file.write("\n" + settings)
    write(root / "mysite" / "urls.py", sample("sample-urls") + "\n")
    write(root / "myapp" / "__init__.py", "")
    write(root / "myapp" / "handlers.py", sample("sample-handler") + "\n")
    write(root / "conftest.py", sample("sample-emulator-conftest") + "\n")
    write(root / "test_sms.py", sample("sample-emulator-tests") + "\n")
    write(
        root / "pytest.ini",
        textwrap.dedent(
            """\
            [pytest]
            DJANGO_SETTINGS_MODULE = mysite.settings
            """
        ),
    )
    return root


@pytest.fixture(scope="module")
def new_project(tmp_path_factory):
    return build_project(tmp_path_factory.mktemp("newproject"))


def run_pytest(project):
    """The new project's own test run, in its own settings."""
    unset = {"DJANGO_SETTINGS_MODULE", "DATABASE_URL"}
    env = {key: value for key, value in os.environ.items() if key not in unset}
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider"],
        cwd=project,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )


@pytest.mark.parametrize("run", range(1, RUNS + 1))
def test_the_docs_samples_pass_in_a_new_project(new_project, run):
    result = run_pytest(new_project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "3 passed" in result.stdout
