"""The real web app under uvicorn on a loopback port, driven through gradio_client and plain HTTP.

LLM_BACKEND picks the answering model for these tests and the browser tests: "local" (default: the
bundled model, end to end as CI runs it) or "fake" (NEWSRAG_TEST_LLM_BACKEND=fake, instant, for UI work).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import sample_corpus_dir
from ui.render import plain_text
from ui.services import Services

from conftest import live_server, services_over

LLM_BACKEND = os.environ.get("NEWSRAG_TEST_LLM_BACKEND", "local")
CITED_QUESTION = "Who is the commander of US Central Command?"  # one fact, one article: the bundled model cites it
MARKER = re.compile(r"\[(\d+)\]")

pytestmark = pytest.mark.slow


def web_services(data_dir: Path, *extra_inputs: str) -> Services:
    """Services over a fresh store holding the sample corpus (and any extra files), with LLM_BACKEND."""
    return services_over(data_dir, [sample_corpus_dir(), *extra_inputs], llm_backend=LLM_BACKEND)


@pytest.fixture(scope="module")
def app_url(tmp_path_factory) -> Iterator[str]:
    with live_server(web_services(tmp_path_factory.mktemp("web") / "data")) as url:
        yield url


def message_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):  # Gradio 6 returns content as a list of blocks
        return " ".join(block.get("text", "") for block in content)
    return content


def test_gradio_client_streams_a_cited_answer(app_url):
    from gradio_client import Client

    client = Client(app_url, verbose=False)
    job = client.submit(CITED_QUESTION, api_name="/chat")
    chat, sources = job.result(timeout=300)
    answer = plain_text(message_text(chat[-1]))  # Markdown: markers arrive escaped, as "\\[1\\]"
    assert MARKER.search(answer), answer
    n = MARKER.search(answer).group(1)
    assert f'id="src-0-{n}"' in sources and "Sources" in sources
    # the passages reach the sources panel before the answer does
    panels = [out[1] for out in job.outputs() if isinstance(out[1], str)]
    assert any("Retrieved passages" in panel for panel in panels[:-1]), panels

    # a follow-up sends the conversation back as history
    follow_up, _ = client.predict("What did he say about the transfer?", chat, api_name="/chat")
    assert len(follow_up) == 4 and follow_up[2]["role"] == "user"


def test_api_upload_then_listed(app_url):
    article = b"---\ntitle: Harbour festival draws record crowds\ndate: 2026-01-10\n---\nTwelve thousand came.\n"
    files = {"files": ("harbour.md", article, "text/markdown")}
    response = httpx.post(f"{app_url}/api/ingest", files=files, timeout=120)
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["added"] == 1
    titles = {a["title"] for a in httpx.get(f"{app_url}/api/sources", timeout=30).json()}
    assert "Harbour festival draws record crowds" in titles
    assert httpx.get(f"{app_url}/healthz").json()["model_backend"] == LLM_BACKEND
