"""The gold set checks itself: its reference answers pass, its wrong answers fail, its evidence is where it says in
its own corpus, the sealed test split is big enough per category to report on, and the general corpus is as wide
as issue 37 asks. A gold item that grades wrongly would make every eval figure built on it wrong, so these run
with the fast tests.
"""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

import pytest

from evals.baseline import load_articles
from evals.dataset import (
    CORPORA,
    DEFAULT_DATASET,
    by_corpus,
    corpus_dir,
    dataset_files,
    item_corpus,
    load_dataset,
)
from evals.metrics import answer_correct, is_answerable, source_name
from rag.config import Settings
from rag.errors import ConfigError
from rag.types import Answer

CATEGORIES = {
    "single_fact", "paraphrase", "relative_date", "multi_part", "negation", "multi_article", "temporal_order",
    "follow_up", "unanswerable_on_topic", "unanswerable_off_topic", "conflicting",
}
TEST_MIN_PER_CATEGORY = 10
TEST_MIN_TOTAL = 120
GENERAL_MIN_ITEMS = 150
GENERAL_MIN_ARTICLES = 40
GENERAL_MIN_DOMAINS = 5
GOLD = load_dataset(DEFAULT_DATASET)
ANSWERABLE = [item for item in GOLD if is_answerable(item)]


def _said(text: str) -> Answer:
    return Answer(question="", answer=text)


def _collapsed(text: str) -> str:
    return " ".join(text.split())


def _raw_items() -> list[dict]:
    """Every item of every gold file, read without load_dataset's checks (which would stop at the first problem)."""
    return [json.loads(line) for path in dataset_files(DEFAULT_DATASET)
            for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


@pytest.fixture(scope="module")
def corpus_texts() -> dict[str, dict[str, str]]:
    """Per corpus the gold set uses, each article's text as ingested (body after front matter), by evidence name."""
    return {name: {source_name(a.source): _collapsed(a.text) for a in load_articles(corpus_dir(name), Settings())}
            for name in by_corpus(GOLD)}


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
def test_every_evidence_span_is_in_its_article_of_its_own_corpus(item, corpus_texts):
    texts = corpus_texts[item_corpus(item)]
    for evidence in item["evidence"]:
        assert evidence["article"] in texts, f"no article {evidence['article']} in the {item_corpus(item)} corpus"
        assert _collapsed(evidence["span"]) in texts[evidence["article"]], evidence


def test_ids_are_unique_across_all_files():
    assert [qid for qid, n in Counter(item["id"] for item in _raw_items()).items() if n > 1] == []


def test_every_items_corpus_is_known():
    assert {item_corpus(item) for item in _raw_items()} <= set(CORPORA)


def test_test_split_is_big_enough_per_category():
    test = Counter(item["category"] for item in GOLD if item.get("split") == "test")
    assert {c: test[c] for c in CATEGORIES if test[c] < TEST_MIN_PER_CATEGORY} == {}
    assert sum(test.values()) >= TEST_MIN_TOTAL


def test_the_general_corpus_is_wide_enough():
    items = load_dataset(DEFAULT_DATASET, corpus="general")
    articles = sorted(path.name for path in corpus_dir("general").glob("*.md"))
    domains = {name.split("-", 1)[0] for name in articles}
    assert len(items) >= GENERAL_MIN_ITEMS
    assert len(articles) >= GENERAL_MIN_ARTICLES
    assert len(domains) >= GENERAL_MIN_DOMAINS, domains


# --- the loader itself, on files of its own -------------------------------------------------------------------


def _item(qid: str, **fields: str) -> dict:
    return {"id": qid, "category": "single_fact", "question": f"question {qid}?", **fields}


def _write(path: Path, items: list[dict]) -> None:
    path.write_text("".join(json.dumps(item) + "\n" for item in items), encoding="utf-8")


def test_a_folder_is_every_gold_file_in_name_order_each_item_with_its_corpus(tmp_path):
    _write(tmp_path / "gold.jsonl", [_item("a1", split="test"), _item("a2")])  # no corpus: iraq; no split: dev
    _write(tmp_path / "gold-sports.jsonl", [_item("s1", corpus="general", split="test"),
                                            _item("s2", corpus="general", split="dev")])
    _write(tmp_path / "notes.jsonl", [_item("n1")])  # not a gold*.jsonl file
    assert [item["id"] for item in load_dataset(tmp_path)] == ["s1", "s2", "a1", "a2"]
    assert [item["id"] for item in load_dataset(tmp_path, split="test")] == ["s1", "a1"]
    assert [item["id"] for item in load_dataset(tmp_path, split="dev", corpus="iraq")] == ["a2"]
    assert [item["id"] for item in load_dataset(tmp_path, corpus="general", limit=1)] == ["s1"]
    assert [item["id"] for item in load_dataset(tmp_path / "gold.jsonl")] == ["a1", "a2"]  # one file still works
    groups = by_corpus(load_dataset(tmp_path))
    assert {name: [item["id"] for item in group] for name, group in groups.items()} == {
        "iraq": ["a1", "a2"], "general": ["s1", "s2"]}
    assert list(by_corpus(load_dataset(tmp_path, corpus="general"))) == ["general"]  # no empty groups


def test_the_loader_refuses_a_duplicate_id_an_unknown_corpus_and_a_broken_line(tmp_path):
    _write(tmp_path / "gold.jsonl", [_item("a1")])
    _write(tmp_path / "gold-x.jsonl", [_item("a1", corpus="general")])
    with pytest.raises(ConfigError, match="'a1' is in .*gold-x.jsonl and again in .*gold.jsonl"):
        load_dataset(tmp_path)
    _write(tmp_path / "gold-x.jsonl", [_item("x1", corpus="films")])
    with pytest.raises(ConfigError, match=r"gold-x.jsonl:1: unknown corpus 'films'"):
        load_dataset(tmp_path)
    (tmp_path / "gold-x.jsonl").write_text('{"id": "x1"}\n{"id": \n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"gold-x.jsonl:2 is not a JSON object"):
        load_dataset(tmp_path)
    (tmp_path / "empty").mkdir()
    with pytest.raises(ConfigError, match="holds no gold"):
        load_dataset(tmp_path / "empty")
    with pytest.raises(ConfigError, match="unknown corpus"):
        load_dataset(tmp_path / "gold.jsonl", corpus="films")
    with pytest.raises(ConfigError, match="unknown corpus"):
        corpus_dir("films")
