"""The rtropo changelists in a real headless Chromium, 1280 pixels wide: every column
fits, the navigation and filter sidebars open, with long texts and errors in them."""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import django.contrib.admin
import pytest
from django.urls import reverse
from django.utils import timezone

from rtropo.models import InboundSession, Launch, NumberAssignment, OutboundMessage

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
ADMIN_STATIC = Path(django.contrib.admin.__file__).parent / "static"
ORIGIN = "http://admin.test"
WIDTH = 1280
TEXT = "Your appointment at the district clinic is confirmed for Tuesday 14 March at 09:30. " * 2
ERRORS = {
    "queued": "Session API answered HTTP 503: Service Unavailable (will retry)",
    "launched": "",
    "sent": "",
    "confirmed": "",
    "unconfirmed": "Tropo did not report a result within the lease; sent again at most once",
    "failed": "Session API refused the launch: Invalid token (check messaging_token)",
}

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            tab = browser.new_page(viewport={"width": WIDTH, "height": 900})
            tab.set_default_timeout(15_000)
            yield tab
        finally:
            browser.close()


@pytest.fixture
def rows():
    now = timezone.now()
    for index, (status, error) in enumerate(ERRORS.items()):
        OutboundMessage.objects.create(
            id=1_000_000 + index,
            backend_name="tropo-production-line",
            identity=f"+4477009000{index:02d}",
            to_number=f"+4477009000{index:02d}",
            from_number=f"+4477009100{index:02d}",
            text=TEXT,
            status=status,
            attempts=10,
            unconfirmed_count=2,
            next_attempt_at=now + timedelta(minutes=5),
            last_error=error,
            created_at=now,
            sent_at=None if status == "queued" else now,
            result_at=now if status == "confirmed" else None,
        )
        Launch.objects.create(
            backend_name="tropo-production-line",
            reference=f"reference-{index}",
            session_id=f"{index:032x}",
            size=150,
            join_count=12,
            number=f"+4477009100{index:02d}",
            created_at=now,
            expires_at=now,
        )
        NumberAssignment.objects.create(
            backend_name="tropo-production-line",
            recipient=f"+4477009000{index:02d}",
            number=f"+4477009100{index:02d}",
            assigned_at=now,
        )
        InboundSession.objects.create(
            backend_name="tropo-production-line",
            session_id=f"{index:032x}",
            identity=f"+4477009000{index:02d}",
            text=TEXT,
            status=InboundSession.Status.ROUTED,
            attempts=1,
            last_error=error,
            received_at=now,
        )


def show(page, html, path):
    """Load ``html`` at ``path`` in ``page``, the admin's static files served from disk."""

    def serve(route):
        url_path = urlsplit(route.request.url).path
        static = ADMIN_STATIC / url_path.removeprefix("/static/")
        if url_path == path:
            route.fulfill(body=html, content_type="text/html; charset=utf-8")
        elif url_path.startswith("/static/") and static.is_file():
            route.fulfill(path=static)
        else:
            route.fulfill(status=404, body="")

    page.route(f"{ORIGIN}/**", serve)
    page.goto(ORIGIN + path)


@pytest.fixture(params=["outboundmessage", "launch", "inboundsession", "numberassignment"])
def changelist(request, admin_client, rows):
    """A changelist's path and HTML (fetched before the browser starts: Playwright's
    event loop would make Django refuse the database)."""
    path = reverse(f"admin:rtropo_{request.param}_changelist")
    return path, admin_client.get(path).content.decode()


def test_the_changelists_fit_1280_pixels(changelist, page, tmp_path):
    show(page, changelist[1], changelist[0])
    page.locator("#result_list").wait_for()
    assert page.locator("#nav-sidebar").is_visible()
    assert page.locator("#changelist-filter").is_visible()
    page.screenshot(path=str(tmp_path / "changelist.png"), full_page=True)
    results = page.locator(".results")
    assert results.evaluate("node => node.scrollWidth <= node.clientWidth")
    assert page.evaluate("document.documentElement.scrollWidth") <= WIDTH
    edges = page.locator("#result_list th").evaluate_all(
        "cells => cells.map(cell => cell.getBoundingClientRect().right)"
    )
    assert max(edges) <= results.bounding_box()["x"] + results.bounding_box()["width"]
