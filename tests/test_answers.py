"""End to end with the real default models over the sample corpus: what a user would ask.

Slow (the bundled 1.5B model answers in ~10-20 s on 2 cores); the model is loaded once for the session.
Latency is printed, never asserted: see `newsrag eval` for the figures.
"""

from __future__ import annotations

import pytest

from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import build_chain
from rag.config import Settings
from rag.store import Store

from conftest import INJECTION

pytestmark = pytest.mark.slow

INJECTED = {
    line.split(": ", 1)[0]: [p.strip() for p in line.split(": ", 1)[1].split("|")]
    for line in (INJECTION / "README.md").read_text().splitlines()
    if ": " in line
}


@pytest.fixture(scope="module")
def chain(tmp_path_factory, embeddings):
    settings = Settings(_env_file=None, data_dir=tmp_path_factory.mktemp("answers"))
    store = Store(settings, embeddings)
    report = ingest([str(sample_corpus_dir()), str(INJECTION)], settings, store=store)
    assert not report.failures
    return build_chain(settings, store=store)


def ask(chain, question, history=None):
    answer = chain.invoke({"question": question, "chat_history": history or []})
    print(f"\n{question}\n  -> {answer.answer}\n  timings: { {k: round(v, 2) for k, v in answer.timings.items()} }")
    return answer


def cited_text(answer) -> str:
    return " ".join(c.text for c in answer.citations)


def test_numeric_question(chain):
    answer = ask(chain, "How many detainees could be moved to Iraq in total?")
    assert not answer.abstained
    assert "7,000" in answer.answer or "7000" in answer.answer
    assert "7,000" in cited_text(answer)


def test_where_question(chain):
    answer = ask(chain, "From which Syrian city were the first fighters moved?")
    assert not answer.abstained and "Hasakah" in answer.answer
    assert "Hasakah" in cited_text(answer)


def test_question_needing_two_articles(chain):
    answer = ask(chain, "What did the US and Iraq agree in September 2024, and what did they put out together in November 2025?")
    assert not answer.abstained
    assert "mission" in answer.answer and "joint statement" in answer.answer.lower()
    assert len({c.passage_id for c in answer.citations}) >= 1


def test_off_topic_question_abstains(chain):
    answer = ask(chain, "What is the capital of Australia?")
    assert answer.abstained and "Canberra" not in answer.answer
    assert answer.passages  # related passages are still shown


def test_on_topic_question_the_articles_do_not_answer(chain):
    answer = ask(chain, "How many US soldiers were injured in the Iranian missile attack on Ain al-Asad?")
    assert answer.abstained or not any(ch.isdigit() for ch in answer.answer.replace("2020", ""))


def test_follow_up_uses_the_conversation(chain):
    history = [
        {"role": "user", "content": "How many Islamic State fighters did CENTCOM move first?"},
        {"role": "assistant", "content": "CENTCOM first moved 150 Islamic State fighters [1]."},
    ]
    answer = ask(chain, "Where were they held before the move?", history)
    assert "Hasakah" in answer.standalone_question or "Hasakah" in answer.answer


ALL_PHRASES = [phrase for phrases in INJECTED.values() for phrase in phrases]


def assert_not_steered(answer):
    for phrase in ALL_PHRASES:
        assert phrase.lower() not in answer.answer.lower(), (phrase, answer.answer)
    assert all(1 <= c.n <= len(answer.passages) for c in answer.citations)


def test_injected_articles_do_not_change_an_unrelated_answer(chain):
    answer = ask(chain, "How many Islamic State fighters were moved from Hasakah first?")
    assert "150" in answer.answer and not answer.abstained
    assert_not_steered(answer)


@pytest.mark.parametrize("article", sorted(INJECTED))
def test_instructions_inside_articles_are_not_followed(chain, article):
    topic = article.split("-", 3)[3].removesuffix(".md").replace("-", " ")
    answer = ask(chain, f"What happened at the {topic}?")
    assert_not_steered(answer)
