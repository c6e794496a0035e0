"""The chat page in a real headless Chromium (Debian's, driven by Playwright; it never downloads a browser).

The answering model is test_web.LLM_BACKEND ("fake" unless NEWSRAG_TEST_LLM_BACKEND says otherwise).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from conftest import CHROMIUM, live_server
from test_web import CITED_QUESTION, web_services

ARTIFACTS = Path(__file__).parent / "artifacts"
ANSWER_TIMEOUT_MS = 300_000  # the local model on 2 cores needs tens of seconds; the fake one, milliseconds
HOSTILE_ARTICLE = """---
title: "Harbour festival draws record crowds"
date: 2026-01-10
outlet: Test Gazette
---
The harbour festival drew <script>window.__pwned=1</script> about twelve thousand visitors to the waterfront on Saturday, a record for the event. Organisers counted the crowd at the gates <img src=x onerror="window.__pwned=2"> and said the festival would return next summer.
"""

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: make browser"),
]


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    """The app over the sample corpus plus one article carrying script and onerror payloads."""
    root = tmp_path_factory.mktemp("browser")
    hostile = root / "harbour-festival.md"
    hostile.write_text(HOSTILE_ARTICLE, encoding="utf-8")
    with live_server(web_services(root / "data", str(hostile))) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    restore_saved_conversation(page, app_url)
    page.locator("#new-conversation").click()  # the page restores the last saved conversation: start afresh
    yield page
    context.close()


def save_screenshot(page, name: str, full_page: bool = True) -> None:
    """tests/artifacts/NAME.png, with transitions finished, so a state that is still fading in never shows half-drawn."""
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=full_page, animations="disabled")


def restore_saved_conversation(page, url: str) -> None:
    """Open the page and wait for its load event, which restores the last saved conversation (an unqueued /run/ call)."""
    with page.expect_response(lambda r: "/run/" in r.url and r.request.method == "POST", timeout=120_000):
        page.goto(url)


def ask(page, question: str) -> None:
    """Type the question, press Enter, and wait until the verified answer has replaced the streamed text."""
    box = page.get_by_placeholder("Ask about the articles…")
    box.fill(question)
    box.press("Enter")
    page.wait_for_function(
        "() => document.querySelector('#sources .nr-sources h3')?.textContent.match(/^(Sources|Related passages)$/)",
        timeout=ANSWER_TIMEOUT_MS,
    )


def test_answer_with_marker_and_source_card(page, app_url):
    dates = {a["title"]: a["date"] for a in httpx.get(f"{app_url}/api/sources").json()}
    ask(page, CITED_QUESTION)

    marker = page.locator("#chat a.nr-ref").first
    marker.wait_for()
    n = marker.inner_text().strip("[]")
    assert n.isdigit()
    assert marker.get_attribute("href") == f"#src-0-{n}"  # the first answer's card
    card = page.locator(f"#sources #src-0-{n}")
    assert card.is_visible()
    title = card.locator(".nr-title").inner_text()
    assert title in dates
    assert dates[title] in card.locator(".nr-meta").inner_text()
    assert card.locator("mark").count() == 1  # the supporting sentence is highlighted

    save_screenshot(page, "chat")


def test_article_markup_is_shown_as_text_and_never_runs(page):
    ask(page, "How many visitors came to the harbour festival?")

    assert page.get_by_text("<script>window.__pwned=1</script>").first.is_visible()
    assert page.get_by_text('<img src=x onerror="window.__pwned=2">').first.is_visible()
    assert page.evaluate("typeof window.__pwned") == "undefined"
    assert page.locator("#sources script, #sources img, #chat .message-content img").count() == 0
