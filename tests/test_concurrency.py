"""Concurrent users against one running server on loopback: 20 chats through gradio_client and 20 POST /api/ask
at the same moment, an upload being ingested meanwhile, and /healthz and /api/sources polled throughout.

The server is `newsrag serve` in its own process, as users run it (in a thread of the test process it
would share the GIL with the 40 client threads and answer far slower than it does for real users).
The answering model is the fake one (NEWSRAG_LLM_BACKEND=fake): this test is about the server's queue,
its lock and the store under concurrent use, not about answers; the bundled model would need 40 x ~15 s
on 2 cores. Everything is bounded: every call has a timeout and the whole test must end within 3 minutes.
"""

from __future__ import annotations

import json
import threading
import time
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from conftest import HARBOUR, env_for, newsrag, newsrag_serve

pytestmark = pytest.mark.slow

N_CHATS = 20
N_ASKS = 20
CALL_TIMEOUT = 120  # seconds for any single request
TOTAL_BUDGET = 180
# (question, a word the cited passage must contain): a reply to the wrong request would not contain it
QUESTIONS = [  # not "when" or "how many": the chain abstains when the fake model's quote lacks a date or number
    ("Which airbase did US forces leave?", "Ain al-Asad"),
    ("What is CENTCOM doing with Islamic State detainees?", "detainees"),
    ("From which Syrian city were the first Islamic State fighters moved?", "Syrian"),
    ("What did the United States and Iraq agree about the coalition mission?", "coalition"),
]


def chat_text(message: dict) -> str:
    content = message["content"]
    if isinstance(content, list):  # Gradio 6 content blocks
        return " ".join(block.get("text", "") for block in content)
    return content


def test_many_users_at_once_with_an_ingest_meanwhile(tmp_path):
    from gradio_client import Client

    started = time.monotonic()
    env = env_for(tmp_path / "data")
    newsrag(env, "ingest", "--samples")
    articles_before = json.loads(newsrag(env, "stats", "--json").stdout)["articles"]

    with newsrag_serve(env, tmp_path / "server.log") as url:
        # One session per user. gradio_client's default 5 s timeout for joining the queue is too short here: with
        # 40 requests on 2 cores the server's event loop can take longer than that to accept a join.
        clients = [Client(url, verbose=False, httpx_kwargs={"timeout": CALL_TIMEOUT}) for _ in range(N_CHATS)]
        start = threading.Barrier(N_CHATS + N_ASKS + 1, timeout=60)
        ingest_done = threading.Event()

        latency: dict[str, list[float]] = defaultdict(list)

        def chat(i: int):
            question, _ = QUESTIONS[i % len(QUESTIONS)]
            start.wait()
            began = time.monotonic()
            result = clients[i].submit(question, [], api_name="/chat").result(timeout=CALL_TIMEOUT)
            latency["chat"].append(time.monotonic() - began)
            return result

        def ask(i: int) -> httpx.Response:
            question, _ = QUESTIONS[i % len(QUESTIONS)]
            start.wait()
            began = time.monotonic()
            response = httpx.post(f"{url}/api/ask", json={"question": question}, timeout=CALL_TIMEOUT)
            latency["ask"].append(time.monotonic() - began)
            return response

        def upload() -> httpx.Response:
            start.wait()
            try:
                files = {"files": ("harbour.md", HARBOUR.encode(), "text/markdown")}
                return httpx.post(f"{url}/api/ingest", files=files, timeout=CALL_TIMEOUT)
            finally:
                ingest_done.set()

        def poll() -> list[int]:
            statuses = []
            with httpx.Client(base_url=url, timeout=30) as http:
                while not ingest_done.is_set() or len(statuses) < 10:
                    statuses += [http.get("/healthz").status_code, http.get("/api/sources").status_code]
                    time.sleep(0.05)
            return statuses

        with ThreadPoolExecutor(max_workers=N_CHATS + N_ASKS + 2) as pool:
            chats = [pool.submit(chat, i) for i in range(N_CHATS)]
            asks = [pool.submit(ask, i) for i in range(N_ASKS)]
            ingest_future = pool.submit(upload)
            poller = pool.submit(poll)
            deadline = started + TOTAL_BUDGET
            chat_results = [f.result(timeout=max(1, deadline - time.monotonic())) for f in chats]
            ask_results = [f.result(timeout=max(1, deadline - time.monotonic())) for f in asks]
            ingested = ingest_future.result(timeout=max(1, deadline - time.monotonic()))
            polled = poller.result(timeout=max(1, deadline - time.monotonic()))

        # every chat answered, with a citation whose card is in the sources panel, and no error message
        for i, (history, sources) in enumerate(chat_results):
            question, keyword = QUESTIONS[i % len(QUESTIONS)]
            assert [m["role"] for m in history] == ["user", "assistant"], history
            answer = chat_text(history[-1])
            cited = r"\[1\]" in answer and "**Sources**" in answer  # Markdown markers, linked by the page's script
            assert not answer.startswith("**Error:**") and cited, (i, question, answer, sources)
            assert keyword in sources and 'id="src-0-1"' in sources, (question, sources[:300])

        # every API call answered; the same question always got the same answer (nothing crossed between requests)
        answers = defaultdict(set)
        for i, response in enumerate(ask_results):
            question, keyword = QUESTIONS[i % len(QUESTIONS)]
            assert response.status_code == 200, response.text[:300]
            body = response.json()
            assert body["question"] == question and not body["abstained"] and body["citations"], body["answer"]
            assert any(keyword in c["text"] for c in body["citations"]), (question, body["answer"])
            answers[question].add(body["answer"])
        assert all(len(found) == 1 for found in answers.values()), answers

        assert ingested.status_code == 200, ingested.text
        assert ingested.json()["counts"]["added"] == 1
        assert polled and set(polled) == {200}, polled

        # nothing lost: the new article is listed and answerable, and the store is consistent
        titles = {a["title"] for a in httpx.get(f"{url}/api/sources", timeout=30).json()}
        assert "Harbour festival draws record crowds" in titles
        harbour = httpx.post(f"{url}/api/ask", json={"question": "How many visitors came to the harbour festival?"},
                             timeout=CALL_TIMEOUT).json()
        assert "twelve thousand" in harbour["answer"]

    stats = json.loads(newsrag(env, "stats", "--json").stdout)  # the server has stopped: read the store as left
    assert stats["articles"] == articles_before + 1
    assert stats["chunks"] == stats["vectors"] == stats["bm25_chunks"], stats
    elapsed = time.monotonic() - started
    print(f"\n{N_CHATS} chats + {N_ASKS} API asks + 1 ingest; whole test {elapsed:.1f}s; " + ", ".join(
        f"{kind} latency {min(times):.1f}-{max(times):.1f}s" for kind, times in sorted(latency.items())))
    assert elapsed < TOTAL_BUDGET
