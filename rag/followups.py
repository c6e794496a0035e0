"""A follow-up's rewrite into a standalone question, kept only when it asks what the follow-up asked."""

from __future__ import annotations

import re

from rag.answer.lexicon import QUESTION_WORDS, TITLES
from rag.dates import MONTH_NAME
from rag.outlets import names

# a name the user typed: a capitalised word after the first, or an acronym anywhere ("What happened to the SDF?")
_TYPED_NAME = re.compile(r"(?<=\s)[A-Z][\w'-]*|\b[A-Z]{2,}\b")


def rewrite_keeps_names(question: str, rewrite: str) -> bool:
    """The follow-up's rewrite still names everything the follow-up names. "What happened to the SDF?" after a turn
    about the government forces that pushed the SDF back was rewritten as a question about those forces: a
    question that names its subject needs no other."""
    return all(names(rewrite, name) for name in _TYPED_NAME.findall(question) if name not in QUESTION_WORDS | TITLES)


_THAT_YEAR = re.compile(r"\b(?:that|the same) year\b", re.IGNORECASE)
_MONTH_OF_YEAR = re.compile(rf"{MONTH_NAME.pattern}\s+(?:\d{{1,2}},?\s+)?(?=(?:19|20)\d\d\b)")


def widened_to_year(follow_up: str, rewrite: str) -> str:
    """The rewrite with no month before a year when the follow-up asks about "that year" and names no month:
    "at the end of that year" after a turn about November 2025 is not "at the end of November 2025"."""
    if not _THAT_YEAR.search(follow_up) or MONTH_NAME.search(follow_up):
        return rewrite
    return _MONTH_OF_YEAR.sub("", rewrite)
