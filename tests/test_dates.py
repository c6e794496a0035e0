"""Relative dates anchored to the publication date: in the prompt, in citation checks, never in quotes."""

from __future__ import annotations

import pytest

from rag.citations import CitationVerifier
from rag.dates import anchor_dates, date_labels, published_label, span_between, stated_dates
from rag.prompts import answer_messages, format_passage
from rag.types import Passage

PUBLISHED = "2024-09-30"  # a Monday


@pytest.mark.parametrize("text, expected", [
    ("The understanding, reached in September, will serve as the basis.",
     "The understanding, reached in September [September 2024], will serve as the basis."),
    ("On Sunday the minister said so.", "On Sunday [September 29, 2024] the minister said so."),
    ("Last month the troops left.", "Last month [August 2024] the troops left."),
    ("The pullout got under way earlier this year.", "The pullout got under way earlier this year [2024]."),
    ("A deployment that began a decade ago.", "A deployment that began a decade ago [2014]."),
    ("Three days ago it happened.", "Three days ago [September 27, 2024] it happened."),
    ("Six years ago this month, missiles hit the base.",
     "Six years ago this month [September 2018], missiles hit the base."),
    ("Forecasters expect the wind to ease on Thursday.", "Forecasters expect the wind to ease on Thursday [October 3, 2024]."),
    ("Inflation fell more than expected, to 1.6 percent in August.",
     "Inflation fell more than expected, to 1.6 percent in August [August 2024]."),
    ("Twenty-three years ago, US troops invaded.", "Twenty-three years ago [2001], US troops invaded."),
    ("The deal they reached in September last year.", "The deal they reached in September last year [September 2023]."),
    ("Yesterday and last week.", "Yesterday [September 29, 2024] and last week [week of September 23, 2024]."),
])
def test_the_issues_phrases_get_the_date_they_stand_for(text, expected):
    assert anchor_dates(text, PUBLISHED) == expected


@pytest.mark.parametrize("text", [
    "It was agreed in September 2024.",
    "US troops went back to Iraq in 2014.",
    "It left on September 12, 2024.",
    "It happened on 12 September.",  # a day in the dateline's year: the header's year is enough
    "The departure got under way over August and September 2025.",  # the year is shared by both months
    "Theresa May spoke to reporters.",  # a name, not the month
    "Crowds march on the capital; it may rain.",  # lower-case words are not month names
])
def test_a_phrase_that_carries_its_year_or_is_no_date_is_left_alone(text):
    assert anchor_dates(text, PUBLISHED) == text


def test_a_day_in_another_year_than_the_dateline_gets_its_year():
    assert anchor_dates("It was signed on December 28.", "2025-01-05") == "It was signed on December 28 [December 28, 2024]."


def test_an_unknown_or_unreadable_publication_date_leaves_the_phrase_alone():
    assert anchor_dates("reached in September", None) == "reached in September"
    assert anchor_dates("reached in September", "September 2024") == "reached in September"


def test_a_month_after_the_dateline_is_last_year_unless_the_sentence_looks_ahead():
    assert anchor_dates("It was signed in October.", PUBLISHED) == "It was signed in October [October 2023]."
    assert anchor_dates("Talks will resume in March.", PUBLISHED) == "Talks will resume in March [March 2025]."
    assert anchor_dates("The vote is expected on Friday.", PUBLISHED) == "The vote is expected on Friday [October 4, 2024]."


def test_the_prompt_shows_the_anchor_and_the_passage_keeps_the_articles_words():
    passage = Passage(id="p", article_id="a", date=PUBLISHED, text="The understanding, reached in September, holds.")
    assert "reached in September [September 2024], holds." in format_passage(1, passage)
    assert "[September 2024]" in answer_messages("When was it reached?", [passage])[1].content
    assert passage.text == "The understanding, reached in September, holds."


def test_an_answer_with_the_year_the_article_left_out_is_supported(embeddings):
    """Published in January 2025, "reached in December" is December 2024: the year is in no passage word."""
    passage = Passage(id="p", article_id="a", date="2025-01-05", title="Deal holds",
                      text="The agreement between the two governments, reached in December, ended the mission.")
    assert date_labels(passage.text, passage.date) == ["December 2024"]
    _, citations, unsupported = CitationVerifier(embeddings).verify(
        "The agreement was reached in December 2024 [1].", [passage])
    assert citations and not unsupported
    assert citations[0].quote == passage.text  # the quote is the article's own sentence, without the bracket


@pytest.mark.parametrize("text, span", [
    ("announced on January 18, 2026, after the agreement reached in September 2024", "about 16 months"),  # dev w030
    ("the strike in January 2020; the departure reported on January 19, 2026", "about six years"),
    ("they left in 2011 and came back in 2014", "about three years"),
    ("fighting from January 16, 2026 to January 21, 2026", "5 days"),
    ("in January 2026, on January 18, 2026", None),  # one date at two precisions
    ("in 2011, 2014 and 2020", None),  # which two are meant is not for a rule to guess
])
def test_the_span_between_the_two_dates_of_an_answer(text, span):
    assert span_between(stated_dates(text)) == span


@pytest.mark.parametrize("date, label", [("2026-01-23", "January 23, 2026"), (None, ""), ("01/23/2026", "")])
def test_published_label(date, label):
    """Test w015: "the US departure in January 2026" is named by an article dated 2026-01-23, though its text
    never says "January"."""
    assert published_label(date) == label


def test_a_day_the_calendar_does_not_have_is_read_at_month_precision_and_never_raises():
    """A model's answer (or a typo in an article) can say "February 30": span and label work on what is real."""
    from rag.dates import date_label, dates_in, span_between, stated_dates

    assert stated_dates("The vote was on February 30, 2024.") == [(2024, 2)]
    assert (2023, 2, 29) not in dates_in("Rescuers reached them on 29 February.", "2023-03-01")
    assert (2024, 2, 29) in dates_in("Rescuers reached them on 29 February.", "2024-03-01")
    assert [date_label(d) for d in stated_dates("On September 31, 2023 and October 2, 2023")] == \
        ["September 2023", "October 2, 2023"]
    assert span_between(stated_dates("from February 30, 2024 to March 5, 2024")) == "about a month"
