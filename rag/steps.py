"""The steps one answer runs as child runs (condense, retrieve, generate, verify, compute): the chain's flow yields
them, and its two drivers (stream and astream) run them and send each result back."""

from __future__ import annotations

from collections.abc import Callable, Generator
from dataclasses import dataclass
from typing import Any

from langchain_core.messages import BaseMessage

from rag.config import RetrievalMode
from rag.filters import Filters
from rag.types import Answer, Passage

StreamEvent = list[Passage] | str | Answer


@dataclass
class _Condense:
    messages: list[BaseMessage]


@dataclass
class _Retrieve:
    query: str
    k: int | None
    mode: RetrievalMode | None
    filters: Filters | None


@dataclass
class _Generate:
    """Streams the answering model; its tokens go out as events, the flow gets a _Generated.

    Tokens that could still be the start of `hold` are held back: a decline the flow may ask again is not shown.
    `restores_prefix`: this prompt does not start with the usual instructions, so put them back afterwards.
    """

    messages: list[BaseMessage]
    hold: str = ""
    restores_prefix: bool = False


@dataclass
class _Generated:
    text: str
    first_token: float | None  # when the first token went out to the caller
    held: str  # the text held back and never sent (all of it, when the model wrote `hold` and no more)


class _HeldBack:
    """Passes tokens on, except while all of them together could still be the start of `prefix`."""

    def __init__(self, prefix: str) -> None:
        self.prefix = prefix
        self.held = ""
        self.released = not prefix

    def feed(self, token: str) -> str:
        if self.released:
            return token
        self.held += token
        if self.prefix.startswith(self.held.lstrip()):
            return ""
        self.released = True
        out, self.held = self.held, ""
        return out


@dataclass
class _Verify:
    arguments: dict[str, Any]


@dataclass
class _Compute:
    """CPU work (focusing passages with the embedding model): a worker thread under astream."""

    function: Callable[..., Any]
    arguments: tuple[Any, ...]


_Step = _Condense | _Retrieve | _Generate | _Verify | _Compute


class _Steps:
    """Iterates a flow for a driver: each item it yields, and `result` (set by the driver) is sent back next.

    `answer` is the verified Answer once the flow has yielded it (the root run's output).
    """

    def __init__(self, flow: Generator[_Step | StreamEvent, Any, None]) -> None:
        self.flow = flow
        self.result: Any = None
        self.answer: Answer | None = None

    def __iter__(self) -> _Steps:
        return self

    def __next__(self) -> _Step | StreamEvent:
        item = self.flow.send(self.result)  # StopIteration when the flow has ended ends the driver's loop
        self.result = None
        if isinstance(item, Answer):
            self.answer = item
        return item
