"""OpenAI-compatible routes, so chat front ends and the openai SDK can talk to newsrag.

GET /v1/models lists one model, "newsrag". POST /v1/chat/completions answers the last user message with the
earlier user and assistant turns as history; "stream": true sends OpenAI's chunks as server-sent events ending
with `data: [DONE]`. A stream carries only what will stand: the checked answer, sent in chunks of a few words once
citation checking is done, so a front end never shows a draft that checking then moves, strikes or turns into
an abstention (the extra field "draft": true streams the model's own tokens as they come instead, then the
checked answer after them when checking changed it). The text keeps its [n] markers and ends with a Sources
list, so any front end shows the citations; the citations themselves (n, title, outlet, date, url, quote)
travel in the extra "citations" field of the response or of the last chunk. newsrag's own options (k, mode,
filters, draft) may be sent as extra fields.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import AsyncIterator, Sequence
from typing import Any, Literal

from fastapi import APIRouter, Depends
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sse_starlette import EventSourceResponse

from rag.chain import question_problem
from rag.config import RetrievalMode
from rag.errors import NewsragError
from rag.types import Answer
from ui.api_common import FiltersIn, error_route
from ui.security import basic_auth, same_site_only
from ui.services import Services

MODEL = "newsrag"
SOURCES_HEADING = "Sources:"
WORDS_PER_CHUNK = 4  # the checked answer streams a few words at a time, as a model's tokens would


class ChatMessage(BaseModel):
    model_config = ConfigDict(extra="allow")  # name, tool_calls, ...: accepted, not used

    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[dict[str, Any]] | None = None

    @property
    def text(self) -> str:
        """The text of the message; content parts other than text (images, audio) are left out."""
        if isinstance(self.content, list):
            return "\n".join(part.get("text", "") for part in self.content if part.get("type") == "text")
        return self.content or ""


class ChatCompletionRequest(BaseModel):
    """OpenAI's request; sampling fields (temperature, max_tokens, ...) are accepted and left to the chain."""

    model_config = ConfigDict(extra="allow")

    model: str = MODEL
    messages: list[ChatMessage] = Field(min_length=1)
    stream: bool = False
    k: int | None = Field(None, ge=1, le=50, description="newsrag: passages to retrieve.")
    mode: RetrievalMode | None = Field(None, description="newsrag: dense, bm25, hybrid or mmr.")
    filters: FiltersIn | None = Field(None, description="newsrag: date_from, date_to, outlet.")
    draft: bool = Field(False, description="newsrag: stream the model's unchecked tokens as they come, then the "
                                           "checked answer after them when checking changed it.")


def openai_error(status: int, message: str, code: str) -> JSONResponse:
    """An error in OpenAI's shape, which the SDK turns into its exception with this message."""
    return JSONResponse({"error": {"message": message, "type": "invalid_request_error", "code": code}}, status)


def _openai_error_of(exc: NewsragError) -> JSONResponse:
    return openai_error(exc.http_status, str(exc), "newsrag_error")


def chain_inputs(request: ChatCompletionRequest) -> dict[str, Any] | str:
    """The chain's input from the conversation, or why there is none."""
    turns = [m for m in request.messages if m.role in ("user", "assistant")]
    if not turns or turns[-1].role != "user":
        return "the last message must be the user's question"
    question = turns[-1].text.strip()
    problem = question_problem(question)
    if problem:
        return problem
    return {
        "question": question,
        # our earlier answers come back with their Sources list, which is not part of the conversation
        "chat_history": [{"role": t.role, "content": t.text.split(f"\n\n{SOURCES_HEADING}\n")[0]} for t in turns[:-1]],
        "k": request.k,
        "mode": request.mode,
        "filters": request.filters.as_dict() if request.filters else None,
    }


def sources_text(answer: Answer) -> str:
    """The Sources list appended to the answer text, one line per citation."""
    if not answer.citations:
        return ""
    lines = [f"[{c.n}] " + ", ".join(part for part in (c.title, c.outlet, c.date, c.url) if part)
             for c in answer.citations]
    return f"\n\n{SOURCES_HEADING}\n" + "\n".join(lines)


def citations_field(answer: Answer) -> list[dict[str, Any]]:
    return [c.model_dump(include={"n", "title", "outlet", "date", "url", "quote"}) for c in answer.citations]


def checked_text(streamed: str, answer: Answer) -> str:
    """What a draft stream adds after the tokens: the verified answer when checking changed it, then the Sources.

    The tokens are the model's own words; verification may move a marker, drop an unsupported sentence or
    turn the reply into an abstention, and a stream cannot take back what it sent.
    """
    if " ".join(streamed.split()) == " ".join(answer.answer.split()):
        return sources_text(answer)
    return f"\n\nChecked against the articles: {answer.answer}{sources_text(answer)}"


def build_openai_router(services: Services, users: Sequence[tuple[str, str]] = ()) -> APIRouter:
    """/v1/models and /v1/chat/completions, behind the same login as /api (Basic, or Bearer user:password)."""
    router = APIRouter(prefix="/v1", dependencies=[Depends(same_site_only), Depends(basic_auth(users))],
                       tags=["openai"], route_class=error_route(_openai_error_of))

    @router.get("/models")
    def models() -> dict:
        return {"object": "list",
                "data": [{"id": MODEL, "object": "model", "created": 0, "owned_by": "newsrag"}]}

    @router.post("/chat/completions", response_model=None)
    async def chat_completions(request: ChatCompletionRequest) -> JSONResponse | EventSourceResponse:
        if request.model != MODEL:
            return openai_error(404, f"the model {request.model!r} does not exist; this server has {MODEL!r}",
                                "model_not_found")
        inputs = chain_inputs(request)
        if isinstance(inputs, str):
            return openai_error(400, inputs, "invalid_question")
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        if request.stream:
            return EventSourceResponse(_chunks(services, inputs, completion_id, created, request.draft))
        answer = await services.chain.ainvoke(inputs)
        return JSONResponse({
            "id": completion_id, "object": "chat.completion", "created": created, "model": MODEL,
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": answer.answer + sources_text(answer)}}],
            "citations": citations_field(answer),
        })

    return router


def word_chunks(text: str, size: int = WORDS_PER_CHUNK) -> list[str]:
    """The text in pieces of `size` words, each with the spacing after it, that join back to the text exactly."""
    pieces = re.findall(r"\S+\s*|\s+", text)
    return ["".join(pieces[i:i + size]) for i in range(0, len(pieces), size)]


async def _chunks(services: Services, inputs: dict[str, Any], completion_id: str, created: int,
                  draft: bool = False) -> AsyncIterator[str]:
    """OpenAI's chat.completion.chunk events: the role, then the checked answer and its Sources in chunks, the
    last with the citations (with `draft`: the model's tokens as they come, then the check and the Sources)."""

    def chunk(delta: dict[str, Any], finish_reason: str | None = None, **extra: Any) -> str:
        return json.dumps({"id": completion_id, "object": "chat.completion.chunk", "created": created, "model": MODEL,
                           "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}], **extra})

    yield chunk({"role": "assistant", "content": ""})
    streamed: list[str] = []
    answer = None
    try:
        async for event in services.chain.astream(inputs):
            if isinstance(event, str) and draft:
                streamed.append(event)
                yield chunk({"content": event})
            elif isinstance(event, Answer):
                answer = event
    except Exception as exc:  # the status line has gone out: the SDK raises an APIError for an "error" event
        if not isinstance(exc, NewsragError):
            logging.getLogger("newsrag").exception("a streamed chat completion failed")
        yield json.dumps({"error": {"message": str(exc) or type(exc).__name__, "type": "newsrag_error",
                                    "code": "newsrag_error"}})
        yield "[DONE]"
        return
    assert answer is not None
    pieces = [checked_text("".join(streamed), answer)] if draft else word_chunks(answer.answer + sources_text(answer))
    *before, last = [piece for piece in pieces if piece] or [""]
    for piece in before:
        yield chunk({"content": piece})
    yield chunk({"content": last} if last else {}, "stop", citations=citations_field(answer))
    yield "[DONE]"
