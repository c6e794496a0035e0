"""The relevance floor reads what each part of a question finds: a two-part question resembles no single passage,
while each part can have one that answers it. Over the general corpus (sports, markets, disasters, courts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ingest.pipeline import ingest
from rag.chain import build_chain
from rag.config import Settings
from rag.multipart import part_queries, question_parts
from rag.prompts import ABSTAIN_TEXT
from rag.store import Store

GENERAL = Path(__file__).resolve().parents[1] / "evals" / "corpora" / "general"
TWO_PARTS = [
    "Who won Super Bowl LVIII, and by how much did the Federal Reserve cut rates in September 2024?",
    "How many people did Storm Daniel kill in Derna, and who was named French prime minister after Barnier?",
]


@pytest.fixture(scope="module")
def general_store(tmp_path_factory, embeddings):
    settings = Settings(data_dir=tmp_path_factory.mktemp("floor"), llm_backend="fake")
    store = Store(settings, embeddings)
    ingest([str(GENERAL)], settings, store=store)
    return settings, store


def _closest(chain, query: str) -> float:
    return max(p.similarity or 0.0 for p in chain.retriever.search(query))


def _chain_with_floor(general_store, floor: float):
    settings, store = general_store
    return build_chain(settings.model_copy(update={"min_relevance": floor}), store=store)


@pytest.mark.parametrize("question", TWO_PARTS)
def test_a_two_part_question_under_the_floor_as_a_whole_reaches_the_model_when_a_part_clears_it(general_store, question):
    probe = _chain_with_floor(general_store, 0.3)
    whole = _closest(probe, question)
    best_part = max(_closest(probe, q) for q in part_queries(question_parts(question)))
    assert best_part > whole + 0.02, "each part is closer to its own passage than the whole question to any"
    answer = _chain_with_floor(general_store, (whole + best_part) / 2).invoke({"question": question})
    assert answer.raw_answer, "the model was asked"


@pytest.mark.parametrize("question", TWO_PARTS)
def test_a_question_whose_parts_find_nothing_over_the_floor_is_declined_without_the_model(general_store, question):
    probe = _chain_with_floor(general_store, 0.3)
    best_part = max(_closest(probe, q) for q in part_queries(question_parts(question)))
    answer = _chain_with_floor(general_store, best_part + 0.05).invoke({"question": question})
    assert answer.abstained and answer.answer == ABSTAIN_TEXT and answer.raw_answer == ""


def test_a_one_part_question_under_the_floor_is_still_declined_without_the_model(general_store):
    question = "Which film won the Palme d'Or at Cannes in 2019?"
    probe = _chain_with_floor(general_store, 0.3)
    answer = _chain_with_floor(general_store, _closest(probe, question) + 0.01).invoke({"question": question})
    assert answer.abstained and answer.raw_answer == ""
