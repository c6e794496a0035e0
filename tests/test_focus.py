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
