"""Declines: the model's own, and an answer nothing backs."""

from __future__ import annotations

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome, is_decline


class ModelDeclined(BaseCheck):
    """The model declined (or left every part of the question open).

    "The passages do not say what the interest rate decision was": declined; the runner still lets the reports
    speak if they say something of the very thing asked.
    """

    name = "model_declined"
    stage = "gate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        if is_decline(draft.text):
            return Outcome("decline", draft, "the model declined")
        if len(draft.missing) == len(ctx.info.parts):
            return Outcome("decline", draft, "no part of the question is answered")
        return Outcome("keep", draft)


class Unbacked(BaseCheck):
    """An answer no passage backs, passed off as an answer.

    "The match was postponed to Sunday" with no citation left after verification and the gates: declined, the
    unsupported sentences listed.
    """

    name = "unbacked"
    stage = "gate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        if draft.citations:
            return Outcome("keep", draft)
        return Outcome("decline", draft, "nothing in the answer is backed by a passage")
