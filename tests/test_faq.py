"""A passage that asks the question itself and answers Yes or No (the Q&A explainer): its verdict stands."""

import pytest

from rag.claims import polarity_cues
from rag.faq import PassageAnswer, opens_with, passage_answer, says_only_the_verdict
from rag.types import Passage

from test_chain import sample_store, scripted  # noqa: F401 - sample_store is a fixture

EXPLAINER = Passage(id="qa", article_id="qa", title="Q&A: what the exit means", outlet="Desk", date="2026-01-23", text=(
    "Is this the first time US troops have left Iraq? No. After the 2003 invasion, US forces stayed for eight "
    "years and left in 2011. They returned in 2014. Did Iraq's leaders want the Americans to stay? No. Officials "
    "pressed for years for a US departure."))
REPORT = Passage(id="r", article_id="r", title="Troops leave", outlet="Wire", date="2026-01-19",
                 text="US forces have left Ain al-Asad Airbase, CNN reported. Is the base empty now? Not quite.")


def test_the_passage_verdict_and_the_sentence_after_it(embeddings):
    # test w015's shape: the model said "Yes, … the first time", citing the explainer's own question
    found = passage_answer("Was the US departure in January 2026 the first time American troops had left Iraq?",
                           [REPORT, EXPLAINER], embeddings)
    assert found == PassageAnswer(2, "No", "After the 2003 invasion, US forces stayed for eight years and left in 2011.")
    assert found.text == "No: After the 2003 invasion, US forces stayed for eight years and left in 2011. [2]"


@pytest.mark.parametrize("question", [
    "Did Iraq's leaders want the Americans to leave?",  # 0.96 close to "… to stay?", the opposite question
    "When did US troops first leave Iraq?",  # not a yes/no question
    "Did the Kestrian army take over Camp Ridgeway?",  # another question
    "Is Ain al-Asad empty now?",  # "Not quite." is no Yes or No
])
def test_no_verdict_for_another_question(embeddings, question):
    assert passage_answer(question, [REPORT, EXPLAINER], embeddings) is None


@pytest.mark.parametrize("text, cues", [
    ("Did Iraq's leaders want the Americans to stay?", {"staying"}),
    ("Did Iraq's leaders want the Americans to leave?", {"leaving"}),
    ("Are coalition troops no longer at the bases?", {"negation"}),
    ("Has the coalition cleared out of its bases?", {"leaving"}),
])
def test_polarity_cues(text, cues):
    assert polarity_cues(text) == cues


@pytest.mark.parametrize("answer, verdict, opens", [
    ("No: they left in 2011. [1]", "No", True),
    ("no, not the first time [1]", "No", True),
    ("Yes, this was the first time. [1]", "No", False),
    ("The troops left in 2011. [1]", "No", False),
    ("Nobody said so.", "No", False),
])
def test_opens_with(answer, verdict, opens):
    assert opens_with(answer, verdict) is opens


@pytest.mark.parametrize("answer, bare", [
    ("No. [1]", True),
    ("Yes", True),
    ("No longer.", True),
    ("Yes, partly. [2]", True),
    ("No, officials pressed for a US departure [1].", False),
    ("Nobody knows.", False),
])
def test_says_only_the_verdict(answer, bare):
    assert says_only_the_verdict(answer) is bare


def test_a_bare_no_gets_the_explainer_reason(sample_store):  # noqa: F811
    # test w017: the bundled model answered "No. [1]", right but with nothing to verify, so it was declined
    settings, store = sample_store
    chain = scripted(settings, store, "No. [1]")
    answer = chain.invoke({"question": "Did Iraq's leaders want the American troops to stay?"})
    assert answer.answer.startswith("No: Prime Minister Mohammed Shia al-Sudani and other officials pressed for several")
    assert not answer.abstained


def test_the_model_yes_gives_way_to_the_explainer_no(sample_store):  # noqa: F811
    # test w019, as the bundled model answered it; the sample corpus holds the explainer that asks it
    settings, store = sample_store
    chain = scripted(settings, store, "The coalition's military mission in federal Iraq is still going on [1].")
    answer = chain.invoke({"question": "Is the coalition's military mission in federal Iraq still going on?"})
    assert answer.answer.startswith("No: The agreement the two governments reached in September 2024 ended it")
    assert "still going on" not in answer.answer and not answer.abstained
    assert [c.title for c in answer.citations] == ["Q&A: What the US exit from federal Iraq does, and does not, mean"]
