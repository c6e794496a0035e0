"""Repairs of the model's own text before it is verified."""

from __future__ import annotations

from dataclasses import replace

from rag.answer.checks.base import BaseCheck, rewritten
from rag.answer.draft import CheckContext, Draft, Outcome, is_decline
from rag.answer.question import QuestionInfo
from rag.claims import no_for_another_value
from rag.faq import opens_with, passage_answer, says_only_the_verdict
from rag.text import without_unfinished_end
from rag.tokens import count_tokens

# An answer this near llm_max_tokens (in cl100k tokens) without a final stop was cut off: on the eval runs cut
# answers counted 147-160 tokens of 160 and finished ones at most 124
CUT_OFF_SHARE = 0.85


class CutOffEnd(BaseCheck):
    """An answer the token limit cut off mid-sentence.

    "The storm made landfall near Galveston on Tuesday and the" at the limit: the unfinished tail is dropped (or
    marked), so no half-claim is verified or shown.
    """

    name = "cut_off_end"
    stage = "repair"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        if count_tokens(draft.text) < CUT_OFF_SHARE * ctx.settings.llm_max_tokens:
            return Outcome("keep", draft)
        return rewritten(draft, replace(draft, text=without_unfinished_end(draft.text)), "cut off at the token limit")


class PassageVerdict(BaseCheck):
    """A passage that asks this very yes/no question and answers it, against a model that did not say so.

    An explainer's "Will the stadium reopen this season? No: repairs run into next year." over a model answer
    that declines, opens with the other verdict, or gives only "Yes.": the passage's verdict is the answer.
    """

    name = "passage_verdict"
    stage = "repair"

    def applies(self, q: QuestionInfo) -> bool:
        return q.single

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        own = passage_answer(ctx.standalone, ctx.shown, ctx.embeddings)
        raw = draft.text
        if own and (is_decline(raw) or not opens_with(raw, own.verdict) or says_only_the_verdict(raw)):
            return rewritten(draft, replace(draft, text=own.text), "a shown passage answers this yes/no question")
        return Outcome("keep", draft)


class YesToAnotherValue(BaseCheck):
    """A "Yes" to a question whose asked value the answer itself contradicts.

    "Did the company report its results in October?" "Yes, it reported them in August": the answer gives another
    value than the one asked, so its verdict is No before any check reads its "Yes".
    """

    name = "yes_to_another_value"
    stage = "repair"

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        return rewritten(draft, replace(draft, text=no_for_another_value(ctx.standalone, draft.text)),
                         "the answer gives another value than the one the question asks about")
