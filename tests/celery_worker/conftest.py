"""A real Celery worker on Redis, against the PostgreSQL test database.

Skipped when DATABASE_URL is not PostgreSQL (the worker and the test must share
the database) or Redis is unreachable; with RTROPO_REQUIRE_SERVICES=1 a missing
Redis fails instead. REDIS_URL names the broker (default ``redis://127.0.0.1:6379/9``).
"""

import os
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

from tests.support.services import skip_or_fail
from tests.support.session_api_stub import SessionAPIStub

ROOT = Path(__file__).parents[2]
BROKER = os.environ.get("REDIS_URL") or "redis://127.0.0.1:6379/9"
QUEUE = f"rtropo-tests-{uuid.uuid4().hex[:12]}"


def _redis_reachable() -> bool:
    import redis

    client = redis.Redis.from_url(BROKER, socket_connect_timeout=1, socket_timeout=1)
    try:
        return client.ping()
    except redis.RedisError:
        return False
    finally:
        client.close()


def _database_url(db) -> str:
    password = f":{db['PASSWORD']}" if db["PASSWORD"] else ""
    return f"postgres://{db['USER']}{password}@{db['HOST']}:{db['PORT']}/{db['NAME']}"


class Worker:
    """The running worker, its log and the Session API stub it launches through."""

    def __init__(self, process, log, stub):
        self.process = process
        self.log = log
        self.stub = stub

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_until_ready(process, log, timeout=60.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"Celery worker exited early:\n{log.read_text(errors='replace')}")
        if " ready." in log.read_text(errors="replace"):
            return
        time.sleep(0.2)
    pytest.fail(f"Celery worker not ready in {timeout}s:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def celery_worker(django_db_setup, django_db_blocker, tmp_path_factory):
    """Start ``celery worker --pool=solo`` on a queue of its own; stop it afterwards."""
    from django.db import connection

    if not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://")):
        pytest.skip(
            "the Celery worker test shares the test database with a worker process: "
            "run it with DATABASE_URL=postgres://postgres@127.0.0.1:5432/rtropo (or make test)"
        )
    if not _redis_reachable():
        skip_or_fail(f"the Celery worker test needs Redis at {BROKER} (REDIS_URL)")
    from tests.celery_worker.app import app

    app.conf.update(broker_url=BROKER, task_default_queue=QUEUE)
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    with SessionAPIStub() as stub, log.open("wb") as sink:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.celery_worker.settings",
            "DATABASE_URL": _database_url(connection.settings_dict),
            "RTROPO_STUB_URL": stub.url,
            "RTROPO_CELERY_BROKER": BROKER,
            "RTROPO_CELERY_QUEUE": QUEUE,
        }
        command = [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "tests.celery_worker.app",
            "worker",
            "--pool=solo",
            "--concurrency=1",
            "--queues",
            QUEUE,
            "--hostname",
            f"{QUEUE}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ]
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, cwd=ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
        )
        try:
            _wait_until_ready(process, log)
            yield Worker(process, log, stub)
        finally:
            process.terminate()
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=5)
            _forget_queue()


def _forget_queue():
    """Drop the run's queue and the bindings kombu keeps for it in Redis."""
    import redis

    client = redis.Redis.from_url(BROKER)
    try:
        client.delete(QUEUE, f"_kombu.binding.{QUEUE}", f"_kombu.binding_permanent.{QUEUE}")
    finally:
        client.close()
