"""The eval metrics on hand-made answers: each one scores right answers up and wrong ones down."""

from __future__ import annotations

import pytest

from evals.metrics import (
    abstention_outcome,
    abstention_scores,
    answer_correct,
    citation_precision,
    citation_recall,
    citation_recall_verified,
    contains_evidence,
    is_answerable,
    malformed_reason,
    normalize,
    percentile,
    reciprocal_rank,
    retrieval_hit,
    retrieval_recall,
    score_item,
    span_overlaps,
    summarize,
)
from rag.types import Answer, Citation, Passage

CENTCOM = "/corpus/2026-01-21-centcom-begins-moving-is-detainees-to-iraq.md"
SDF = "/corpus/2026-01-21-syrian-government-forces-push-back-sdf.md"
CENTCOM_TEXT = (
    "The US military said on Wednesday it had begun moving Islamic State detainees from Syria to Iraq. "
    "The operation began with 150 Islamic State fighters who were brought out of a detention site in Hasakah, Syria. "
    "Officials said as many as 7,000 detainees could eventually be transferred."
)
SDF_TEXT = "Syrian government troops also took over several large camps and prisons in the northeast."

ITEM = {
    "id": "q01",
    "question": "How many Islamic State fighters were in the first group CENTCOM moved to Iraq?",
    "answer": "150 fighters.",
    "must_include": [["150"]],
    "evidence": [{"article": "2026-01-21-centcom-begins-moving-is-detainees-to-iraq.md",
                  "span": "The operation began with 150 Islamic State fighters"}],
    "category": "single_fact",
    "history": [],
}
MULTI = {
    **ITEM,
    "id": "q16",
    "must_include": [["150"], ["government"]],
    "evidence": [ITEM["evidence"][0],
                 {"article": "2026-01-21-syrian-government-forces-push-back-sdf.md",
                  "span": "government troops also took over several large camps"}],
    "category": "multi_article",
}
UNANSWERABLE = {"id": "q44", "question": "How many US troops remain in the Kurdistan Region?",
                "answer": "", "must_include": [], "evidence": [], "category": "unanswerable_on_topic", "history": []}
NEGATION = {**ITEM, "id": "n01", "category": "negation",
            "question": "Does Iraq still consider the Islamic State group a strategic threat?",
            "must_include": [["no longer", "not a strategic threat"]],
            "must_not": ["yes,", "still considers", "still a strategic threat"]}


def passage(pid: str, source: str, text: str) -> Passage:
    return Passage(id=pid, article_id=pid.split("-")[0], text=text, source=source)


def citation(n: int, p: Passage, quote: str = "") -> Citation:
    return Citation(n=n, passage_id=p.id, text=p.text, quote=quote or p.text)


EVIDENCE_PASSAGE = passage("a-0001", CENTCOM, CENTCOM_TEXT)
SDF_PASSAGE = passage("b-0000", SDF, SDF_TEXT)
OTHER_PASSAGE = passage("c-0000", "/corpus/2024-09-30-us-iraq-agree-to-end-coalition-mission.md",
                        "The United States and Iraq agreed to end the coalition's military mission.")


def answer(text: str, citations: list[Citation] = (), passages: list[Passage] = (), abstained: bool = False,
           timings: dict | None = None, raw: str | None = None) -> Answer:
    """An answer as the chain returns it; the model's own text is the shown text unless `raw` says otherwise."""
    return Answer(question="q", answer=text, raw_answer=text if raw is None else raw, citations=list(citations),
                  passages=list(passages), abstained=abstained, timings=timings or {})


ABSTAIN = answer("The articles do not answer this question.", abstained=True)


# --- normalize and correctness --------------------------------------------------------------------------------


def test_normalize_unifies_formatting():
    assert normalize("  As many as 7,000\u00a0detainees\n") == "as many as 7000 detainees"
    assert normalize("1,250,000 people") == "1250000 people"
    assert normalize("January 21, 2026") == "january 21, 2026"  # a date's comma is not a thousands separator
    assert normalize("\u201cIraq\u2019s\u201d \u2013 base\u2014") == "\"iraq's\" - base-"


def test_right_answer_is_correct_and_wrong_answer_is_not():
    assert answer_correct(ITEM, answer("The first transfer moved 150 fighters [1].")) is True
    assert answer_correct(ITEM, answer("The first transfer moved 200 fighters [1].")) is False
    assert answer_correct(ITEM, answer("About 1500 fighters were moved [1].")) is False  # 150 is not in 1500


def test_number_formatting_does_not_decide_correctness():
    item = {**ITEM, "must_include": [["7,000", "7000", "seven thousand"]]}
    assert answer_correct(item, answer("As many as 7000 detainees could be moved [1].")) is True
    assert answer_correct({**item, "must_include": [["7000"]]}, answer("As many as 7,000 could be moved [1].")) is True


def test_every_group_must_match_and_markers_are_not_facts():
    assert answer_correct(MULTI, answer("150 fighters were moved [1].")) is False
    assert answer_correct(MULTI, answer("150 fighters were moved; the government took camps [1][2].")) is True
    assert answer_correct({**ITEM, "must_include": [["8"]]}, answer("They stayed a long time [8].")) is False


def test_abstention_is_never_correct_and_unanswerable_items_are_not_scored():
    assert answer_correct(ITEM, answer("150 fighters [1].", abstained=True)) is False
    assert answer_correct(UNANSWERABLE, ABSTAIN) is None


def test_must_not_makes_a_right_sounding_answer_wrong():
    assert answer_correct(NEGATION, answer("No: it no longer poses a strategic threat [1].")) is True
    assert answer_correct(NEGATION, answer("Yes, Iraq still considers it a threat, though no longer a strategic threat [1].")) is False
    assert answer_correct(NEGATION, answer("Baghdad still considers it a strategic threat [1].")) is False
    both = {**ITEM, "must_not": ["100"]}  # an early report's figure
    assert answer_correct(both, answer("The first transfer moved 150 fighters [1].")) is True
    assert answer_correct(both, answer("Reports said 100, then 150 fighters [1].")) is False
    assert answer_correct(both, answer("150 fighters of 1,000 held there [1].")) is True  # 100 is not in 1000


def test_unanswerable_categories_expect_an_abstention():
    for category in ("unanswerable", "unanswerable_on_topic", "unanswerable_off_topic"):
        assert not is_answerable({"category": category})
    for category in ("single_fact", "negation", "conflicting", "follow_up"):
        assert is_answerable({"category": category})


# --- retrieval -------------------------------------------------------------------------------------------------


def test_evidence_needs_the_right_article_and_the_span():
    evidence = ITEM["evidence"][0]
    assert contains_evidence(evidence, EVIDENCE_PASSAGE)
    assert not contains_evidence(evidence, passage("x-0000", "/elsewhere/other.md", CENTCOM_TEXT))
    assert not contains_evidence(evidence, passage("a-0002", CENTCOM, "Admiral Brad Cooper commands CENTCOM."))


def test_span_cut_by_a_chunk_boundary_still_counts():
    span = "The operation began with 150 Islamic State fighters who were brought out of a detention site"
    assert span_overlaps(span, "150 Islamic State fighters who were brought out of a detention site in Hasakah.")
    # 8 words at a chunk's end are enough, 6 are not
    assert span_overlaps(span, "Officials said the operation began with 150 Islamic State fighters")
    assert not span_overlaps(span, "Officials said the operation began with 150 Islamic")
    assert not span_overlaps(span, "Fighters were brought out of a site.")


def test_jsonl_evidence_matches_its_line_only():
    evidence = {"article": "wire-briefs.jsonl:1", "span": "according to the Iraqi news outlet Shafaq News"}
    text = "US forces left, according to the Iraqi news outlet Shafaq News."
    assert contains_evidence(evidence, passage("w-0000", "/corpus/wire-briefs.jsonl:1", text))
    assert not contains_evidence(evidence, passage("w-0000", "/corpus/wire-briefs.jsonl:2", text))


def test_retrieval_metrics_rank_the_evidence():
    ranked = [OTHER_PASSAGE, EVIDENCE_PASSAGE, SDF_PASSAGE]
    assert retrieval_hit(ITEM, ranked, k=2) is True
    assert retrieval_hit(ITEM, ranked, k=1) is False
    assert reciprocal_rank(ITEM, ranked) == pytest.approx(0.5)
    assert reciprocal_rank(ITEM, [OTHER_PASSAGE]) == 0.0
    assert retrieval_recall(MULTI, ranked, k=2) == pytest.approx(0.5)
    assert retrieval_recall(MULTI, ranked, k=3) == pytest.approx(1.0)
    assert reciprocal_rank(MULTI, [OTHER_PASSAGE, SDF_PASSAGE]) == pytest.approx(0.5)


def test_retrieval_is_not_scored_without_evidence():
    assert retrieval_hit(UNANSWERABLE, [OTHER_PASSAGE], k=4) is None
    assert retrieval_recall(UNANSWERABLE, [OTHER_PASSAGE], k=4) is None
    assert reciprocal_rank(UNANSWERABLE, [OTHER_PASSAGE]) is None


# --- citations -------------------------------------------------------------------------------------------------


def test_citation_of_the_evidence_is_precise():
    good = answer("The first transfer moved 150 fighters [1].", [citation(1, EVIDENCE_PASSAGE)], [EVIDENCE_PASSAGE])
    assert citation_precision(ITEM, good) == 1.0


def test_citation_whose_passage_lacks_the_evidence_counts_against_precision():
    mixed = answer(
        "The first transfer moved 150 fighters [1]. It moved 150 fighters from Hasakah [2].",
        [citation(1, EVIDENCE_PASSAGE), citation(2, OTHER_PASSAGE)],
        [EVIDENCE_PASSAGE, OTHER_PASSAGE],
    )
    assert citation_precision(ITEM, mixed) == pytest.approx(0.5)
    wrong = answer("The first transfer moved 150 fighters [1].", [citation(1, OTHER_PASSAGE)], [OTHER_PASSAGE])
    assert citation_precision(ITEM, wrong) == 0.0


def test_citation_of_another_place_the_evidence_lists_is_precise():
    brief = passage("w-0000", "/corpus/wire-briefs.jsonl:2", "CENTCOM said 150 Islamic State fighters were moved first.")
    item = {**ITEM, "evidence": [*ITEM["evidence"],
                                 {"article": "wire-briefs.jsonl:2", "span": "150 Islamic State fighters were moved first"}]}
    cited = answer("The first transfer moved 150 fighters [1].", [citation(1, brief)], [brief])
    assert citation_precision(item, cited) == 1.0
    assert citation_precision(ITEM, cited) == 0.0  # the same words where the evidence does not point do not count


def test_a_citation_that_merely_shares_the_sentences_words_is_not_precise():
    echo = passage("e-0000", "/corpus/other.md", "The first transfer moved 150 fighters.")
    parrot = answer("The first transfer moved 150 fighters [1].", [citation(1, echo)], [echo])
    assert citation_precision(ITEM, parrot) == 0.0


def test_every_citation_on_an_unanswerable_question_is_imprecise():
    invented = answer("About 2,500 US troops remain in the Kurdistan Region [1].",
                      [citation(1, OTHER_PASSAGE)], [OTHER_PASSAGE])
    assert citation_precision(UNANSWERABLE, invented) == 0.0


def test_citation_precision_is_none_without_citations():
    assert citation_precision(ITEM, answer("150 fighters.")) is None


def test_citation_recall_counts_the_models_own_valid_markers():
    shown = [EVIDENCE_PASSAGE, SDF_PASSAGE]
    assert citation_recall(answer("150 fighters were moved [1]. Government troops took camps [2].", passages=shown)) == 1.0
    assert citation_recall(answer("150 fighters were moved [1]. They came from Hasakah.", passages=shown)) == 0.5
    assert citation_recall(answer("150 fighters were moved [3].", passages=shown)) == 0.0  # only 2 passages
    assert citation_recall(answer("150 fighters were moved [1, 2].", passages=shown)) == 1.0
    assert citation_recall(answer("150 fighters were moved [1]. [2].", passages=shown)) == 1.0  # "[2]." is no sentence
    assert citation_recall(ABSTAIN) is None


def test_citation_recall_is_the_model_before_the_verifier_repaired_it():
    cited = [citation(1, EVIDENCE_PASSAGE)]
    repaired = answer("150 fighters were moved [1]. They came from Hasakah [1].", cited, [EVIDENCE_PASSAGE],
                      raw="150 fighters were moved [1]. They came from Hasakah.")
    assert citation_recall(repaired) == 0.5
    assert citation_recall_verified(repaired) == 1.0


def test_citation_recall_verified_counts_markers_that_resolve_to_citations():
    cited = [citation(1, EVIDENCE_PASSAGE)]
    assert citation_recall_verified(answer("150 fighters were moved [1]. They came from Hasakah.", cited)) == 0.5
    assert citation_recall_verified(answer("150 fighters were moved [3].", cited)) == 0.0  # [3] resolves to nothing
    assert citation_recall_verified(ABSTAIN) is None


# --- text quality ----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("text, reason", [
    (", as many as 7,000 detainees could be moved [1].", "starts with ','"),
    ("In, up to 7,000 detainees could be moved to Iraq [1].", "starts with 'In,'"),
    ("From, only a small number of advisers remained at the base [2].", "starts with 'From,'"),
    ("US forces left in 2011, eight years after the 2003 invasion from.", "ends on 'from'"),
    ("The base was handed to Iraqi forces in [1].", "ends on 'in'"),
    ("Up to 7,000 detainees could be moved [1]. [2].", "empty sentence"),
    ("Up to 7,000 detainees could be moved [1]. . [2]", "empty sentence"),
    ('The passage states: "As many as 7,000 detainees could eventually be transferred." [1]', "narrates"),
    ("According to passage 2, up to 7,000 detainees could be moved [2].", "narrates"),
    ("Based on the provided context, 150 fighters were moved first [1].", "narrates"),
    ("According to the first context, 150 Islamic State fighters were moved from Syria to Iraq.", "narrates"),
    ("As context piece 2 says, 150 fighters were moved first.", "narrates"),
    ('Yes, Iraqi troops can keep the country safe. [2] "', "punctuation only"),
])
def test_malformed_answers_are_flagged_with_the_reason(text, reason):
    assert reason in (malformed_reason(text) or "")


@pytest.mark.parametrize("text", [
    "Up to 7,000 detainees could be moved to Iraq [1].",
    "US forces left in 2011, eight years after the 2003 invasion [2].",
    "However, the base stayed open [1]. It closed in January 2026 [2][3].",
    "The first transfer moved 150 fighters from Hasakah, Syria [1].",
    "The coalition's military mission in federal Iraq is still going on. [3]",  # a particle, not a preposition
])
def test_clean_answers_are_not_malformed(text):
    assert malformed_reason(text) is None


# --- abstention ------------------------------------------------------------------------------------------------


def test_abstention_outcomes():
    assert abstention_outcome(ITEM, ABSTAIN) == "false_abstain"
    assert abstention_outcome(ITEM, answer("150 fighters [1].")) == "answered"
    assert abstention_outcome(UNANSWERABLE, ABSTAIN) == "true_abstain"
    assert abstention_outcome(UNANSWERABLE, answer("About 2,500 troops [1].")) == "missed_abstain"


def test_abstention_scores():
    scores = abstention_scores(["true_abstain", "true_abstain", "false_abstain", "missed_abstain", "answered", "error"])
    assert scores["precision"] == pytest.approx(2 / 3)
    assert scores["recall"] == pytest.approx(2 / 3)
    assert scores["accuracy"] == pytest.approx(3 / 6)  # the error is a wrong decision
    assert abstention_scores(["answered"]) == {"precision": None, "recall": None, "accuracy": 1.0}


# --- aggregates ------------------------------------------------------------------------------------------------


def test_percentile_interpolates():
    assert percentile([3.0, 1.0, 2.0, 4.0], 50) == pytest.approx(2.5)
    assert percentile([1.0, 2.0, 3.0, 4.0, 5.0], 95) == pytest.approx(4.8)
    assert percentile([7.0], 95) == 7.0
    assert percentile([], 50) is None


def test_summarize_a_tiny_run():
    right = answer("The first transfer moved 150 fighters [1].", [citation(1, EVIDENCE_PASSAGE)],
                   [EVIDENCE_PASSAGE], timings={"until_passages": 0.1, "until_first_token": 0.5, "total": 1.0})
    wrong = answer("The first transfer moved 250 fighters [1].", [citation(1, OTHER_PASSAGE)], [OTHER_PASSAGE],
                   timings={"until_passages": 0.3, "until_first_token": 0.7, "total": 2.0})
    abstain = ABSTAIN.model_copy(update={"passages": [OTHER_PASSAGE], "timings": {"until_passages": 0.2, "total": 0.2}})
    rows = [
        {"category": "single_fact", "scores": score_item(ITEM, right, k=4), "timings": right.timings, "error": None},
        {"category": "single_fact", "scores": score_item(ITEM, wrong, k=4), "timings": wrong.timings, "error": None},
        {"category": "unanswerable_on_topic", "scores": score_item(UNANSWERABLE, abstain, k=4),
         "timings": abstain.timings, "error": None},
    ]
    summary = summarize(rows)
    overall = summary["overall"]
    assert overall["n"] == 3 and overall["errors"] == 0
    assert overall["answer_correctness"] == pytest.approx(0.5)
    assert overall["citation_precision"] == pytest.approx(0.5)
    assert overall["citation_recall"] == pytest.approx(1.0)
    assert overall["citation_recall_verified"] == pytest.approx(1.0)
    assert overall["malformed_rate"] == pytest.approx(0.0)  # over the two answers; the abstention is left out
    assert overall["hit_at_k"] == pytest.approx(0.5)
    assert overall["mrr"] == pytest.approx(0.5)
    assert overall["abstention_precision"] == 1.0
    assert overall["abstention_recall"] == 1.0
    assert overall["abstention_accuracy"] == 1.0
    assert overall["until_passages_p50"] == pytest.approx(0.2)
    assert overall["until_first_token_p50"] == pytest.approx(0.6)  # the abstention never produced a token
    assert overall["total_p95"] == pytest.approx(1.9)
    assert set(summary["by_category"]) == {"single_fact", "unanswerable_on_topic"}
    assert summary["by_category"]["unanswerable_on_topic"]["answer_correctness"] is None
    assert summary["by_category"]["single_fact"]["n"] == 2


def test_malformed_rate_is_over_answers_that_did_not_abstain():
    clean = answer("The first transfer moved 150 fighters [1].", [citation(1, EVIDENCE_PASSAGE)], [EVIDENCE_PASSAGE])
    broken = answer("In, 150 fighters were moved [1].", [citation(1, EVIDENCE_PASSAGE)], [EVIDENCE_PASSAGE])
    scores = [score_item(ITEM, a, k=4) for a in (clean, broken, ABSTAIN)]
    assert [s["malformed"] for s in scores] == [False, True, None]
    assert "In," in scores[1]["malformed_reason"]
    rows = [{"category": "single_fact", "scores": s, "timings": {}, "error": None} for s in scores]
    assert summarize(rows)["overall"]["malformed_rate"] == pytest.approx(0.5)
