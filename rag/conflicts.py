"""Reports that disagree on the number or date asked about (an early report and its correction, two outlets).

The small model picks one figure silently, so the disagreement is found in the passages it was shown and
said after its answer, newest report first, each with its citation: "Reports differ: 150 (Northern Gazette,
2026-01-22) [2]; about 100 (Desert Wire, 2026-01-21) [1]." Conservative on purpose: a passage's figure is
the one in its sentence closest to the question, a number must sit beside the noun the question counts, and a
sentence that retracts a figure ("an earlier version said about 100") is not a report of it.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from rag.answer.lexicon import MONTHS, NATIONAL_ABBREVIATIONS, REPORT_FUNCTION_WORDS
from rag.dates import FUTURE_WORDS, STATED_DATE, find_relative_dates
from rag.embeddings import NewsEmbeddings
from rag.multipart import question_parts
from rag.questions import asks_duration, covers_asked_action
from rag.text import markers_of, split_sentences
from rag.types import Citation, Passage

RELEVANCE = 0.45  # cosine of the claim sentence to the question; below it the sentence is about something else
# a passage's claim must be nearly as close to the question as the closest passage's claim: on the sample corpus the
# real second figure came 0.15 below the first ("began in August" / "in early October"), the unrelated date
# ("in September 2024" for "when did US troops return") 0.23 below
MARGIN = 0.16
DATE_WORDS_SHARED = 0.5  # a dated sentence must hold half the question's content words: the same event, not its context
MARKERS_PER_FIGURE = 3
NOUN_WINDOW = 4  # words between a number and the noun it counts: "150 Islamic State fighters"
_HOW_MANY = re.compile(r"\bhow (?:many|much)\s+((?:[\w-]+\s+){0,2}[\w-]+)", re.IGNORECASE)  # what is counted
_ASKS_TIME = re.compile(r"^\W*(?:and\s+)?(?:when|what (?:year|date|day|month)|in (?:what|which) (?:year|month))\b",
                        re.IGNORECASE)
_NUMBER_OF = re.compile(r"\b(?:number|size) (?:of|for) (?:the\s+)?((?:[\w-]+\s+){0,3}?[\w-]+?)"
                        r"(?=\s+(?:were|was|are|is|in|at|on|from|to|before|after|still|that|moved)\b|\?|$)",
                        re.IGNORECASE)
_SAME_NUMBER = re.compile(r"\bsame (?:number|size|figure|count|total)\b", re.IGNORECASE)
_SAME_TIME = re.compile(r"\bsame (?:month|date|day|year|time)\b", re.IGNORECASE)  # "do all reports give the same month"
_APPROXIMATE = ("about", "around", "some", "roughly", "nearly", "almost", "approximately")
_AT_MOST, _AT_LEAST = ("up to", "as many as", "fewer than", "less than"), ("more than", "at least", "over")
_QUALIFIER = rf"(?:(?:{'|'.join((*_APPROXIMATE, *_AT_MOST, *_AT_LEAST, 'only'))})\s+)?"
_VAGUE = {"a dozen": (12, 12), "a few dozen": (24, 60), "dozens": (24, 99), "a few hundred": (200, 500),
          "several hundred": (200, 900), "hundreds": (200, 999), "a few thousand": (2000, 5000),
          "several thousand": (2000, 9000), "thousands": (2000, 99999)}
_WORDS = {"two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10,
          "eleven": 11, "twelve": 12}  # "one" is too often not a count ("one of the camps")
_SCALE = {"hundred": 100, "thousand": 1000, "million": 10**6, "billion": 10**9}
_QUANTITY = re.compile(
    rf"\b{_QUALIFIER}(?:(?P<digits>\d[\d,]*(?:\.\d+)?|{'|'.join(_WORDS)})(?:\s+(?P<scale>{'|'.join(_SCALE)}))?|"
    rf"(?P<vague>{'|'.join(sorted(_VAGUE, key=len, reverse=True))}))\b",
    re.IGNORECASE,
)
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_PARTITIVE = re.compile(r",\s+(?:most|many|all|some|nearly all|almost all) of them\b|,\s+mostly\b", re.IGNORECASE)
_ORDINAL_BEFORE = re.compile(r"\b(first|second|third|last|initial|final)\s+$", re.IGNORECASE)
# "in August and September 2025" began in August 2025: the year the second month is given in
_MONTH_BEFORE_DATED_MONTH = re.compile(
    rf"\b({'|'.join(MONTHS)})\s+(?:and|or|to|through|into)\s+(?:{'|'.join(MONTHS)})\s+(\d{{4}})\b")
_AFTER_MONTH = re.compile(rf"\b(?:{'|'.join(MONTHS)})\s+$")
_RETRACTED = re.compile(r"\b(?:earlier version|was wrong|were wrong|incorrectly|erroneously|misstated|not about)\b",
                        re.IGNORECASE)
# "began leaving in August" answers when it started, not "when did they leave": both speak of a start or neither
_START = re.compile(r"\b(?:beg[ia]n\w*|start\w*|first)\b", re.IGNORECASE)
_WORD = re.compile(r"[a-z]+(?:-[a-z]+)*")  # "al-Asad" is one word, not two shared ones


@dataclass(frozen=True)
class Report:
    n: int  # the passage's number in the prompt
    passage: Passage
    sentence: str
    value: str  # as the article says it: "about 100", "August 2025"
    key: tuple  # what is compared: ("number", low, high) or ("date", year, month, day)


_AGREEMENT_WORDS = r"same|agree[sd]?|agreeing|consistent"  # not "agreement"
_COMPARES = re.compile(rf"\b(?:{_AGREEMENT_WORDS}|differ\w*|disagree\w*|vary|varied|conflict\w*|contradict\w*)\b"
                       r"|^\W*what (?:figures|numbers|estimates|dates)\b", re.IGNORECASE)
_REPORTS = re.compile(r"\b(?:reports?|reported|outlets?|sources?|accounts?|figures?|estimates?|articles?|stories)\b",
                      re.IGNORECASE)


# "What figures were reported for the number of …": the frame, not what the reports are about (a sentence that
# gives one of the figures came 0.43 close to the whole question, 0.49 to what follows the frame)
_COMPARISON_FRAME = re.compile(r"^\W*what (?:figures|numbers|estimates|dates) (?:were|was|have been|are) "
                               r"(?:reported|given|published) (?:for|on|about) ", re.IGNORECASE)
# "According to the border officer, …", "In what year, according to the Anbar Monitor's reports, …":
# one source, unless it is the reports at large ("according to early reports", "according to both")
_ACCORDING = re.compile(
    r"(?:^|[,;(])\W*according to\s+"
    r"(?!(?:[\w'-]+\s+){0,2}(?:reports?|articles?|outlets?|sources?|passages?|news|media|accounts?)\b)"
    r"(?!(?:the\s+)?(?:all|both|each|every|most|other|different|various)\b)",
    re.IGNORECASE,
)
_SOURCE_SAYS = re.compile(r"\b(?:did|does|do)\s+(?:[\w'-]+\s+){1,6}?(?:say|estimate|report|put|tell)\b", re.IGNORECASE)
_ASKS_AGREEMENT = re.compile(rf"\b(?:{_AGREEMENT_WORDS})\b", re.IGNORECASE)
_AGREEMENT = re.compile(r"^\W*yes\b|\b(?:agree|agreed|the same|consistent)\b", re.IGNORECASE)
_DENIAL = re.compile(r"\b(?:not|no|never|differ\w*|disagree\w*)\b|n't\b", re.IGNORECASE)


def _claims_agreement(sentence: str) -> bool:
    """ "Yes, all reports give the same month [1]", "Reports agree.": said while the reports differ."""
    return bool(_AGREEMENT.search(sentence)) and not _DENIAL.search(sentence)


def compares_reports(question: str) -> bool:
    """The question asks whether reports agree ("Do all reports give the same month …?", "What figures were
    reported …?"): the other reports may rank below the prompt's k, and are what it asks for."""
    return bool(_COMPARES.search(question) and _REPORTS.search(question))


def conflict_note(question: str, shown: Sequence[Passage], embeddings: NewsEmbeddings) -> tuple[str, list[Report]]:
    """The note for the first asked number or date the shown passages disagree on, and the reports it cites.

    Each figure is named once, from its newest report, with the markers of every passage that gives it. The
    passages may go on past those the model was shown (numbered on from them): reports it was not shown.
    """
    for part in question_parts(question):
        if not _asks_figure(part) or _asks_one_source(question, part):
            continue
        groups = _disagreeing(_reports(part, shown, embeddings))
        if groups:
            listed = "; ".join(_figure(group) for group in groups)
            return f"Reports differ: {listed}.", [r for group in groups for r in group[:MARKERS_PER_FIGURE]]
    return "", []


def _asks_one_source(question: str, part: str) -> bool:
    """ "According to the border officer, how many camps …?", "How many did the Levant Ledger say …?": that
    source's figure is asked, and the others' would be citations of what was not asked."""
    return not compares_reports(question) and bool(_ACCORDING.search(question) or _SOURCE_SAYS.search(part))


def _figure(group: list[Report]) -> str:
    """ "150 (Palmyra Observer, 2026-01-28) [4][3][1] and 7 other reports": named from its newest report, cited
    from the newest three (ten markers in a row are noise to a reader), the rest counted."""
    first = group[0]
    said = f"{first.value} ({', '.join(x for x in (first.passage.outlet, first.passage.date) if x)}) "
    said += "".join(f"[{r.n}]" for r in group[:MARKERS_PER_FIGURE])
    more = len(group) - MARKERS_PER_FIGURE
    return f"{said} and {more} other report{'s' * (more > 1)}" if more > 0 else said


def with_conflict_note(
    question: str, text: str, citations: list[Citation], shown: Sequence[Passage], embeddings: NewsEmbeddings
) -> tuple[str, list[Citation]]:
    """The verified answer with the note appended and a citation for each report it names."""
    note, reports = conflict_note(question, shown, embeddings)
    if not note:
        return text, citations
    if _ASKS_AGREEMENT.search(question):  # "Do all reports give the same month?" "Yes, …" cannot stand beside it
        text = " ".join(["No.", *(s for s in split_sentences(text) if not _claims_agreement(s))])
        left = {n for s in split_sentences(text) for n in markers_of(s)}
        citations = [c for c in citations if c.n in left]
    cited = {c.n for c in citations}
    added = [Citation(n=r.n, passage_id=r.passage.id, title=r.passage.title, outlet=r.passage.outlet,
                      date=r.passage.date, url=r.passage.url, text=r.passage.text, quote=r.sentence)
             for r in reports if r.n not in cited]
    return f"{text} {note}", sorted([*citations, *added], key=lambda c: c.n)


def asks_figure(question: str) -> bool:
    """Some part asks a count or a past date: what reports can give different figures for."""
    return any(_asks_figure(part) for part in question_parts(question))


def _asks_figure(part: str) -> bool:
    # what has not happened yet has forecasts, not reports to set against each other
    return _counts(part) or (_asks_time(part) and not FUTURE_WORDS.search(part))


def _reports(part: str, shown: Sequence[Passage], embeddings: NewsEmbeddings) -> list[Report]:
    """Per passage, the figure in its sentence closest to the question, if that sentence is about it."""
    counts = _counts(part)
    candidates: list[tuple[int, str, str, tuple]] = []
    for n, passage in enumerate(shown, start=1):
        for sentence in split_sentences(passage.text):
            if _RETRACTED.search(sentence) or not (counts or _same_event(part, sentence)):
                continue
            found = _number_in(part, sentence) if counts else _date_in(sentence, passage.date)
            if found:
                candidates.append((n, sentence, *found))
    if not candidates:
        return []
    vectors = embeddings.embed([_COMPARISON_FRAME.sub("", part), *(c[1] for c in candidates)])
    best: dict[int, tuple[float, Report]] = {}
    for (n, sentence, value, key), score in zip(candidates, vectors[1:] @ vectors[0]):
        if n not in best or score > best[n][0]:
            best[n] = (float(score), Report(n, shown[n - 1], sentence, value, key))
    top = max(score for score, _ in best.values())
    # "How many SDF fighters were killed?" is not answered by counts of fighters moved
    return [report for score, report in best.values() if score >= max(RELEVANCE, top - MARGIN)
            and (not counts or covers_asked_action(part, [report.sentence], embeddings))]


def _counts(question: str) -> bool:
    """A count is asked; "how many years passed between" asks for a sum, not a reported figure."""
    if asks_duration(question):
        return False
    return bool(_HOW_MANY.search(question) or _NUMBER_OF.search(question) or _SAME_NUMBER.search(question))


def _asks_time(question: str) -> bool:
    return bool(_ASKS_TIME.search(question) or _SAME_TIME.search(question))


def _same_event(question: str, sentence: str) -> bool:
    """The sentence names most of what the question asks about, and speaks of its start only if the question does."""
    asked = _stems(question)
    if not asked or len(asked & _stems(sentence)) / len(asked) < DATE_WORDS_SHARED:
        return False
    return bool(_START.search(question)) == bool(_START.search(sentence))


def _stems(text: str) -> set[str]:
    """Content stems; two-letter words ("do", "on", "to") are function words, and would outweigh the event's."""
    return {w[:5] for w in _WORD.findall(text.lower()) if len(w) > 2 and w not in REPORT_FUNCTION_WORDS}


def _disagreeing(reports: list[Report]) -> list[list[Report]]:
    """The reports grouped by figure, newest first, when two articles give figures that cannot both hold.

    A vague figure ("hundreds of miles") joins the one group it fits, starts its own if it fits none, and is
    left out when it fits several: it neither confirms nor contradicts them.
    """
    by_article: dict[str, Report] = {}
    for report in reports:
        by_article.setdefault(report.passage.article_id, report)
    newest_first = sorted(by_article.values(), key=lambda r: r.passage.date or "", reverse=True)
    groups: list[list[Report]] = []
    for report in [r for r in newest_first if not _is_vague(r)] + [r for r in newest_first if _is_vague(r)]:
        fits = [g for g in groups if _compatible(report.key, g[0].key)]
        if not fits:
            groups.append([report])
        elif len(fits) == 1:
            fits[0].append(report)
    groups = [sorted(g, key=lambda r: r.passage.date or "", reverse=True) for g in groups]
    groups.sort(key=lambda g: g[0].passage.date or "", reverse=True)
    precise = sum(not _is_vague(g[0]) for g in groups)
    return groups if len(groups) > 1 and precise else []  # "hundreds" against "thousands" settles nothing


def _is_vague(report: Report) -> bool:
    if report.key[0] != "number":
        return False
    match = _QUANTITY.fullmatch(report.value)
    return match is not None and match.group("vague") is not None


def _compatible(a: tuple, b: tuple) -> bool:
    """Overlapping number ranges ("about 100" and "100"; "thousands" and "up to 7,000"), or dates where one is a
    finer reading of the other ("January 2026" and "January 21, 2026")."""
    if a[0] != b[0]:
        return False
    if a[0] == "number":
        return a[1] <= b[2] and b[1] <= a[2]
    return all(x is None or y is None or x == y for x, y in zip(a[1:], b[1:]))


def _number_in(part: str, sentence: str) -> tuple[str, tuple] | None:
    """The quantity counting what the question counts ("how many fighters": "150 Islamic State fighters"); for
    "how much" the first quantity."""
    nouns = _counted_nouns(part)
    quantities = [m for m in _QUANTITY.finditer(sentence) if not _is_calendar(sentence, m)]
    # "the same size for the first group": "About 100 fighters were in the first group", its only quantity; not a
    # vague one, which says what it counts ("took several large camps, along with hundreds of miles")
    named = len(quantities) == 1 and len(nouns & _stems(sentence)) >= 2
    for match in quantities:
        # "320 kilometres, of the border"; but "100 US personnel, most of them military advisers" counts advisers too
        clause = re.split(r"[,;:.(]", _PARTITIVE.sub(" ", sentence[match.end() :]), maxsplit=1)[0]
        after = {w[:5] for w in _WORD.findall(clause.lower())[:NOUN_WINDOW]}
        # "the first 150 fighters" is the size of "the first group": the ordinal the question counts by, just before
        ordinal = _ORDINAL_BEFORE.search(sentence, 0, match.start())
        by_ordinal = ordinal is not None and ordinal.group(1)[:5] in nouns
        if not nouns or nouns & after or named and not match.group("vague") or by_ordinal:
            return match.group(0), ("number", *_number_range(match))
    return None


def _counted_nouns(part: str) -> set[str]:
    """The stems of what the question counts. "The size of the first group of detainees" counts groups, not
    detainees: of "X of Y" after "number of" or "size of", X is what is counted (else "up to 7,000 detainees"
    would answer it). "Americans" is also counted as "US …"."""
    how_many = _HOW_MANY.search(part)
    if how_many:
        counted = how_many.group(1)
    else:
        number_of = _NUMBER_OF.search(part)
        counted = re.split(r"\s+of\s+", number_of.group(1), maxsplit=1)[0] if number_of else ""
    stems = {w[:5] for w in _WORD.findall(counted.lower()) if len(w) > 2 and w not in REPORT_FUNCTION_WORDS}
    return stems | {short for stem in stems for short in NATIONAL_ABBREVIATIONS.get(stem, ())}


def _is_calendar(sentence: str, match: re.Match) -> bool:
    """A year ("in 2014") or a day of a month ("January 19") is not a count."""
    if match.group("digits") is None or match.group("scale") or not match.group("digits")[0].isdigit():
        return False
    return bool(_YEAR.fullmatch(match.group(0)) or _AFTER_MONTH.search(sentence, 0, match.start()))


def _number_range(match: re.Match) -> tuple[float, float]:
    """What a quantity allows: "about 100" 90-110, "up to 7,000" 0-7,000, "a few dozen" 24-60."""
    if match.group("vague"):
        return _VAGUE[match.group("vague").lower()]
    digits = match.group("digits").lower()
    value = float(_WORDS.get(digits) or digits.replace(",", "")) * _SCALE.get((match.group("scale") or "").lower(), 1)
    said = match.group(0).lower()
    if said.startswith(_APPROXIMATE):
        return value * 0.9, value * 1.1
    if said.startswith(_AT_MOST):
        return 0.0, value
    if said.startswith(_AT_LEAST):
        return value, float("inf")
    return value, value


def _date_in(sentence: str, published: str | None) -> tuple[str, tuple] | None:
    """The first date the sentence gives (a relative one resolved): "began in August and continued through
    September" began in August, and so did "began leaving in August and September 2025"."""
    found = [(m.start(), m.group(0)) for m in STATED_DATE.finditer(sentence)]
    found += [(m.start(), f"{m.group(1)} {m.group(2)}") for m in _MONTH_BEFORE_DATED_MONTH.finditer(sentence)]
    found += [(d.start, d.label) for d in find_relative_dates(sentence, published)]
    for _, text in sorted(found):
        key = _calendar(text)
        if key:
            return text, ("date", *key)
    return None


def _calendar(text: str) -> tuple[int, int | None, int | None] | None:
    """ "January 21, 2026" → (2026, 1, 21); "August 2025" → (2025, 8, None); "2014" → (2014, None, None)."""
    match = re.fullmatch(rf"(?:({'|'.join(MONTHS)})(?:\s+(\d{{1,2}}))?,?\s+)?(\d{{4}})", text.strip())
    if not match:
        return None
    month = MONTHS.index(match.group(1)) + 1 if match.group(1) else None
    return int(match.group(3)), month, int(match.group(2)) if match.group(2) else None

