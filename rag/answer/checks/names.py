"""Names the question uses that the passages never mention: the passages are about something else."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome
from rag.answer.lexicon import BOUND_WORDS, CAPITALS, DEMONYMS, MONTHS
from rag.answer.question import QuestionInfo
from rag.dates import anchor_dates, published_label
from rag.questions import unmentioned_names
from rag.types import Citation, Passage


def names_text(passage: Passage) -> str:
    """What a passage names: its title, outlet, text (relative dates resolved) and publication date as a reader
    names it ("January 23, 2026" names January 2026; its ISO form 2026-01-23 does not)."""
    published = published_label(passage.date)
    return f"{passage.title} {passage.outlet} {anchor_dates(passage.text, passage.date)} {published}"


_BOUND = re.compile(rf"\b{BOUND_WORDS}\s+(?:the\s+)?(?:(?:end|start|middle) of\s+|early\s+|late\s+|mid-?)?"
                    rf"(?P<name>(?:{'|'.join(MONTHS)})(?:\s+\d{{1,2}})?(?:,?\s+(?:19|20)\d\d)?|(?:19|20)\d\d)\b")
_WORD = re.compile(r"[a-z0-9]+")


def unmatched_names(question: str, texts: Sequence[str]) -> list[str]:
    """The question's names none of the texts mentions and nothing in them stands for: a capital stands for its
    government ("Washington" for "the US government"), a people's name for its country and back ("French" for
    France), a short name for its long form ("the Fed"); and a date the question only compares with ("signed
    before October?") is a bound, not what it asks about."""
    missing = unmentioned_names(question, texts)
    if not missing:
        return []
    bounds = {word for m in _BOUND.finditer(question) for word in m.group("name").replace(",", " ").split()}
    words = set(_WORD.findall(" ".join(texts).lower()))
    if re.search(r"(?<!\w)US(?!\w)", " ".join(texts)):
        words |= {"united", "states"}
    return [name for name in missing if name not in bounds and not _stood_for(name.split("'")[0].lower(), words)]


def _stood_for(name: str, words: set[str]) -> bool:
    countries = [CAPITALS[name]] if name in CAPITALS else []
    countries += [country for stem, names in DEMONYMS.items() if name.startswith(stem) for country in names]
    stems = [stem for stem, names in DEMONYMS.items() if name in names or CAPITALS.get(name) in names]
    return (any(set(country.split()) <= words for country in countries)
            or any(word.startswith(stem) for stem in stems for word in words))


def cited_passages(citations: tuple[Citation, ...], shown: list[Passage] | tuple[Passage, ...]) -> list[Passage]:
    return [shown[c.n - 1] for c in citations]


class UnmentionedNames(BaseCheck):
    """A question about something none of the shown passages names, nor anything standing for it: the passages are
    about something else.

    "Who won the 2023 Tour de France?" over passages that never name France or 2023 is off their topic however
    close they score; the answer is declined, with no reports. "What did Washington announce?" over "the US
    government announced", "What did the Fed decide?" over "the Federal Reserve", and "Was it signed before
    October?" over a passage saying August are not: a capital, a short name and a bound stand in for what the
    passages say.
    """

    name = "unmentioned_names"
    stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return bool(q.names)

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        missing = unmatched_names(ctx.standalone, [names_text(p) for p in ctx.shown])
        if not missing:
            return Outcome("keep", draft)
        return Outcome("decline", draft, f"no shown passage mentions {', '.join(missing)}", with_reports=False)


class CitedNamesAsked(BaseCheck):
    """An answer cited only to passages that never name what the question names.

    "When did the team move to the stadium at Riverside?" answered from passages about another ground, that
    never say Riverside: those citations do not back it.
    """

    name = "cited_names"
    stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return q.single and bool(q.names)

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        cited = cited_passages(draft.citations, list(ctx.shown))
        if not draft.citations or not unmatched_names(ctx.standalone, [names_text(p) for p in cited]):
            return Outcome("keep", draft)
        return Outcome("drop_citations", replace(draft, citations=()), "the cited passages never name what was asked")
