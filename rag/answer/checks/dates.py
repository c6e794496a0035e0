"""Answers about time worked out from the dates they cite: a span, an order."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import replace

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome
from rag.answer.question import QuestionInfo
from rag.dates import MENTIONED_DATE, span_between, stated_dates
from rag.order import worked_out_order
from rag.questions import DURATION_PHRASE
from rag.text import split_sentences, strip_markers
from rag.types import Citation


def worked_out_span(answer: str, citations: Sequence[Citation]) -> str:
    """ "How long after …?" answered with the two dates and no span: the span, worked out. Answered with a span
    and not the dates it rests on ("It took 5 days [1]"): the cited passage's sentence that states two dates,
    the one sharing most words with the answer, since the span itself is in no passage and the reader checks it
    against them ("" otherwise)."""
    plain = strip_markers(answer)
    if not DURATION_PHRASE.search(plain):
        span = span_between(stated_dates(plain))
        return f"The dates above are {span} apart." if span else ""
    if len(MENTIONED_DATE.findall(plain)) >= 2:
        return ""
    said = _words(plain)
    dated = [(len(_words(sentence) & said), -i, sentence.strip(), c.n) for i, c in enumerate(citations)
             for sentence in split_sentences(c.text) if len(MENTIONED_DATE.findall(sentence)) >= 2]
    if not dated:
        return ""
    _, _, sentence, n = max(dated)
    return f"{sentence} [{n}]"


def _words(text: str) -> set[str]:
    return {w.lower() for w in re.findall(r"[A-Za-z]{4,}", text)}


class WorkedOutSpan(BaseCheck):
    """A "how long" answer whose span a reader cannot check, or whose dates leave the span to the reader.

    "How long did the trial last?" answered "from March 4 to April 1, 2025": "The dates above are 4 weeks apart."
    is added; answered "It lasted 28 days [2]", the cited sentence stating both dates is added.
    """

    name = "worked_out_span"
    stage = "annotate"

    def applies(self, q: QuestionInfo) -> bool:
        return q.duration

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        span = worked_out_span(draft.text, draft.citations)
        if not span:
            return Outcome("keep", draft)
        return Outcome("annotate", replace(draft, after=span), "the span or the dates it rests on added")


class WorkedOutOrder(BaseCheck):
    """A before-or-after question answered with two dates and no verdict (or a wrong one).

    "Did the merger close before or after the CEO resigned?" answered with both dates: "By the dates given,
    after: …" is put first.
    """

    name = "worked_out_order"
    stage = "annotate"

    def applies(self, q: QuestionInfo) -> bool:
        return q.kind == "which-first"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        order = worked_out_order(ctx.standalone, draft.text)
        if not order:
            return Outcome("keep", draft)
        return Outcome("annotate", replace(draft, lead=order), "the order the cited dates imply put first")
