"""NEWSRAG_EMBEDDING_BACKEND=openai against a small local /v1/embeddings server that serves our own MiniLM,
as text-embeddings-inference or vLLM would on a GPU machine."""

from __future__ import annotations

import base64
import json
import threading
from http.server import BaseHTTPRequestHandler

import numpy as np
import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from rag.embeddings import MiniLMEmbeddings, RemoteEmbeddings, get_embeddings
from rag.errors import ModelError, StoreError
from rag.store import Store

from conftest import SAMPLES, serve_http

SERVED_MODEL = "sentence-transformers/all-MiniLM-L6-v2"
TEXTS = ["US forces left Ain al-Asad.", "Up to 7,000 detainees could be moved to Iraq.", "Markets were calm.",
         "CENTCOM is commanded by Admiral Brad Cooper."]


class EmbeddingServer:
    """Serves `embeddings` at POST /v1/embeddings in OpenAI's format; can fail its next requests with a 503."""

    def __init__(self, embeddings: MiniLMEmbeddings) -> None:
        self.embeddings = embeddings
        self.batches: list[int] = []
        self.failures_left = 0
        self.lock = threading.Lock()

    def handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                with server.lock:
                    failing = server.failures_left > 0
                    server.failures_left -= failing
                if failing:
                    return self.reply(503, {"error": {"message": "warming up", "type": "server_error"}})
                if self.path != "/v1/embeddings" or body.get("model") != SERVED_MODEL:
                    return self.reply(404, {"error": {"message": f"no model {body.get('model')!r}", "type": "invalid"}})
                texts = body["input"] if isinstance(body["input"], list) else [body["input"]]
                server.batches.append(len(texts))
                vectors = server.embeddings.embed(texts)
                as_base64 = body.get("encoding_format") == "base64"
                data = [{"object": "embedding", "index": i,
                         "embedding": base64.b64encode(v.astype("<f4").tobytes()).decode() if as_base64 else v.tolist()}
                        for i, v in enumerate(vectors)]
                self.reply(200, {"object": "list", "data": data, "model": SERVED_MODEL,
                                 "usage": {"prompt_tokens": 0, "total_tokens": 0}})

            def reply(self, status: int, payload: dict) -> None:
                raw = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(raw)))
                self.end_headers()
                self.wfile.write(raw)

        return Handler


@pytest.fixture(scope="module")
def served(embeddings):
    server = EmbeddingServer(embeddings)
    with serve_http(server.handler()) as url:
        yield server, f"{url}/v1"


def remote_settings(tmp_path, base_url: str, **overrides) -> Settings:
    return Settings(_env_file=None, data_dir=tmp_path / "data", embedding_backend="openai",
                    embedding_model=SERVED_MODEL, embedding_base_url=base_url, **overrides)


def test_remote_vectors_match_the_in_process_ones_batch_by_batch(served, embeddings):
    server, url = served
    remote = RemoteEmbeddings(SERVED_MODEL, url, batch_size=3)
    server.batches.clear()
    vectors = remote.embed(TEXTS)
    assert remote.dimension == embeddings.dimension and remote.name == SERVED_MODEL
    np.testing.assert_allclose(vectors, embeddings.embed(TEXTS), atol=1e-6)
    assert server.batches == [3, 1]
    assert remote.embed_query(TEXTS[0]) == pytest.approx(embeddings.embed_query(TEXTS[0]), abs=1e-6)
    assert remote.count_tokens(TEXTS[1]) == embeddings.count_tokens(TEXTS[1])


def test_a_failing_request_is_retried(served, embeddings):
    server, url = served
    remote = RemoteEmbeddings(SERVED_MODEL, url, batch_size=8)
    server.failures_left = 2
    np.testing.assert_allclose(remote.embed(TEXTS[:2]), embeddings.embed(TEXTS[:2]), atol=1e-6)
    assert server.failures_left == 0


def test_an_unreachable_server_or_unknown_model_is_a_model_error(served):
    _, url = served
    with pytest.raises(ModelError, match="no model 'bogus'"):
        RemoteEmbeddings("bogus", url, retries=0)
    with pytest.raises(ModelError, match="127.0.0.1:9"):
        RemoteEmbeddings(SERVED_MODEL, "http://127.0.0.1:9/v1", retries=0)


def test_a_store_embedded_remotely_answers_searches_and_refuses_the_other_model(served, tmp_path, embeddings):
    server, url = served
    settings = remote_settings(tmp_path, url, embed_batch_size=16)
    store = Store(settings)
    assert isinstance(store.embeddings, RemoteEmbeddings) and store.embeddings is get_embeddings(settings)
    files = sorted(SAMPLES.glob("*detainee*"))[:2]
    server.batches.clear()
    assert not ingest([str(f) for f in files], settings, store=store).failures
    assert server.batches and max(server.batches) <= 16
    assert store.stats()["embedding_model"] == SERVED_MODEL
    top = store.as_retriever(k=1, mode="dense").invoke("How many detainees could be moved to Iraq?")
    assert top and top[0].metadata["similarity"] > 0.4
    with pytest.raises(StoreError, match=f"holds vectors of {SERVED_MODEL}"):
        Store(Settings(_env_file=None, data_dir=tmp_path / "data"), embeddings)
