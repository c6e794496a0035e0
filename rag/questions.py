"""What kind of answer a question asks for (a number, a time), and whether a text offers one.

Small models often answer a nearby question ("US troops moved to Kurdistan" for "how many troops"), and
the sentence that carries a date is often not the one that sounds most like the question.
"""

from __future__ import annotations

import re

_ASKS_NUMBER = re.compile(r"^\W*(?:and\s+)?how (?:many|much)\b", re.IGNORECASE)
_ASKS_TIME = re.compile(
    r"^\W*(?:and\s+)?(?:when|what (?:year|date|day|month)|in (?:what|which) (?:year|month))\b", re.IGNORECASE
)
_NUMBER = re.compile(
    r"\d|\b(?:one|two|three|four|five|six|seven|eight|nine|ten|eleven|twelve|dozens?|hundreds?|thousands?)\b",
    re.IGNORECASE,
)
# capitalised month and day names only: "Markets", "decision" and "may be" are not dates
_DATE = re.compile(
    r"\b(?:1[89]|20)\d\d\b|\b(?:January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sept?|Oct|Nov|Dec)\b|\b(?:Mon|Tues|Wednes|Thurs|Fri|Satur|Sun)day\b"
)
_RELATIVE_TIME = re.compile(r"\b(?:yesterday|today|earlier|later|before|after|since|ago)\b", re.IGNORECASE)
_MARKER = re.compile(r"\[\d+\]")


def answers_the_question(question: str, answer: str) -> bool:
    """A "how many" answer needs a number and a "when" answer a time ("a day after the handover" counts)."""
    answer = _MARKER.sub("", answer)
    if _ASKS_NUMBER.search(question) and not _NUMBER.search(answer):
        return False
    if _ASKS_TIME.search(question) and not (_DATE.search(answer) or _RELATIVE_TIME.search(answer)):
        return False
    return True


def offers_what_is_asked(question: str, text: str) -> bool:
    """The text holds a number for a "how many" question or a date for a "when" question."""
    if _ASKS_NUMBER.search(question):
        return bool(_NUMBER.search(text))
    if _ASKS_TIME.search(question):
        return bool(_DATE.search(text))
    return False
