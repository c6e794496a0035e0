"""The JSON API and the HTML rendering, in-process with FastAPI's TestClient and the fake model (fast)."""

from __future__ import annotations

import io

import pytest
from fastapi.testclient import TestClient

from ingest.pipeline import sample_corpus_dir
from rag.errors import ModelError, QuestionError
from rag.types import Answer, Citation, Passage
from ui.render import (
    markdown_text,
    plain_text,
    render_answer_html,
    render_markdown_answer,
    render_sources_html,
    safe_url,
)
from ui.security import parse_auth
from ui.server import build_app
from ui.services import Services, safe_filename

from conftest import HARBOUR, fake_settings, services_over

HARBOUR_BYTES = HARBOUR.encode()
CITATION_FIELDS = {"n", "title", "date", "outlet", "url", "text", "quote"}
@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Services:
    """One store with the sample corpus for the whole module: ingesting it is the slow part."""
    return services_over(tmp_path_factory.mktemp("api") / "data", [sample_corpus_dir()])


@pytest.fixture(scope="module")
def client(services) -> TestClient:
    return TestClient(build_app(services.settings, services))


def client_with(services: Services, **overrides) -> TestClient:
    """An app over the same store and chain with other settings (auth, upload limit)."""
    settings = fake_settings(services.settings.data_dir, **overrides)
    return TestClient(build_app(settings, Services(settings, chain=services.chain)))


def upload(client: TestClient, name: str, data: bytes, **kwargs):
    return client.post("/api/ingest", files=[("files", (name, io.BytesIO(data), "text/markdown"))], **kwargs)


def test_healthz(client, services):
    body = client.get("/healthz").json()
    assert body == {"status": "ok", "articles": services.store.stats()["articles"], "model_backend": "fake"}
    assert body["articles"] > 0


def test_ask_returns_the_answer_json(client):
    response = client.post("/api/ask", json={"question": "Who is the commander of US Central Command?"})
    assert response.status_code == 200
    body = response.json()
    assert set(Answer.model_fields) <= set(body)
    assert not body["abstained"]
    assert body["citations"], body
    for citation in body["citations"]:
        assert CITATION_FIELDS <= set(citation)
        assert f"[{citation['n']}]" in body["answer"]
        assert citation["quote"] in citation["text"]
    assert body["passages"] and body["timings"]["total"] > 0


def test_ask_follow_up_and_filters_are_accepted(client):
    response = client.post("/api/ask", json={
        "question": "And where did they go?",
        "history": [{"role": "user", "content": "When did US forces leave Ain al-Asad?"},
                    {"role": "assistant", "content": "On January 19, 2026 [1]."}],
        "k": 3, "mode": "bm25", "filters": {"date_to": "2025-12-31"},
    })
    assert response.status_code == 200
    passages = response.json()["passages"]
    assert len(passages) <= 3
    assert all(p["date"] and p["date"] <= "2025-12-31" for p in passages)


def test_ask_within_chosen_articles_cites_only_them(client):
    chosen = next(a for a in client.get("/api/sources").json() if "Hasakah" not in a["title"])
    response = client.post("/api/ask", json={"question": "How many Islamic State detainees could be moved to Iraq?",
                                             "filters": {"article_ids": [chosen["id"]]}})
    assert response.status_code == 200
    body = response.json()
    assert body["passages"] and {p["article_id"] for p in body["passages"]} == {chosen["id"]}


@pytest.mark.parametrize("question", ["", "   \n "])
def test_empty_question_is_refused_with_a_message(client, question):
    response = client.post("/api/ask", json={"question": question})
    assert response.status_code == 422
    assert "question is empty" in response.text


def test_a_too_long_question_is_refused_with_the_limit(client):
    response = client.post("/api/ask", json={"question": "why " * 600})
    assert response.status_code == 422
    assert "longer than 2,000 characters" in response.text


def test_the_chat_box_flags_a_too_long_question_beside_it():
    from ui.chat import check_chat_inputs

    [question, *others] = check_chat_inputs("why " * 600, False, "", "")
    assert not question["is_valid"] and "at most 2,000 characters" in question["message"]
    assert all(check["is_valid"] for check in others)
    assert check_chat_inputs("Who commands CENTCOM?", False, "", "")[0]["is_valid"]
    assert not check_chat_inputs("Who commands CENTCOM?", False, "2026/01/19", "")[2]["is_valid"]


@pytest.mark.parametrize("body", [
    {"question": "q", "filters": {"date_from": "19/01/2026"}},
    {"question": "q", "mode": "fuzzy"},
    {"question": "q", "k": 0},
])
def test_bad_options_are_refused(client, body):
    assert client.post("/api/ask", json=body).status_code == 422


@pytest.mark.parametrize("error, status", [(ModelError("the model is down"), 503), (QuestionError("ask it shorter"), 422)])
def test_a_newsrag_error_is_answered_with_its_own_status(client, services, monkeypatch, error, status):
    async def fail(*args, **kwargs):
        raise error

    monkeypatch.setattr(services.chain, "ainvoke", fail)
    question = "Who is the commander of US Central Command?"
    response = client.post("/api/ask", json={"question": question})
    assert (response.status_code, response.json()) == (status, {"detail": str(error)})
    completion = client.post("/v1/chat/completions", json={"messages": [{"role": "user", "content": question}]})
    assert completion.status_code == status and completion.json()["error"]["message"] == str(error)


def test_oversize_upload_is_413(services):
    small = client_with(services, upload_max_bytes=100)
    response = upload(small, "big.md", HARBOUR_BYTES + b"x" * 200)
    assert response.status_code == 413
    assert "larger than the upload limit" in response.json()["detail"]
    assert not (services.uploads / "big.md").exists()


def test_disallowed_extension_is_refused(client, services):
    response = upload(client, "tool.exe", b"MZ\x90\x00")
    assert response.status_code == 415
    assert ".exe" in response.json()["detail"]
    assert not any(services.uploads.glob("tool*"))


def test_one_bad_file_refuses_the_whole_batch(client, services):
    files = [("files", ("fine.md", io.BytesIO(HARBOUR_BYTES), "text/markdown")),
             ("files", ("bad.exe", io.BytesIO(b"MZ"), "application/octet-stream"))]
    assert client.post("/api/ingest", files=files).status_code == 415
    assert not (services.uploads / "fine.md").exists()


def test_uploaded_article_is_listed_and_can_be_deleted(client, services):
    response = upload(client, "harbour.md", HARBOUR_BYTES)
    assert response.status_code == 200, response.text
    report = response.json()
    assert report["counts"]["added"] == 1
    stored = str(services.uploads / "harbour.md")
    listed = {a["title"]: a for a in client.get("/api/sources").json()}
    article = listed["Harbour festival draws record crowds"]
    assert article["sources"] == [stored] and article["date"] == "2026-01-10" and article["outlet"] == "Test Gazette"

    assert client.delete(f"/api/sources/{article['id']}").json() == {"removed": 1}
    assert "Harbour festival draws record crowds" not in {a["title"] for a in client.get("/api/sources").json()}
    assert client.delete(f"/api/sources/{article['id']}").status_code == 404


def test_upload_name_cannot_escape_the_uploads_dir(client, services):
    response = upload(client, "../../evil.md", HARBOUR_BYTES.replace(b"Harbour", b"Evil harbour"))
    assert response.status_code == 200, response.text
    saved = services.uploads / "evil.md"
    assert saved.is_file()
    assert response.json()["results"][0]["source"] == str(saved)
    assert not (services.settings.data_dir.parent / "evil.md").exists()
    assert not (services.uploads.parent.parent / "evil.md").exists()


@pytest.mark.parametrize("name, expected", [
    ("../../evil.md", "evil.md"),
    ("..\\..\\windows.txt", "windows.txt"),
    ("/etc/passwd", "passwd"),
    (".env", "env"),
    ("my story (final).md", "my_story_final_.md"),
    ("..", "upload"),
])
def test_safe_filename(name, expected):
    assert safe_filename(name) == expected


def test_urls_must_be_http(client):
    response = client.post("/api/ingest", data={"urls": "/etc/passwd\nfile:///etc/hosts"})
    assert response.status_code == 400
    assert "/etc/passwd" in response.json()["detail"]


def test_ingest_needs_something(client):
    assert client.post("/api/ingest", data={"urls": "  "}).status_code == 400


def test_auth_protects_the_api_and_the_ui(services):
    secured = client_with(services, ui_auth="alice:s3cret")
    question = {"question": "When did US forces leave Ain al-Asad?"}
    assert secured.post("/api/ask", json=question).status_code == 401
    assert secured.post("/api/ask", json=question, auth=("alice", "wrong")).status_code == 401
    assert secured.post("/api/ask", json=question, auth=("alice", "s3cret")).status_code == 200
    assert secured.get("/api/sources").status_code == 401
    assert secured.get("/config").status_code == 401  # the Gradio UI's own routes
    assert secured.get("/healthz").status_code == 200  # probes stay open


def test_auth_file(tmp_path):
    users = tmp_path / "users"
    users.write_text("# team\nalice:s3cret\nbob:pa:ss\n")
    assert parse_auth(str(users)) == [("alice", "s3cret"), ("bob", "pa:ss")]
    assert parse_auth("carol:pw") == [("carol", "pw")]
    assert parse_auth(None) == []


# --- rendering ------------------------------------------------------------------------------------------------

HOSTILE = 'Crowds <script>window.__pwned=1</script> came. <img src=x onerror="window.__pwned=2"> Twelve thousand.'


def hostile_answer(**overrides) -> Answer:
    citation = Citation(
        n=1, passage_id="a-0000", title="<b>Harbour</b>", outlet="Gazette <i>x</i>", date="2026-01-10",
        url="javascript:alert(1)", text=HOSTILE, quote="Twelve thousand.",
    )
    fields = {"question": "q", "answer": "Twelve thousand came <script>x</script> [1]. [link](http://evil.invalid)",
              "citations": [citation]}
    return Answer(**(fields | overrides))


def test_rendered_html_escapes_everything():
    answer = hostile_answer()
    for markup in (render_answer_html(answer), render_markdown_answer(answer)):
        assert "<script" not in markup and "<img" not in markup and "<b>" not in markup and "<i>" not in markup
        assert "javascript:" not in markup
    sources = render_answer_html(answer)
    assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in sources
    assert 'id="src-0-1"' in sources and "<mark>Twelve thousand.</mark>" in sources
    assert "](http" not in render_markdown_answer(answer)  # a Markdown link in model output stays text


def test_answers_are_markdown_with_struck_unsupported_sentences():
    answer = hostile_answer(answer="It rained. Twelve thousand came [1].", unsupported_sentences=["It rained."])
    markup = render_markdown_answer(answer)
    assert "~~It rained.~~" in markup and "\\[1\\]" in markup  # the page's script links [1] to its card
    assert "<" not in markup.split("**Sources**")[0]  # no HTML: the message is also its accessible label
    assert plain_text(markup) == "It rained. Twelve thousand came [1]."


def test_abstention_lists_only_passages_about_the_question():
    related = Passage(id="a-0000", article_id="a", text="Nothing <img src=x> relevant.", title="Other",
                      url="https://e.invalid/a", similarity=0.45)
    unrelated = Passage(id="b-0000", article_id="b", text="Football scores.", title="Cup final", similarity=0.05)
    answer = Answer(question="q", answer="The articles do not answer this question.", abstained=True,
                    passages=[related, unrelated])
    html_ = render_answer_html(answer, min_relevance=0.3)
    assert "The articles do not answer this question." in html_ and "Related passages" in html_
    assert "&lt;img src=x&gt;" in html_ and "Cup final" not in html_
    assert 'href="/articles/a#quote"' in html_ and "e.invalid" not in html_  # no link to an address that cannot open
    assert "No stored passage is about this question" in render_answer_html(answer, min_relevance=0.5)
    assert render_markdown_answer(answer) == "The articles do not answer this question."
    assert "Retrieved passages" in render_sources_html([related])


@pytest.mark.parametrize("url, linked", [
    ("https://example.com/a?b=1&c=2", "https://example.com/a?b=1&amp;c=2"),
    ("http://example.com", "http://example.com"),
    ("javascript:alert(1)", None), ("data:text/html,x", None), ("//example.com", None), ("", None),
])
def test_safe_url(url, linked):
    assert safe_url(url) == linked


def test_markdown_text_round_trips_and_defuses_autolinks():
    text = "Costs rose 5% to $7,000 *each* [2] - <b>#1</b> & more_ at http://e.invalid/a, www.e.invalid, a.b@e.invalid"
    escaped = markdown_text(text)
    assert "://" not in escaped and "www." not in escaped and "@" not in escaped
    assert plain_text(escaped) == text
