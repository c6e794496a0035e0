"""Draft: the answer as the checks pass it on; CheckContext: what they read besides it; Outcome: what one did."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal, Protocol

from rag.answer.question import QuestionInfo
from rag.config import Settings
from rag.embeddings import NewsEmbeddings
from rag.types import Citation, Passage

if TYPE_CHECKING:
    from rag.citations import CitationVerifier

_DECLINE = re.compile(
    r"(do(es)? not (answer|contain|say|mention|provide|include)|don't (answer|contain|say|know)|"
    r"not (mentioned|stated|specified|provided|covered)|no (information|mention)|cannot (answer|be answered|determine)|"
    r"can't (answer|determine)|unable to answer|i don't know|not enough information)",
    re.IGNORECASE,
)
Stage = Literal["repair", "verify", "rewrite", "gate", "annotate"]
Action = Literal["keep", "rewrite", "drop_citations", "decline", "annotate"]


def is_decline(text: str) -> bool:
    """The text says the passages do not answer (or says nothing)."""
    return bool(_DECLINE.search(text)) or not text.strip()


@dataclass(frozen=True)
class Draft:
    """The answer between checks. `text` is the body; `lead`, `after` and `open_note` are the sentences the annotate
    stage puts before it, after it, and last (the parts left open); `missing` the parts still open."""

    text: str
    citations: tuple[Citation, ...] = ()
    unsupported: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    verified: bool = False
    lead: str = ""
    after: str = ""
    open_note: str = ""

    @property
    def rendered(self) -> str:
        return f"{self.lead} {self.text} {self.after} {self.open_note}".strip()


@dataclass(frozen=True)
class CheckContext:
    """What every check may read: the question (raw, standalone, parsed), the passages the model was shown, all
    retrieved, the reports below k, the verifier and its embeddings, the stored outlets, the settings."""

    question: str
    standalone: str
    info: QuestionInfo
    shown: Sequence[Passage]
    passages: Sequence[Passage]
    further: Sequence[Passage]
    verifier: CitationVerifier
    outlets: Sequence[str]
    settings: Settings
    switches: Mapping[str, bool] = field(default_factory=dict)

    @property
    def embeddings(self) -> NewsEmbeddings:
        return self.verifier.embeddings

    @property
    def every_report(self) -> list[Passage]:
        """The shown passages, or (when reports below k were searched) every retrieved one and those below k."""
        return [*self.passages, *self.further] if self.further else list(self.shown)

    @property
    def reports(self) -> list[Passage]:
        """The reports a conflict note reads: all of them for a question comparing reports, else those shown."""
        return self.every_report if self.info.compares_reports else list(self.shown)

    def enabled(self, name: str) -> bool:
        return self.switches.get(name, True)


@dataclass(frozen=True)
class Outcome:
    """What a check did. A decline with `with_reports` lets the reports speak (a conflict note, a "not told")."""

    action: Action
    draft: Draft
    reason: str = ""
    with_reports: bool = True


def keep(draft: Draft) -> Outcome:
    return Outcome("keep", draft)


class Check(Protocol):
    """One step after the model: its docstring's first paragraph names the failure class it guards against."""

    @property
    def name(self) -> str: ...

    @property
    def stage(self) -> Stage: ...

    def applies(self, q: QuestionInfo) -> bool: ...

    def run(self, draft: Draft, ctx: CheckContext) -> Outcome: ...
