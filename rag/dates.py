"""Relative date phrases ("in September", "on Sunday", "last month") anchored to the article's publication date.

News leaves the year and day to the dateline, so a passage read alone says "reached in September" and the
model answers without a year. The prompt shows the resolved date next to the phrase (`in September
[September 2024]`); quotes and citations keep the article's own words. A phrase that carries its year is
left alone, and so is every phrase of an article whose date is unknown.

Our own patterns, not dateparser: on the sample sentences dateparser missed "reached in September" inside a
long sentence and "earlier this year", swallowed the next word ("Last month the"), took ~2 ms a sentence warm
and 230 ms cold; these regexes cost microseconds, so anchoring runs when a passage is formatted for the
prompt and nothing is stored.
"""

from __future__ import annotations

import datetime
import functools
import re
from dataclasses import dataclass

from rag.answer.lexicon import MONTHS, WEEKDAYS
from rag.text import rough_sentence_start

_MONTH = "|".join(MONTHS)
MONTH_NAME = re.compile(rf"\b(?:{_MONTH})\b")
_WEEKDAY = "|".join(WEEKDAYS)
_COUNT = {"a": 1, "an": 1, "one": 1, "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8,
          "nine": 9, "ten": 10, "eleven": 11, "twelve": 12, "fifteen": 15, "a dozen": 12}
_TENS = {"twenty": 20, "thirty": 30, "forty": 40, "fifty": 50}
_COUNT_WORDS = (rf"(?:{'|'.join(_TENS)})(?:-(?:one|two|three|four|five|six|seven|eight|nine))?|"
                + "|".join(sorted(_COUNT, key=len, reverse=True)))
_YEAR_AFTER = r"(?!\s*,?\s*(?:\d{1,2}(?:st|nd|rd|th)?\s*,?\s*)?\d{4})"  # "September 2024", "September 12, 2024"
# "between August and September 2025": the year after the second month belongs to the first as well
_SHARED_YEAR = rf"(?!\s*(?:and|or|to|through|until|-|–)\s*(?:\d{{1,2}}\s+)?(?:{_MONTH})(?:\s+\d{{1,2}})?,?\s+\d{{4}})"

# lookbehinds must be fixed-width: one per preposition
_PREPOSITIONS = ("in", "on", "of", "by", "since", "until", "from", "early", "late", "mid", "last", "next")
_AFTER_PREPOSITION = "(?:" + "|".join(rf"(?<=\b{word} )" for word in _PREPOSITIONS) + ")"
_PHRASE = re.compile(
    rf"(?P<ago>(?<![\w-])(?:(?P<n>\d+)|(?P<nword>{_COUNT_WORDS}))\s+(?P<ago_unit>day|week|month|year|decade)s?\s+ago\b"
    r"(?:\s+(?P<ago_same>today|this month)\b)?)"  # "a week ago today", "six years ago this month"
    rf"|(?P<rel>\b(?P<which>last|next|this|earlier this|later this|past)\s+(?P<rel_unit>week|month|year)\b)"
    r"|(?P<day>\b(?:yesterday|today|tonight|tomorrow|last night|this morning|this afternoon|this evening)\b)"
    rf"|(?P<weekday>\b(?:(?P<wd_which>last|next|this)\s+)?(?P<wd>{_WEEKDAY})\b(?!\s*,?\s*(?:{_MONTH}|\d)))"
    # a month with an optional day either side; "May" only after a preposition (it is also a verb)
    rf"|(?P<month>\b(?:(?P<day_before>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?)?"
    rf"(?:(?P<m>{_MONTH.replace('|May', '')})|{_AFTER_PREPOSITION}(?P<may>May))"
    rf"(?:\s+(?P<day_after>\d{{1,2}})(?:st|nd|rd|th)?\b)?\b(?:\s+(?P<of_year>last|this|next) year\b)?"
    rf"{_YEAR_AFTER}{_SHARED_YEAR})",
    re.IGNORECASE,
)
_FUTURE = re.compile(
    r"\b(?:will|shall|next|(?:is|are|be) expected|expected to|expects?|scheduled|(?:is|are) due|due in|plans? to|"
    r"planned|set to|upcoming|is to|are to)\b|'ll\b",
    re.IGNORECASE,
)
FUTURE_WINDOW_WORDS = 6  # "talks will resume in March", "forecasters expect the wind to ease on Thursday"


@dataclass(frozen=True)
class RelativeDate:
    """A phrase of the text (character offsets) and the date it stands for, rendered at its own precision."""

    start: int
    end: int
    phrase: str
    label: str


def published_date(date: str | None) -> datetime.date | None:
    try:
        return datetime.date.fromisoformat(date) if date else None
    except ValueError:
        return None


def published_label(date: str | None) -> str:
    """ "2026-01-23" → "January 23, 2026" (what a question names it by); "" when unknown."""
    day = published_date(date)
    return _day_label(day) if day else ""


@functools.lru_cache(maxsize=4096)  # the same passage is formatted to fit the prompt, then to fill it, then checked
def find_relative_dates(text: str, published: str | None) -> tuple[RelativeDate, ...]:
    """The relative date phrases of `text` resolved against the ISO publication date; none if it is unknown."""
    base = published_date(published)
    if base is None:
        return ()
    found = []
    for match in _PHRASE.finditer(text):
        if _is_proper_case(match):
            label = _resolve(match, base, future=_in_future_tense(text, match.start()))
            if label:
                found.append(RelativeDate(match.start(), match.end(), match.group(0), label))
    return tuple(found)


def anchor_dates(text: str, published: str | None) -> str:
    """The text with each relative phrase followed by its resolved date: "in September [September 2024]"."""
    out, last = [], 0
    for found in find_relative_dates(text, published):
        out += [text[last : found.end], f" [{found.label}]"]
        last = found.end
    return "".join(out) + text[last:]


def date_labels(text: str, published: str | None) -> list[str]:
    """Only the resolved dates, e.g. for checking an answer that gives the year the article left out."""
    return [found.label for found in find_relative_dates(text, published)]


def _is_proper_case(match: re.Match) -> bool:
    """Month and day names count only capitalised: "march on the capital" and "may" are not dates."""
    name = match.group("m") or match.group("may") or match.group("wd")
    return name is None or name[0].isupper()


def _in_future_tense(text: str, position: int) -> bool:
    """Whether the words just before the phrase, in its sentence, speak of what is to come.

    Only the few words before it: in "the understanding, reached in September, will serve as the basis" the
    "will" belongs to another verb.
    """
    window = text[rough_sentence_start(text, position) : position].split()[-FUTURE_WINDOW_WORDS:]
    return bool(_FUTURE.search(" ".join(window)))


def _month_label(year: int, month: int) -> str:
    return f"{MONTHS[month - 1]} {year}"


def _day_label(day: datetime.date) -> str:
    return f"{MONTHS[day.month - 1]} {day.day}, {day.year}"


def _shift_months(base: datetime.date, months: int) -> tuple[int, int]:
    index = base.year * 12 + base.month - 1 + months
    return index // 12, index % 12 + 1


def _count(words: str) -> int:
    """ "three" → 3, "twenty-three" → 23."""
    tens, _, unit = words.partition("-")
    return _TENS[tens] + (_COUNT[unit] if unit else 0) if tens in _TENS else _COUNT[words]


def _resolve(match: re.Match, base: datetime.date, future: bool) -> str | None:
    if match.group("ago"):
        n = int(match.group("n")) if match.group("n") else _count(match.group("nword").lower())
        unit, same = match.group("ago_unit").lower(), (match.group("ago_same") or "").lower()
        years = n * (10 if unit == "decade" else 1) if unit in ("year", "decade") else 0
        if same == "this month" and years:
            return _month_label(base.year - years, base.month)
        if unit == "day" or (same == "today" and unit == "week"):
            return _day_label(base - datetime.timedelta(days=n if unit == "day" else 7 * n))
        if unit == "week":
            return f"around {_day_label(base - datetime.timedelta(weeks=n))}"
        if unit == "month":
            return _month_label(*_shift_months(base, -n))
        return str(base.year - years)
    if match.group("rel"):
        which, unit = match.group("which").lower(), match.group("rel_unit").lower()
        step = {"last": -1, "past": -1, "next": 1}.get(which, 0)
        if which == "past" and unit != "week":
            return None  # "the past year" is a span ending now, not a calendar year
        if unit == "week":
            monday = base - datetime.timedelta(days=base.weekday()) + datetime.timedelta(weeks=step)
            return f"week of {_day_label(monday)}"
        if unit == "month":
            return _month_label(*_shift_months(base, step))
        return str(base.year + step)
    if match.group("day"):
        phrase = match.group("day").lower()
        offset = {"yesterday": -1, "last night": -1, "tomorrow": 1}.get(phrase, 0)
        return _day_label(base + datetime.timedelta(days=offset))
    if match.group("weekday"):
        weekday = WEEKDAYS.index(match.group("wd").capitalize())
        which = (match.group("wd_which") or "").lower()
        if which == "next" or (future and which != "last"):
            ahead = (weekday - base.weekday()) % 7 or (7 if which == "next" else 0)
            return _day_label(base + datetime.timedelta(days=ahead))
        back = (base.weekday() - weekday) % 7 or (7 if which == "last" else 0)
        return _day_label(base - datetime.timedelta(days=back))
    month = MONTHS.index((match.group("m") or match.group("may")).capitalize()) + 1
    day_text = match.group("day_before") or match.group("day_after")
    day = int(day_text) if day_text else None
    if day is not None and not 1 <= day <= 31:
        day = None
    when, now = (month, day or 1), (base.month, base.day if day else 1)
    if match.group("of_year"):  # "in September last year"
        year = base.year + {"last": -1, "this": 0, "next": 1}[match.group("of_year").lower()]
    else:
        year = base.year + (when < now) if future else base.year - (when > now)
    if day is None:
        return _month_label(year, month)
    if year == base.year:
        return None  # "on January 21" under a 2026 dateline: the passage header's year is enough, and it is frequent
    try:
        return _day_label(datetime.date(year, month, day))
    except ValueError:  # "February 30"
        return _month_label(year, month)


# "January 19, 2026", "September 2024", "2011": a date as written out, at whatever precision it is given
STATED_DATE = re.compile(rf"\b(?:(?P<month>{_MONTH})\s+(?:(?P<day>\d{{1,2}}),?\s+)?)?(?P<year>(?:19|20)\d\d)\b")
# A date as an answer mentions it, with or without its year: "January 16", "September 2025", "2011"
MENTIONED_DATE = re.compile(rf"\b(?:{_MONTH})(?:\s+\d{{1,2}})?(?:,?\s+(?:19|20)\d\d)?\b|\b(?:19|20)\d\d\b")
# What a question or claim about something still to come says ("will leave", "is due to be moved")
FUTURE_WORDS = re.compile(r"\b(?:will|going to|due to|expected to|set to|planned to|scheduled to)\b", re.IGNORECASE)


def stated_dates(text: str) -> list[tuple[int, ...]]:
    """The dates a text states, each at its own precision: (2026, 1, 19), (2024, 9) or (2025,)."""
    found = []
    for match in STATED_DATE.finditer(text):
        parts = [int(match.group("year"))]
        if match.group("month"):
            parts.append(MONTHS.index(match.group("month")) + 1)
            if match.group("day") and _is_day(parts[0], parts[1], int(match.group("day"))):
                parts.append(int(match.group("day")))  # "February 30, 2024" is read as February 2024
        found.append(tuple(parts))
    return found


def _is_day(year: int, month: int, day: int) -> bool:
    """A day the calendar has: a text (or a model's answer) can say "February 30", which no date is."""
    try:
        datetime.date(year, month, day)
    except ValueError:
        return False
    return True


def all_past(dates: list[tuple[int, ...]], published: str | None) -> bool:
    """Every date is on or before the publication date, compared at the date's own precision (a year or a month
    that includes the publication date is not past: "later in 2026" may still be to come)."""
    base = published_date(published)
    if base is None or not dates:
        return False
    return all(date < (base.year, base.month, base.day)[: len(date)] or len(date) == 3
               and date == (base.year, base.month, base.day) for date in dates)


def distinct_dates(dates: list[tuple[int, ...]]) -> list[tuple[int, ...]]:
    """The dates, finest first, without repeats or coarser readings of one kept ("January 2026" of "January 18,
    2026")."""
    distinct: list[tuple[int, ...]] = []
    for date in sorted(set(dates), key=len, reverse=True):
        if not any(kept[: len(date)] == date for kept in distinct):
            distinct.append(date)
    return distinct


def date_label(date: tuple[int, ...]) -> str:
    """A date as `stated_dates` reads it, written back: "2025", "August 2025", "January 18, 2026"."""
    if len(date) == 1:
        return str(date[0])
    return _month_label(*date) if len(date) == 2 else _day_label(datetime.date(*date))


def span_between(dates: list[tuple[int, ...]]) -> str | None:
    """How far apart the two dates an answer gives are ("about 16 months"), at the coarser one's precision; None
    unless there are exactly two (a date and a finer reading of it, "January 2026" and "January 18, 2026", are
    one). The small model states both dates of a "how long after" question and rarely does the sum right."""
    distinct = distinct_dates(dates)
    if len(distinct) != 2:
        return None
    early, late = sorted(distinct)
    if len(early) == 3 and len(late) == 3:
        days = (datetime.date(*late) - datetime.date(*early)).days
        if days < 61:
            return f"{days} day{'s' * (days != 1)}"
    if len(early) == 1 or len(late) == 1:
        years = late[0] - early[0]
        return f"about {_in_words(years)} year{'s' * (years != 1)}" if years else None
    months = (late[0] - early[0]) * 12 + late[1] - early[1]
    if months < 24:
        return f"about {_in_words(months)} month{'s' * (months != 1)}" if months else None
    years = round(months / 12)
    return f"about {_in_words(years)} years"


def _in_words(n: int) -> str:
    """Up to twelve in words, as news writes them ("six years"); larger in digits ("16 months")."""
    return next((word for word, value in _COUNT.items() if value == n), str(n)) if n <= 12 else str(n)


_ABBREVIATED = {month[:3]: n for n, month in enumerate(MONTHS, 1)} | {"Sept": 9}
_ANY_MONTH = rf"(?:{_MONTH}|(?:{'|'.join(_ABBREVIATED)})\.?)"
# "January 18", "Jan. 18, 2026", "18 January": a day as news writes it, often without the year its dateline gives
_DAY_OF_MONTH = re.compile(rf"\b(?P<month>{_ANY_MONTH})\s+(?P<day>\d{{1,2}})(?:st|nd|rd|th)?\b"
                           rf"|\b(?P<day_first>\d{{1,2}})(?:st|nd|rd|th)?\s+(?:of\s+)?(?P<month_after>{_ANY_MONTH})")


def dates_in(text: str, published: str | None) -> list[tuple[int, ...]]:
    """Every date a text states or implies, as `stated_dates` reads them: written out ("January 2026"), a day
    whose year is the dateline's ("Jan. 18" in a 2026 article), and resolved relative phrases ("last August").
    What lets an answer's "January 18, 2026" be compared, as a date, with the words of the sentence it cites."""
    found = stated_dates(text) + stated_dates(" ".join(date_labels(text, published)))
    base = published_date(published)
    for match in _DAY_OF_MONTH.finditer(text):
        name = (match.group("month") or match.group("month_after")).rstrip(".")
        month = MONTHS.index(name) + 1 if name in MONTHS else _ABBREVIATED[name]
        day = int(match.group("day") or match.group("day_first"))
        year = re.match(r",?\s+((?:19|20)\d\d)\b", text[match.end():])
        if year or base:
            in_year = int(year.group(1)) if year else base.year  # type: ignore[union-attr]
            if _is_day(in_year, month, day):
                found.append((in_year, month, day))
    return found


def holds_date(date: tuple[int, ...], dates: list[tuple[int, ...]]) -> bool:
    """One of the dates is this one, at its precision or finer ("January 18, 2026" holds "January 2026")."""
    return any(len(other) >= len(date) and other[: len(date)] == date for other in dates)
