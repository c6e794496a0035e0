"""The values that flow through newsrag: articles in, chunks stored, passages retrieved, answers out."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property

from pydantic import BaseModel, Field
from typing_extensions import TypedDict  # pydantic reads typing.TypedDict only from Python 3.12


def content_hash(text: str) -> str:
    """Identity of an article's text: the same words under two file names are one article."""
    normalized = " ".join(text.split())
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Article:
    """One news article as loaded, before splitting."""

    source: str  # path, path:line for JSONL, or URL: where it came from, the key for updates
    text: str
    title: str = ""
    date: str | None = None  # ISO YYYY-MM-DD, None when unknown
    outlet: str = ""
    url: str = ""
    author: str = ""

    @cached_property  # a frozen dataclass: the text cannot change, and hashing megabytes on every read did add up
    def id(self) -> str:
        return content_hash(self.text)

    @cached_property
    def fingerprint(self) -> str:
        """Changes when the text or any shown metadata changes, so edits to either are re-ingested."""
        meta = "\x1f".join([self.title, self.date or "", self.outlet, self.url, self.author])
        return hashlib.sha256(f"{self.id}\x1e{meta}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class Chunk:
    """A token-bounded span of an article; start/end are character offsets into Article.text."""

    article_id: str
    index: int
    text: str
    start: int
    end: int
    metadata: dict = field(default_factory=dict, compare=False)

    @property
    def id(self) -> str:
        return f"{self.article_id}-{self.index:04d}"


def article_id_of(chunk_id: str) -> str:
    """The article a chunk (or passage, or citation's passage_id) belongs to: the inverse of Chunk.id."""
    return chunk_id.rsplit("-", 1)[0]


class Passage(BaseModel):
    """A retrieved chunk with the article it came from and how well it matched."""

    id: str
    article_id: str
    text: str
    title: str = ""
    date: str | None = None
    outlet: str = ""
    url: str = ""
    source: str = ""
    score: float = 0.0  # fused or raw retrieval score, higher is better
    similarity: float | None = None  # cosine similarity to the question when known
    also_reported_by: list[Passage] = Field(
        default_factory=list,
        description="Near-copies from other articles (a wire brief and its story) folded into this one.",
    )


class Citation(BaseModel):
    """One [n] marker in an answer and the passage that supports it."""

    n: int
    passage_id: str
    title: str = ""
    outlet: str = ""
    date: str | None = None
    url: str = ""
    text: str
    quote: str = Field("", description="The sentence of the passage that best supports the claim.")


class Timings(TypedDict, total=False):
    """Where one answer's time went, in seconds. `until_*` count from the question's arrival to that moment;
    `condense` and `verification` are how long that one step took. A key is absent when its step did not run
    (no history to condense; no model call after an abstention)."""

    condense: float  # rewriting a follow-up into a standalone question (with history only)
    until_passages: float  # the passages are known and shown (condensing included)
    until_first_token: float  # the model's first token
    until_last_token: float  # the model's last token
    verification: float  # checking the citations, after the last token
    total: float  # the verified Answer is ready


class TraceStep(BaseModel):
    """One check after the model that acted on an answer: which, at what stage, what it did and why."""

    check: str = Field(description="The check's name, as listed in docs/checks.md.")
    stage: str = Field(description="repair, verify, rewrite, gate or annotate.")
    action: str = Field(description="rewrite, drop_citations, decline or annotate.")
    reason: str = Field("", description="Why, in words a reader understands.")


class Answer(BaseModel):
    """What the chain returns: cited answer text, or an abstention with related passages."""

    question: str
    standalone_question: str = ""
    answer: str
    abstained: bool = False
    raw_answer: str = Field("", description="The model's own text before clean-up, verification and re-attribution.")
    reasked: bool = Field(False, description="The model declined over relevant passages and raw_answer is its "
                          "reply when asked again without the rule that lets it decline.")
    citations: list[Citation] = Field(default_factory=list)
    passages: list[Passage] = Field(default_factory=list)
    unsupported_sentences: list[str] = Field(default_factory=list)
    timings: Timings = Field(default_factory=Timings)
    trace: list[TraceStep] = Field(default_factory=list, description="Every check after the model that declined, "
                                   "rewrote or annotated this answer, in the order they acted.")
