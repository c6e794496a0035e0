"""The Gradio layout: the chat, upload and library tabs, their style and scripts (ui.server mounts it at "/")."""

from __future__ import annotations

from pathlib import Path

import gradio as gr
import pandas as pd

from ingest.loaders import SUPPORTED_EXTENSIONS
from ui.chat import build_chat_tab
from ui.chat_inputs import ALL_OUTLETS, article_choices
from ui.conversations import Conversations
from ui.feedback import FeedbackLog
from ui.render import markdown_text, render_ingest_summary
from ui.services import Services, UploadRejected, http_urls, safe_filename

LIBRARY_COLUMNS = ["Title", "Date", "Outlet", "Chunks", "Source"]
LIBRARY_COLUMN_WIDTHS = ["230px", "104px", "180px", "80px", "586px"]  # pixels, not %: a phone sees title and date
CONCURRENT_ANSWERS = 2  # answers streamed at once; more users wait in Gradio's queue and see their place in it

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
.nr-summary td { overflow-wrap: break-word; }
/* on a phone each ingested source is a card of labelled lines, not a table cut off at the screen's edge */
@media (max-width: 640px) {
  .nr-summary thead { display: none; }
  .nr-summary, .nr-summary tbody, .nr-summary tr, .nr-summary td { display: block; width: auto; }
  .nr-summary tr { border: 1px solid var(--border-color-primary); border-radius: 6px; margin-bottom: .4rem; }
  .nr-summary td { border: none; padding: .1rem .5rem; }
  .nr-summary td::before { font-weight: 600; }
  .nr-summary td:nth-child(1)::before { content: "Source: "; }
  .nr-summary td:nth-child(2)::before { content: "Status: "; }
  .nr-summary td:nth-child(3)::before { content: "Title: "; }
  .nr-summary td:nth-child(4)::before { content: "Chunks: "; }
  .nr-summary td:nth-child(5)::before { content: "Reason: "; }
  .nr-summary td:empty { display: none; }
}
.nr-summary tr.nr-failed td { color: #dc2626; }
.nr-also summary { cursor: pointer; color: var(--body-text-color-subdued); margin: .4rem 0; }
.nr-link { margin-left: .4rem; }
/* the exported file's name wraps instead of shrinking to its last letters in the narrow conversations column */
#exported-conversation tr.file, #exported-conversation tr.file td { display: block; width: auto; text-align: left; }
#exported-conversation td.filename .stem { white-space: normal; overflow-wrap: anywhere; }
#filter-chips { gap: .4rem; flex-wrap: wrap; }
#filter-chips:not(:has(.nr-chip:not(.hidden))) { display: none; }  /* no filter in force: no empty row */
.nr-chip { border-radius: 999px !important; font-size: .8rem !important; padding: .15rem .7rem !important;
           flex: 0 0 auto !important; width: auto !important; }
.nr-for { font-size: .8rem; color: var(--body-text-color-subdued); margin: 0 0 .3rem; }
/* the saved conversations scroll in their own box, so a long list never pushes the chat down a phone's screen */
#conversation-list .wrap:has(> label) { max-height: 22rem; overflow-y: auto; }
@media (max-width: 640px) { #conversation-list .wrap:has(> label) { max-height: 9rem; } }
#chat-status { color: var(--body-text-color-subdued); font-size: .85rem; min-height: 1.2rem; }
.nr-problem, .nr-problem p { color: #b91c1c; font-size: .85rem; }
a.nr-ref { text-decoration: none; font-weight: 600; font-size: .8em; vertical-align: super; }
/* the library's columns have fixed widths (LIBRARY_COLUMN_WIDTHS), so on a phone the table scrolls sideways
   instead of squeezing dates and headers a few letters to a line */
#library th *, #library [role=gridcell]:nth-child(2) *, #library [role=gridcell]:nth-child(4) * {
  white-space: nowrap; word-break: keep-all; overflow-wrap: normal; }
"""
# The chat message is Markdown (it is also the message's accessible label), so "[n]" arrives as text: this
# turns each into a link to its source card, previewing the supporting quote on hover, focus or tap. Answer A's
# marker [n] opens card #src-A-n: the sources panel holds a section per answer (ui.answers) and shows the one
# whose message or marker was clicked last.
CHAT_JS = r"""
() => {
  const MARKER = /\[(\d+)\]/;
  const linkify = (root) => {
    const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
    const nodes = [];
    while (walker.nextNode()) {
      const node = walker.currentNode;
      if (MARKER.test(node.nodeValue) && !node.parentElement.closest("a, code")) nodes.push(node);
    }
    for (const node of nodes) {
      const frag = document.createDocumentFragment();
      for (const part of node.nodeValue.split(/(\[\d+\])/)) {
        const m = /^\[(\d+)\]$/.exec(part);
        if (!m) { frag.append(part); continue; }
        const a = document.createElement("a");
        a.className = "nr-ref"; a.textContent = part; a.dataset.n = m[1];
        a.setAttribute("aria-label", "source " + m[1]);
        frag.append(a);
      }
      node.replaceWith(frag);
    }
  };
  const answers = () => [...document.querySelectorAll('#chat [data-testid="bot"]')];
  const number = (a) => answers().findIndex((message) => message.contains(a));
  const show = (n) => {
    const sections = [...document.querySelectorAll("#sources .nr-answer-sources")];
    if (sections.some((section) => section.dataset.answer === String(n)))  // an answer without sources: left as is
      sections.forEach((section) => { section.hidden = section.dataset.answer !== String(n); });
  };
  const preview = () => answers().forEach((message, i) => message.querySelectorAll("a.nr-ref").forEach((a) => {
    const href = `#src-${i}-${a.dataset.n}`;
    if (a.getAttribute("href") !== href) a.setAttribute("href", href);
    const card = document.querySelector("#sources " + href);
    const text = card ? (card.dataset.quote || card.querySelector(".nr-title")?.textContent || "") : "";
    if (a.title !== text) a.title = text;
  }));
  let pending = false;
  const run = () => {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      answers().forEach(linkify);
      preview();
    });
  };
  // Copy gives the message as read (ui.render.reader_text says the same for Export): no Markdown escapes,
  // links as "text (address)", struck text between ~~, the sources as footnotes
  const readerText = (root) => {
    const walk = (node) => {
      if (node.nodeType === Node.TEXT_NODE) return node.nodeValue;
      if (node.nodeType !== Node.ELEMENT_NODE || node.matches("button, svg")) return "";
      const inner = [...node.childNodes].map(walk).join("");
      const href = node.tagName === "A" && !node.classList.contains("nr-ref") ? node.getAttribute("href") || "" : "";
      if (/^https?:/.test(href)) return `${inner} (${href})`;
      if (/^(DEL|S)$/.test(node.tagName)) return `~~${inner}~~`;
      if (node.tagName === "BR") return "\n";
      if (/^(LI|SUMMARY)$/.test(node.tagName)) return inner.trim() + "\n";
      if (/^(P|UL|OL|DIV|DETAILS|H[1-6]|BLOCKQUOTE|PRE|TABLE|TR)$/.test(node.tagName)) return inner.trim() + "\n\n";
      return inner;
    };
    return walk(root).replace(/^Sources\n+/m, "Sources:\n").replace(/\n{3,}/g, "\n\n").trim();
  };
  const COPY_BUTTONS = '#chat button[aria-label="Copy message"], #chat button[aria-label="Copy conversation"]';
  const conversationText = () => [...document.querySelectorAll('#chat [data-testid="user"], #chat [data-testid="bot"]')]
    .map((message) => (message.dataset.testid === "user" ? "Question: " : "") + readerText(message)).join("\n\n");
  document.addEventListener("click", (event) => {
    const button = event.target.closest?.(COPY_BUTTONS);
    if (!button) return;
    event.stopPropagation();  // Gradio's own handler would copy the Markdown source
    const message = answers().concat([...document.querySelectorAll('#chat [data-testid="user"]')])
      .filter((m) => m.compareDocumentPosition(button) & Node.DOCUMENT_POSITION_FOLLOWING)
      .sort((a, b) => (a.compareDocumentPosition(b) & Node.DOCUMENT_POSITION_FOLLOWING ? -1 : 1)).pop();
    const text = button.getAttribute("aria-label") === "Copy conversation" ? conversationText() : readerText(message);
    navigator.clipboard?.writeText(text);
  }, true);
  // before the link's own jump to its card: the card's section is shown first, so the jump lands on it
  document.addEventListener("click", (event) => {
    const target = event.target.closest?.('#chat [data-testid="bot"], #chat a.nr-ref');
    if (target) show(number(target));
  }, true);
  new MutationObserver(run).observe(document.body, {childList: true, subtree: true, characterData: true});
  run();
}
"""
# Asks with the picked row's title and file name as the dropdown shows them; cancelled, nothing is deleted.
CONFIRM_DELETE_JS = """
(source, query) => {
  const shown = document.querySelector("#library-delete-source input")?.value || source;
  return (source && confirm("Delete " + shown + " from the library?")) ? [source, query] : [null, query];
}
"""
# System fonts only: the default theme would fetch Google Fonts, which an offline machine cannot reach.
THEME = gr.themes.Soft(font=["ui-sans-serif", "system-ui", "sans-serif"], font_mono=["ui-monospace", "monospace"])


def _shown_path(source: str, uploads: Path) -> str:
    """A source as the library shows it: uploads relative to the upload folder, other paths and URLs as they are."""
    try:
        return str(Path(source).relative_to(uploads))
    except ValueError:
        return source


def _library(services: Services, query: str = "") -> tuple[pd.DataFrame, dict, dict]:
    """The library table (rows matching every word of the query in title, outlet, date or source), the delete
    dropdown's choices (one per source) and the chat's outlet filter choices."""
    articles = services.store.articles()
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
        shown = [{**r, "source": _shown_path(r["source"], services.uploads)} for r in results]  # no server paths
        return (render_ingest_summary(shown, counts), *_library(services, query), None)

    def delete(source: str | None, query: str) -> tuple:
        if not source:  # none picked, or the confirmation was cancelled
            return ("Nothing deleted (no source picked, or the deletion was cancelled).", *_library(services, query))
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
            chat = build_chat_tab(demo, services, Conversations(settings.data_dir / "conversations.sqlite"),
                                  FeedbackLog(settings.data_dir / "feedback.jsonl"))

        with gr.Tab("Upload"):
            files = gr.File(
                file_count="multiple", label=f"Article files ({' '.join(sorted(SUPPORTED_EXTENSIONS))})",
                file_types=sorted(SUPPORTED_EXTENSIONS), elem_id="upload-files",
            )
            urls = gr.Textbox(label="URLs, one per line", lines=3, placeholder="https://example.com/story.html")
            add_button = gr.Button("Add to library", variant="primary", elem_id="add-to-library")
            summary = gr.HTML(elem_id="ingest-summary", js_on_load=None)

        with gr.Tab("Library"):
            search = gr.Textbox(label="Search the library", placeholder="title, outlet, date or file name",
                                elem_id="library-search")
            library = gr.Dataframe(
                headers=LIBRARY_COLUMNS, datatype=["str", "str", "str", "number", "str"], interactive=False,
                wrap=True, column_widths=LIBRARY_COLUMN_WIDTHS, elem_id="library",
            )
            refresh = gr.Button("Refresh", size="sm")
            with gr.Row():
                to_delete = gr.Dropdown(label="Delete by source (or click a row)", choices=[], scale=4,
                                        elem_id="library-delete-source")
                delete_button = gr.Button("Delete", variant="stop", scale=1, min_width=90, elem_id="library-delete")
            delete_note = gr.Markdown(elem_id="library-delete-note")

        library_outputs = [library, to_delete, chat.outlet]
        add_button.click(
            add_articles, [files, urls, search], [summary, *library_outputs, files], concurrency_limit=1,
            api_visibility="private",
        )
        gr.on([refresh.click, demo.load, search.change], lambda query: _library(services, query), search,
              library_outputs, api_visibility="private")
        library.select(pick_row, search, to_delete, api_visibility="private")
        # the table changes on load, upload, delete and search: the chat's article picker follows the whole library
        library.change(lambda chosen: article_choices(services, chosen), chat.articles, chat.articles,
                       queue=False, api_visibility="private")
        delete_button.click(delete, [to_delete, search], [delete_note, *library_outputs], concurrency_limit=1,
                            api_visibility="private", js=CONFIRM_DELETE_JS)
    return demo
