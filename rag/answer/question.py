"""QuestionInfo: the standalone question parsed once, so every check reads the same kind, slot, parts and names."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from rag.claims import asks_yes_or_no
from rag.conflicts import compares_reports
from rag.multipart import question_parts
from rag.order import asks_order
from rag.questions import (
    asked_outlets,
    asked_thing,
    asks_count,
    asks_duration,
    asks_future_time,
    asks_time,
    named_outlets,
    question_names,
)

Kind = Literal["yes/no", "which-first", "how-long", "count", "date", "who", "where", "fact"]


@dataclass(frozen=True)
class QuestionInfo:
    """What a question asks, as the checks after the model need it."""

    text: str
    kind: Kind
    slot: str | None  # the thing a "which/what X" or "how many X" question asks for ("prison", "people")
    parts: tuple[str, ...]  # the questions it holds ("How many …, and from which city?" holds two)
    names: tuple[str, ...]  # the names it uses (capitalised words past its first, years, ordinals past "first")
    outlets: tuple[str, ...]  # the stored outlets it names
    asked_outlets: tuple[str, ...]  # those whose reporting it asks about (not one it sets aside: "besides X")
    future: bool  # asks when something will happen
    duration: bool  # asks how long, or how many days after: a span worked out from two dates
    compares_reports: bool  # asks whether reports agree or differ

    @property
    def single(self) -> bool:
        """One question, not several joined: the checks on what was asked read a single question only."""
        return len(self.parts) == 1

    @classmethod
    def parse(cls, text: str, stored_outlets: Sequence[str] = ()) -> QuestionInfo:
        return cls(text=text, kind=_kind(text), slot=asked_thing(text), parts=tuple(question_parts(text)),
                   names=tuple(question_names(text)), outlets=tuple(named_outlets(text, stored_outlets)),
                   asked_outlets=tuple(asked_outlets(text, stored_outlets)), future=asks_future_time(text),
                   duration=asks_duration(text),                    compares_reports=compares_reports(text))


def _kind(text: str) -> Kind:
    if asks_order(text):
        return "which-first"
    if asks_yes_or_no(text):
        return "yes/no"
    if asks_duration(text):
        return "how-long"
    if asks_count(text):
        return "count"
    if asks_time(text):
        return "date"
    lead = text.lstrip(" \"'(").lower()
    if lead.startswith(("who ", "whom ")):
        return "who"
    if lead.startswith("where "):
        return "where"
    return "fact"
