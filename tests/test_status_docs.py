"""docs/troubleshooting.rst on tropo_status: every problem code documented, its sample real."""

import re

import pytest
from rapidsms.router import send

from rtropo.status import problems
from tests.support.commands import send_queued, tropo_status
from tests.test_docs import DOCS, sample

TIME = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC \(\d+s ago\)")
AGO = re.compile(r"\d+s ago")


def normalised(text):
    return AGO.sub("<ago>", TIME.sub("<time>", text)).replace("my-tropo-backend", "tropo")


def test_every_problem_code_is_documented_with_its_level():
    page = (DOCS / "troubleshooting.rst").read_text(encoding="utf-8")
    documented = dict(re.findall(r"^``(\w+)`` \((warning|critical)", page, re.MULTILINE))
    assert set(documented) == {rule.__name__ for rule in problems.RULES}


@pytest.mark.django_db
def test_the_documented_output_is_what_tropo_status_prints(
    tropo, connection, django_capture_on_commit_callbacks
):
    tropo.fail_with((200, {}, '{"success": false, "reason": "Invalid token"}'))
    with django_capture_on_commit_callbacks(execute=True):
        send("hello", [connection])
    assert send_queued("-v", "0").code == 2
    run = tropo_status()
    assert run.code == 2
    assert normalised(run.stdout).strip() == normalised(sample("sample-status-output"))
