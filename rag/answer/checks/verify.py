"""Citation verification: every sentence checked against the passages shown (citations.CitationVerifier)."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.checks.base import BaseCheck
from rag.answer.draft import CheckContext, Draft, Outcome


class Citations(BaseCheck):
    """A sentence cited to a passage that does not hold it, or held by one it does not cite.

    "The Fed raised rates by half a point [2]" where [2] says a quarter point, or where [1] holds it: the marker
    moves to the passage that holds it, a reversed polarity or a lost qualifier ("about 150") is taken from the
    source, narration ("According to the passage …") is cut, and what nothing holds is listed as unsupported.
    The quote shown is a sentence of the cited passage stating every name, number and date the sentence does
    ("Jan. 18" in a 2026 report holds "January 18, 2026"; a photo credit holds nothing), and a span lying between
    two dates the passages state ("11 months") is not a number they lack (rag.quotes).
    """

    name = "citations"
    stage = "verify"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        text, citations, unsupported = ctx.verifier.verify(draft.text, list(ctx.shown), ctx.standalone)
        after = replace(draft, text=text, citations=tuple(citations), unsupported=tuple(unsupported), verified=True)
        changed = text != draft.text or unsupported
        reason = f"{len(unsupported)} sentence(s) no passage supports" if unsupported else "markers and wording checked"
        return Outcome("rewrite" if changed else "keep", after, reason)
