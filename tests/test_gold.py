"""The gold set checks itself: its reference answers pass, its wrong answers fail, its evidence is where it says,
and the test split is big enough per category to report on. A gold item that grades wrongly would make every
eval figure built on it wrong, so these run with the fast tests.
"""

from __future__ import annotations

from collections import Counter

import pytest

from evals.baseline import load_articles
from evals.metrics import answer_correct, is_answerable, source_name
from evals.run import DEFAULT_DATASET, load_dataset
from ingest.pipeline import sample_corpus_dir
from rag.config import Settings
from rag.types import Answer

CATEGORIES = {
    "single_fact", "paraphrase", "relative_date", "multi_part", "negation", "multi_article", "temporal_order",
    "follow_up", "unanswerable_on_topic", "unanswerable_off_topic", "conflicting",
}
TEST_MIN_PER_CATEGORY = 10
TEST_MIN_TOTAL = 70
GOLD = load_dataset(DEFAULT_DATASET)
ANSWERABLE = [item for item in GOLD if is_answerable(item)]


def _said(text: str) -> Answer:
    return Answer(question="", answer=text)


def _collapsed(text: str) -> str:
    return " ".join(text.split())


@pytest.fixture(scope="module")
def corpus_texts() -> dict[str, str]:
    """Each sample article's text as ingested (body after front matter; a JSONL line's text), by evidence name."""
    return {source_name(a.source): _collapsed(a.text) for a in load_articles(sample_corpus_dir(), Settings())}


@pytest.mark.parametrize("item", ANSWERABLE, ids=[item["id"] for item in ANSWERABLE])
def test_reference_answer_passes_and_wrong_answer_fails(item):
    assert answer_correct(item, _said(item["answer"])) is True
    assert item["wrong_answer"].strip(), "an answerable item needs a wrong_answer"
    assert answer_correct(item, _said(item["wrong_answer"])) is False


@pytest.mark.parametrize("item", GOLD, ids=[item["id"] for item in GOLD])
def test_item_is_complete(item):
    assert item["category"] in CATEGORIES
    assert item["split"] in ("dev", "test")
    assert item["question"].strip()
    assert all(turn["role"] in ("user", "assistant") and turn["content"] for turn in item["history"])
    assert isinstance(item["must_not"], list)
    if is_answerable(item):
        assert item["must_include"] and all(item["must_include"]), "every group needs an alternative"
        assert item["evidence"], "an answerable item states where its fact is"
    else:
        assert item["must_include"] == [] and item["evidence"] == [] and item["wrong_answer"] == ""
    if item["category"] == "follow_up":
        assert item["history"]


@pytest.mark.parametrize("item", ANSWERABLE, ids=[item["id"] for item in ANSWERABLE])
def test_every_evidence_span_is_in_its_article(item, corpus_texts):
    for evidence in item["evidence"]:
        assert evidence["article"] in corpus_texts, f"no article {evidence['article']} in the sample corpus"
        assert _collapsed(evidence["span"]) in corpus_texts[evidence["article"]], evidence


def test_ids_are_unique():
    assert [qid for qid, n in Counter(item["id"] for item in GOLD).items() if n > 1] == []


def test_test_split_is_big_enough_per_category():
    test = Counter(item["category"] for item in GOLD if item.get("split") == "test")
    assert {c: test[c] for c in CATEGORIES if test[c] < TEST_MIN_PER_CATEGORY} == {}
    assert sum(test.values()) >= TEST_MIN_TOTAL
