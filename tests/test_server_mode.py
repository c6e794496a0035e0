"""newsrag against a real `chroma run`: the CLI end to end, and several processes' catalogs kept consistent."""

from __future__ import annotations

import datetime
import ipaddress
import json
import ssl
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import numpy as np
import pytest
from click.testing import CliRunner
from pydantic import SecretStr

from ingest.pipeline import ingest
from rag.config import Settings
from rag.errors import StoreError
from rag.retrieve import Retriever
from rag.store import COMMIT_KEY, Store
from ui.cli import cli

pytestmark = pytest.mark.slow  # every test here starts `chroma run` (the session's chroma_server)

ARTICLE = """---
title: Ferry service resumes after storm
date: 2026-02-03
outlet: Harbour Desk
---
The island ferry resumed service on Tuesday after the storm closed the harbour for three days.
Operators said 1,200 passengers were rebooked onto the first sailings.
"""
SECOND = """---
title: Lighthouse keeper retires
date: 2026-02-04
outlet: Harbour Desk
---
The last lighthouse keeper on the point retired on Wednesday after 41 years of service.
"""


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def server_settings(server, tmp_path, name: str, collection: str, **overrides) -> Settings:
    return Settings(data_dir=tmp_path / name, chroma_host=server["host"], chroma_port=server["port"],
                    collection=collection, **overrides)


@pytest.fixture
def collection() -> str:
    return f"shared-{uuid.uuid4().hex[:8]}"


def test_cli_ingest_ask_delete_through_a_chroma_server(chroma_server, tmp_path, monkeypatch, collection):
    monkeypatch.setenv("NEWSRAG_CHROMA_HOST", chroma_server["host"])
    monkeypatch.setenv("NEWSRAG_CHROMA_PORT", str(chroma_server["port"]))
    monkeypatch.setenv("NEWSRAG_COLLECTION", collection)
    monkeypatch.setenv("NEWSRAG_LLM_BACKEND", "fake")
    path = write(tmp_path, "ferry.md", ARTICLE)
    runner = CliRunner()

    ingested = runner.invoke(cli, ["ingest", path, "--json"])
    assert ingested.exit_code == 0, ingested.output
    assert json.loads(ingested.stdout)["counts"]["added"] == 1

    stats = json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)
    assert stats["store"].startswith("chroma server 127.0.0.1:")
    assert stats["articles"] == 1 and stats["vectors"] == stats["chunks"] >= 1

    # the fake model answers with passage [1]'s first sentence: a question that sentence answers
    asked = runner.invoke(cli, ["ask", "When did the island ferry resume service?", "--json"])
    assert asked.exit_code == 0, asked.output
    answer = json.loads(asked.stdout)
    assert not answer["abstained"] and answer["timings"]["until_passages"] > 0
    assert answer["citations"][0]["title"] == "Ferry service resumes after storm"

    deleted = runner.invoke(cli, ["delete", path])
    assert deleted.exit_code == 0 and "Removed " in deleted.stdout and ": 1 source(s)" in deleted.stdout
    stats = json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)
    assert stats["articles"] == 0 and stats["vectors"] == 0


def test_a_second_data_dir_sees_what_the_first_committed(chroma_server, tmp_path, embeddings, collection):
    first = Store(server_settings(chroma_server, tmp_path, "one", collection), embeddings)
    second_settings = server_settings(chroma_server, tmp_path, "two", collection)
    second = Store(second_settings, embeddings)
    path = write(tmp_path, "ferry.md", ARTICLE)

    ingest([path], first.settings, store=first)
    second.refresh_lexical()
    assert [(a.title, a.sources) for a in second.catalog.articles()] == [("Ferry service resumes after storm", (path,))]
    hits = Retriever(second, second_settings).search("ferry passengers rebooked", k=2, mode="bm25")
    assert hits and hits[0].title == "Ferry service resumes after storm" and hits[0].source == path

    # a duplicate linked by the second process reaches the first one's catalog
    copy = write(tmp_path, "ferry-copy.md", ARTICLE)
    assert ingest([copy], second_settings, store=second).counts["duplicate"] == 1
    first.refresh_lexical()
    assert first.catalog.articles()[0].sources == tuple(sorted([path, copy]))

    assert first.delete_source(path) == 1 and first.delete_source(copy) == 1
    second.refresh_lexical()
    assert second.catalog.articles() == [] and second.lexical.search("ferry", 3) == []
    # a store opened later, on an empty data dir, starts from what the server holds
    assert Store(server_settings(chroma_server, tmp_path, "three", collection), embeddings).stats()["articles"] == 0


def test_a_running_retriever_finds_what_another_process_ingested_since(chroma_server, tmp_path, embeddings,
                                                                        collection):
    """Two `serve` processes on one server: the second one's retriever exists before the first ingests."""
    first = Store(server_settings(chroma_server, tmp_path, "one", collection), embeddings)
    second_settings = server_settings(chroma_server, tmp_path, "two", collection)
    retriever = Retriever(Store(second_settings, embeddings), second_settings)
    assert retriever.search("ferry passengers rebooked", k=2) == []

    ingest([write(tmp_path, "ferry.md", ARTICLE)], first.settings, store=first)
    for mode in ("bm25", "dense", "hybrid"):
        hits = retriever.search("ferry passengers rebooked", k=2, mode=mode)
        assert hits and hits[0].title == "Ferry service resumes after storm", mode


def test_a_commit_that_raced_another_is_caught_up_later(chroma_server, tmp_path, embeddings, collection, monkeypatch):
    first = Store(server_settings(chroma_server, tmp_path, "one", collection), embeddings)
    second = Store(server_settings(chroma_server, tmp_path, "two", collection), embeddings)
    ingest([write(tmp_path, "ferry.md", ARTICLE)], first.settings, store=first)

    # the second process writes without having seen the first one's commit (they raced)
    monkeypatch.setattr(second, "sync", lambda: False)
    ingest([write(tmp_path, "keeper.md", SECOND)], second.settings, store=second)
    monkeypatch.undo()
    assert len(second.catalog.articles()) == 1

    for store in (first, second):
        store.refresh_lexical()
        assert sorted(a.title for a in store.catalog.articles()) == [
            "Ferry service resumes after storm", "Lighthouse keeper retires"]
        assert len(store.lexical) == store.stats()["chunks"] == store.collection.count()


def test_a_write_in_progress_on_the_server_is_not_mirrored(chroma_server, tmp_path, embeddings, collection):
    first = Store(server_settings(chroma_server, tmp_path, "one", collection), embeddings)
    ingest([write(tmp_path, "ferry.md", ARTICLE)], first.settings, store=first)
    # another process has sent the first of two chunks of an article, then a commit token changed
    first.collection.add(
        ids=["halfwritten-0000"], embeddings=np.ones((1, embeddings.dimension), dtype=np.float32),
        documents=["half"], metadatas=[{"article_id": "halfwritten", "index": 0, "start": 0, "end": 4,
                                        "n_chunks": 2, "fingerprint": "f", "sources": ["/elsewhere.md"]}],
    )
    first.collection.modify(metadata={**first.collection.metadata, COMMIT_KEY: "someone-else"})

    second = Store(server_settings(chroma_server, tmp_path, "two", collection), embeddings)
    assert [a.title for a in second.catalog.articles()] == ["Ferry service resumes after storm"]


# --- TLS and an auth header, through a proxy in front of the real server ---------------------------------------


def _self_signed(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), False)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


@pytest.fixture
def tls_proxy(chroma_server, tmp_path):
    """HTTPS on a free port, forwarding to the Chroma server only requests that carry X-Chroma-Token: secret."""
    upstream = f"http://{chroma_server['host']}:{chroma_server['port']}"
    seen: list[str | None] = []

    class Forward(BaseHTTPRequestHandler):
        def _forward(self) -> None:
            seen.append(self.headers.get("X-Chroma-Token"))
            if self.headers.get("X-Chroma-Token") != "secret":
                self.send_response(401)
                self.end_headers()
                return
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            reply = httpx.request(self.command, upstream + self.path, content=body, trust_env=False,
                                  headers={"Content-Type": self.headers.get("Content-Type", "application/json")})
            self.send_response(reply.status_code)
            self.send_header("Content-Type", reply.headers.get("Content-Type", "application/json"))
            self.send_header("Content-Length", str(len(reply.content)))
            self.end_headers()
            self.wfile.write(reply.content)

        do_GET = do_POST = do_PUT = do_DELETE = _forward

        def log_message(self, *args) -> None:
            pass

    cert, key = _self_signed(tmp_path)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"port": server.server_address[1], "ca": cert, "seen": seen}
    server.shutdown()
    server.server_close()


def test_ssl_and_auth_header_reach_the_server(tls_proxy, tmp_path, embeddings, collection, monkeypatch):
    monkeypatch.setenv("SSL_CERT_FILE", str(tls_proxy["ca"]))  # trust the proxy's self-signed certificate
    settings = Settings(data_dir=tmp_path / "data", chroma_host="127.0.0.1", chroma_port=tls_proxy["port"],
                        chroma_ssl=True, chroma_auth_header="X-Chroma-Token: secret", collection=collection)
    store = Store(settings, embeddings)
    assert ingest([write(tmp_path, "ferry.md", ARTICLE)], settings, store=store).counts["added"] == 1
    assert store.collection.count() >= 1
    assert tls_proxy["seen"] and set(tls_proxy["seen"]) == {"secret"}

    with pytest.raises(StoreError, match="cannot reach the Chroma server"):
        Store(settings.model_copy(update={"chroma_auth_header": None}), embeddings)
    with pytest.raises(StoreError, match="Header-Name: value"):
        Store(settings.model_copy(update={"chroma_auth_header": SecretStr("no colon here")}), embeddings)
