"""One contract, two stores: the embedded PersistentClient and a real `chroma run` server."""

from __future__ import annotations

import uuid

import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from rag.errors import StoreError
from rag.retrieve import Retriever
from rag.store import Store

ARTICLE = """---
title: Base handed over
date: 2026-01-21
outlet: Contract Desk
---
Iraqi officials said the coalition had handed over the Ain al-Asad airbase. The prime minister visited it on January 21.
"""


@pytest.fixture(params=["embedded", pytest.param("server", marks=pytest.mark.slow)])  # slow: starts `chroma run`
def store_settings(request, tmp_path):
    if request.param == "embedded":
        return Settings(data_dir=tmp_path / "data")
    server = request.getfixturevalue("chroma_server")
    return Settings(
        data_dir=tmp_path / "data", chroma_host=server["host"], chroma_port=server["port"],
        collection=f"contract-{uuid.uuid4().hex[:8]}",
    )


def write(tmp_path, name, text):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return str(path)


def test_ingest_search_and_delete(store_settings, tmp_path, embeddings):
    store = Store(store_settings, embeddings)
    path = write(tmp_path, "a.md", ARTICLE)
    report = ingest([path], store_settings, store=store)
    assert report.counts["added"] == 1
    stats = store.stats()
    assert stats["articles"] == 1 and stats["vectors"] == stats["chunks"] == stats["bm25_chunks"] >= 1

    passages = Retriever(store, store_settings).search("Who visited the airbase?", k=3, mode="hybrid")
    assert passages and passages[0].title == "Base handed over"
    assert passages[0].date == "2026-01-21" and passages[0].outlet == "Contract Desk"
    assert passages[0].similarity is not None and passages[0].similarity > 0.2

    assert store.delete_source(str(tmp_path / "a.md")) == 1
    store.refresh_lexical()
    assert store.stats()["articles"] == 0 and store.collection.count() == 0
    assert Retriever(store, store_settings).search("airbase", k=3) == []


def test_reingest_is_idempotent_and_edits_replace_chunks(store_settings, tmp_path, embeddings):
    store = Store(store_settings, embeddings)
    path = write(tmp_path, "a.md", ARTICLE)
    ingest([path], store_settings, store=store)
    first_ids = set(store.collection.get()["ids"])

    again = ingest([path], store_settings, store=store)
    assert again.counts["unchanged"] == 1 and again.chunks_written == 0
    assert set(store.collection.get()["ids"]) == first_ids

    write(tmp_path, "a.md", ARTICLE.replace("January 21", "January 22"))
    edited = ingest([path], store_settings, store=store)
    assert edited.counts["updated"] == 1
    ids = set(store.collection.get()["ids"])
    assert ids and ids.isdisjoint(first_ids)  # every old chunk replaced
    docs = store.collection.get()["documents"]
    assert any("January 22" in d for d in docs) and not any("January 21" in d for d in docs)
    assert store.stats()["articles"] == 1


def test_same_text_under_two_names_is_stored_once(store_settings, tmp_path, embeddings):
    store = Store(store_settings, embeddings)
    a = write(tmp_path, "a.md", ARTICLE)
    b = write(tmp_path, "copy-of-a.md", ARTICLE)
    report = ingest([a, b], store_settings, store=store)
    assert report.counts["added"] == 1 and report.counts["duplicate"] == 1
    assert store.stats()["articles"] == 1 and store.stats()["sources"] == 2
    # removing one name keeps the article for the other
    store.delete_source(a)
    assert store.stats()["articles"] == 1
    store.delete_source(b)
    assert store.stats()["articles"] == 0


def test_the_reads_callers_use_instead_of_sql(store_settings, tmp_path, embeddings):
    store = Store(store_settings, embeddings)
    a = write(tmp_path, "a.md", ARTICLE)
    b = write(tmp_path, "copy-of-a.md", ARTICLE)
    feed = write(tmp_path, "feed.jsonl", '{"title": "Ferry", "text": "The ferry sails at seven."}\n')
    ingest([a, b, feed], store_settings, store=store)
    [article] = [x for x in store.articles() if x.title == "Base handed over"]
    assert store.article(article.id) == article and store.article("no-such-id") is None
    assert "Ain al-Asad" in store.article_text(article.id)
    assert store.article_of_source(a) == article.id and store.stored_fingerprint(article.id) == article.fingerprint
    assert store.sources_named(article.id) == sorted([a, b]) and store.sources_named(a) == [a]
    assert store.match_sources("copy-of-a.md") == [(b, article.id)]
    assert store.match_sources(article.id[:8]) == [(a, article.id), (b, article.id)]
    assert store.jsonl_line_sources(feed) == [f"{feed}:1"]
    assert store.names_file(feed) and store.names_file(a) and not store.names_file(str(tmp_path / "other.md"))
    assert store.outlets() == ["Contract Desk"]  # once, though two sources hold it; the feed has no outlet


def test_other_embedding_model_metadata_is_a_clear_error(store_settings, embeddings):
    store = Store(store_settings, embeddings)
    store.client.delete_collection(store_settings.collection)
    store.client.create_collection(store_settings.collection, metadata={"embedding_model": "other", "dimension": 768})
    with pytest.raises(StoreError, match="other.*768.*minilm-int8"):
        Store(store_settings, embeddings)


def test_interrupted_write_is_rolled_back_on_open(store_settings, tmp_path, embeddings, monkeypatch):
    store = Store(store_settings, embeddings)
    good = write(tmp_path, "good.md", ARTICLE)
    ingest([good], store_settings, store=store)
    bad = write(tmp_path, "b.md", ARTICLE.replace("Base handed over", "Second").replace("airbase", "air base"))

    def crash(*args, **kwargs):
        raise KeyboardInterrupt  # the process dies after Chroma got the chunks, before the catalog commit

    real_transaction = store.catalog.transaction
    calls = {"n": 0}

    def transaction_then_crash():
        calls["n"] += 1
        if calls["n"] == 2:
            crash()
        return real_transaction()

    monkeypatch.setattr(store.catalog, "transaction", transaction_then_crash)
    with pytest.raises(KeyboardInterrupt):
        ingest([bad], store_settings, store=store)
    monkeypatch.undo()
    assert store.collection.count() > store.stats()["chunks"]  # Chroma holds the orphaned chunks for now

    reopened = Store(store_settings, embeddings)
    stats = reopened.stats()
    assert stats["articles"] == 1 and stats["vectors"] == stats["chunks"]
    assert ingest([bad], store_settings, store=reopened).counts["added"] == 1
