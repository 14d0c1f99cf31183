"""The migration to answers' references: rows awaiting a result at upgrade keep it."""

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.utils import timezone

from rtropo.models import AnswerReference, OutboundMessage

pytestmark = pytest.mark.django_db(transaction=True)

BEFORE = ("rtropo", "0004_delivery_confirmation")


def migration_named(executor, suffix):
    [name] = [
        name
        for app, name in executor.loader.graph.nodes
        if app == "rtropo" and name.endswith(suffix)
    ]
    return ("rtropo", name)


def migrate(target):
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([target])
    return executor


@pytest.fixture
def old_schema():
    """The models of the schema before the migration; the latest schema afterwards."""
    executor = MigrationExecutor(connection)
    after = migration_named(executor, "_answer_references")
    latest = executor.loader.graph.leaf_nodes("rtropo")[0]
    migrate(BEFORE)
    try:
        yield executor.loader.project_state([BEFORE]).apps, after
    finally:
        migrate(latest)


def test_each_digest_becomes_the_answer_of_its_rows(old_schema):
    apps, after = old_schema
    Row = apps.get_model("rtropo", "OutboundMessage")
    now = timezone.now()

    def row(status, digest, session_id):
        return Row.objects.create(
            backend_name="tropo",
            identity="+15555550001",
            to_number="+15555550001",
            text="hi",
            status=status,
            next_attempt_at=now,
            created_at=now,
            sent_at=now,
            session_id=session_id,
            result_digest=digest,
        ).pk

    first = [row("sent", "a" * 64, "1" * 32), row("sent", "a" * 64, "1" * 32)]
    unconfirmed = row("unconfirmed", "b" * 64, "2" * 32)
    unasked = row("sent", "", "3" * 32)

    migrate(after)

    answers = {a.digest: a for a in AnswerReference.objects.all()}
    assert set(answers) == {"a" * 64, "b" * 64}
    assert (answers["a" * 64].session_id, answers["a" * 64].message_ids) == ("1" * 32, first)
    assert answers["b" * 64].message_ids == [unconfirmed]
    requested = set(OutboundMessage.objects.filter(result_requested=True).values_list("pk"))
    assert requested == {(pk,) for pk in first}
    assert OutboundMessage.objects.get(pk=unasked).result_requested is False
