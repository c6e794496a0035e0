"""The answer pipeline: every check after the model, in the order they run, and the one runner that applies them.

Read PIPELINE top to bottom to know what happens to a model's answer. Each check says what it did (an Outcome);
every action that is not "keep" is recorded in Answer.trace. A decline is handled here, once: the reports get to
speak first (ON_DECLINE: their differing figures, or their word that the asked thing was not disclosed), else
the answer is the abstention. Settings.answer_checks switches checks off by name (docs/checks.md lists them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from rag.answer.checks.asked import AskedAction, AskedOutlet, AskedPlace, AskedThing, FutureTime, SaidTopic
from rag.answer.checks.dates import WorkedOutOrder, WorkedOutSpan
from rag.answer.checks.declines import ModelDeclined, Unbacked
from rag.answer.checks.names import CitedNamesAsked, UnmentionedNames
from rag.answer.checks.parts import OpenParts, OpenPartsNote, PartEvidence
from rag.answer.checks.repair import CutOffEnd, PassageVerdict, YesToAnotherValue
from rag.answer.checks.reports import ConflictNote, NotTold, ReportsOnDecline
from rag.answer.checks.verify import Citations
from rag.answer.draft import Check, CheckContext, Draft, Outcome
from rag.errors import ConfigError
from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Citation, Passage, TraceStep

PIPELINE: list[Check] = [
    # repair the model's own text
    CutOffEnd(),
    PassageVerdict(),
    OpenParts(),
    PartEvidence(),
    # declines that need nothing verified (so a decline costs no embedding of the answer)
    UnmentionedNames(),
    ModelDeclined(),
    YesToAnotherValue(),
    # verify every sentence against the passages shown
    Citations(),
    # gates: a backed answer that misses what was asked loses its citations, and unbacked it is declined
    AskedThing(),
    AskedAction(),
    SaidTopic(),
    AskedPlace(),
    AskedOutlet(),
    CitedNamesAsked(),
    FutureTime(),
    Unbacked(),
    # annotate: what the answer's dates imply, the parts left open, where the reports disagree
    WorkedOutOrder(),
    WorkedOutSpan(),
    OpenPartsNote(),
    ConflictNote(),
]
ON_DECLINE: list[Check] = [ReportsOnDecline(), NotTold()]  # tried in turn when a check declines with reports
CHECK_NAMES = tuple(check.name for check in (*PIPELINE, *ON_DECLINE))


def switches(answer_checks: Mapping[str, bool]) -> dict[str, bool]:
    """The switches, each name checked against the pipeline's: a typo would silently measure nothing."""
    unknown = sorted(set(answer_checks) - set(CHECK_NAMES))
    if unknown:
        raise ConfigError(f"unknown answer check(s) in NEWSRAG_ANSWER_CHECKS: {', '.join(unknown)}; "
                          f"known: {', '.join(CHECK_NAMES)}")
    return dict(answer_checks)


def run_checks(raw: str, ctx: CheckContext) -> Answer:
    """The Answer the enabled checks make of the model's raw text, with every action recorded in its trace."""
    draft = Draft(text=raw)
    trace: list[TraceStep] = []
    for check in PIPELINE:
        outcome = _apply(check, draft, ctx, trace)
        if outcome.action == "decline":
            return _declined(outcome, ctx, trace)
        draft = outcome.draft
    citations = list(draft.citations)
    return Answer(question=ctx.question, standalone_question=ctx.standalone, answer=draft.rendered,
                  citations=citations, passages=listed(ctx.passages, ctx.reports, citations),
                  unsupported_sentences=list(draft.unsupported), trace=trace)


def _apply(check: Check, draft: Draft, ctx: CheckContext, trace: list[TraceStep]) -> Outcome:
    if not ctx.enabled(check.name) or not check.applies(ctx.info):
        return Outcome("keep", draft)
    outcome = check.run(draft, ctx)
    if outcome.action != "keep":
        trace.append(TraceStep(check=check.name, stage=check.stage, action=outcome.action, reason=outcome.reason))
    return outcome


def _declined(outcome: Outcome, ctx: CheckContext, trace: list[TraceStep]) -> Answer:
    """No answer from the model, unless the reports say something of the very thing asked: then that is the
    answer (a conflict note, or a report's "did not disclose"); else the abstention."""
    unsupported = list(outcome.draft.unsupported)
    if outcome.with_reports:
        for check in ON_DECLINE:
            said = _apply(check, Draft(text=""), ctx, trace)
            if said.draft.citations:
                citations = list(said.draft.citations)
                return Answer(question=ctx.question, standalone_question=ctx.standalone, answer=said.draft.text,
                              citations=citations, passages=listed(ctx.passages, ctx.every_report, citations),
                              unsupported_sentences=unsupported, trace=trace)
    return Answer(question=ctx.question, standalone_question=ctx.standalone, answer=ABSTAIN_TEXT, abstained=True,
                  passages=list(ctx.passages), unsupported_sentences=unsupported, trace=trace)


def listed(passages: Sequence[Passage], reports: Sequence[Passage], citations: Sequence[Citation]) -> list[Passage]:
    """The retrieved passages, then the reports below k up to the last one a citation names: every [n] an answer
    shows is its passages[n - 1]."""
    last = max((c.n for c in citations), default=0)
    return list(reports[: max(len(passages), last)]) if len(reports) > len(passages) else list(passages)
