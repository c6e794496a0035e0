"""A deterministic stand-in for the answering model (NEWSRAG_LLM_BACKEND=fake), for tests and demos of the plumbing.

It lives in rag, not in tests/, because it is a setting: the test servers and `newsrag serve` in the
concurrency tests select it through the environment.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage, HumanMessage, SystemMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult

from rag.prompts import ABSTAIN_TEXT
from rag.text import split_sentences

_TAGGED_PASSAGE = re.compile(r"<passage \[(\d+)\][^>]*>(.*?)</passage>", re.DOTALL)
_PASSAGE_START = re.compile(r"^\[(\d+)\][ \t]*", re.MULTILINE)
# "Question: ...", "Last question: ...", "Follow-up question: ..."; an empty "Standalone question:" is skipped
_QUESTION_LINE = re.compile(r"^[ \t]*(?:[\w-]+[ \t]+)?question[ \t]*:[ \t]*(\S.*?)[ \t]*$", re.I | re.M)


class FakeNewsModel(BaseChatModel):
    """Answers from the prompt alone, instantly: for tests and demos of the plumbing, not of answer quality.

    It cites the first sentence of passage [1], abstains when there are no passages (or the prompt says
    NO PASSAGES), and echoes the question for a condense prompt (a system message about a standalone question).
    `token_delay` paces streamed words, so UI tests can act while an answer is still being written.
    """

    token_delay: float = 0.0

    @property
    def _llm_type(self) -> str:
        return "fake-news"

    def _generate(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> ChatResult:
        return ChatResult(generations=[ChatGeneration(message=AIMessage(content=self.answer(messages)))])

    def _stream(
        self,
        messages: list[BaseMessage],
        stop: list[str] | None = None,
        run_manager: CallbackManagerForLLMRun | None = None,
        **kwargs: Any,
    ) -> Iterator[ChatGenerationChunk]:
        for piece in re.findall(r"\S+\s*", self.answer(messages)):
            time.sleep(self.token_delay)
            chunk = ChatGenerationChunk(message=AIMessageChunk(content=piece))
            if run_manager:
                run_manager.on_llm_new_token(piece, chunk=chunk)
            yield chunk

    def answer(self, messages: list[BaseMessage]) -> str:
        """The whole reply for a prompt; invoke and stream both produce exactly this."""
        human = next((m.text for m in reversed(messages) if isinstance(m, HumanMessage)), "")
        if any(isinstance(m, SystemMessage) and "standalone question" in m.text.lower() for m in messages):
            questions = _QUESTION_LINE.findall(human)
            return questions[-1] if questions else human.strip()
        passages = _passages(human)
        if not passages or any("NO PASSAGES" in m.text for m in messages):
            return ABSTAIN_TEXT
        n = min(passages)
        return f"{_first_sentence(passages[n])} [{n}]"


def _passages(text: str) -> dict[int, str]:
    """Passage bodies by number: rag.prompts' `<passage [1] ...>` blocks, else `[n]` blocks up to the next `[m]`.

    A `[n]` block's body is what follows its header line, or the line itself when nothing follows.
    """
    tagged = {int(n): body.replace("&lt;", "<").replace("&gt;", ">") for n, body in _TAGGED_PASSAGE.findall(text)}
    if tagged:
        return {n: body for n, body in tagged.items() if body.strip()}
    starts = list(_PASSAGE_START.finditer(text))
    found: dict[int, str] = {}
    for start, following in zip(starts, [*starts[1:], None]):
        block = text[start.end() : following.start() if following else len(text)]
        header, _, body = block.partition("\n")
        body = body if body.strip() else header
        if body.strip():
            found.setdefault(int(start.group(1)), body)
    return found


def _first_sentence(body: str) -> str:
    paragraph = re.split(r"\n\s*\n", body.strip(), maxsplit=1)[0]
    paragraph = " ".join(paragraph.split())
    sentences = split_sentences(paragraph)  # rag.text's sentences, as focus and verification see them
    return sentences[0] if sentences else paragraph
