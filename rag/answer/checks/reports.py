"""What the reports say beside (or instead of) the model's answer: where they disagree, what they say is untold."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome
from rag.claims import not_told
from rag.conflicts import with_conflict_note


class ConflictNote(BaseCheck):
    """One figure given where the reports give several.

    "How many people were evacuated?" answered "about 12,000 [1]" while another outlet says 20,000: "Reports
    differ: 12,000 (…) [1] and 20,000 (…) [3]." is added with a citation for each.
    """

    name = "conflict_note"
    stage = "annotate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        text, citations = with_conflict_note(ctx.standalone, draft.rendered, list(draft.citations), ctx.reports,
                                             ctx.embeddings)
        if text == draft.rendered and tuple(citations) == draft.citations:
            return Outcome("keep", draft)
        after = replace(draft, text=text, citations=tuple(citations), lead="", after="", open_note="")
        return Outcome("annotate", after, "the reports give different figures")


class ReportsOnDecline(BaseCheck):
    """Silence where the reports, each cited, answer better than a decline.

    "How many homes were destroyed?" declined, or answered "many", while one report says 300 and another 450:
    the reports' figures are the answer.
    """

    name = "reports_on_decline"
    stage = "annotate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        text, citations = with_conflict_note(ctx.standalone, "", [], ctx.every_report, ctx.embeddings)
        if not citations:
            return Outcome("keep", draft)
        return Outcome("annotate", replace(draft, text=text.strip(), citations=tuple(citations)),
                       "the reports give different figures for what was asked")


class NotTold(BaseCheck):
    """Silence where a report says the asked thing was not disclosed.

    "Where will the trial be held?" declined while a report says "the court did not say where the trial would be
    held": that sentence, cited, is what the articles say.
    """

    name = "not_told"
    stage = "annotate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        reports = ctx.every_report
        untold = not_told(ctx.standalone, [p.text for p in reports])
        if not untold:
            return Outcome("keep", draft)
        text, citations, _ = ctx.verifier.verify(f"{untold[1]} [{untold[0] + 1}]", reports, ctx.standalone)
        if not citations:
            return Outcome("keep", draft)
        return Outcome("annotate", replace(draft, text=text.strip(), citations=tuple(citations)),
                       "a report says the asked thing was not disclosed")
