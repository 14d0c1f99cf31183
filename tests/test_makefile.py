"""``make test`` runs tox's environments for DJANGO (QUICK=1: its quick one), with the
Pythons the Makefile names; the PostgreSQL database is the checkout's own, and both it and
Redis are the caller's to choose (DATABASE_URL, REDIS_URL)."""

import os
import shutil
import subprocess

import pytest

from tests.support.project import COMMAND_TIMEOUT, REPO

pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def checkout(path):
    """A copy of what ``make test`` reads (the Makefile and its prerequisites) at ``path``."""
    path.mkdir(parents=True)
    shutil.copy(REPO / "Makefile", path)
    shutil.copy(REPO / "setup.py", path)
    shutil.copy(REPO / "pyproject.toml", path)
    shutil.copy(REPO / "tox.ini", path)
    shutil.copytree(REPO / "requirements", path / "requirements")
    return path


def make(repo, *args, **env) -> str:
    """``make -s ARGS`` in ``repo``, without the caller's DATABASE_URL and REDIS_URL."""
    environ = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    result = subprocess.run(  # noqa: S603 - make from PATH, our Makefile
        ["make", "-s", *args],  # noqa: S607
        cwd=repo,
        env={**environ, **env},
        capture_output=True,
        text=True,
        timeout=COMMAND_TIMEOUT,
        check=True,
    )
    return result.stdout


def test_each_checkout_tests_on_a_database_of_its_own(tmp_path):
    first = checkout(tmp_path / "one" / "rapidsms-tropo")
    second = checkout(tmp_path / "two" / "rapidsms-tropo")
    urls = [make(repo, "database-url").strip() for repo in (first, second, first)]
    assert urls[0] != urls[1]
    assert urls[0] == urls[2]
    for url in urls:
        server, name = url.rsplit("/", 1)
        assert server == "postgres://postgres@127.0.0.1:5432"
        assert name.startswith("rtropo_")
        assert len("test_" + name) <= 63  # PostgreSQL's longest name


def test_the_postgresql_pass_uses_the_database_and_redis_given(tmp_path):
    repo = checkout(tmp_path / "rapidsms-tropo")
    database = "postgres://me@db.test:5432/mine"
    redis = "redis://cache.test:6379/2"
    assert make(repo, "database-url", DATABASE_URL=database).strip() == database
    recipe = make(repo, "-n", "test", DATABASE_URL=database, REDIS_URL=redis)
    assert f"DATABASE_URL={database} REDIS_URL={redis}" in recipe
    default = make(repo, "-n", "test")
    checkout_database = make(repo, "database-url").strip()
    assert f"DATABASE_URL={checkout_database} REDIS_URL=redis://127.0.0.1:6379/9" in default


def tox_run(recipe: str) -> list[str]:
    """The arguments of the ``tox run`` line of a ``make -n`` recipe."""
    (line,) = [line for line in recipe.splitlines() if "/bin/tox run " in line]
    return line.split("/bin/tox run ", 1)[1].split()


@pytest.mark.parametrize(
    ("options", "envs"),
    [
        ((), "django52,bench-tests,typing,lint"),
        (("QUICK=1",), "django52-quick,typing,lint"),
        (("DJANGO=4.2",), "django42,bench-tests,typing,lint"),
        (("DJANGO=6.0", "QUICK=1"), "django60-quick,typing,lint"),
        (("DJANGO=6.1", "QUICK=1"), "django61-quick,typing,lint"),
    ],
)
def test_make_test_runs_the_tox_environments_of_django_and_quick(tmp_path, options, envs):
    repo = checkout(tmp_path / "rapidsms-tropo")
    args = tox_run(make(repo, "-n", "test", *options))
    assert args[:2] == ["-e", envs]
    tox_ini = (repo / "tox.ini").read_text(encoding="utf-8")
    assert "[testenv:django{42,52,60,61}{,-quick}]" in tox_ini
    for env in envs.split(",")[1:]:
        assert f"[testenv:{env}]" in tox_ini


def test_tox_discovers_the_python_the_makefile_gives_each_django(tmp_path):
    repo = checkout(tmp_path / "rapidsms-tropo")
    args = tox_run(make(repo, "-n", "test"))
    discovered = args[args.index("--discover") + 1 :]
    for django in ("4.2", "5.2", "6.0", "6.1"):
        assert make(repo, "python-path", f"DJANGO={django}").strip() in discovered


def test_tox_comes_from_its_pinned_requirements(tmp_path):
    repo = checkout(tmp_path / "rapidsms-tropo")
    recipe = make(repo, "-n", "test")
    assert "-m venv .venv-tox" in recipe
    assert "pip install --quiet -r requirements/tox.txt" in recipe
    pins = (repo / "requirements" / "tox.txt").read_text(encoding="utf-8")
    assert "\ntox==4.67.17\n" in pins


def test_an_unsupported_django_is_refused(tmp_path):
    repo = checkout(tmp_path / "rapidsms-tropo")
    with pytest.raises(subprocess.CalledProcessError) as refused:
        make(repo, "-n", "test", "DJANGO=5.0")
    assert "DJANGO=5.0 is not supported" in refused.value.stderr
