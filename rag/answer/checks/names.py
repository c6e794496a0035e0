"""Names the question uses that the passages never mention: the passages are about something else."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome
from rag.answer.question import QuestionInfo
from rag.dates import anchor_dates, published_label
from rag.questions import unmentioned_names
from rag.types import Citation, Passage


def names_text(passage: Passage) -> str:
    """What a passage names: its title, outlet, text (relative dates resolved) and publication date as a reader
    names it ("January 23, 2026" names January 2026; its ISO form 2026-01-23 does not)."""
    published = published_label(passage.date)
    return f"{passage.title} {passage.outlet} {anchor_dates(passage.text, passage.date)} {published}"


def cited_passages(citations: tuple[Citation, ...], shown: list[Passage] | tuple[Passage, ...]) -> list[Passage]:
    return [shown[c.n - 1] for c in citations]


class UnmentionedNames(BaseCheck):
    """A question about something none of the shown passages names: the passages are about something else.

    "Who won the 2023 Tour de France?" over passages that never name France or 2023 is off their topic however
    close they score; the answer is declined, with no reports.
    """

    name = "unmentioned_names"
    stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return bool(q.names)

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        missing = unmentioned_names(ctx.standalone, [names_text(p) for p in ctx.shown])
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
        if not draft.citations or not unmentioned_names(ctx.standalone, [names_text(p) for p in cited]):
            return Outcome("keep", draft)
        return Outcome("drop_citations", replace(draft, citations=()), "the cited passages never name what was asked")
