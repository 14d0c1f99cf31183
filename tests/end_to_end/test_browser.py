"""The emulator's page in a real headless Chromium: text the app, see the answer."""

from pathlib import Path

import pytest

from tests.support.services import skip_or_fail

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
TIMEOUT_MS = 15_000

pytestmark = pytest.mark.browser


@pytest.fixture
def browser():
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} is missing (apt-get install chromium)"
        skip_or_fail(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def test_a_text_sent_from_the_page_gets_its_reply_shown(browser, stack):
    page = browser.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{stack.emulator.url}/")

    page.fill("#sms-from", "+15555554001")
    page.fill("#sms-text", "ping")
    page.click("#sms-send")

    conversation = page.locator('.conversation[data-number="+15555554001"]')
    conversation.locator(".bubble.outbound", has_text="pong").wait_for()
    bubbles = conversation.locator(".bubble")
    assert bubbles.all_inner_texts() == ["ping", "pong"]
    assert bubbles.evaluate_all("nodes => nodes.map(n => n.classList[1])") == [
        "inbound",
        "outbound",
    ]
    assert [(d.to, d.text) for d in stack.emulator.deliveries] == [("+15555554001", "pong")]
