"""`newsrag serve` as chat front ends reach it: the official openai client against a running server
(/v1/models, /v1/chat/completions streamed and not), and /api/ask as server-sent events.

The fast tests use the fake model (plumbing); the last test streams a real answer from the bundled model.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import httpx
import openai
import pytest
from langchain_core.language_models.fake_chat_models import FakeListChatModel

from ingest.pipeline import sample_corpus_dir
from rag.chain import AnswerChain
from rag.prompts import ABSTAIN_TEXT
from ui.commands.ask import server_sent_events
from ui.openai_api import SOURCES_HEADING
from ui.services import Services

from conftest import live_server, services_over

pytestmark = pytest.mark.slow  # every test here serves the app under uvicorn (the SDK needs a real server)

QUESTION = "Who is the commander of US Central Command?"
USER, PASSWORD = "reader", "correct-horse"


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Services:
    """The sample corpus behind a login, answered by the fake model."""
    return services_over(tmp_path_factory.mktemp("openai") / "data", [sample_corpus_dir()],
                         ui_auth=f"{USER}:{PASSWORD}")


@pytest.fixture(scope="module")
def server(services) -> Iterator[str]:
    with live_server(services) as url:
        yield url


@pytest.fixture
def client(server) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{server}/v1", api_key=f"{USER}:{PASSWORD}", max_retries=0)


def test_models_lists_newsrag(client):
    assert [m.id for m in client.models.list()] == ["newsrag"]


def test_a_streamed_completion_sends_tokens_then_sources_and_citations(client):
    chunks = list(client.chat.completions.create(
        model="newsrag", stream=True, messages=[{"role": "system", "content": "Be brief."},
                                                {"role": "user", "content": QUESTION}]))
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content or "" for c in chunks]
    assert sum(1 for text in contents[1:-1] if text) > 1, "tokens arrive one by one"
    last = chunks[-1]
    assert last.choices[0].finish_reason == "stop" and all(c.choices[0].finish_reason is None for c in chunks[:-1])
    citations = last.model_extra["citations"]
    assert citations and {"n", "title", "outlet", "date", "url", "quote"} == set(citations[0])
    text = "".join(contents)
    assert f"[{citations[0]['n']}]" in text.split(SOURCES_HEADING)[0]
    assert f"\n\n{SOURCES_HEADING}\n[{citations[0]['n']}] {citations[0]['title']}" in text
    assert len({c.id for c in chunks}) == 1


def test_a_stream_carries_only_the_checked_answer_unless_the_draft_is_asked_for(services):
    """The model's reply misplaces a marker and adds a claim no article makes: checking changes it, and a streamed
    reply must read exactly as the finished one, never the draft and then its correction."""
    raw = "CENTCOM is led by Admiral Brad Cooper [1]. The detainees were flown to the moon on a rocket [1]."
    chain = AnswerChain(services.settings, services.chain.retriever, FakeListChatModel(responses=[raw]))
    with live_server(Services(services.settings, chain=chain)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=f"{USER}:{PASSWORD}", max_retries=0)
        messages = [{"role": "user", "content": QUESTION}]
        whole = client.chat.completions.create(model="newsrag", messages=messages).choices[0].message.content
        chunks = list(client.chat.completions.create(model="newsrag", stream=True, messages=messages))
        pieces = [c.choices[0].delta.content or "" for c in chunks]
        assert "".join(pieces) == whole and sum(1 for piece in pieces if piece) > 3  # in chunks, as it will stand
        assert "Checked against" not in whole and "Cooper [1]." not in whole  # the draft never shows
        assert chunks[-1].model_extra["citations"] and chunks[-1].choices[0].finish_reason == "stop"
        drafted = "".join(c.choices[0].delta.content or "" for c in client.chat.completions.create(
            model="newsrag", stream=True, messages=messages, extra_body={"draft": True}))
        assert drafted.startswith(raw) and "Checked against the articles:" in drafted


def test_a_completion_without_stream_carries_the_same_answer(client):
    completion = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
    message = completion.choices[0].message
    citations = completion.model_extra["citations"]
    assert completion.model == "newsrag" and completion.choices[0].finish_reason == "stop"
    answer, sources = message.content.split(f"\n\n{SOURCES_HEADING}\n")
    assert f"[{citations[0]['n']}]" in answer and citations[0]["title"] in sources
    assert citations[0]["quote"] and citations[0]["outlet"] and citations[0]["date"]


def test_earlier_turns_are_the_history_and_our_sources_list_is_left_out_of_it(client):
    first = client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": QUESTION}])
    follow_up = client.chat.completions.create(model="newsrag", messages=[
        {"role": "user", "content": QUESTION},
        {"role": "assistant", "content": first.choices[0].message.content},
        {"role": "user", "content": [{"type": "text", "text": "Where are the Islamic State detainees held?"}]},
    ], extra_body={"k": 2})
    assert follow_up.model_extra["citations"]
    assert not follow_up.choices[0].message.content.startswith(ABSTAIN_TEXT)


def test_an_off_topic_question_is_an_abstention_without_sources(client):
    completion = client.chat.completions.create(
        model="newsrag", messages=[{"role": "user", "content": "What is a good recipe for banana bread?"}])
    assert completion.choices[0].message.content == ABSTAIN_TEXT and completion.model_extra["citations"] == []


def test_the_sdk_reports_our_refusals(client, server):
    with pytest.raises(openai.BadRequestError, match="the question is empty"):
        client.chat.completions.create(model="newsrag", messages=[{"role": "user", "content": "  "}])
    with pytest.raises(openai.NotFoundError, match="gpt-4o"):
        client.chat.completions.create(model="gpt-4o", messages=[{"role": "user", "content": QUESTION}])
    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(base_url=f"{server}/v1", api_key="reader:wrong", max_retries=0).models.list()


def test_basic_auth_works_on_v1_too(server):
    response = httpx.get(f"{server}/v1/models", auth=(USER, PASSWORD))
    assert response.status_code == 200 and response.json()["data"][0]["id"] == "newsrag"
    assert httpx.get(f"{server}/v1/models").status_code == 401


def sse(response: httpx.Response) -> list[tuple[str, object]]:
    """(event, decoded data) pairs of a server-sent event stream, read as `newsrag ask --stream` reads them."""
    return [(name, json.loads(data)) for name, data in server_sent_events(response.iter_lines())]


@pytest.mark.parametrize("how", [{"headers": {"Accept": "text/event-stream"}}, {"params": {"stream": "true"}}])
def test_api_ask_streams_passages_then_tokens_then_the_answer(server, how):
    with httpx.stream("POST", f"{server}/api/ask", json={"question": QUESTION, "k": 3}, auth=(USER, PASSWORD),
                      timeout=60, **how) as response:
        assert response.status_code == 200 and response.headers["content-type"].startswith("text/event-stream")
        events = sse(response)
    names = [name for name, _ in events]
    assert names[0] == "passages" and names[-1] == "answer" and set(names[1:-1]) == {"token"} and len(names) > 3
    passages, answer = events[0][1], events[-1][1]
    assert len(passages) == 3 and passages[0]["title"]
    assert answer["citations"] and answer["raw_answer"] == "".join(data for _, data in events[1:-1]).strip()


def test_api_ask_without_streaming_still_answers_json(server):
    response = httpx.post(f"{server}/api/ask", json={"question": QUESTION}, auth=(USER, PASSWORD), timeout=60)
    assert response.status_code == 200 and response.json()["citations"]


def test_a_model_failing_mid_answer_ends_both_streams_with_an_error(services):
    """Tokens have gone out with a 200 status: the failure is the stream's last event, not a cut connection."""
    failing = AnswerChain(services.settings, services.chain.retriever,
                          FakeListChatModel(responses=["CENTCOM is led by Admiral Brad Cooper [1]."],
                                            error_on_chunk_number=3))
    with live_server(Services(services.settings, chain=failing)) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key=f"{USER}:{PASSWORD}", max_retries=0)
        for draft, sent in ((False, ""), (True, "CEN")):  # unchecked tokens go out only to who asked for them
            received = []
            with pytest.raises(openai.APIError, match="FakeListChatModelError"):
                for chunk in client.chat.completions.create(model="newsrag", stream=True, extra_body={"draft": draft},
                                                            messages=[{"role": "user", "content": QUESTION}]):
                    received.append(chunk.choices[0].delta.content)
            assert "".join(filter(None, received)) == sent
        with httpx.stream("POST", f"{url}/api/ask?stream=true", json={"question": QUESTION}, auth=(USER, PASSWORD),
                          timeout=60) as response:
            events = sse(response)
        assert [name for name, _ in events] == ["passages", "token", "token", "token", "error"]
        assert events[-1][1] == {"detail": "FakeListChatModelError"}


@pytest.mark.slow
def test_the_real_model_streams_a_cited_answer_to_the_openai_client(tmp_path):
    """End to end as a user would run it: `newsrag serve` with the bundled model, a streamed request."""
    services = services_over(tmp_path / "data", [sample_corpus_dir()], llm_backend="local")
    with live_server(services) as url:
        client = openai.OpenAI(base_url=f"{url}/v1", api_key="unused", max_retries=0, timeout=900)
        chunks = list(client.chat.completions.create(
            model="newsrag", stream=True,
            messages=[{"role": "user", "content": "From which Syrian city were the first fighters moved?"}]))
        text = "".join(c.choices[0].delta.content or "" for c in chunks)
        citations = chunks[-1].model_extra["citations"]
        print(f"\n{text}")
        assert sum(1 for c in chunks if c.choices[0].delta.content) > 3
        assert "Hasakah" in text and citations and SOURCES_HEADING in text
