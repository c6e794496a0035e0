"""Questions with several parts: a part left open is said, not the whole answer declined."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.checks.base import BaseCheck, rewritten
from rag.answer.draft import CheckContext, Draft, Outcome, is_decline
from rag.multipart import missing_note, open_parts, with_part_evidence


class OpenParts(BaseCheck):
    """One part of a multi-part question declined, and the whole answer lost with it.

    "How many runs did he score, and in which city was the match?" answered "He scored 112. The passages do not
    say where.": the decline sentence goes and the city is listed as open, so the score still stands.
    """

    name = "open_parts"
    stage = "repair"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        text, missing = open_parts(ctx.info.parts, draft.text, is_decline)
        after = replace(draft, text=text, missing=tuple(missing))
        return rewritten(draft, after, f"parts left open: {'; '.join(missing)}" if missing else "a part's decline cut")


class PartEvidence(BaseCheck):
    """The last part of a multi-part question dropped by the model while a passage sentence answers it.

    "Why was the flight cancelled, and when will it run again?" answered on the why alone: the passage sentence
    "Service resumes on Monday" answers the rest, with its citation.
    """

    name = "part_evidence"
    stage = "repair"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        text, answered = with_part_evidence(ctx.info.parts, draft.text, ctx.shown, draft.missing)
        after = replace(draft, text=text, missing=tuple(p for p in draft.missing if p not in answered))
        return rewritten(draft, after, "a passage sentence answers a part the model left out")


class OpenPartsNote(BaseCheck):
    """An answer that leaves a part open without saying so.

    "What did the court rule, and when is the appeal?" answered on the ruling only: a closing note names the
    appeal date as not found, so a reader does not take silence for an answer.
    """

    name = "open_parts_note"
    stage = "annotate"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        note = missing_note(list(draft.missing))
        if not note:
            return Outcome("keep", draft)
        return Outcome("annotate", replace(draft, open_note=note), "says which parts the passages leave open")
