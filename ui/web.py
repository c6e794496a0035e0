"""The web app: the Gradio chat, upload and library tabs mounted at "/" beside the JSON API, in one FastAPI app."""

from __future__ import annotations

import logging
import os
import re
import threading
from collections.abc import AsyncIterator, Callable
from datetime import date
from pathlib import Path
from typing import get_args

import gradio as gr
import pandas as pd
import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError

from ingest.loaders import SUPPORTED_EXTENSIONS
from rag.chain import question_problem
from rag.config import RetrievalMode, Settings
from rag.errors import NewsragError
from rag.types import Answer
from ui.api import (
    Services,
    UploadRejected,
    build_docs_router,
    build_router,
    http_urls,
    parse_auth,
    safe_filename,
    same_site_uploads,
    validation_error,
)
from ui.render import (
    markdown_text,
    plain_text,
    render_answer_html,
    render_ingest_summary,
    render_markdown_answer,
    render_sources_html,
)

EXAMPLES = (
    "When did US forces leave Ain al-Asad?",
    "How many detainees could be moved to Iraq?",
    "Who is the CENTCOM commander and what did he say?",
)
LIBRARY_COLUMNS = ["Title", "Date", "Outlet", "Chunks", "Source"]
CONCURRENT_ANSWERS = 2  # answers streamed at once; more users wait in Gradio's queue and see their place in it
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMPTY_SOURCES = '<p class="nr-muted">Sources for the answer appear here.</p>'

CSS = """
#sources { max-height: 75vh; overflow-y: auto; }
.nr-sources h3 { margin: 0 0 .5rem; font-size: 1rem; }
.nr-card { border: 1px solid var(--border-color-primary); border-radius: 8px; padding: .6rem .8rem;
           margin-bottom: .6rem; background: var(--background-fill-secondary); }
.nr-card:target { outline: 2px solid var(--color-accent); }
.nr-n { font-weight: 700; color: var(--color-accent); margin-right: .2rem; }
.nr-meta { font-size: .8rem; color: var(--body-text-color-subdued); margin: .15rem 0 .4rem; }
.nr-text { font-size: .85rem; line-height: 1.45; white-space: pre-wrap; }
.nr-text mark { background: #fde68a; color: #1f2937; padding: 0 .1rem; border-radius: 2px; }
.nr-muted, .nr-note { color: var(--body-text-color-subdued); font-style: italic; }
.nr-abstain { margin-bottom: .6rem; }
.nr-ref a { text-decoration: none; font-weight: 600; }
del { text-decoration-color: #dc2626; }
.nr-summary { font-size: .85rem; width: 100%; }
.nr-summary tr.nr-failed td { color: #dc2626; }
"""
# System fonts only: the default theme would fetch Google Fonts, which an offline machine cannot reach.
THEME = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def describe_backend(settings: Settings) -> str:
    """The answering model in words, for the read-only display in the settings."""
    backend = settings.llm_backend
    if backend == "local":
        return "local: Qwen2.5-Coder-1.5B-Instruct (bundled, Q4_K_M, CPU)"
    if backend == "fake":
        return "fake: deterministic stand-in for tests (quotes the first passage)"
    where = settings.llm_base_url or ("api.openai.com" if backend == "openai" else "local Ollama")
    return f"{backend}: {settings.llm_model or '(no model set)'} at {where}"


def date_problem(text: str | None, label: str) -> str | None:
    """Why a date filter is unusable, or None when it is blank or a real YYYY-MM-DD date."""
    text = (text or "").strip()
    if not text:
        return None
    try:
        if _DATE.match(text) and date.fromisoformat(text):
            return None
    except ValueError:
        pass
    return f"{label} must be a date like 2026-01-19 (YYYY-MM-DD), not {text!r}"


def chat_filters(date_from: str | None, date_to: str | None) -> dict[str, str | None]:
    """The date filters for the chain; a bad date is a visible error, never a silently ignored filter."""
    problem = date_problem(date_from, "Date from") or date_problem(date_to, "Date to")
    if problem:
        raise gr.Error(problem)
    filters = {"date_from": (date_from or "").strip() or None, "date_to": (date_to or "").strip() or None}
    if filters["date_from"] and filters["date_to"] and filters["date_from"] > filters["date_to"]:
        raise gr.Error("Date from is after Date to.")
    return filters


def check_chat_inputs(message: str, chat: list, k: float, mode: str, date_from: str, date_to: str) -> list[dict]:
    """Gradio's validator: messages beside the offending inputs instead of an error over the whole chat."""
    question = (message or "").strip()
    problems = [
        question_problem(question) if question else "Type a question first.", None, None, None,
        date_problem(date_from, "Date from"), date_problem(date_to, "Date to"),
    ]
    return [gr.validate(problem is None, problem or "") for problem in problems]


def history_of(chat: list[dict]) -> list[dict]:
    """The conversation as plain {"role", "content"} turns for the chain (Gradio 6 content may be a list of blocks)."""
    turns = []
    for message in chat:
        content = message.get("content", "")
        if isinstance(content, list):
            content = " ".join(block.get("text", "") for block in content if isinstance(block, dict))
        turns.append({"role": message.get("role", "user"), "content": plain_text(str(content))})
    return turns


def _library(services: Services) -> tuple[pd.DataFrame, dict]:
    """The library table and the delete dropdown's choices (one per source)."""
    articles = services.store.catalog.articles()
    rows = [[a.title, a.date or "", a.outlet, a.n_chunks, "\n".join(a.sources)] for a in articles]
    choices = [(f"{a.title or 'Untitled'} — {source}", source) for a in articles for source in a.sources]
    return pd.DataFrame(rows, columns=LIBRARY_COLUMNS), gr.update(choices=choices, value=None)


def build_blocks(services: Services) -> gr.Blocks:
    """The chat, upload and library tabs; one Services object behind every event."""
    settings = services.settings

    async def respond(
        message: str, chat: list[dict], k: float, mode: str, date_from: str, date_to: str
    ) -> AsyncIterator[tuple[list[dict], str, str]]:
        """Stream one answer: passages first, then tokens, then the verified answer replaces the raw text."""
        question = (message or "").strip()
        chat = list(chat or [])
        if not question:
            gr.Warning("Type a question first.")
            yield chat, gr.skip(), ""
            return
        filters = chat_filters(date_from, date_to)
        inputs = {"question": question, "chat_history": history_of(chat), "k": int(k), "mode": mode, "filters": filters}
        chat += [{"role": "user", "content": markdown_text(question)}, {"role": "assistant", "content": "…"}]
        yield chat, '<p class="nr-muted">Searching the articles…</p>', ""
        streamed = ""
        try:
            async for event in services.chain.astream(inputs):  # native async: the event loop is never blocked
                if isinstance(event, list):
                    yield chat, render_sources_html(event, "Retrieved passages"), ""
                elif isinstance(event, str):
                    streamed += event
                    chat[-1] = {"role": "assistant", "content": markdown_text(streamed)}
                    yield chat, gr.skip(), ""
                elif isinstance(event, Answer):
                    chat[-1] = {"role": "assistant", "content": render_markdown_answer(event)}
                    yield chat, render_answer_html(event), ""
        except NewsragError as exc:
            chat[-1] = {"role": "assistant", "content": f"**Error:** {markdown_text(str(exc))}"}
            yield chat, gr.skip(), ""

    def add_articles(files: list[str] | None, urls: str, progress: gr.Progress = gr.Progress()) -> tuple:
        """Check, copy and ingest uploads and URLs; refused inputs are listed as failures with the reason."""
        refused: list[dict] = []
        saved: list[Path] = []
        for path in files or []:
            name = Path(path).name
            try:
                with open(path, "rb") as stream:
                    saved += services.receive([(name, stream)])
            except UploadRejected as exc:
                refused.append({"source": safe_filename(name), "status": "failed", "reason": exc.message})
        good_urls, bad_urls = http_urls(urls)
        refused += [{"source": url, "status": "failed", "reason": "not an http(s) URL"} for url in bad_urls]
        inputs = [str(path) for path in saved] + good_urls
        if not inputs and not refused:
            gr.Warning("Choose files or enter URLs first.")
            return (gr.skip(), *_library(services), gr.skip())

        def report_progress(done: int, total: int) -> None:
            progress((done, total), desc="Ingesting", unit="sources")

        report = services.ingest(inputs, progress=report_progress) if inputs else None
        results = refused + (report.to_dict()["results"] if report else [])
        counts = dict(report.counts) if report else {"failed": 0}
        counts["failed"] = counts.get("failed", 0) + len(refused)
        return (render_ingest_summary(results, counts), *_library(services), None)

    def delete(source: str | None) -> tuple:
        if not source:
            gr.Warning("Choose a source to delete.")
            return (gr.skip(), *_library(services))
        removed = services.delete(source)
        if not removed:
            return ("Nothing matched; it may be gone already.", *_library(services))
        return (f"Removed {removed} source(s): {markdown_text(source)}", *_library(services))

    # uploads are copied into the library at once; Gradio's own copies go after an hour (checked every 10 min)
    with gr.Blocks(title="newsrag", analytics_enabled=False, delete_cache=(600, 3600)) as demo:
        gr.Markdown("## newsrag\nAsk about the news articles in the library. Every answer cites its passages.")
        with gr.Tab("Chat"):
            with gr.Row(equal_height=False):
                with gr.Column(scale=3):
                    chatbot = gr.Chatbot(
                        label="Conversation", height=460, latex_delimiters=[], elem_id="chat", buttons=[],
                        placeholder="Ask a question about the articles, or pick an example below.",
                    )
                    with gr.Row():
                        message = gr.Textbox(
                            label="Question", placeholder="Ask about the articles…", show_label=False, scale=6,
                            autofocus=True, elem_id="question", max_lines=4,
                        )
                        send = gr.Button("Send", variant="primary", scale=1, min_width=80)
                    with gr.Row():
                        examples = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                    with gr.Accordion("Answer settings", open=False):
                        k = gr.Slider(1, max(12, settings.top_k), value=settings.top_k, step=1,
                                      label="Passages to retrieve (k)")
                        mode = gr.Radio(list(get_args(RetrievalMode)), value=settings.retrieval, label="Retrieval mode")
                        with gr.Row():
                            date_from = gr.Textbox("", label="Date from", placeholder="YYYY-MM-DD")
                            date_to = gr.Textbox("", label="Date to", placeholder="YYYY-MM-DD")
                        gr.Textbox(describe_backend(settings), label="Answering model", interactive=False)
                with gr.Column(scale=2):
                    sources = gr.HTML(_EMPTY_SOURCES, label="Sources", elem_id="sources", js_on_load=None)

        with gr.Tab("Upload"):
            files = gr.File(
                file_count="multiple", label=f"Article files ({' '.join(sorted(SUPPORTED_EXTENSIONS))})",
                file_types=sorted(SUPPORTED_EXTENSIONS),
            )
            urls = gr.Textbox(label="URLs, one per line", lines=3, placeholder="https://example.com/story.html")
            add_button = gr.Button("Add to library", variant="primary")
            summary = gr.HTML(elem_id="ingest-summary", js_on_load=None)

        with gr.Tab("Library"):
            library = gr.Dataframe(
                headers=LIBRARY_COLUMNS, datatype=["str", "str", "str", "number", "str"], interactive=False,
                wrap=True, column_widths=["32%", "10%", "16%", "7%", "35%"], elem_id="library",
            )
            refresh = gr.Button("Refresh", size="sm")
            with gr.Row():
                to_delete = gr.Dropdown(label="Delete by source", choices=[], scale=4)
                delete_button = gr.Button("Delete", variant="stop", scale=1)
            delete_note = gr.Markdown()

        chat_inputs = [message, chatbot, k, mode, date_from, date_to]
        chat_outputs = [chatbot, sources, message]
        gr.on([message.submit, send.click], respond, chat_inputs, chat_outputs, api_name="chat",
              validator=check_chat_inputs)
        for button, question in zip(examples, EXAMPLES):
            button.click(_constant(question), None, message, queue=False, api_visibility="private").then(
                respond, chat_inputs, chat_outputs, api_visibility="private", validator=check_chat_inputs
            )
        chatbot.clear(lambda: _EMPTY_SOURCES, None, sources, queue=False, api_visibility="private")
        add_button.click(
            add_articles, [files, urls], [summary, library, to_delete, files], concurrency_limit=1,
            api_visibility="private",
        )
        gr.on([refresh.click, demo.load], lambda: _library(services), None, [library, to_delete],
              api_visibility="private")
        delete_button.click(delete, to_delete, [delete_note, library, to_delete], concurrency_limit=1,
                            api_visibility="private")
    return demo


def _constant(value: str) -> Callable[[], str]:
    return lambda: value


def build_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The FastAPI app: /healthz and /api/* first, then the Gradio UI mounted at "/" (routes match in order).

    Pass `services` to share one store and model between several apps in a process (the tests do);
    `settings` still decides auth and the upload limit Gradio enforces.
    """
    services = services or Services(settings)
    users = parse_auth(settings.ui_auth)
    app = FastAPI(title="newsrag", summary="Answers about news articles, with citations.",
                  openapi_url=None, docs_url=None, redoc_url=None)  # served by build_docs_router, behind the login
    app.include_router(build_docs_router(users))
    app.middleware("http")(same_site_uploads)
    app.add_exception_handler(RequestValidationError, validation_error)
    # Gradio keeps uploads in GRADIO_TEMP_DIR (default: the system temp dir): under the data dir instead
    os.environ["GRADIO_TEMP_DIR"] = str((settings.data_dir / "gradio-uploads").resolve())
    app.include_router(build_router(services, users))
    demo = build_blocks(services)
    demo.queue(default_concurrency_limit=CONCURRENT_ANSWERS)
    return gr.mount_gradio_app(
        app, demo, path="/", auth=users or None, auth_message="Sign in to newsrag.", theme=THEME, css=CSS,
        max_file_size=settings.upload_max_bytes, ssr_mode=False,
    )


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def loopback_host_guard(app: Callable, bind_host: str) -> Callable:
    """On a loopback address, answer only requests addressed to a loopback name (421 otherwise).

    DNS rebinding: a web page on evil.example re-points its name at 127.0.0.1 and, being same-origin
    with itself, reads the local API and the chat. Its requests carry "Host: evil.example:7860";
    requests from the user's browser or scripts carry 127.0.0.1, localhost or [::1]. Bound to another
    address (a server, a container) the app is reached under names we cannot know, so nothing changes.
    """
    if bind_host not in LOOPBACK_HOSTS:
        return app

    async def guarded(scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_HOSTS:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body",
                            "body": b"newsrag on a loopback address answers to 127.0.0.1, localhost or [::1] only\n"})
                return
        await app(scope, receive, send)

    return guarded


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the web app with uvicorn until interrupted; the model reads its instructions while the UI starts."""
    host = host or settings.ui_host
    services = Services(settings)
    threading.Thread(target=_warm_up, args=(services,), name="newsrag-warm-up", daemon=True).start()
    uvicorn.run(loopback_host_guard(build_app(settings, services), host), host=host, port=port or settings.ui_port)


def _warm_up(services: Services) -> None:
    try:
        services.chain.warm_up()
    except Exception as exc:  # a remote backend that is down: the first question will report it properly
        logging.getLogger("newsrag").warning("model warm-up failed (%s); the first answer will be slower", exc)
