"""A lone surrogate in a filter (outlet, article ids) is the asker's mistake, not a server error: against a real
`newsrag serve` (/api/ask, /v1) and `newsrag ask --outlet` in and out of the server. Fake model throughout.
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from conftest import HARBOUR, env_for, newsrag, newsrag_serve

SURROGATE = '"Test \\ud800 Gazette"'  # JSON text: the escape of a lone surrogate, no character at all


@pytest.fixture(scope="module")
def served(tmp_path_factory) -> Iterator[tuple[str, dict[str, str]]]:
    root = tmp_path_factory.mktemp("serve-filters")
    (root / "harbour.md").write_text(HARBOUR)
    env = env_for(root / "data")
    newsrag(env, "ingest", str(root / "harbour.md"))
    with newsrag_serve(env, root / "serve.log") as base:
        yield base, env


def post_raw(url: str, body: str) -> httpx.Response:
    return httpx.post(url, content=body.encode(), headers={"Content-Type": "application/json"}, timeout=60)


@pytest.mark.parametrize("field, value", [("outlet", SURROGATE), ("article_ids", f"[{SURROGATE}]")])
def test_a_lone_surrogate_in_a_filter_is_422_from_the_api(served, field, value):
    base, _ = served
    body = f'{{"question": "How many visitors came?", "filters": {{"{field}": {value}}}}}'
    response = post_raw(f"{base}/api/ask", body)
    assert response.status_code == 422, response.text[:300]
    assert "lone surrogate" in response.text and field in response.text
    chat = (f'{{"model": "newsrag", "messages": [{{"role": "user", "content": "How many visitors came?"}}], '
            f'"filters": {{"{field}": {value}}}}}')
    v1 = post_raw(f"{base}/v1/chat/completions", chat)
    assert v1.status_code in (400, 422), v1.text[:300]
    assert "lone surrogate" in v1.text
    fine = httpx.post(f"{base}/api/ask", json={"question": "How many visitors came to the harbour festival?",
                                               "filters": {"outlet": "Test Gazette"}}, timeout=60)
    assert fine.status_code == 200 and "twelve thousand" in fine.json()["answer"]  # the server is fine after


@pytest.mark.parametrize("through_server", [False, True], ids=["in-process", "via-serve"])
def test_ask_outlet_with_an_undecodable_byte_is_a_clear_error(served, through_server):
    base, env = served
    env = {**env, **({"NEWSRAG_SERVER_URL": base} if through_server else {})}
    done = newsrag(env, "ask", "How many visitors came?", "--outlet", "Caf\udce9 News", check=False)
    assert done.returncode != 0 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "lone surrogate" in done.stderr and "outlet" in done.stderr, done.stderr
