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
    basic_auth,
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
    render_stopped_answer,
    render_ingest_summary,
    render_markdown_answer,
    render_sources_html,
)
from ui.viewer import build_viewer_router

EXAMPLES = (
    "When did US forces leave Ain al-Asad?",
    "How many detainees could be moved to Iraq?",
    "Who is the CENTCOM commander and what did he say?",
)
LIBRARY_COLUMNS = ["Title", "Date", "Outlet", "Chunks", "Source"]
ALL_OUTLETS = ("All outlets", "")  # the outlet filter's (label, value) for "no filter"
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
.nr-also summary { cursor: pointer; color: var(--body-text-color-subdued); margin: .4rem 0; }
.nr-link { margin-left: .4rem; }
#chat-status { color: var(--body-text-color-subdued); font-size: .85rem; min-height: 1.2rem; }
a.nr-ref { text-decoration: none; font-weight: 600; font-size: .8em; vertical-align: super; }
/* a phone: the library keeps dates and headers on one line and lets the table scroll sideways */
#library table { min-width: 36rem; }
#library th, #library td:nth-child(2), #library td:nth-child(4) { white-space: nowrap; }
@media (max-width: 640px) { #library { overflow-x: auto; } }
"""
# The chat message is Markdown (it is also the message's accessible label), so "[n]" arrives as text: this
# turns each into a link to its source card, previewing the supporting quote on hover, focus or tap.
CHAT_JS = r"""
() => {
  const MARKER = /\[(\d+)\]/g;
  const linkify = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (MARKER.test(node.nodeValue) && !node.parentElement.closest("a, code")) nodes.push(node);
      MARKER.lastIndex = 0;
    }
    for (const node of nodes) {
      const parts = node.nodeValue.split(/(\[\d+\])/);
      const frag = document.createDocumentFragment();
      for (const part of parts) {
        const m = /^\[(\d+)\]$/.exec(part);
        if (!m) { frag.append(part); continue; }
        const a = document.createElement("a");
        a.className = "nr-ref"; a.href = "#src-" + m[1]; a.textContent = part;
        a.setAttribute("aria-label", "source " + m[1]);
        const preview = () => {
          const card = document.querySelector("#sources #src-" + m[1]);
          a.title = card ? (card.dataset.quote || card.querySelector(".nr-title")?.textContent || "") : "";
        };
        a.addEventListener("mouseenter", preview); a.addEventListener("focus", preview);
        a.addEventListener("click", preview);
        frag.append(a);
      }
      node.replaceWith(frag);
    }
  };
  const observe = () => {
    const chat = document.querySelector("#chat");
    if (!chat) { setTimeout(observe, 200); return; }
    const run = () => chat.querySelectorAll('[data-testid="bot"]').forEach(linkify);
    new MutationObserver(run).observe(chat, {childList: true, subtree: true, characterData: true});
    run();
  };
  observe();
}
"""
CONFIRM_DELETE_JS = """
(source, query) => (source && !confirm("Delete " + source + " from the library?")) ? [null, query] : [source, query]
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


def check_chat_inputs(message: str, busy: bool, date_from: str | None, date_to: str | None) -> list[dict]:
    """Gradio's validator for sending a question: messages beside the offending inputs, the typed text kept."""
    question = (message or "").strip()
    problems = [
        question_problem(question) if question else "Type a question first.", None,
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


def _shown_path(source: str, uploads: Path) -> str:
    """A source as the library shows it: uploads relative to the upload folder, other paths and URLs as they are."""
    try:
        return str(Path(source).relative_to(uploads))
    except ValueError:
        return source


def _library(services: Services, query: str = "") -> tuple[pd.DataFrame, dict, dict]:
    """The library table (rows matching every word of the query in title, outlet, date or source), the delete
    dropdown's choices (one per source) and the chat's outlet filter choices."""
    articles = services.store.catalog.articles()
    words = (query or "").lower().split()
    rows, choices = [], []
    for a in articles:
        shown = [_shown_path(source, services.uploads) for source in a.sources]
        haystack = " ".join([a.title, a.outlet, a.date or "", *shown]).lower()
        if all(word in haystack for word in words):
            rows.append([a.title, a.date or "", a.outlet, a.n_chunks, "\n".join(shown)])
            choices += [(f"{a.title or 'Untitled'} — {name}", source) for name, source in zip(shown, a.sources)]
    outlets = sorted({a.outlet for a in articles if a.outlet})
    return (pd.DataFrame(rows, columns=LIBRARY_COLUMNS), gr.update(choices=choices, value=None),
            gr.update(choices=[ALL_OUTLETS, *outlets]))


def build_blocks(services: Services) -> gr.Blocks:
    """The chat, upload and library tabs; one Services object behind every event."""
    settings = services.settings

    def start(message: str, busy: bool, date_from: str | None, date_to: str | None) -> tuple:
        """Take the typed question for answering, or keep it in the box while another answer is written.

        Runs unqueued, so the busy flag is set before the answer starts: a question sent meanwhile is never
        lost, it stays in the box with a notice. Returns (box, asked, busy, send, stop, status).
        """
        if busy:
            return (gr.skip(), gr.skip(), gr.skip(), gr.skip(), gr.skip(),
                    "An answer is still being written: your question stays in the box. Send it when this one "
                    "ends, or press Stop.")
        return ("", (message or "").strip(), True, gr.update(interactive=False, value="Answering…"),
                gr.update(visible=True), "Answering… (press Stop to cut it short)")

    async def respond(
        question: str, chat: list[dict], k: float, mode: str, outlet: str | None,
        date_from: str | None, date_to: str | None,
    ) -> AsyncIterator[tuple[list[dict], str]]:
        """Stream one answer: passages first, then tokens, then the verified answer replaces the raw text.

        Never writes to the question box, so what the user types meanwhile stays there.
        """
        chat = list(chat or [])
        filters = {**chat_filters(date_from, date_to), "outlet": outlet or None}
        inputs = {"question": question, "chat_history": history_of(chat), "k": int(k), "mode": mode, "filters": filters}
        chat += [{"role": "user", "content": markdown_text(question)}, {"role": "assistant", "content": "…"}]
        yield chat, '<p class="nr-muted">Searching the articles…</p>'
        streamed = ""
        try:
            async for event in services.chain.astream(inputs):  # native async: the event loop is never blocked
                if isinstance(event, list):
                    yield chat, render_sources_html(event, "Retrieved passages")
                elif isinstance(event, str):
                    streamed += event
                    chat[-1] = {"role": "assistant", "content": markdown_text(streamed)}
                    yield chat, gr.skip()
                elif isinstance(event, Answer):
                    chat[-1] = {"role": "assistant", "content": render_markdown_answer(event)}
                    yield chat, render_answer_html(event, settings.min_relevance)
        except NewsragError as exc:
            chat[-1] = {"role": "assistant", "content": f"**Error:** {markdown_text(str(exc))}"}
            yield chat, gr.skip()

    def stopped(chat: list[dict]) -> list[dict]:
        """Mark the answer that Stop cut off as partial and unverified."""
        chat = list(chat or [])
        if chat and chat[-1].get("role") == "assistant":
            partial = plain_text(str(chat[-1].get("content", ""))).removesuffix("…")
            chat[-1] = {"role": "assistant", "content": render_stopped_answer(partial)}
        return chat

    def idle() -> tuple:
        return False, gr.update(interactive=True, value="Send"), gr.update(visible=False), ""

    def add_articles(files: list[str] | None, urls: str, query: str, progress: gr.Progress = gr.Progress()) -> tuple:
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
            return (gr.skip(), *_library(services, query), gr.skip())

        def report_progress(done: int, total: int) -> None:
            progress((done, total), desc="Ingesting", unit="sources")

        report = services.ingest(inputs, progress=report_progress) if inputs else None
        results = refused + (report.to_dict()["results"] if report else [])
        counts = dict(report.counts) if report else {"failed": 0}
        counts["failed"] = counts.get("failed", 0) + len(refused)
        told = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing ingested"
        (gr.Warning if counts["failed"] else gr.Info)(f"Library updated: {told}.")
        return (render_ingest_summary(results, counts), *_library(services, query), None)

    def delete(source: str | None, query: str) -> tuple:
        if not source:
            gr.Warning("Choose a source to delete.")
            return (gr.skip(), *_library(services, query))
        removed = services.delete(source)
        if not removed:
            return ("Nothing matched; it may be gone already.", *_library(services, query))
        return (f"Removed {removed} source(s): {markdown_text(_shown_path(source, services.uploads))}",
                *_library(services, query))

    def pick_row(query: str, event: gr.SelectData) -> dict:
        """A click on a library row chooses that article's first source for the Delete button."""
        table, choices, _ = _library(services, query)
        row = event.index[0] if isinstance(event.index, (list, tuple)) else event.index
        if not 0 <= row < len(table):
            return gr.skip()
        first = table.iloc[row]["Source"].split("\n")[0]
        source = next((s for _, s in choices["choices"] if _shown_path(s, services.uploads) == first), None)
        return gr.update(value=source) if source else gr.skip()

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
                        send = gr.Button("Send", variant="primary", scale=1, min_width=80, elem_id="send")
                        stop = gr.Button("Stop", variant="stop", scale=1, min_width=80, visible=False, elem_id="stop")
                    status = gr.Markdown("", elem_id="chat-status")
                    with gr.Row():
                        examples = [gr.Button(q, size="sm", variant="secondary") for q in EXAMPLES]
                    with gr.Accordion("Answer settings", open=False):
                        k = gr.Slider(1, max(12, settings.top_k), value=settings.top_k, step=1,
                                      label="Passages to retrieve (k)")
                        mode = gr.Radio(list(get_args(RetrievalMode)), value=settings.retrieval, label="Retrieval mode")
                        outlet = gr.Dropdown(label="Outlet", choices=[ALL_OUTLETS], value=ALL_OUTLETS[1])
                        with gr.Row():
                            date_from = gr.DateTime(label="Date from", include_time=False, type="string", value="")
                            date_to = gr.DateTime(label="Date to", include_time=False, type="string", value="")
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
            search = gr.Textbox(label="Search the library", placeholder="title, outlet, date or file name",
                                elem_id="library-search")
            library = gr.Dataframe(
                headers=LIBRARY_COLUMNS, datatype=["str", "str", "str", "number", "str"], interactive=False,
                wrap=True, column_widths=["32%", "10%", "16%", "7%", "35%"], elem_id="library",
            )
            refresh = gr.Button("Refresh", size="sm")
            with gr.Row():
                to_delete = gr.Dropdown(label="Delete by source (or click a row)", choices=[], scale=4)
                delete_button = gr.Button("Delete", variant="stop", scale=1)
            delete_note = gr.Markdown()

        busy = gr.State(False)
        asked = gr.Textbox(visible=False)  # the question being answered; a component so /chat takes it as input
        start_inputs = [message, busy, date_from, date_to]
        start_outputs = [message, asked, busy, send, stop, status]
        answer_inputs = [asked, chatbot, k, mode, outlet, date_from, date_to]
        idle_outputs = [busy, send, stop, status]
        sent = gr.on([message.submit, send.click], start, start_inputs, start_outputs, queue=False,
                     validator=check_chat_inputs, api_visibility="private")
        answers = [sent.success(respond, answer_inputs, [chatbot, sources], api_name="chat")]
        for button, question in zip(examples, EXAMPLES):
            picked = button.click(_constant(question), None, message, queue=False, api_visibility="private").then(
                start, start_inputs, start_outputs, queue=False, validator=check_chat_inputs,
                api_visibility="private")
            answers.append(picked.success(respond, answer_inputs, [chatbot, sources], api_visibility="private"))
        for answer in answers:
            answer.then(idle, None, idle_outputs, queue=False, api_visibility="private")
        # cancel first, then mark: marking in the same event can be overwritten by the answer's last update
        stop.click(None, None, None, cancels=answers, queue=False, api_visibility="private").then(
            stopped, chatbot, chatbot, queue=False, api_visibility="private").then(
            idle, None, idle_outputs, queue=False, api_visibility="private")
        chatbot.clear(lambda: _EMPTY_SOURCES, None, sources, queue=False, api_visibility="private")
        library_outputs = [library, to_delete, outlet]
        add_button.click(
            add_articles, [files, urls, search], [summary, *library_outputs, files], concurrency_limit=1,
            api_visibility="private",
        )
        gr.on([refresh.click, demo.load, search.change], lambda query: _library(services, query), search,
              library_outputs, api_visibility="private")
        library.select(pick_row, search, to_delete, api_visibility="private")
        delete_button.click(delete, [to_delete, search], [delete_note, *library_outputs], concurrency_limit=1,
                            api_visibility="private", js=CONFIRM_DELETE_JS)
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
    app.include_router(build_viewer_router(services.store, [basic_auth(users)]))
    demo = build_blocks(services)
    demo.queue(default_concurrency_limit=CONCURRENT_ANSWERS)
    return gr.mount_gradio_app(
        app, demo, path="/", auth=users or None, auth_message="Sign in to newsrag.", theme=THEME, css=CSS, js=CHAT_JS,
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
