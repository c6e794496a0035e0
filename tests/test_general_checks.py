"""The answer pipeline on news it was not written for: sports, markets, science, courts, disasters, culture.

Each case is a right answer from another kind of news that a check once threw away or turned round, or a wrong one
the check must still catch. The pipeline runs for real (the verifier with the embedding model) over the passages
given here.
"""

from __future__ import annotations

import pytest

from rag.answer.draft import CheckContext
from rag.answer.pipeline import run_checks
from rag.answer.question import QuestionInfo
from rag.citations import CitationVerifier
from rag.config import Settings
from rag.types import Answer, Passage


def passage(n: int, text: str, title: str = "", outlet: str = "Wire", date: str = "2025-11-03") -> Passage:
    return Passage(id=f"p{n}-0000", article_id=f"p{n}", text=text, title=title, outlet=outlet, date=date,
                   similarity=0.6)


def checked(embeddings, question: str, raw: str, passages: list[Passage], **switches: bool) -> Answer:
    outlets = sorted({p.outlet for p in passages})
    ctx = CheckContext(question=question, standalone=question, info=QuestionInfo.parse(question, outlets),
                       shown=passages, passages=passages, further=(), verifier=CitationVerifier(embeddings),
                       outlets=outlets, settings=Settings(_env_file=None), switches=switches)
    return run_checks(raw, ctx)


DEAL = [passage(1, "The two companies signed the merger agreement in August, after months of talks. Regulators in "
                   "Brussels must still approve the deal.", "Chipmakers sign merger")]
FLOOD = [passage(1, "About 150 people died in the floods that swept the valley last week, the civil defence agency "
                    "said. Thousands were left homeless.", "Floods kill about 150")]
LAKERS = [passage(1, "LeBron James scored 38 points as the Lakers beat the Celtics 112-104 on Sunday night. Anthony "
                     "Davis added 20 points and 12 rebounds.", "Lakers beat Celtics")]
TABLE = [passage(1, "Arsenal top the Premier League table after a 2-0 win over Chelsea, two points clear of "
                    "Liverpool with ten games left.", "Arsenal go top")]
BASE = [passage(1, "The squadron moved from Spangdahlem to Ramstein Air Base in March, the air force said.",
                "Squadron relocates")]
FED = [passage(1, "The Federal Reserve held interest rates steady on Wednesday, keeping its benchmark rate between "
                  "4.25% and 4.5%.", "Fed holds rates")]
LOUVRE = [passage(1, "The Mona Lisa was moved from its old room in the Louvre in Paris to a new gallery, the museum "
                     "said.", "Mona Lisa gets a new room")]
MINISTRY = [passage(1, "The health ministry said 40 new cases of cholera were confirmed in the capital on Monday.",
                    "Cholera cases rise")]
WASHINGTON = [passage(1, "The US government announced new tariffs on imported steel on Tuesday, the Commerce "
                         "Department said.", "US announces steel tariffs")]


TOKYO = [passage(1, "Japan's government announced a 21 trillion yen stimulus package on Friday to ease rising prices.",
                 "Japan unveils stimulus", outlet="Markets Desk")]


@pytest.mark.parametrize("question, raw, passages", [
    ("What did Washington announce?", "The US government announced new tariffs on imported steel [1].", WASHINGTON),
    ("What did Tokyo announce?", "Japan's government announced a 21 trillion yen stimulus package [1].", TOKYO),
    ("What did the Fed decide?", "The Federal Reserve held interest rates steady [1].", FED),
])
def test_a_capital_or_a_short_name_for_what_the_passages_name_is_no_reason_to_decline(embeddings, question, raw,
                                                                                    passages):
    answer = checked(embeddings, question, raw, passages)
    assert not answer.abstained and answer.citations, (answer.answer, answer.trace)
    assert "unmentioned_names" not in [s.check for s in answer.trace]


def test_a_date_the_question_only_compares_with_is_no_name_the_passages_must_hold(embeddings):
    answer = checked(embeddings, "Was the deal signed before October?", "Yes, it was signed in August [1].", DEAL)
    assert "unmentioned_names" not in [s.check for s in answer.trace], answer.trace


@pytest.mark.parametrize("question, raw, passages", [
    ("Who won the 2023 Tour de France?", "LeBron James won it [1].", LAKERS),  # sports over another sport
    ("What did Paris announce about the merger?", "It approved the merger [1].", DEAL),  # no French word at all
    ("What did the Bank of England decide?", "It held interest rates steady [1].", FED),  # another central bank
])
def test_a_name_nothing_in_the_passages_stands_for_still_declines(embeddings, question, raw, passages):
    answer = checked(embeddings, question, raw, passages)
    assert answer.abstained and answer.trace[-1].check == "unmentioned_names", answer.trace
@pytest.mark.parametrize("question, raw, passages, opening", [
    ("Was the deal signed before October?", "Yes, the companies signed the merger agreement in August [1].", DEAL,
     "Yes"),
    ("Did more than 100 people die?", "Yes, about 150 people died [1].", FLOOD, "Yes"),
    ("Is the Mona Lisa still in Paris?", "Yes, the Mona Lisa is still in Paris [1].", LOUVRE, "Yes"),
])
def test_a_right_yes_stays_yes(embeddings, question, raw, passages, opening):
    answer = checked(embeddings, question, raw, passages)
    assert not answer.abstained and answer.answer.startswith(opening), (answer.answer, answer.trace)


@pytest.mark.parametrize("question, raw, passages", [
    ("Who led the scoring for the Lakers?", "LeBron James scored 38 points [1].", LAKERS),
    ("Who heads the Premier League table?", "Arsenal top the Premier League table [1].", TABLE),
    ("Which base did they move to?", "They moved to Ramstein Air Base [1].", BASE),
    ("What did the Fed decide?", "The Federal Reserve held interest rates steady [1].", FED),
    ("What did Washington announce?", "The US government announced new tariffs on imported steel [1].", WASHINGTON),
    ("What did health officials say?", "Health officials said 40 new cases of cholera were confirmed [1].", MINISTRY),
])
def test_a_right_answer_in_other_words_than_the_question_s_is_kept_with_its_citation(embeddings, question, raw,
                                                                                    passages):
    answer = checked(embeddings, question, raw, passages)
    assert not answer.abstained and answer.citations, (answer.answer, answer.trace)


def test_a_yes_to_a_value_the_answer_contradicts_is_still_a_no():
    from rag.claims import no_for_another_value

    # markets: a month asked, another given; disasters: an exact figure asked, another given
    assert no_for_another_value("Did the rally begin in October?", "Yes, it began in August [1].").startswith("No,")
    assert no_for_another_value("Did 100 people die?", "Yes, about 150 people died [1].").startswith("No,")
    assert no_for_another_value("Did more than 100 people die?", "Yes, about 150 people died [1].").startswith("Yes")


def test_a_move_to_a_named_place_still_denies_a_still_there(embeddings):
    moved = [passage(1, "The Mona Lisa was moved from the Louvre in Paris to a museum in Lyon for the summer, the "
                        "museum said.", "Mona Lisa travels")]
    answer = checked(embeddings, "Is the Mona Lisa still in Paris?", "Yes, the Mona Lisa is still in Paris [1].", moved)
    assert not answer.answer.startswith("Yes"), answer.answer


def test_who_heads_a_body_still_needs_a_word_of_leading(embeddings):
    body = [passage(1, "The Football Association fined the club 50,000 pounds on Tuesday for crowd trouble.",
                    "Club fined")]
    answer = checked(embeddings, "Who heads the Football Association?", "The Football Association fined the club "
                     "50,000 pounds [1].", body)
    assert answer.abstained and "asked_action" in [s.check for s in answer.trace], answer.trace


def test_a_speaker_the_passages_never_name_still_loses_its_citation(embeddings):
    answer = checked(embeddings, "What did the city council say?", "The city council said 40 new cases of cholera "
                     "were confirmed [1].", MINISTRY)
    assert not answer.citations, (answer.answer, answer.trace)


def test_a_name_s_head_is_the_asked_thing_only_when_it_is_that_thing(embeddings):
    answer = checked(embeddings, "Which hospital did they move to?", "They moved to Ramstein Air Base [1].", BASE)
    assert answer.abstained and "asked_thing" in [s.check for s in answer.trace], answer.trace
