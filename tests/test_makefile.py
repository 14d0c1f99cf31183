"""``make test``'s services: the PostgreSQL database is the checkout's own, and both it
and Redis are the caller's to choose (DATABASE_URL, REDIS_URL)."""

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
