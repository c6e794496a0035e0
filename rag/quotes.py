"""The sentence shown as a cited sentence's quote: one of the cited passage that states every name, number and
date the answer sentence states.

A passage that is about the right event can still hold none of what an answer says of it: "US forces left on
January 18, 2026 [1]" over a passage whose only sentence about leaving says "Last August and September, …"; a
name the passage holds only in a photo credit ("Photo: NAME/Agency") for "who was rescued alive?". The quote the
reader sees must hold the claim; when no sentence of the passage does, the citation does not hold.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from rag.answer.lexicon import MONTHS, WEEKDAYS
from rag.dates import MENTIONED_DATE, dates_in, distinct_dates, holds_date, published_date, span_between
from rag.outlets import outlet_name
from rag.questions import DURATION_PHRASE, unmentioned_names

_NUMBER = re.compile(r"\d[\d,]*(?:\.\d+)?")
# A credit or byline, never a statement of what happened: "Photo: NAME/Agency", "(AP Photo/NAME)", "Credit: …",
# "(Reuters)", "By NAME"
CREDIT = re.compile(
    r"\b(?:Photo(?:graph)?s?|Images?|Pictures?|Credits?|Video)\s*(?:by\s+|:\s*|/\s*)[^.\n]*"
    r"|\([^()]*\b(?:Photo|Reuters|AFP|AP|Getty|Credit)\b[^()]*\)"
    r"|^\s*By\s+[A-Z][\w.'-]*(?:\s+[A-Z][\w.'-]*){0,3}\s*$",
)
_NOT_NAMES = frozenset([*MONTHS, *WEEKDAYS])
_SPAN_COUNT = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7,
               "eight": 8, "nine": 9, "ten": 10, "eleven": 11, "twelve": 12}


def _numbers(text: str) -> set[str]:
    return {n.replace(",", "").rstrip(".") for n in _NUMBER.findall(text)}


def without_credits(sentence: str) -> str:
    """The sentence with its photo credits and bylines cut: what is left is what it states."""
    return CREDIT.sub(" ", sentence)


def holds_claim(claim: str, sentence: str, published: str | None, outlets: Sequence[str] = ()) -> bool:
    """The sentence (its credits cut) states every name, number and date of the claim: dates as dates ("January
    18, 2026" is "Jan. 18" under a 2026 dateline, or the dateline itself), numbers other than dates' digits as
    written, names as `unmentioned_names` matches them. Outlets the claim names as its source are left out: who
    published the passage is checked by the verifier against the passage's outlet."""
    claim = _without_outlets(claim, outlets)
    stated = without_credits(sentence)
    base = published_date(published)
    dateline = [(base.year, base.month, base.day)] if base else []
    held_dates = dates_in(stated, published) + dateline
    if not all(holds_date(d, held_dates) for d in dates_in(claim, published)):
        return False
    if not _numbers(MENTIONED_DATE.sub(" ", claim)) <= _numbers(stated):
        return False
    missing = [n for n in unmentioned_names(claim, [stated]) if n not in _NOT_NAMES and not n.isdigit()]
    return not missing


def quote_holding(claim: str, sentences: Sequence[str], closest: Sequence[int], published: str | None,
                  outlets: Sequence[str] = (), title: str = "") -> str | None:
    """The sentence (of the passage's, in its order) that holds the claim, the closest first (`closest` ranks
    them), or the headline the prompt shows above them ("… numbered 150, not about 100"); failing that, two
    adjacent sentences together ("… about 100 fighters. The correct figure is 150."), ranked by the closer of the
    two; None when nothing that short does."""
    singles = [sentences[k] for k in closest] + ([title] if title else [])
    one = next((s for s in singles if holds_claim(claim, s, published, outlets)), None)
    if one is not None:
        return one
    pairs = [(start, start + 1) for k in closest for start in (k - 1, k) if 0 <= start < len(sentences) - 1]
    return next((joined for a, b in pairs
                 if holds_claim(claim, joined := f"{sentences[a]} {sentences[b]}", published, outlets)), None)


def quote_across(claim: str, sentences: Sequence[str], published: str | None, terms: Callable[[str], set[str]],
                 outlets: Sequence[str] = (), title: str = "") -> str | None:
    """What holds a claim that joins facts from sentences apart ("the joint statement in November 2025 followed
    the withdrawal in August 2025"): every name stated somewhere in the passage, each date and number in a
    sentence that shares a content word (`terms`) with the claim, those sentences joined; None otherwise. A date
    the passage states of something else ("On Sunday, the Security Media Cell said …" for "US forces left on
    January 18") does not hold, nor does anything only a photo credit states."""
    claim = _without_outlets(claim, outlets)
    stated = [without_credits(s) for s in [*sentences, title] if s]
    if [n for n in unmentioned_names(claim, stated) if n not in _NOT_NAMES and not n.isdigit()]:
        return None
    about = terms(_NUMBER.sub(" ", MENTIONED_DATE.sub(" ", claim)))
    shared = [s for s in stated if terms(_NUMBER.sub(" ", MENTIONED_DATE.sub(" ", s))) & about]
    base = published_date(published)
    used = []
    for date in dates_in(claim, published):
        holding = next((s for s in shared if holds_date(date, dates_in(s, published))), None)
        if holding is None and not (base and holds_date(date, [(base.year, base.month, base.day)])):
            return None
        used += [holding] if holding else []
    for number in _numbers(MENTIONED_DATE.sub(" ", claim)):
        holding = next((s for s in shared if number in _numbers(s)), None)
        if holding is None:
            return None
        used.append(holding)
    return " … ".join(dict.fromkeys(used)) or (shared[0] if shared else None)


_DATED = re.compile(rf",?\s*\b(?:(?:on|in|since|by)\s+)?(?:{MENTIONED_DATE.pattern})")


def without_dates(text: str) -> str:
    """The text without the dates it states ("in Baghdad on January 20, 2020" → "in Baghdad"): what is left of a
    sentence whose date no passage gives."""
    return _DATED.sub("", text)


def _without_outlets(claim: str, outlets: Sequence[str]) -> str:
    for outlet in outlets:
        claim = claim.replace(outlet, " ").replace(outlet_name(outlet), " ")
    return claim


def without_worked_out_spans(claim: str, texts: Sequence[tuple[str, str | None]]) -> str:
    """The claim without the spans ("11 months", "three days") that lie between two dates the texts state: a span
    worked out from cited dates is in no passage, and is right. `texts` are (text, ISO publication date) pairs."""
    dates = distinct_dates([d for text, published in texts for d in dates_in(text, published)])
    spans = {_span_key(span) for i, a in enumerate(dates) for b in dates[i + 1:]
             if (span := span_between([a, b]))}
    return DURATION_PHRASE.sub(lambda m: " " if _span_key(m.group()) in spans else m.group(), claim)


def _span_key(phrase: str) -> tuple[int, str] | None:
    """ "about eleven months", "11 months", "six-year" → (11, "month"), (6, "year"); None for "a few days"."""
    match = re.search(r"(\d+|[a-z]+)[- ](hour|day|week|month|year)s?\b", phrase.lower())
    if not match:
        return None
    count = match.group(1)
    value = int(count) if count.isdigit() else _SPAN_COUNT.get(count)
    return (value, match.group(2)) if value else None
