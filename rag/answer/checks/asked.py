"""Gates on what a single question asks: a backed sentence about something else than the asked thing."""

from __future__ import annotations

import re
from dataclasses import replace

import Stemmer

from rag.answer.checks.base import BaseCheck, SingleQuestionGate
from rag.answer.checks.names import cited_passages
from rag.answer.draft import CheckContext, Draft, Outcome
from rag.answer.question import QuestionInfo
from rag.citations import attributes
from rag.dates import all_past, stated_dates
from rag.questions import covers_asked_action, covers_asked_thing, covers_said_topic, names_asked_place
from rag.text import strip_markers


class AskedThing(SingleQuestionGate):
    """A supported sentence about another thing than the one a "which X" or "how many X" question asks for.

    "Which striker scored the winner?" answered with the stadium the match was played in, cited correctly: the
    cited passages never speak of a striker (nor a near word), so the citations go.
    """

    name = "asked_thing"
    reason = "the cited passages do not speak of the thing asked for"

    def holds(self, draft: Draft, ctx: CheckContext) -> bool:
        return covers_asked_thing(ctx.standalone, [c.text for c in draft.citations], ctx.embeddings)


# "Who led the scoring?", "Who heads the Premier League table?": leading a ranking (its head a common noun), not
# a body ("Who heads the Security Media Cell?")
_LEADS_RANKING = re.compile(r"^\W*(?:[Aa]nd\s+)?[Ww]ho\s+(?:leads|led|heads|headed|tops|topped)\s+(?:the\s+)?"
                            r"(?:[A-Z][\w'-]*\s+)*(?!(?:the|its|their|an?)\b)(?P<head>[a-z][\w-]*)\b")
_stemmer = Stemmer.Stemmer("english")


class AskedAction(SingleQuestionGate):
    """An answer to "who did X" from sentences that never speak of doing X.

    "Who designed the new bridge?" answered with the name of the engineer who inspected it: the supporting
    sentences never speak of designing. Who leads a ranking ("Who led the scoring?", "Who heads the league
    table?") is answered by a sentence about that ranking ("LeBron James scored 38 points").
    """

    name = "asked_action"
    reason = "the supporting sentences never speak of the asked act"

    def holds(self, draft: Draft, ctx: CheckContext) -> bool:
        quotes = [c.quote for c in draft.citations]
        return covers_asked_action(ctx.standalone, quotes, ctx.embeddings) or _about_ranking(ctx.standalone, quotes)


def _about_ranking(question: str, quotes: list[str]) -> bool:
    ranking = _LEADS_RANKING.match(question)
    if not ranking:
        return False
    words = _stemmer.stemWords(re.findall(r"[a-z]+", " ".join(quotes).lower()))
    return _stemmer.stemWord(ranking.group("head").lower()) in words


class SaidTopic(SingleQuestionGate):
    """ "What did X say about Y?" answered with something else X said.

    "What did the regulator say about the merger's price?" answered with what it said about jobs.
    """

    name = "said_topic"
    reason = "the supporting sentences say nothing about the asked topic"

    def holds(self, draft: Draft, ctx: CheckContext) -> bool:
        return covers_said_topic(ctx.standalone, [c.quote for c in draft.citations])


class AskedPlace(SingleQuestionGate):
    """ "In which hospital …?" answered with a kind of place, not one place.

    "In which hospital was the patient treated?" answered "in a regional hospital": no hospital is named.
    """

    name = "asked_place"
    reason = "the answer names no place of the kind asked"

    def holds(self, draft: Draft, ctx: CheckContext) -> bool:
        return names_asked_place(ctx.standalone, draft.text)


class AskedOutlet(BaseCheck):
    """An answer about what one outlet reported, cited to another outlet's report.

    "What did the Harbor Herald report about the strike?" answered from a wire story: none of the cited passages
    is the Harbor Herald's or names it.
    """

    name = "asked_outlet"
    stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return bool(q.asked_outlets)

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        asked = list(ctx.info.asked_outlets)
        if not draft.citations or any(attributes(p, asked) for p in cited_passages(draft.citations, list(ctx.shown))):
            return Outcome("keep", draft)
        return Outcome("drop_citations", replace(draft, citations=()), "no cited passage is the asked outlet's")


class FutureTime(BaseCheck):
    """ "When will …?" answered with the date a past event was reported.

    "When will the launch take place?" answered "on March 3" where March 3 is before every cited report: that
    was when something already happened, not when the launch will.
    """

    name = "future_time"
    stage = "gate"

    def applies(self, q: QuestionInfo) -> bool:
        return q.future

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome:
        latest = max(c.date or "" for c in draft.citations) or None if draft.citations else None
        if draft.citations and all_past(stated_dates(strip_markers(draft.text)), latest):
            return Outcome("drop_citations", replace(draft, citations=()), "a future question, a past date")
        return Outcome("keep", draft)
