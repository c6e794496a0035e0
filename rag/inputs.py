"""What the chain takes: a question (checked the one way the chain, the API and the chat box say it) and its
input model."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.messages import BaseMessage
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from rag.config import RetrievalMode
from rag.errors import QuestionError
from rag.filters import Filters

MAX_QUESTION_CHARS = 2000  # ~500 tokens: a question, not a document; the rest of the window is for passages


def question_problem(question: str) -> str | None:
    """Why this question cannot be asked, or None; the chain, the API and the chat box all say it this way."""
    question = question.strip()
    if not question:
        return "the question is empty: ask something about the articles"
    if any("\ud800" <= char <= "\udfff" for char in question):  # JSON's "\ud800" escape: no character at all
        return "the question holds a lone surrogate escape (such as \\ud800), which is not a character: retype it"
    if len(question) > MAX_QUESTION_CHARS:
        return (f"the question is longer than {MAX_QUESTION_CHARS:,} characters ({len(question):,}): "
                f"ask it in at most {MAX_QUESTION_CHARS:,} characters")
    return None


class ChatTurn(BaseModel):
    """One earlier turn of the conversation; Gradio 6 may send content as a list of text blocks."""

    role: Literal["user", "assistant"]
    content: str | list[dict[str, Any]]


class ChainInput(BaseModel):
    """What the chain takes (`chain.input_schema`); a dict with these keys is validated into it."""

    model_config = ConfigDict(extra="forbid", arbitrary_types_allowed=True)

    question: str = Field(description="The question; a follow-up is rewritten with the history first.")
    chat_history: list[ChatTurn | BaseMessage] = Field(default_factory=list, description="Earlier turns, oldest first.")
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default settings.top_k).")
    mode: RetrievalMode | None = Field(None, description="dense, bm25, hybrid or mmr (default settings.retrieval).")
    filters: Filters | None = Field(None, description="{date_from, date_to (YYYY-MM-DD, inclusive), outlet, "
                                   "article_ids (search only these articles)}.")
    focus: int | None = Field(None, ge=0, le=20, description="Sentences kept per passage, 0 = whole passages "
                              "(default settings.focus_sentences).")


def read_input(input: ChainInput | dict[str, Any]) -> ChainInput:
    """The validated input with its question stripped; a QuestionError names every bad field."""
    try:
        request = input if isinstance(input, ChainInput) else ChainInput.model_validate(input)
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc'])) or 'input'}: {e['msg']}" for e in exc.errors())
        raise QuestionError(f"invalid chain input ({problems}); expected {{question, chat_history, k, mode, "
                            f"filters, focus}}") from exc
    problem = question_problem(request.question)
    if problem:
        raise QuestionError(problem)
    return request.model_copy(update={"question": request.question.strip()})
