"""What a search may be limited to (outlet, date range, chosen articles), and the one date check all entries use.

The CLI (`--since`, `--until`), the JSON and OpenAI-compatible APIs (`filters`), the chat's date pickers and
`Filters` itself accept a date only as YYYY-MM-DD naming a real day, and say so in the same words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from rag.errors import QuestionError
from rag.types import Passage

_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_LONE_SURROGATE = re.compile("[\ud800-\udfff]")  # JSON's "\ud800" escape or an undecodable argv byte: no character


def date_problem(text: str | None, label: str) -> str | None:
    """Why a date filter is unusable, or None when it is blank or a real YYYY-MM-DD date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if _ISO_DATE.match(text) and date.fromisoformat(text):
            return None
    except ValueError:
        pass
    return f"{label} must be a date like 2026-01-19 (YYYY-MM-DD), not {text!r}"


def range_problem(date_from: str | None, date_to: str | None, labels: tuple[str, str]) -> str | None:
    """Why a date range is unusable: a bad date, or a start after its end; None when it is fine."""
    problem = date_problem(date_from, labels[0]) or date_problem(date_to, labels[1])
    if problem:
        return problem
    start, end = (date_from or "").strip(), (date_to or "").strip()
    if start and end and start > end:
        return f"{labels[0]} is after {labels[1]}."
    return None


def date_number(day: str | None) -> int:
    """YYYYMMDD as an int, so Chroma can filter date ranges; 0 when unknown."""
    return int(day.replace("-", "")) if day else 0


@dataclass(frozen=True)
class Filters:
    """Metadata filters; dates are ISO YYYY-MM-DD and inclusive; article_ids, when set, are all that is searched.

    A bad date or range, or an outlet or article id holding a lone surrogate (which Chroma cannot even be asked
    about), is a QuestionError.
    """

    date_from: str | None = None
    date_to: str | None = None
    outlet: str | None = None
    article_ids: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        problem = range_problem(self.date_from, self.date_to, ("date_from", "date_to"))
        if problem:
            raise QuestionError(problem)
        for label, value in (("outlet", self.outlet), *(("article_ids", item) for item in self.article_ids)):
            if isinstance(value, str) and _LONE_SURROGATE.search(value):
                raise QuestionError(f"the {label} filter holds a lone surrogate escape (such as \\ud800), "
                                    "which is not a character: retype it")
        for name in ("date_from", "date_to"):  # blank means no limit; " 2026-01-19" means that day
            object.__setattr__(self, name, (getattr(self, name) or "").strip() or None)

    def chroma_where(self) -> dict | None:
        clauses: list[dict] = []
        if self.date_from or self.date_to:  # an undated article (date_num 0) matches no date range, as in accepts
            clauses.append({"date_num": {"$gte": date_number(self.date_from) if self.date_from else 1}})
        if self.date_to:
            clauses.append({"date_num": {"$lte": date_number(self.date_to)}})
        if self.outlet:
            clauses.append({"outlet": self.outlet})
        if self.article_ids:
            clauses.append({"article_id": {"$in": list(self.article_ids)}})
        if not clauses:
            return None
        return clauses[0] if len(clauses) == 1 else {"$and": clauses}

    def accepts(self, passage: Passage) -> bool:
        if self.outlet and passage.outlet != self.outlet:
            return False
        if self.article_ids and passage.article_id not in self.article_ids:
            return False
        day = passage.date
        if (self.date_from or self.date_to) and not day:
            return False
        if self.date_from and day is not None and day < self.date_from:
            return False
        if self.date_to and day is not None and day > self.date_to:
            return False
        return True
