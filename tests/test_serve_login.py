"""The login against a real `newsrag serve` with NEWSRAG_UI_AUTH: what one login through the chat's form opens,
and which routes answer without one. Fake model throughout.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path

import httpx
import pytest

from conftest import HARBOUR, env_for, newsrag, newsrag_serve

USERS = "alice:alice-pw\nbob:bob-pw\n"


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, Path]]:
    """`newsrag serve` with a users file, over a library of one article; yields (base URL, data dir)."""
    root = tmp_path_factory.mktemp("serve-login")
    (root / "users.txt").write_text(USERS)
    (root / "harbour.md").write_text(HARBOUR)
    env = env_for(root / "data", NEWSRAG_UI_AUTH=str(root / "users.txt"))
    newsrag(env, "ingest", str(root / "harbour.md"))
    with newsrag_serve(env, root / "serve.log") as base:
        yield base, root / "data"


def logged_in(base: str, user: str = "alice", password: str = "alice-pw") -> httpx.Client:
    """A client that logged in through Gradio's login form (as the browser does), holding its cookie."""
    client = httpx.Client(base_url=base, timeout=30)
    assert client.post("/login", data={"username": user, "password": password}).status_code == 200
    return client


def test_the_chat_login_opens_the_article_viewer(served):
    base, _ = served
    [article] = httpx.get(f"{base}/api/sources", auth=("alice", "alice-pw")).json()
    page = f"/articles/{article['id']}?q=twelve thousand visitors"
    refused = httpx.get(base + page)
    assert refused.status_code == 401 and "twelve thousand" not in refused.text
    with closing(logged_in(base)) as browser:
        opened = browser.get(page)
        assert opened.status_code == 200 and "<mark" in opened.text and "twelve thousand" in opened.text
        assert "www-authenticate" not in opened.headers  # no Basic prompt after the form's login
        # the cookie opens pages, never writes: those stay Basic (or Bearer) and same-site
        assert browser.post("/api/ask", json={"question": "How many visitors?"}).status_code == 401
        assert browser.delete(f"/api/sources/{article['id']}").status_code == 401
    forged = httpx.get(base + page, cookies={"access-token-unsecure-x": "made-up", "access-token": "made-up"})
    assert forged.status_code == 401
    with closing(logged_in(base)) as browser:
        assert browser.get("/logout").status_code in (200, 302, 307)
        assert browser.get(page).status_code == 401  # logged out: the cookie no longer opens it


def test_every_gradio_route_needs_the_login_but_the_login_page_s_own(served):
    """/gradio_api/cancel, /reset and /heartbeat/{hash} answered anyone; now only the login page's helpers do."""
    base, _ = served
    session = {"session_hash": "abc123", "fn_index": 0, "event_id": "e1"}
    closed = [
        ("post", "/gradio_api/cancel", {"json": session}),
        ("post", "/gradio_api/reset", {"json": session}),
        ("post", "/gradio_api/reset/", {"json": session}),
        ("get", "/gradio_api/heartbeat/abc123", {}),
        ("get", "/gradio_api/upload_progress?upload_id=x", {}),
        ("get", "/gradio_api/startup-events", {}),
        ("get", "/gradio_api/info", {}),
        ("post", "/gradio_api/queue/join", {"json": {**session, "data": []}}),
        ("get", "/gradio_api/file=/etc/hostname", {}),
    ]
    for method, path, kwargs in closed:
        response = getattr(httpx, method)(base + path, timeout=10, **kwargs)
        assert response.status_code == 401, (path, response.status_code, response.text[:200])
    for path in ("/gradio_api/login_check", "/gradio_api/app_id", "/gradio_api/theme.css", "/config", "/"):
        assert httpx.get(base + path, timeout=10).status_code in (200, 401), path  # the login page still loads
    assert httpx.get(f"{base}/gradio_api/theme.css", timeout=10).status_code == 200
    with closing(logged_in(base)) as browser:
        assert browser.post("/gradio_api/cancel", json=session).status_code == 200
        assert browser.post("/gradio_api/reset", json=session).status_code == 200
        with browser.stream("GET", "/gradio_api/heartbeat/abc123") as beat:
            assert beat.status_code == 200
        assert browser.get("/config").status_code == 200


CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium: make browser")
def test_in_chromium_the_login_form_leads_to_an_answer_and_its_article(served, browser):
    """The whole browser path with the gates on: login form, chat answer, the source's article link, no prompt."""
    base, _ = served
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    try:
        page.goto(base)
        page.get_by_label("username").fill("alice")
        page.get_by_label("password").fill("alice-pw")
        page.get_by_role("button", name="Login").click()
        question = page.get_by_placeholder("Ask about the articles…")
        question.fill("How many visitors came to the harbour festival?")
        question.press("Enter")
        link = page.locator("#sources a[href^='/articles/']").first
        link.wait_for(timeout=120_000)
        viewer = context.new_page()
        opened = viewer.goto(base + link.get_attribute("href").replace("&amp;", "&"))
        assert opened is not None and opened.status == 200
        assert "twelve thousand" in viewer.locator("article").inner_text()
    finally:
        context.close()


def run_event(client: httpx.Client, name: str, session_hash: str, data: list, event_data: dict | None = None) -> dict:
    """Call the event whose function (api_name) is `name` directly, as the page does for unqueued events."""
    config = client.get("/config").json()
    dep = next(d for d in config["dependencies"] if d.get("api_name") == name)
    response = client.post("/gradio_api/run/predict", json={
        "data": data, "fn_index": dep["id"], "session_hash": session_hash, "event_data": event_data,
        "trigger_id": dep["targets"][0][0]})
    return {"status": response.status_code, **response.json()}


def test_a_comment_stays_with_its_user_even_with_their_session_hash(served):
    """Bob sends alice's session hash to comment on (replace the comment of) alice's rated answer: refused, and
    `feedback export` keeps alice's comment; bob's own comment never lands on alice's verdict."""
    base, data_dir = served
    history = [{"role": "user", "content": [{"type": "text", "text": "How many visitors came?"}]},
               {"role": "assistant", "content": [{"type": "text", "text": "About twelve thousand [1]."}]}]
    with closing(logged_in(base)) as alice, closing(logged_in(base, "bob", "bob-pw")) as bob:
        rated = run_event(alice, "rate", "alice-page", [history, None], {"index": 1, "value": "x", "liked": True})
        assert rated["status"] == 200, rated
        assert run_event(alice, "save_comment", "alice-page", [None, "alice: spot on"])["status"] == 200
        hijack = run_event(bob, "save_comment", "alice-page", [None, "bob: replaced"])
        assert hijack["status"] != 200 and "belongs to another login" in str(hijack), hijack
        assert "bob: replaced" not in str(run_event(bob, "rate", "alice-page", [history, None],
                                                    {"index": 1, "value": "x", "liked": False}))
    exported = newsrag(env_for(data_dir), "feedback", "export").stdout
    [entry] = [json.loads(line) for line in exported.splitlines() if line.strip()]
    assert entry["user"] == "alice" and entry["comment"] == "alice: spot on", entry


def test_the_feedback_log_folds_only_a_verdict_s_own_user_s_comment(tmp_path):
    from ui.feedback import FeedbackLog

    log = FeedbackLog(tmp_path / "feedback.jsonl")
    record = {"question": "q", "answer": "a", "citations": [], "settings": {}}
    verdict = log.verdict(record, "up", "alice")
    log.comment(verdict, "mine", "alice")
    log.comment(verdict, "not yours", "bob")
    anonymous = log.verdict(record, "down")
    log.comment(anonymous, "kept")
    assert [e.get("comment") for e in log.entries()] == ["mine", "kept"]
