"""The login against a real `newsrag serve` with NEWSRAG_UI_AUTH: what one login through the chat's form opens,
and which routes answer without one. Fake model throughout.
"""

from __future__ import annotations

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
