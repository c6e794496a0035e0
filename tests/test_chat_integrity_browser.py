"""The chat never loses or corrupts what it showed (issue 38), in a real headless Chromium.

Each answer keeps its own sources (live and after a reload), a conversation is deleted only after a question
naming it, a bad input is refused before the question leaves the box, Stop touches only the answer being
written, copy and export give the text as read, and the filters in force show beside the question box.
The fake model answers: these tests are about what the chat shows and keeps, not about answer quality.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import expect
from test_chat_browser import (
    QUESTION,
    ask,
    box,
    last_bot_message,
    open_page,
    pick_option,
    send,
    start_new_conversation,
    wait_until_answering,
    wait_until_idle,
)

from ingest.pipeline import sample_corpus_dir
from rag.chain import build_chain
from rag.config import Settings
from rag.llm import FakeNewsModel
from rag.types import Answer, Citation, TraceStep
from ui.conversations import Conversations
from ui.render import render_markdown_answer
from ui.services import Services

from conftest import CHROMIUM, live_server
from test_browser import ARTIFACTS, restore_saved_conversation, save_screenshot

pytestmark = [
    pytest.mark.browser,
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: make browser"),
]
WITHDRAWAL = "When did US forces leave Ain al-Asad?"
LIGHTHOUSE = "When did the Saltcliff lighthouse reopen?"
LIGHTHOUSE_ARTICLE = """---
title: Saltcliff lighthouse reopens to visitors
date: 2026-01-24
outlet: Test Coast Gazette
---
The town council said on Friday that the restoration of the Saltcliff lighthouse was complete and that visitors
could climb the tower again. Volunteers repainted the lamp room over the winter.
"""


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("integrity") / "data"


@pytest.fixture(scope="module")
def app_url(data_dir) -> Iterator[str]:
    article = data_dir.parent / "saltcliff-lighthouse.md"
    article.write_text(LIGHTHOUSE_ARTICLE, encoding="utf-8")
    settings = Settings(_env_file=None, data_dir=data_dir, llm_backend="fake")
    services = Services(settings, chain=build_chain(settings, llm=FakeNewsModel(token_delay=0.15)))
    report = services.ingest([str(sample_corpus_dir()), str(article)])
    assert not report.failures, report.failures
    with live_server(services) as url:
        yield url


@pytest.fixture
def page(browser, app_url):
    page = open_page(browser, app_url)
    yield page
    page.context.close()


def bot(page, index: int):
    return page.locator('#chat [data-testid="bot"]').nth(index)


def user_count(page) -> int:
    return page.locator('#chat [data-testid="user"]').count()


def cited_card(page, answer: int):
    """The source card the answer's first [n] marker points to, after clicking that marker."""
    marker = bot(page, answer).locator("a.nr-ref").first
    marker.click()
    card = page.locator(f"#sources {marker.get_attribute('href')}")
    expect(card).to_be_visible()
    assert marker.get_attribute("title") == card.get_attribute("data-quote")  # the preview is this card's quote
    return card


def test_each_answer_keeps_its_own_sources_across_a_reload(page):
    ask(page, WITHDRAWAL)
    first_title = page.locator("#sources .nr-card .nr-title:visible").first.inner_text()
    ask(page, LIGHTHOUSE)
    second_title = page.locator("#sources .nr-card .nr-title:visible").first.inner_text()
    assert "Saltcliff" in second_title and first_title != second_title
    save_screenshot(page, "chat-two-answers")
    for moment in ("as answered", "after a reload"):
        assert cited_card(page, 0).locator(".nr-title").inner_text() == first_title, moment
        assert cited_card(page, 1).locator(".nr-title").inner_text() == second_title, moment
        assert cited_card(page, 0).locator(".nr-title").inner_text() == first_title, moment
        if moment == "as answered":
            page.reload()
            page.locator('#chat [data-testid="user"]', has_text=LIGHTHOUSE).wait_for()
    save_screenshot(page, "chat-two-answers-reloaded")


def test_deleting_a_conversation_asks_with_its_name_first(page):
    ask(page, "Who commands CENTCOM?")
    listed = page.locator("#conversation-list").get_by_text("Who commands CENTCOM?")
    page.get_by_text("Rename, delete, export").click()
    questions: list[str] = []
    for answer in ("dismiss", "accept"):
        page.once("dialog", lambda dialog, answer=answer: (questions.append(dialog.message), getattr(dialog, answer)()))
        page.locator("#delete-conversation").click()
        if answer == "dismiss":
            page.wait_for_timeout(1500)
            assert questions and listed.count() == 1 and user_count(page) == 1  # cancelled: nothing is gone
    listed.wait_for(state="detached")
    assert user_count(page) == 0
    assert len(questions) == 2 and all("Who commands CENTCOM?" in question for question in questions)


def test_a_bad_date_is_refused_before_sending_and_stop_leaves_the_checked_answer_alone(page, data_dir):
    ask(page, QUESTION)
    checked = last_bot_message(page).inner_text()
    cards = page.locator("#sources .nr-card").count()
    assert "7,000" in checked and cards

    page.get_by_text("Answer settings").click()
    date_from = page.get_by_placeholder("YYYY-MM-DD").first
    date_from.fill("2026-13-01")
    date_from.press("Tab")
    send(page, "Who commands CENTCOM?")
    page.get_by_text("Date from must be a date like 2026-01-19").first.wait_for(timeout=10_000)
    save_screenshot(page, "bad-date-refused")
    assert box(page).input_value() == "Who commands CENTCOM?"  # still in the box
    assert user_count(page) == 1  # nothing was sent
    assert page.locator("#send").inner_text().strip() == "Send" and not page.locator("#stop").is_visible()
    assert page.get_by_text("Error", exact=True).count() == 0  # no error badge on the box or the chat

    page.evaluate("document.querySelector('#stop')?.click()")  # a Stop with no answer being written
    page.wait_for_timeout(1500)
    assert last_bot_message(page).inner_text() == checked and page.locator("#sources .nr-card").count() == cards
    saved = Conversations(data_dir / "conversations.sqlite").latest("")
    assert "not checked" not in str(saved.messages[-1])

    date_from.fill("")
    date_from.press("Tab")
    box(page).fill("   ")
    page.locator("#send").click()  # an empty question
    page.get_by_text("Type a question first").first.wait_for(timeout=10_000)
    assert user_count(page) == 1 and "Searching" not in page.locator("#sources").inner_text()

    send(page, "Who commands CENTCOM?")  # a real answer, stopped while written: only it is marked
    wait_until_answering(page)
    page.locator("#stop").click()
    wait_until_idle(page)
    assert "Stopped" in last_bot_message(page).inner_text()
    assert bot(page, 0).inner_text() == checked


def test_copy_gives_the_text_as_read_with_the_sources_as_footnotes(page, app_url):
    page.context.grant_permissions(["clipboard-read", "clipboard-write"], origin=app_url)
    ask(page, QUESTION)
    cited = page.locator("#sources .nr-card .nr-title").first.inner_text()
    last_bot_message(page).hover()
    page.locator('#chat button[aria-label="Copy message"]').last.click()
    page.wait_for_timeout(500)
    copied = page.evaluate("navigator.clipboard.readText()")
    assert "\\" not in copied and "**" not in copied, copied
    assert "7,000" in copied and "[1]" in copied
    assert f"Sources:\n[1] {cited}" in copied and "2026-01-" in copied
    page.locator('#chat button[aria-label="Copy conversation"]').click()
    page.wait_for_timeout(500)
    everything = page.evaluate("navigator.clipboard.readText()")
    assert everything == f"Question: {QUESTION}\n\n{copied}"


def test_export_is_named_after_the_conversation_and_reads_without_escapes(page):
    ask(page, QUESTION)
    cited = page.locator("#sources .nr-card .nr-title").first.inner_text()
    page.get_by_text("Rename, delete, export").click()
    page.get_by_label("New name").fill("Detainees: the figures")
    page.get_by_role("button", name="Rename", exact=True).click()
    page.locator("#conversation-list").get_by_text("Detainees: the figures").wait_for()
    page.get_by_role("button", name="Export as Markdown").click()
    link = page.locator("#exported-conversation a").first
    link.wait_for()
    expect(page.locator("#exported-conversation").get_by_role("cell", name="Detainees_the_figures.md")).to_be_visible()
    page.locator("#exported-conversation").screenshot(path=str(ARTIFACTS / "exported-conversation.png"))
    assert page.locator("#exported-conversation td.filename").bounding_box()["width"] > 120  # readable, not ".r"
    with page.expect_download() as download:
        link.click()
    assert download.value.suggested_filename == "Detainees_the_figures.md"
    markdown = Path(download.value.path()).read_text(encoding="utf-8")
    assert markdown.startswith("# Detainees: the figures\n") and f"\n## {QUESTION}\n" in markdown
    assert "\\" not in markdown, markdown
    assert f"Sources:\n[1] {cited}" in markdown and "7,000" in markdown


def test_the_upload_summary_names_the_file_as_uploaded_and_fits_a_phone(browser, app_url, data_dir, tmp_path):
    upload = tmp_path / "harbour-regatta-postponed.md"
    upload.write_text("---\ntitle: Harbour regatta postponed\ndate: 2026-01-26\noutlet: Test Harbour Post\n---\n"
                      "The regatta was postponed by a week because of the wind.\n", encoding="utf-8")
    page = open_page(browser, app_url, 400)
    try:
        page.get_by_role("tab", name="Upload").click()
        page.locator("#upload-files input[type=file]").set_input_files(str(upload))
        page.locator("#upload-files", has_text=upload.name).wait_for()
        page.locator("#add-to-library").click()
        summary = page.locator("#ingest-summary .nr-summary")
        summary.wait_for()
        cell = summary.locator("tbody td").first
        assert cell.inner_text().strip().removeprefix("Source:").strip() == upload.name
        assert str(data_dir) not in page.locator("#ingest-summary").inner_text()
        edges = summary.locator("td").evaluate_all("cells => cells.map((c) => c.getBoundingClientRect().right)")
        assert edges and max(edges) <= 400, edges  # every cell on screen: nothing cut off at the edge
        assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
        save_screenshot(page, "upload-summary-400")
    finally:
        page.context.close()


def test_active_filters_show_as_removable_chips_beside_the_question(page):
    chips = page.locator("#filter-chips")
    assert not chips.locator(".nr-chip").count() or not chips.is_visible()
    page.get_by_text("Answer settings").click()
    pick_option(page, "ask-within-outlet", "Harbor Wire (sample)")
    date_from = page.get_by_placeholder("YYYY-MM-DD").first
    date_from.fill("2026-01-22")
    date_from.press("Tab")
    outlet_chip = chips.get_by_role("button", name="Outlet: Harbor Wire (sample)")
    date_chip = chips.get_by_role("button", name="From 2026-01-22")
    expect(outlet_chip).to_be_visible()
    expect(date_chip).to_be_visible()
    assert abs(chips.bounding_box()["y"] - box(page).bounding_box()["y"]) < 200  # beside the question box
    save_screenshot(page, "filter-chips", full_page=False)
    outlet_chip.click()
    expect(outlet_chip).to_be_hidden()
    expect(page.locator("#ask-within-outlet input")).to_have_value("All outlets")
    date_chip.click()
    expect(date_chip).to_be_hidden()
    expect(date_from).to_have_value("")
    pick_option(page, "ask-within-articles", "Saltcliff lighthouse reopens to visitors · Test Coast Gazette · "
                                              "2026-01-24")
    article_chip = chips.get_by_role("button", name="Within: Saltcliff lighthouse reopens to visitors")
    expect(article_chip).to_be_visible()
    article_chip.click()
    expect(article_chip).to_be_hidden()
    ask(page, LIGHTHOUSE)  # no filter left behind: the answer cites the article
    assert last_bot_message(page).locator("a.nr-ref").count()


def test_a_declined_answer_explains_why_in_a_closed_disclosure(browser, app_url, data_dir):
    """An Answer built by hand with a trace, saved as a conversation the page restores."""
    hostile = '<img src=x onerror="window.__pwned=1">'
    answer = Answer(question="Who won?", answer="I do not know.", abstained=True, trace=[
        TraceStep(check="outlet_mismatch", stage="gate", action="decline", reason=f"the quote is elsewhere {hostile}"),
        TraceStep(check="negation_flip", stage="verify", action="rewrite", reason="a negation was dropped"),
    ], citations=[Citation(n=1, passage_id="a::0", title="T", outlet="O", quote="q", text="q")])
    messages = [{"role": "user", "content": "Who won?"}, {"role": "assistant", "content": render_markdown_answer(answer)}]
    Conversations(data_dir / "conversations.sqlite").save("", None, messages)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        restore_saved_conversation(page, app_url)
        why = last_bot_message(page).locator("details")
        why.wait_for()
        assert not why.get_attribute("open") and "why" in why.locator("summary").inner_text().lower()
        why.locator("summary").click()
        text = why.inner_text()
        assert "outlet_mismatch" in text and "negation_flip" in text and "a negation was dropped" in text
        assert hostile in text and page.evaluate("typeof window.__pwned") == "undefined"
        save_screenshot(page, "why-disclosure", full_page=False)
        start_new_conversation(page)
    finally:
        context.close()
