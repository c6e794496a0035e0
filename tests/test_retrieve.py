import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import read_input
from rag.config import Settings
from rag.retrieve import Filters, Retriever, mmr, rrf
from rag.store import Store


def test_rrf_rewards_agreement():
    fused = rrf([["a", "b", "c"], ["b", "d"]])
    assert fused[0][0] == "b"
    assert {item for item, _ in fused} == {"a", "b", "c", "d"}


@given(st.lists(st.lists(st.sampled_from("abcdefghij"), unique=True, max_size=10), max_size=4))
def test_rrf_properties(rankings):
    fused = rrf(rankings)
    ids = [item for item, _ in fused]
    assert len(ids) == len(set(ids)) == len({x for r in rankings for x in r})
    scores = [score for _, score in fused]
    assert scores == sorted(scores, reverse=True)
    for _, score in fused:  # never more than a first place in every ranking
        assert 0 < score <= len(rankings) / 61 + 1e-12


def test_mmr_prefers_diverse_results():
    query = np.array([1.0, 0.0])
    vectors = np.array([[1.0, 0.0], [0.99, 0.14], [0.7, 0.71]])
    vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
    assert mmr(query, vectors, 2, diversity=0.7) == [0, 2]
    assert mmr(query, vectors, 2, diversity=0.0) == [0, 1]


@pytest.fixture(scope="module")
def sample_store(tmp_path_factory, embeddings):
    settings = Settings(data_dir=tmp_path_factory.mktemp("samples"))
    store = Store(settings, embeddings)
    report = ingest([str(sample_corpus_dir())], settings, store=store)
    assert not report.failures, report.failures
    return settings, store


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid", "mmr"])
def test_every_mode_finds_the_detainee_numbers(sample_store, mode):
    settings, store = sample_store
    passages = Retriever(store, settings).search("How many fighters did CENTCOM move from Hasakah?", k=4, mode=mode)
    assert len(passages) == 4 or mode == "bm25"
    assert any("150" in p.text for p in passages)
    assert all(p.similarity is not None for p in passages)


def test_date_and_outlet_filters(sample_store):
    settings, store = sample_store
    retriever = Retriever(store, settings)
    for mode in ("dense", "bm25", "hybrid"):
        since = retriever.search("US forces Iraq", k=5, mode=mode, filters=Filters(date_from="2026-01-19"))
        assert since and all(p.date and p.date >= "2026-01-19" for p in since)
    outlet = retriever.search("US forces Iraq", k=5, filters=Filters(outlet="Desert Wire (sample)"))
    assert outlet and {p.outlet for p in outlet} == {"Desert Wire (sample)"}


def test_article_filter_searches_only_the_chosen_articles(sample_store):
    settings, store = sample_store
    retriever = Retriever(store, settings)
    unfiltered = retriever.search("US forces Iraq", k=5)
    chosen = unfiltered[-1].article_id  # a weaker match than the first: the filter, not the ranking, must keep it
    assert chosen != unfiltered[0].article_id
    for mode in ("dense", "bm25", "hybrid", "mmr"):
        within = retriever.search("US forces Iraq", k=5, mode=mode, filters=Filters(article_ids=(chosen,)))
        assert within and {p.article_id for p in within} == {chosen}, mode
    as_json = {"question": "q?", "filters": {"article_ids": [chosen]}}  # what the chat and JSON callers send
    assert read_input(as_json).filters == Filters(article_ids=(chosen,))


def test_reranker_hook_reorders(sample_store):
    settings, store = sample_store
    retriever = Retriever(store, settings, reranker=lambda q, ps: list(reversed(ps)))
    plain = Retriever(store, settings).search("Soleimani", k=3)
    reranked = retriever.search("Soleimani", k=3)
    assert reranked != plain
