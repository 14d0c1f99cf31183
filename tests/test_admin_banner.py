"""The admin lists carry the problems tropo_status names, in its words."""

import re

import pytest
from django.urls import reverse
from rapidsms.router import send

from tests.support.commands import send_queued, tropo_status

pytestmark = pytest.mark.django_db

LISTS = ["outboundmessage", "launch", "inboundsession"]
AGO = re.compile(r"\d+s ago")


def without_ages(text):
    return AGO.sub("<ago>", text)


@pytest.mark.parametrize("model", LISTS)
def test_a_healthy_backend_shows_no_banner(admin_client, model):
    page = admin_client.get(reverse(f"admin:rtropo_{model}_changelist"))
    assert page.status_code == 200
    assert list(page.context["messages"]) == []


@pytest.mark.parametrize("model", LISTS)
def test_a_refused_launch_is_shown_on_every_list_as_tropo_status_says_it(
    admin_client, model, tropo, connection, django_capture_on_commit_callbacks
):
    tropo.fail_with((200, {}, '{"success": false, "reason": "Invalid token"}'))
    with django_capture_on_commit_callbacks(execute=True):
        send("hello", [connection])
    send_queued("-v", "0")
    [line] = [line for line in tropo_status().stdout.splitlines() if "launch_refused" in line]

    page = admin_client.get(reverse(f"admin:rtropo_{model}_changelist"))

    [message] = list(page.context["messages"])
    assert message.level_tag == "error"
    assert without_ages(str(message)) == without_ages(f"tropo: {line.strip()}")
    assert "launch_refused" in page.content.decode()


def test_a_misconfigured_backend_is_named_instead_of_failing_the_page(
    admin_client, backend_settings
):
    backend_settings(messaging_token="")
    page = admin_client.get(reverse("admin:rtropo_outboundmessage_changelist"))
    assert page.status_code == 200
    assert ["messaging_token" in str(m) for m in page.context["messages"]] == [True]
