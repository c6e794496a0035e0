"""Before or after, worked out from the dates an answer gives each event.

Asked "Did A happen before or after B?", the small model states both dates right and joins them with the wrong
word ("B in November 2025, which was followed by A in August 2025"). The dates are what the passages support;
the order they imply is arithmetic, so it is worked out here and said first.
"""

from __future__ import annotations

import re

from rag.dates import date_label, distinct_dates, stated_dates
from rag.multipart import content_words
from rag.text import split_sentences, strip_markers

_BEFORE_OR_AFTER = re.compile(
    r"^\W*(?:did|was|were|had|has|have|is|are|does|do)\s+(?P<first>.+?)\s+"
    r"(?:before\s+or\s+after|after\s+or\s+before)\s+(?P<second>[^?]+)",
    re.IGNORECASE,
)
# where one event's clause ends and the other's begins: "…in November 2025, which was followed by …"
_CLAUSE_BREAK = re.compile(
    r",(?!\s*\d{4})|[;:]|\b(?:and|but|while|whereas|then|which|followed|preceded|before|after)\b", re.IGNORECASE)
_PICKS = re.compile(r"\b(?P<word>before|after|earlier|later|prior)\b", re.IGNORECASE)
_SAYS_BEFORE = frozenset({"before", "earlier", "prior"})


def asks_order(question: str) -> bool:
    """ "Did X happen before or after Y?": the answer is the order of two events."""
    return bool(_BEFORE_OR_AFTER.match(question))


def worked_out_order(question: str, answer: str) -> str:
    """ "By the dates given, before: August 2025 is earlier than November 2025." for a before-or-after question
    whose answer dates each event once, in clauses telling them apart by the question's words, and does not
    already say that order alone; "" otherwise (no such question, an event undated or dated twice, the dates
    equal at their precision)."""
    asked = _BEFORE_OR_AFTER.search(question)
    if not asked:
        return ""
    first, second = content_words(asked.group("first")), content_words(asked.group("second"))
    first, second = first - second, second - first
    dates: dict[str, list[tuple[int, ...]]] = {"first": [], "second": []}
    for sentence in split_sentences(strip_markers(answer)):
        event = None  # a clause naming neither event ("… in August 2025 and in October") is the last one's
        for clause in _CLAUSE_BREAK.split(sentence):
            words = content_words(clause)
            mine, theirs = len(words & first), len(words & second)
            if mine != theirs:
                event = "first" if mine > theirs else "second"
            elif mine:
                event = None
            if event:
                dates[event].extend(stated_dates(clause))
    first_dates, second_dates = distinct_dates(dates["first"]), distinct_dates(dates["second"])
    if len(first_dates) != 1 or len(second_dates) != 1:
        return ""
    first_date, second_date = first_dates[0], second_dates[0]
    precision = min(len(first_date), len(second_date))
    if first_date[:precision] == second_date[:precision]:
        return ""
    before = first_date < second_date
    picked = {m.group("word").lower() in _SAYS_BEFORE for m in _PICKS.finditer(strip_markers(answer))}
    if picked == {before}:
        return ""  # the model said it, and only it
    word, comparison = ("before", "earlier") if before else ("after", "later")
    return (f"By the dates given, {word}: {date_label(first_date)} is {comparison} than "
            f"{date_label(second_date)}.")
