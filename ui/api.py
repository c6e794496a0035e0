"""The JSON API beside the chat UI: /healthz, /api/ask, /api/ingest, /api/sources, and the API docs.

The services behind it are in ui.services, the login and same-site checks in ui.security.
"""

from __future__ import annotations

import json
import logging
from collections.abc import AsyncIterator, Sequence
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse, ServerSentEvent

from rag.chain import question_problem
from rag.config import RetrievalMode
from rag.errors import NewsragError
from rag.types import Answer
from ui.api_common import FiltersIn, error_route
from ui.openai_api import build_openai_router
from ui.security import basic_auth, same_site_only
from ui.services import Services, http_urls


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class AskRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    question: str = Field(description="The question; follow-ups are rewritten with the history.")
    history: list[Turn] = Field(default_factory=list, description="Earlier turns, oldest first.")
    k: int | None = Field(None, ge=1, le=50, description="Passages to retrieve (default: settings.top_k).")
    mode: RetrievalMode | None = None
    filters: FiltersIn | None = None

    @field_validator("question")
    @classmethod
    def _not_blank(cls, value: str) -> str:
        problem = question_problem(value)
        if problem:
            raise ValueError(problem)
        return value.strip()


class SourceOut(BaseModel):
    id: str
    title: str
    date: str | None
    outlet: str
    url: str
    n_chunks: int
    sources: list[str]


async def validation_error(request: Request, exc: RequestValidationError) -> Response:
    """FastAPI's 422 answer, as ASCII JSON: the default one echoes the input and fails (500) on a lone surrogate."""
    body = json.dumps({"detail": jsonable_encoder(exc.errors())}, ensure_ascii=True)
    return Response(body, status_code=422, media_type="application/json")


def build_docs_router(users: Sequence[tuple[str, str]]) -> APIRouter:
    """/openapi.json, /docs and /redoc behind the same login as the API (FastAPI's own are open to anyone).

    The app is created with its own docs routes off (openapi_url=None...) and includes this router instead.
    """
    router = APIRouter(dependencies=[Depends(basic_auth(users))], include_in_schema=False)

    @router.get("/openapi.json")
    def openapi(request: Request) -> JSONResponse:
        return JSONResponse(request.app.openapi())

    @router.get("/docs")
    def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="openapi.json", title="newsrag API")

    @router.get("/redoc")
    def redoc() -> HTMLResponse:
        return get_redoc_html(openapi_url="openapi.json", title="newsrag API")

    return router


def error_detail(exc: NewsragError) -> Response:
    """FastAPI's own error shape, {"detail": message}, with the error's status."""
    return JSONResponse({"detail": str(exc)}, exc.http_status)


def build_router(services: Services, users: Sequence[tuple[str, str]] = ()) -> APIRouter:
    """/healthz (open, for probes) and the /api routes (behind HTTP Basic when users are given)."""
    router = APIRouter(route_class=error_route(error_detail))
    api = APIRouter(prefix="/api", dependencies=[Depends(same_site_only), Depends(basic_auth(users))], tags=["api"],
                    route_class=error_route(error_detail))

    @router.get("/healthz")
    def healthz() -> dict:
        return {
            "status": "ok",
            "articles": services.store.stats()["articles"],
            "model_backend": services.settings.llm_backend,
        }

    @api.post("/ask", response_model=Answer,
              responses={200: {"content": {"text/event-stream": {}},
                               "description": "Answer JSON, or with Accept: text/event-stream (or ?stream=true) "
                                              "server-sent events: passages, token..., answer (or error)."}})
    async def ask(request: AskRequest, http: Request, stream: bool = False) -> Answer | EventSourceResponse:
        """The same JSON as `newsrag ask --json`; streamed as passages, tokens, then that JSON when asked to."""
        inputs = {
            "question": request.question,
            "chat_history": [turn.model_dump() for turn in request.history],
            "k": request.k,
            "mode": request.mode,
            "filters": request.filters.as_dict() if request.filters else None,
        }
        if stream or "text/event-stream" in http.headers.get("accept", ""):
            return EventSourceResponse(_answer_events(services, inputs))
        return await services.chain.ainvoke(inputs)

    @api.post("/ingest")
    def ingest_files(
        files: Annotated[list[UploadFile] | None, File(description="Article files.")] = None,
        urls: Annotated[str, Form(description="http(s) URLs, one per line.")] = "",
        replace: Annotated[bool, Form(description="Overwrite earlier uploads of the same name (default: keep "
                                                  "both; the new one gets a numbered name).")] = False,
    ) -> dict:
        """Upload files and/or URLs; answers with the per-source ingest summary."""
        good_urls, bad_urls = http_urls(urls)
        if bad_urls:
            raise HTTPException(400, f"not http(s) URLs: {', '.join(bad_urls)}")
        if not files and not good_urls:
            raise HTTPException(400, "nothing to ingest: send files (multipart field 'files') and/or 'urls'")
        saved = services.receive([(f.filename or "", f.file) for f in files or []], replace=replace)
        return services.ingest([str(path) for path in saved] + good_urls).to_dict()

    @api.get("/sources", response_model=list[SourceOut])
    def sources() -> list[SourceOut]:
        return [
            SourceOut(id=a.id, title=a.title, date=a.date, outlet=a.outlet, url=a.url, n_chunks=a.n_chunks,
                      sources=list(a.sources))
            for a in services.store.articles()
        ]

    @api.delete("/sources/{key:path}")
    def delete(key: str) -> dict:
        """Delete by article id or by source (path or URL)."""
        removed = services.delete(key)
        if not removed:
            raise HTTPException(404, f"no stored article or source {key!r}")
        return {"removed": removed}

    router.include_router(api)
    router.include_router(build_openai_router(services, users))
    return router


async def _answer_events(services: Services, inputs: dict) -> AsyncIterator[ServerSentEvent]:
    """/api/ask as server-sent events: `passages` (a JSON list), `token` (a JSON string) each, `answer` last."""
    try:
        async for event in services.chain.astream(inputs):
            if isinstance(event, list):
                yield ServerSentEvent(json.dumps([p.model_dump() for p in event]), event="passages")
            elif isinstance(event, str):
                yield ServerSentEvent(json.dumps(event), event="token")
            else:
                yield ServerSentEvent(event.model_dump_json(), event="answer")
    except Exception as exc:  # the status line has gone out already: the error is the last event
        if not isinstance(exc, NewsragError):
            logging.getLogger("newsrag").exception("a streamed answer failed")
        yield ServerSentEvent(json.dumps({"detail": str(exc) or type(exc).__name__}), event="error")
