"""LangChain's own standard suites for our retriever and embeddings, plus what those suites do not cover:
the Documents' metadata, filters through the retriever, and the Chroma view of the same collection."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path

from langchain_core.documents import Document
from langchain_tests.integration_tests import (
    EmbeddingsIntegrationTests,
    RetrieversIntegrationTests,
)
from langchain_tests.unit_tests import EmbeddingsUnitTests

from ingest.pipeline import ingest, sample_corpus_dir
from rag.config import Settings
from rag.embeddings import MiniLMEmbeddings, get_embeddings
from rag.retrieve import Retriever
from rag.retriever import NewsRetriever, passage_of
from rag.store import Store

QUESTION = "How many Islamic State detainees could be moved to Iraq?"


@functools.cache
def sample_store() -> Store:
    """The sample corpus, ingested once per session (the standard suites build retrievers from plain params)."""
    settings = Settings(_env_file=None, data_dir=Path(tempfile.mkdtemp(prefix="newsrag-standard-")))
    store = Store(settings, get_embeddings(settings))
    report = ingest([str(sample_corpus_dir())], settings, store=store)
    assert not report.failures, report.failures
    return store


class TestNewsRetrieverStandard(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[NewsRetriever]:
        return NewsRetriever

    @property
    def retriever_constructor_params(self) -> dict:
        store = sample_store()
        return {"search": Retriever(store, store.settings)}

    @property
    def retriever_query_example(self) -> str:
        return QUESTION


class TestMiniLMEmbeddingsUnit(EmbeddingsUnitTests):
    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"batch_size": 8, "threads": 1}

    # test_init_from_env skips itself: the model runs in-process, there is no API key or endpoint to read


class TestMiniLMEmbeddingsIntegration(EmbeddingsIntegrationTests):
    @property
    def embeddings_class(self) -> type[MiniLMEmbeddings]:
        return MiniLMEmbeddings

    @property
    def embedding_model_params(self) -> dict:
        return {"batch_size": 8, "threads": 1}


def test_documents_carry_the_passage_fields_and_round_trip():
    documents = sample_store().as_retriever(k=3).invoke(QUESTION)
    assert len(documents) == 3
    for document in documents:
        meta = document.metadata
        assert document.id == meta["id"] and meta["id"].startswith(meta["article_id"])
        assert {"title", "date", "outlet", "url", "source", "score", "similarity"} <= set(meta)
        assert meta["title"] and meta["date"] and meta["outlet"] and meta["source"]
        assert isinstance(meta["chunk_index"], int) and meta["similarity"] > 0
        assert passage_of(document).text == document.page_content
    assert any("7,000" in d.page_content for d in documents)


def test_the_retriever_returns_what_the_chain_search_returns():
    store = sample_store()
    passages = Retriever(store, store.settings).search(QUESTION, 4, "hybrid")
    documents = store.as_retriever(mode="hybrid").invoke(QUESTION, k=4)
    assert [passage_of(d) for d in documents] == passages


def test_filters_apply_from_the_constructor_and_per_call():
    store = sample_store()
    outlet = store.catalog.articles()[0].outlet
    by_constructor = store.as_retriever(k=5, filters={"outlet": outlet}).invoke(QUESTION)
    per_call = store.as_retriever(k=5).invoke(QUESTION, filters={"outlet": outlet})
    assert by_constructor and {d.metadata["outlet"] for d in by_constructor} == {outlet}
    assert [d.id for d in per_call] == [d.id for d in by_constructor]
    assert store.as_retriever().invoke(QUESTION, filters={"date_to": "1999-12-31"}) == []


def test_the_retriever_works_inside_a_users_own_lcel_chain():
    from langchain_core.runnables import RunnableLambda

    def titles(documents: list[Document]) -> list[str]:
        return [d.metadata["title"] for d in documents]

    chain = sample_store().as_retriever(k=2) | RunnableLambda(titles)
    assert len(chain.invoke(QUESTION)) == 2


def test_the_chroma_view_searches_the_same_collection():
    store = sample_store()
    view = store.as_vectorstore()
    hits = view.similarity_search_with_relevance_scores(QUESTION, k=3)
    dense = store.dense(store.embeddings.embed([QUESTION])[0], 3)
    assert [d.id for d, _ in hits] == [p.id for p in dense]
    assert all(d.page_content and d.metadata["article_id"] for d, _ in hits)
    assert view.as_retriever(search_kwargs={"k": 1, "filter": {"outlet": dense[0].outlet}}).invoke(QUESTION)
