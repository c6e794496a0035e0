"""Focus keeps sentence windows: a kept sentence brings what its pronoun or ellipsis points to."""

from __future__ import annotations

import pytest

from rag.context import focus_passages, leans_on_previous, with_antecedents
from rag.types import Passage

EXPLAINER = [
    "What has changed in Syria?",
    "Syrian government troops seized much of the country's east from the SDF.",
    "What is the main worry?",
    "A breakout.",
    ("Admiral Brad Cooper, who heads CENTCOM, has argued that the transfer has to be orderly and secure "
     "precisely to avoid one."),
    "An escape on that scale, in his view, would pose a direct danger to the United States.",
    "Where will the detainees go?",
    "CENTCOM has not said where in Iraq they will be held.",
]


def test_the_sentence_that_says_avoid_one_brings_the_breakout_and_its_question():
    assert with_antecedents(EXPLAINER, [4]) == [2, 3, 4]


def test_a_kept_question_sentence_brings_its_answer():
    assert with_antecedents(EXPLAINER, [6]) == [6, 7]


CORRECTION = [
    "An earlier version of this report said that about 100 fighters were in the first group.",
    "That figure was wrong.",
    "US Central Command said the first group numbered 150 fighters.",
    "The corrected report follows.",
]


def test_a_report_judged_wrong_brings_the_correction_after_it():
    """Dev y021: "That figure was wrong." reached the model without the 150 that replaced it."""
    assert with_antecedents(CORRECTION, [0, 1, 3]) == [0, 1, 2, 3]
    assert with_antecedents(["A brief incorrectly reported an October start.", "It began in August."], [0]) == [0, 1]


def test_a_self_contained_sentence_comes_alone():
    assert with_antecedents(EXPLAINER, [5]) == [5]


@pytest.mark.parametrize("sentence, previous, expected", [
    ("This was the first such transfer.", "CENTCOM moved 150 fighters.", True),
    ("They were taken to a secure site.", "CENTCOM moved 150 fighters.", True),
    ("One of the sharpest moments came in January 2020.", "Iran fired missiles at the base.", False),
    ("A breakout.", "What is the main worry?", True),
    ("Markets in Baghdad were calm.", "Iran fired missiles at the base after the strike.", False),
])
def test_leans_on_previous(sentence, previous, expected):
    assert leans_on_previous(sentence, previous) is expected


def test_focused_passage_about_the_worry_keeps_what_one_stands_for(embeddings):
    passage = Passage(id="p", article_id="a", text=" ".join(EXPLAINER))
    [focused] = focus_passages("What is the big worry about moving the detainees?", [passage], embeddings, keep=2)
    assert "What is the main worry? A breakout." in focused.text  # without the window: the question alone


TRANSFER = [
    "CENTCOM moved 150 Islamic State fighters from Hasakah to Iraq on Wednesday.",
    "The transfer was the first of several planned by the command.",
    "Iraqi officials said the men would be held in secure facilities near Baghdad.",
    "Markets in Baghdad were calm on the day.",
]
BORDER = [
    "Syrian government forces now hold about 250 miles of the border with Iraq, a monitor said.",
    "Fighting in the east had pushed the SDF back within days.",
    "Rain fell over Deir ez-Zor for most of the week.",
]


def test_a_token_budget_drops_the_sentences_least_like_the_question_first(embeddings):
    from rag.tokens import count_tokens

    passages = [Passage(id="t", article_id="t", text=" ".join(TRANSFER)),
                Passage(id="b", article_id="b", text=" ".join(BORDER))]
    question = "How many Islamic State fighters did CENTCOM move to Iraq?"
    unlimited = focus_passages(question, passages, embeddings, keep=3)
    assert unlimited == focus_passages(question, passages, embeddings, keep=3, budget=10_000)

    budget = 45
    fitted = focus_passages(question, passages, embeddings, keep=3, budget=budget)
    assert sum(count_tokens(p.text) for p in fitted) <= budget < sum(count_tokens(p.text) for p in unlimited)
    assert TRANSFER[0] in fitted[0].text, "the answer sentence stays"
    assert "Rain fell" not in fitted[1].text and "Markets" not in fitted[0].text

    tiny = focus_passages(question, passages, embeddings, keep=3, budget=1)
    assert [len(p.text.split(". ")) for p in tiny] == [1, 1], "each passage keeps its best sentence, over budget or not"
    assert tiny[0].text == TRANSFER[0]
