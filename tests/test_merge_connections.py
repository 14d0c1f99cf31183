from io import StringIO

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import connection as db_connection
from django.db import models
from rapidsms.models import Backend, Connection, Contact


@pytest.fixture
def note_model(transactional_db):
    """A model of a project's app that points at Connection, as messagelog's Message does."""

    class Note(models.Model):
        connection = models.ForeignKey(Connection, on_delete=models.CASCADE)
        text = models.CharField(max_length=20)

        class Meta:
            app_label = "rtropo"

        def __str__(self):
            return self.text

    apps.clear_cache()
    with db_connection.schema_editor() as editor:
        editor.create_model(Note)
    yield Note
    with db_connection.schema_editor() as editor:
        editor.delete_model(Note)
    del apps.all_models["rtropo"]["note"]
    apps.clear_cache()


def connect(identity, backend="tropo", contact=None):
    backend_row, _ = Backend.objects.get_or_create(name=backend)
    return Connection.objects.create(backend=backend_row, identity=identity, contact=contact)


def merge(*args):
    out = StringIO()
    call_command("tropo_merge_connections", *args, stdout=out)
    return out.getvalue()


def identities(backend="tropo"):
    return sorted(
        Connection.objects.filter(backend__name=backend).values_list("identity", flat=True)
    )


def test_digits_only_identities_are_renamed(db):
    connect("15555550001")
    connect("+15555550002")
    connect("15555550003", backend="other")

    out = merge("--backend", "tropo")

    assert identities() == ["+15555550001", "+15555550002"]
    assert identities("other") == ["15555550003"]
    assert "1 renamed, 0 merged, 0 kept" in out


def test_dry_run_changes_nothing(db):
    connect("15555550001")
    connect("15555550002")
    connect("+15555550002")

    out = merge("--backend", "tropo", "--dry-run")

    assert identities() == ["+15555550002", "15555550001", "15555550002"]
    assert "Would change 2 connection(s) of tropo: 1 renamed, 1 merged" in out


def test_merge_moves_references_and_contact_then_deletes_the_old_connection(note_model):
    ada = Contact.objects.create(name="Ada")
    old = connect("15555550001", contact=ada)
    new = connect("+15555550001")
    note_model.objects.create(connection=old, text="old")
    note_model.objects.create(connection=new, text="new")

    out = merge("--backend", "tropo")

    assert identities() == ["+15555550001"]
    assert sorted(note_model.objects.filter(connection=new).values_list("text", flat=True)) == [
        "new",
        "old",
    ]
    new.refresh_from_db()
    assert new.contact == ada
    assert "merged into +15555550001 (1 reference(s) moved)" in out


def test_merge_keeps_the_contact_of_the_new_connection(db):
    ada, bob = Contact.objects.create(name="Ada"), Contact.objects.create(name="Bob")
    connect("15555550001", contact=ada)
    new = connect("+15555550001", contact=bob)

    merge("--backend", "tropo")

    new.refresh_from_db()
    assert new.contact == bob
    assert identities() == ["+15555550001"]
    assert Contact.objects.filter(name="Ada").exists()


def test_identities_that_are_not_phone_numbers_are_kept(db):
    connect("1234567890123456")
    connect("alice")

    out = merge("--backend", "tropo")

    assert identities() == ["1234567890123456", "alice"]
    assert "1234567890123456: kept (not a phone number)" in out


def test_unknown_backend_is_an_error(db):
    with pytest.raises(CommandError, match="Not a Tropo backend"):
        merge("--backend", "nope")
