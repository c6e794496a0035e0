"""Questions with two parts: each part is searched, kept in the prompt, and a part left open is said."""

from __future__ import annotations

import pytest
from langchain_core.language_models.fake_chat_models import GenericFakeChatModel
from langchain_core.messages import AIMessage

from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import AnswerChain, is_decline
from rag.config import Settings
from rag.multipart import (
    merge_for_parts,
    missing_note,
    open_parts,
    part_queries,
    question_parts,
    with_part_evidence,
)
from rag.prompts import answer_messages
from rag.retrieve import Retriever
from rag.store import Store
from rag.types import Passage

QUESTION = "How many Islamic State fighters were in the first group and from which city were they moved?"


@pytest.mark.parametrize("question, parts", [
    ("How many detainees were moved and from which city?", ["How many detainees were moved?", "from which city?"]),
    ("Who commands CENTCOM and when did the transfers begin?", ["Who commands CENTCOM?", "when did the transfers begin?"]),
    ("When did US forces leave Ain al-Asad? Where did they go?", ["When did US forces leave Ain al-Asad?", "Where did they go?"]),
    ("What did Iraq and the US agree?", ["What did Iraq and the US agree?"]),  # "and" between names: one question
    ("How many troops remain?", ["How many troops remain?"]),
])
def test_question_parts(question, parts):
    assert question_parts(question) == parts


def test_a_short_or_pronoun_part_is_searched_with_the_first_parts_topic():
    queries = part_queries(question_parts(QUESTION))
    assert queries[0] == "How many Islamic State fighters were in the first group?"
    assert queries[1] == "from which city were they moved? Islamic State fighters were in the first group"
    assert part_queries(["Who commands CENTCOM?", "when did the transfers begin?"])[1] == "when did the transfers begin?"


def _p(pid: str) -> Passage:
    return Passage(id=pid, article_id=pid, text=pid)


def test_each_parts_best_passage_takes_the_lowest_slot_of_the_whole_questions_top_k():
    whole = [_p("a"), _p("b"), _p("c")]
    merged = merge_for_parts(whole, [[_p("a"), _p("b")], [_p("x"), _p("a")]], k=3)
    assert [p.id for p in merged] == ["a", "b", "x"]
    # a part's best already present (even folded in as a copy) is not added twice
    holder = _p("b").model_copy(update={"also_reported_by": [_p("x")]})
    assert [p.id for p in merge_for_parts([_p("a"), holder], [[_p("a")], [_p("x")]], k=2)] == ["a", "b"]


def test_the_prompt_lists_the_parts_only_for_a_question_with_parts():
    assert "\n- from which city were they moved?\n" in answer_messages(QUESTION, [])[1].content
    assert "\n- " not in answer_messages("How many troops remain?", [])[1].content


@pytest.mark.parametrize("answer, kept, missing", [
    ("The first group had 150 fighters [1]. The passages do not say which city.", "The first group had 150 fighters [1].",
     ["from which city were they moved?"]),
    ("They were moved from Hasakah [1].", "They were moved from Hasakah [1].",
     ["How many Islamic State fighters were in the first group?"]),  # a how-many part with no number
    ("150 fighters were moved from Hasakah [1].", "150 fighters were moved from Hasakah [1].", []),
    # the real model answered the listed parts as a list: "(1)" and "(2)" would fail the number check
    ("(1) 150 fighters were in the first group.\n(2) From Hasakah, Syria.",
     "150 fighters were in the first group. From Hasakah, Syria.", []),
    # or echoed each part before its answer
    (("How many Islamic State fighters were in the first group? - 150 fighters [3]\n"
      "from which city were they moved? - Hasakah [3]"), "150 fighters. [3] Hasakah. [3]", []),
])
def test_open_parts(answer, kept, missing):
    assert open_parts(question_parts(QUESTION), answer, is_decline) == (kept, missing)


def test_a_sentence_stopped_before_its_marker_gets_no_second_stop():
    # "… Governorate. [2]" became "… Governorate. [2]." and reached users as "… Governorate. [2] ."
    answer = "150 fighters were in the first group. [2] They came from Hasakah. [1]"
    assert open_parts(question_parts(QUESTION), answer, is_decline) == (answer, [])
    cut = "150 fighters were in the first group. [2] They came from Hasakah, from a facility in …"  # cut: no "…."
    assert open_parts(question_parts(QUESTION), cut, is_decline) == (cut, [])


def test_a_single_question_keeps_its_whole_answer_so_a_decline_still_declines():
    answer = "It was 150 [1]. The passages do not say more."
    assert open_parts(["How many fighters?"], answer, is_decline) == (answer, [])


WHY_AND_WHO = ("Why is CENTCOM moving the Islamic State detainees out of Syria, and who will control the facilities "
               "they are moved to?")
TRANSFER = Passage(id="t", article_id="t", date="2026-01-22", text=(
    "The US military has begun moving Islamic State detainees out of Syria. Up to 7,000 Islamic State detainees "
    "could be transferred from Syria to facilities under Iraqi control under the mission that US Central Command "
    "(CENTCOM) announced on Wednesday to keep the detainees secure."))


def test_a_last_part_the_answer_drops_is_answered_by_the_passage_sentence_that_does():
    # dev d006: five sentences on the why, none on who controls the facilities
    answer = "CENTCOM said the aim was to keep the detainees secure [1]. The mission follows the SDF's losses [1]."
    text, answered = with_part_evidence(question_parts(WHY_AND_WHO), answer, [_p("x"), TRANSFER])
    assert answered == ["who will control the facilities they are moved to?"]
    assert text.startswith(answer)
    assert text.endswith("to facilities under Iraqi control under the mission that US Central Command (CENTCOM) "
                         "announced on Wednesday [January 21, 2026] to keep the detainees secure. [2]")


def test_a_part_left_open_is_answered_by_a_sentence_of_the_kind_asked():
    # dev w047: the model wrote no date for "on what date did CNN report"
    question = "What did the brief get wrong, and on what date did CNN report that US forces had left the base?"
    answer = "It wrongly put the start in early autumn [1]. CNN reported that US forces had left the base [1]."
    cnn = Passage(id="c", article_id="c", date="2026-01-20", text=(
        "CNN reported that US forces were leaving the base. "
        "On Monday, CNN reported, citing Iraq's Defense Ministry, that US forces had left the base in Anbar."))
    parts = question_parts(question)
    assert with_part_evidence(parts, answer, [cnn]) == (answer, [])  # its words are said: only open if no date
    text, answered = with_part_evidence(parts, answer, [cnn], open_=parts[1:])
    assert answered == parts[1:]
    assert text.endswith("On Monday [January 19, 2026], CNN reported, citing Iraq's Defense Ministry, that US forces "
                         "had left the base in Anbar. [1]")


def test_a_part_answered_in_other_words_or_asking_yes_or_no_gets_no_passage_sentence():
    kurdistan = Passage(id="k", article_id="k", text=(
        "The troops leaving federal Iraq have moved to facilities in Iraq's autonomous Kurdistan Region, so an "
        "American military presence remains in Iraq."))
    question = ("In which governorate is the airbase CNN said the US had left, and where did the American troops "
                "relocate?")
    terse = "Al Anbar Governorate, to facilities in Iraq's autonomous Kurdistan Region. [1]"  # dev w040
    assert with_part_evidence(question_parts(question), terse, [kurdistan]) == (terse, [])
    said = "CENTCOM said the aim was to keep them secure [1]. Facilities under Iraqi control will hold them [1]."
    assert with_part_evidence(question_parts(WHY_AND_WHO), said, [TRANSFER]) == (said, [])
    agree = question_parts("How many fighters were in the first group? Do reports agree?")
    first = Passage(id="f", article_id="f", text="Reports agree that 150 fighters were in the first group.")
    assert with_part_evidence(agree, "About 100 fighters [1].", [first]) == ("About 100 fighters [1].", [])


def test_a_part_no_passage_sentence_answers_is_left_open():
    answer = "CENTCOM said the aim was to keep the detainees secure [1]."
    unrelated = Passage(id="u", article_id="u", text="Syrian government forces took much of eastern Syria.")
    assert with_part_evidence(question_parts(WHY_AND_WHO), answer, [unrelated]) == (answer, [])


@pytest.fixture(scope="module")
def detainee_store(tmp_path_factory, embeddings):
    settings = Settings(data_dir=tmp_path_factory.mktemp("multipart"), llm_backend="fake")
    store = Store(settings, embeddings)
    ingest([str(sample_corpus_dir() / "2026-01-21-centcom-begins-moving-is-detainees-to-iraq.md"),
            str(sample_corpus_dir() / "2026-01-21-syrian-government-forces-push-back-sdf.md")], settings, store=store)
    return settings, store


def test_an_answer_to_one_part_is_kept_and_the_other_part_said_missing(detainee_store):
    settings, store = detainee_store
    llm = GenericFakeChatModel(messages=iter([AIMessage(
        "The first group had 150 Islamic State fighters [1]. The passages do not say which city they came from.")]))
    answer = AnswerChain(settings, Retriever(store, settings), llm).invoke({"question": QUESTION})
    assert not answer.abstained and answer.citations
    assert answer.answer.startswith("The first group had 150 Islamic State fighters")
    assert answer.answer.endswith(missing_note(["from which city were they moved?"]))
    assert any("Hasakah" in p.text for p in answer.passages)  # the evidence was there: the model missed it
