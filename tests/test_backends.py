"""A project's TropoBackend subclass, given as a dotted path, is a Tropo backend to
every user of the lookup: the system checks, tropo_send_queued, the Celery task and
tropo_merge_connections."""

import copy
from io import StringIO

import pytest
from django.core.management import call_command
from rapidsms.models import Backend, Connection
from rapidsms.router import lookup_connections, send

from rtropo import tasks
from rtropo.checks import check_backends
from rtropo.conf import tropo_backend_names
from rtropo.models import OutboundMessage
from tests.support import backends


@pytest.fixture
def project_backend(settings):
    """Add the test backend again as ``project``, its ENGINE the subclass's dotted path."""
    entries = copy.deepcopy(settings.INSTALLED_BACKENDS)
    entries["project"] = {**copy.deepcopy(entries["tropo"]), "ENGINE": backends.ENGINE}
    entries["database"] = {"ENGINE": "rapidsms.backends.database.DatabaseBackend"}
    settings.INSTALLED_BACKENDS = entries
    return entries["project"]


def queue_for_project_backend():
    send("hello", lookup_connections("project", ["+15555550001"]))
    return OutboundMessage.objects.get(backend_name="project")


def test_the_lookup_resolves_dotted_paths_and_classes(project_backend, settings):
    entries = copy.deepcopy(settings.INSTALLED_BACKENDS)
    entries["by_class"] = {**entries["tropo"], "ENGINE": backends.ProjectTropoBackend}
    entries["missing"] = {"ENGINE": "myproject.sms.DoesNotExist"}
    settings.INSTALLED_BACKENDS = entries
    assert tropo_backend_names() == ["tropo", "project", "by_class"]


def test_the_system_checks_check_a_subclass(project_backend):
    del project_backend["config"]["messaging_token"]
    [error] = check_backends()
    assert error.id == "rtropo.E001"
    assert "'project'" in error.msg


@pytest.mark.django_db
def test_tropo_send_queued_launches_for_a_subclass(project_backend, tropo):
    row = queue_for_project_backend()
    out = StringIO()
    call_command("tropo_send_queued", "--backend", "project", stdout=out)
    assert "project: 1 message(s) in 1 launch(es)" in out.getvalue()
    row.refresh_from_db()
    assert row.status == OutboundMessage.Status.LAUNCHED
    assert len(tropo.launches) == 1


@pytest.mark.django_db
def test_the_celery_task_launches_for_a_subclass(project_backend, tropo):
    row = queue_for_project_backend()
    tasks.send_queued()
    row.refresh_from_db()
    assert row.status == OutboundMessage.Status.LAUNCHED
    assert len(tropo.launches) == 1


@pytest.mark.django_db
def test_tropo_merge_connections_takes_a_subclass(project_backend):
    backend = Backend.objects.create(name="project")
    Connection.objects.create(backend=backend, identity="15555550001")
    out = StringIO()
    call_command("tropo_merge_connections", "--backend", "project", stdout=out)
    assert list(Connection.objects.values_list("identity", flat=True)) == ["+15555550001"]
