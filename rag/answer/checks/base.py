"""What every check shares: a name, a stage, and (unless it says otherwise) applying to every question."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.draft import CheckContext, Draft, Outcome, Stage
from rag.answer.question import QuestionInfo


class BaseCheck:
    name: str = ""
    stage: Stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return True

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:  # pragma: no cover - every check overrides it
        raise NotImplementedError


class SingleQuestionGate(BaseCheck):
    """A gate on what one question asks: it reads a single question only, and drops the citations of an answer
    that `holds` says misses the point (then the answer is declined as unbacked)."""

    stage: Stage = "gate"
    reason = ""

    def applies(self, q: QuestionInfo) -> bool:
        return q.single

    def holds(self, draft: Draft, ctx: CheckContext) -> bool:  # pragma: no cover - every gate overrides it
        raise NotImplementedError

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        if not draft.citations or self.holds(draft, ctx):
            return Outcome("keep", draft)
        return Outcome("drop_citations", replace(draft, citations=()), self.reason)


def rewritten(before: Draft, after: Draft, reason: str) -> Outcome:
    """A rewrite when the text changed, else keep."""
    return Outcome("rewrite", after, reason) if after != before else Outcome("keep", before)
