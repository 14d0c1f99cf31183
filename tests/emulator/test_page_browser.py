"""The page in a real headless Chromium: long texts wrap, empty texts show, and a day of
sessions behind it does not grow the page."""

import secrets
import time
from pathlib import Path

import pytest

from rtropo.emulator import running_emulator
from rtropo.emulator.page import PAGE_SIZE
from rtropo.emulator.store import Session

from .conftest import TOKEN

CHROMIUM = Path("/usr/bin/chromium")
DAY_OF_SESSIONS = 20_000
#: Elements of the page around the rows: header, form, pagers, section titles.
FRAME_ELEMENTS = 60

pytestmark = pytest.mark.browser


@pytest.fixture
def page():
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            tab = browser.new_page(viewport={"width": 1280, "height": 800})
            tab.set_default_timeout(15_000)
            yield tab
        finally:
            browser.close()


def test_a_long_unbroken_text_wraps_and_an_empty_one_shows(page, emulator, app):
    emulator.send_sms("+15555550001", "x" * 170)
    emulator.send_sms("+15555550001", "")
    page.goto(emulator.url + "/")
    page.locator(".bubble.empty").wait_for()
    assert page.locator(".bubble.empty").inner_text() == "(empty SMS)"
    send = page.locator("#sms-send").bounding_box()
    assert send["x"] + send["width"] <= 1280
    assert page.evaluate("document.documentElement.scrollWidth") <= 1280


def test_a_day_of_sessions_renders_one_page(page, app):
    with running_emulator(app_url=app.url, token=TOKEN, history=DAY_OF_SESSIONS) as tropo:
        store = tropo.engine.store
        now = time.time()
        for index in range(DAY_OF_SESSIONS):
            session = Session(f"{index:032x}", "inbound", now, caller=f"+1555{index:07d}")
            store.add_session(session)
            store.add_inbound(session, "ping")
            store.log(session, "Session ended")
        page.goto(tropo.url + "/")
        page.locator(".session").first.wait_for()
        assert page.locator(".session").count() == PAGE_SIZE
        assert page.locator(".conversation").count() == PAGE_SIZE
        elements = page.evaluate("document.getElementsByTagName('*').length")
        assert elements <= FRAME_ELEMENTS + 6 * PAGE_SIZE * 2
        page.click("#sessions-older")
        page.locator("#sessions-shown", has_text=f"{PAGE_SIZE + 1}-").wait_for()
        assert page.locator(".session").count() == PAGE_SIZE


def test_the_icon_decodes_and_the_page_logs_no_error(page, emulator):
    errors = []
    page.on("console", lambda entry: entry.type == "error" and errors.append(entry.text))
    page.on("response", lambda reply: reply.status >= 400 and errors.append(reply.url))
    page.goto(emulator.url + "/")
    assert page.get_attribute('link[rel="icon"]', "href") == "/favicon.ico"
    width = page.evaluate(
        "async () => { const icon = new Image(); icon.src = '/favicon.ico';"
        " await icon.decode(); return icon.naturalWidth; }"
    )
    assert width == 16
    page.locator("#counters", has_text="launches 0").wait_for()
    assert errors == []


def test_a_failed_session_says_so_and_no_secret_is_rendered(page, app):
    secret = secrets.token_hex(20)
    app.answer = lambda _payload: (500, b"")
    app_url = app.url.replace("secret=s3", f"secret={secret}")
    with running_emulator(app_url=app_url, token=TOKEN) as tropo:
        page.goto(tropo.url + "/")
        page.fill("#sms-text", "ping")
        page.click("#sms-send")
        status = page.locator("#sms-status", has_text="Received non-2XX status code")
        status.wait_for()
        assert "code=500" in status.inner_text()
        failed = page.locator(".session.failed")
        failed.wait_for()
        assert "(inbound, ended, failed)" in failed.locator("summary").inner_text()
        failed.locator("summary").click()
        error = failed.locator(".session-error")
        assert error.inner_text().startswith("Received non-2XX status code on Session")
        rendered = page.content()
    assert f"secret={secret[:4]}…" in rendered
    assert secret not in rendered


def test_the_page_lists_the_pool_and_names_each_sms_number(page, app):
    app.answer = {"tropo": [{"say": {"value": "pong"}}]}
    pool = ["+15555550100", "+15555550101"]
    with running_emulator(app_url=app.url, token=TOKEN, numbers=pool) as tropo:
        tropo.send_sms("+15555550001", "ping", to=pool[1])
        page.goto(tropo.url + "/")
        page.locator(".app-number.outbound").wait_for()
        assert page.locator("#app-numbers").inner_text() == "App numbers " + ", ".join(pool)
        assert page.locator("#sms-to option").all_inner_texts() == pool
        labels = page.locator(".conversation .app-number").all_inner_texts()
        assert labels == ["to +15555550101", "from +15555550101"]
        page.select_option("#sms-to", pool[1])
        page.fill("#sms-text", "again")
        page.click("#sms-send")
        page.locator("#sms-status", has_text="app answered 200").wait_for()
        assert [d.from_ for d in tropo.deliveries] == [pool[1], pool[1]]
