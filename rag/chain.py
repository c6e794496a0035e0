"""The answering chain: condense → retrieve → prompt → LLM → verify citations → Answer.

`stream` yields, in order: the retrieved passages (a list of Passage, as soon as retrieval ends),
answer tokens (str), and last the verified Answer. `invoke` and `batch` return the Answer.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator, Sequence
from typing import Any

from langchain_core.language_models import BaseChatModel
from langchain_core.output_parsers import StrOutputParser
from langchain_core.runnables import Runnable, RunnableConfig

from rag.citations import CitationVerifier
from rag.config import Settings, get_settings
from rag.errors import QuestionError
from rag.llm import get_chat_model
from rag.context import fit_passages, focus_passages
from rag.prompts import ABSTAIN_TEXT, answer_messages, condense_messages, to_messages
from rag.questions import answers_the_question
from rag.retrieve import Filters, Reranker, Retriever
from rag.store import Store
from rag.types import Answer, Passage

_DECLINE = re.compile(
    r"(do(es)? not (answer|contain|say|mention|provide|include)|don't (answer|contain|say|know)|"
    r"not (mentioned|stated|specified|provided|covered)|no (information|mention)|cannot (answer|be answered|determine)|"
    r"can't (answer|determine)|unable to answer|i don't know|not enough information)",
    re.IGNORECASE,
)
StreamEvent = list[Passage] | str | Answer
MAX_QUESTION_CHARS = 2000  # ~500 tokens: a question, not a document; the rest of the window is for passages


def question_problem(question: str) -> str | None:
    """Why this question cannot be asked, or None; the chain, the API and the chat box all say it this way."""
    question = question.strip()
    if not question:
        return "the question is empty: ask something about the articles"
    if len(question) > MAX_QUESTION_CHARS:
        return (f"the question is longer than {MAX_QUESTION_CHARS:,} characters ({len(question):,}): "
                f"ask it in at most {MAX_QUESTION_CHARS:,} characters")
    return None


def is_decline(text: str) -> bool:
    return bool(_DECLINE.search(text)) or not text.strip()


class AnswerChain(Runnable[dict, Answer]):
    """LCEL Runnable over {"question", "chat_history", optional "k", "mode", "filters"}."""

    def __init__(self, settings: Settings, retriever: Retriever, llm: BaseChatModel) -> None:
        self.settings = settings
        self.retriever = retriever
        self.llm = llm
        self.verifier = CitationVerifier(retriever.store.embeddings)
        self._condense = llm | StrOutputParser()
        self._answer = llm | StrOutputParser()

    def warm_up(self) -> None:
        """Have the model read the fixed instructions once, so no user waits for them.

        llama.cpp keeps what it has read as a prompt cache; every answer prompt starts with these same
        tokens, so afterwards only the passages and the question are read per answer (seconds on a CPU).
        A remote backend just answers a one-token request.
        """
        self.llm.invoke(answer_messages("", []), max_tokens=1)

    def invoke(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Answer:
        final = None
        for event in self.stream(input, config, **kwargs):
            final = event
        assert isinstance(final, Answer)
        return final

    def stream(self, input: dict, config: RunnableConfig | None = None, **kwargs: Any) -> Iterator[StreamEvent]:
        started = time.perf_counter()
        timings: dict[str, float] = {}
        question = str(input.get("question", "")).strip()
        problem = question_problem(question)
        if problem:
            raise QuestionError(problem)
        history = to_messages(input.get("chat_history"))
        standalone = question
        if history:
            standalone = self._condense.invoke(condense_messages(question, history), config).strip() or question
            timings["condense"] = time.perf_counter() - started

        filters = input.get("filters")
        if isinstance(filters, dict):
            filters = Filters(**filters)
        passages = self.retriever.search(standalone, input.get("k"), input.get("mode"), filters)
        timings["retrieval"] = time.perf_counter() - started
        yield passages

        best = max((p.similarity or 0.0 for p in passages), default=0.0)
        if best < self.settings.min_relevance:
            timings["total"] = time.perf_counter() - started
            yield ABSTAIN_TEXT
            yield Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT,
                         abstained=True, passages=passages, timings=timings)
            return

        focused = focus_passages(standalone, passages, self.retriever.store.embeddings, self.settings.focus_sentences)
        context = fit_passages(standalone, focused, self.settings)
        parts: list[str] = []
        for token in self._answer.stream(answer_messages(standalone, context), config):
            if not parts:
                timings["first_token"] = time.perf_counter() - started
            parts.append(token)
            yield token
        raw = "".join(parts).strip()
        timings["generation"] = time.perf_counter() - started

        answer = self._finish(question, standalone, raw, passages[: len(context)], passages)
        answer.raw_answer = raw
        answer.timings = {**timings, "verification": time.perf_counter() - started - timings["generation"],
                          "total": time.perf_counter() - started}
        yield answer

    def _finish(self, question: str, standalone: str, raw: str, shown: list[Passage], passages: list[Passage]) -> Answer:
        """Verify against the whole passages the model was shown (focused), so quotes come from full text."""
        if is_decline(raw) or not answers_the_question(standalone, raw):
            return Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT,
                          abstained=True, passages=passages)
        text, citations, unsupported = self.verifier.verify(raw, shown)
        if not citations:  # nothing in the answer is backed by a passage: do not pass it off as an answer
            return Answer(question=question, standalone_question=standalone, answer=ABSTAIN_TEXT,
                          abstained=True, passages=passages, unsupported_sentences=unsupported)
        return Answer(question=question, standalone_question=standalone, answer=text, citations=citations,
                      passages=passages, unsupported_sentences=unsupported)


def build_chain(
    settings: Settings | None = None,
    *,
    store: Store | None = None,
    llm: BaseChatModel | None = None,
    reranker: Reranker | None = None,
) -> AnswerChain:
    """The chain users, the UI and the evals share; the store and model are opened once here."""
    settings = settings or get_settings()
    store = store or Store(settings)
    return AnswerChain(settings, Retriever(store, settings, reranker), llm or get_chat_model(settings))


def answer_question(question: str, settings: Settings | None = None, **inputs: Any) -> Answer:
    """One question, one answer: the shortest way in from Python."""
    return build_chain(settings).invoke({"question": question, **inputs})
