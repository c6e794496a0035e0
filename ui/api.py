"""The JSON API beside the chat UI, and the per-process services (store, chain, uploads) both of them share."""

from __future__ import annotations

import filecmp
import json
import logging
import os
import re
import secrets
import shutil
import tempfile
import unicodedata
from collections.abc import AsyncIterator, Callable, Iterable, Sequence
from datetime import date
from pathlib import Path
from typing import Annotated, BinaryIO, Literal
from urllib.parse import urlsplit

from fastapi import APIRouter, Depends, File, Form, HTTPException, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_redoc_html, get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, PlainTextResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sse_starlette import EventSourceResponse, ServerSentEvent

from ingest.loaders import SUPPORTED_EXTENSIONS
from ingest.pipeline import IngestReport, ingest
from rag.chain import AnswerChain, build_chain, question_problem
from rag.config import RetrievalMode, Settings
from rag.errors import ConfigError, NewsragError
from rag.store import Store
from rag.types import Answer

COPY_BLOCK = 1024 * 1024


class UploadRejected(Exception):
    """An upload refused before ingesting; status is the HTTP status the API answers with."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def safe_filename(name: str) -> str:
    """The basename of an uploaded file's name, reduced to harmless characters: no directories, no dotfiles."""
    base = re.split(r"[\\/]", unicodedata.normalize("NFKC", name or ""))[-1]
    base = re.sub(r"[^\w.-]+", "_", base).strip("._")
    stem, dot, suffix = base.rpartition(".")
    if dot and len(base) > 120:
        base = f"{stem[: 119 - len(suffix)]}.{suffix}"
    return base[:120] or "upload"


def http_urls(text: str) -> tuple[list[str], list[str]]:
    """Split a one-URL-per-line text into http(s) URLs and the lines that are not (never local paths)."""
    good, bad = [], []
    for line in (raw.strip() for raw in (text or "").splitlines()):
        if not line:
            continue
        parts = urlsplit(line)
        (good if parts.scheme.lower() in ("http", "https") and parts.netloc else bad).append(line)
    return good, bad


def parse_auth(value: str | None) -> list[tuple[str, str]]:
    """settings.ui_auth as (user, password) pairs: one "user:password", or a file of such lines."""
    if not value:
        return []
    path = Path(value).expanduser()
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [value]
    pairs = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not (sep and user and password):
            raise ConfigError("NEWSRAG_UI_AUTH must be user:password or the path of a file of user:password lines")
        pairs.append((user, password))
    if not pairs:
        raise ConfigError(f"NEWSRAG_UI_AUTH names {path}, which holds no user:password lines")
    return pairs


class Services:
    """One store and one chain per process; the models load once.

    The chain's retriever holds the store's lock while it searches; each write batch also takes it (after the
    data dir's write lock, shared with other processes), so a question waits at most for one batch's commit,
    never a whole ingest.
    """

    def __init__(self, settings: Settings, chain: AnswerChain | None = None) -> None:
        self.settings = settings
        self.chain = chain or build_chain(settings)
        self.store: Store = self.chain.retriever.store
        self.uploads = (settings.data_dir / "uploads").resolve()
        self.uploads.mkdir(parents=True, exist_ok=True)

    def ingest(self, inputs: Sequence[str], progress: Callable[[int, int], None] | None = None) -> IngestReport:
        """Ingest (the store locks each batch); uploads that ended up stored under no source are removed."""
        try:
            return ingest(inputs, self.settings, store=self.store, progress=progress)
        finally:
            self._drop_unused_uploads(Path(item) for item in inputs)

    def delete(self, key: str) -> int:
        """Remove a source, or every source of an article id, and the uploaded files nothing points at any more."""
        matched = [_file_of(source) for source, in self.store.catalog.db.execute(
            "SELECT source FROM sources WHERE source=? OR article_id=?", (key, key))]
        removed = self.store.delete_source(key)
        self.store.refresh_lexical()
        self._drop_unused_uploads(matched)
        return removed

    def _drop_unused_uploads(self, paths: Iterable[Path]) -> None:
        """Delete files in data_dir/uploads that no stored source (the file, or a JSONL line of it) names."""
        for path in paths:
            if path.parent != self.uploads or not path.is_file():
                continue
            name = str(path)
            if not self.store.catalog.db.execute(
                "SELECT 1 FROM sources WHERE source=? OR substr(source, 1, ?)=? LIMIT 1", (name, len(name) + 1, name + ":")
            ).fetchone():
                path.unlink(missing_ok=True)

    def receive(self, files: Sequence[tuple[str, BinaryIO]], *, replace: bool = False) -> list[Path]:
        """Check and copy uploads into data_dir/uploads, all or none: one bad file raises UploadRejected.

        Files are staged in a private directory first, so a refused batch never replaces a stored upload.
        An upload never overwrites another: a name already taken gets a numbered suffix (story-2.txt), unless
        the file there holds the same bytes (then it is reused). replace=True overwrites earlier uploads of
        the same name instead (that article is then updated); uploads in one batch still never overwrite
        each other.
        """
        incoming = Path(tempfile.mkdtemp(prefix=".incoming-", dir=self.uploads))
        try:
            staged = [self._stage(name, stream, incoming / str(n)) for n, (name, stream) in enumerate(files)]
            saved: list[Path] = []
            for path in staged:
                saved.append(self._place(path, replace=replace and self.uploads / path.name not in saved))
            return saved
        finally:
            shutil.rmtree(incoming, ignore_errors=True)

    def _place(self, staged: Path, *, replace: bool) -> Path:
        """Move a staged upload into the uploads folder under a name of its own (see receive)."""
        if replace:
            target = self.uploads / staged.name
            os.replace(staged, target)
            return target
        target, n = self.uploads / staged.name, 1
        while True:
            try:
                os.link(staged, target)  # fails if the name is taken, even by a request running meanwhile
                return target
            except FileExistsError:
                if filecmp.cmp(staged, target, shallow=False):
                    return target
            n += 1
            target = self.uploads / f"{staged.stem}-{n}{staged.suffix}"

    def _stage(self, name: str, stream: BinaryIO, directory: Path) -> Path:
        safe = safe_filename(name)
        suffix = Path(safe).suffix.lower()
        if suffix not in SUPPORTED_EXTENSIONS:
            found = f"'{suffix}'" if suffix else "no extension"
            raise UploadRejected(
                415, f"{safe}: files with {found} are not accepted; allowed: {', '.join(sorted(SUPPORTED_EXTENSIONS))}"
            )
        limit = self.settings.upload_max_bytes
        directory.mkdir()
        target = directory / safe
        size = 0
        with target.open("wb") as out:
            while block := stream.read(COPY_BLOCK):
                size += len(block)
                if size > limit:
                    raise UploadRejected(413, f"{safe} is larger than the upload limit of {limit:,} bytes")
                out.write(block)
        return target


def _file_of(source: str) -> Path:
    """The file a source names: a JSONL line's source is path:line."""
    path, _, line = source.rpartition(":")
    return Path(path) if path and line.isdigit() else Path(source)


# --- the API --------------------------------------------------------------------------------------------------


class Turn(BaseModel):
    role: Literal["user", "assistant"]
    content: str


class FiltersIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    date_from: date | None = Field(None, description="Inclusive, YYYY-MM-DD.")
    date_to: date | None = Field(None, description="Inclusive, YYYY-MM-DD.")
    outlet: str | None = None
    article_ids: list[str] = Field(default_factory=list, max_length=500,
                                   description="Search only these articles (ids from /api/sources); empty: all.")

    def as_dict(self) -> dict[str, str | list[str] | None]:
        return {
            "date_from": self.date_from.isoformat() if self.date_from else None,
            "date_to": self.date_to.isoformat() if self.date_to else None,
            "outlet": self.outlet or None,
            "article_ids": self.article_ids,
        }


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


def basic_auth(users: Sequence[tuple[str, str]]) -> Callable[..., None]:
    """A dependency requiring credentials from `users` (none required when the list is empty).

    HTTP Basic, or `Authorization: Bearer user:password`: what OpenAI clients send as their API key.
    """
    security = HTTPBasic(auto_error=False, realm="newsrag")

    # Depends() as a default, not in Annotated: `security` is a closure variable, which string annotations
    # (from __future__ import annotations) cannot reach when FastAPI resolves them.
    def check(request: Request, credentials: HTTPBasicCredentials | None = Depends(security)) -> None:
        if not users:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if credentials is None and scheme.lower() == "bearer" and ":" in token:
            user, _, password = token.strip().partition(":")
            credentials = HTTPBasicCredentials(username=user, password=password)
        if credentials is not None:
            given = (credentials.username.encode(), credentials.password.encode())
            for user, password in users:
                # evaluate both comparisons every time so timing does not reveal which part matched
                user_ok = secrets.compare_digest(given[0], user.encode())
                password_ok = secrets.compare_digest(given[1], password.encode())
                if user_ok and password_ok:
                    return
        raise HTTPException(401, "login required", headers={"WWW-Authenticate": 'Basic realm="newsrag"'})

    return check


def same_site_only(request: Request) -> None:
    """Refuse browser requests sent by other sites (CSRF) to the API's writing routes.

    A page anywhere on the web can make the user's browser POST a multipart form to
    http://127.0.0.1:7860/api/ingest, which would plant articles (and the instructions in them) in the
    library. Browsers send an Origin header with every cross-site POST or DELETE; scripts, curl and
    gradio_client send none and are not affected.
    """
    if origin := _cross_site_origin(request):
        raise HTTPException(403, f"cross-site request from {origin} refused; the API serves scripts and this site only")


def _cross_site_origin(request: Request) -> str | None:
    """The Origin of a writing request sent by another site, or None (same site, or not from a browser)."""
    origin = request.headers.get("origin")
    if origin is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    hosts = {request.headers.get(name, "").lower() for name in ("host", "x-forwarded-host")} - {""}
    parts = urlsplit(origin)
    return origin if parts.scheme not in ("http", "https") or parts.netloc.lower() not in hosts else None


async def same_site_uploads(request: Request, call_next: Callable) -> Response:
    """Middleware: Gradio's own upload route gets the same CSRF check as the API (Gradio has none without auth)."""
    if request.url.path.endswith("/gradio_api/upload") and (origin := _cross_site_origin(request)):
        return PlainTextResponse(f"cross-site upload from {origin} refused", status_code=403)
    return await call_next(request)


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


def build_router(services: Services, users: Sequence[tuple[str, str]] = ()) -> APIRouter:
    """/healthz (open, for probes) and the /api routes (behind HTTP Basic when users are given)."""
    router = APIRouter()
    api = APIRouter(prefix="/api", dependencies=[Depends(same_site_only), Depends(basic_auth(users))], tags=["api"])

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
        try:
            return await services.chain.ainvoke(inputs)
        except NewsragError as exc:
            raise HTTPException(503, str(exc)) from exc

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
        try:
            saved = services.receive([(f.filename or "", f.file) for f in files or []], replace=replace)
        except UploadRejected as exc:
            raise HTTPException(exc.status, exc.message) from exc
        return services.ingest([str(path) for path in saved] + good_urls).to_dict()

    @api.get("/sources", response_model=list[SourceOut])
    def sources() -> list[SourceOut]:
        return [
            SourceOut(id=a.id, title=a.title, date=a.date, outlet=a.outlet, url=a.url, n_chunks=a.n_chunks,
                      sources=list(a.sources))
            for a in services.store.catalog.articles()
        ]

    @api.delete("/sources/{key:path}")
    def delete(key: str) -> dict:
        """Delete by article id or by source (path or URL)."""
        removed = services.delete(key)
        if not removed:
            raise HTTPException(404, f"no stored article or source {key!r}")
        return {"removed": removed}

    router.include_router(api)
    from ui.openai_api import build_openai_router  # it builds on this module's auth and models

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
