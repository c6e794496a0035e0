"""Answers, sources and ingest summaries as HTML and Markdown that is safe to put in a page.

Every piece of article text, title, quote, file name and model output is escaped before any markup is
added, so a `<script>` or `<img onerror=...>` inside an article is shown as text and never runs. Links
are made only from http(s) URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import quote as quote_path
from urllib.parse import urlencode, urlsplit

from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Citation, Passage, article_id_of

UNSUPPORTED_TITLE = "No retrieved article supports this sentence"
UNSUPPORTED_NOTE = "*Struck sentences: no retrieved article supports them.*"
STOPPED_NOTE = "*Stopped: this partial answer was not checked against the articles.*"
SOURCES_HEADING = "**Sources**"
RESERVED_HOSTS = (".invalid", ".example", ".test", ".localhost")  # RFC 2606/6761 names: no page can live there

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#+!|~$-])")
_AUTOLINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*:/|www\.|[\w.+-]+@)")  # what GFM would turn into a link
_NOTE = re.compile(r"\n*\*(?:Struck sentences|Stopped):[^*]*\*|\n*<details class=\"nr-why\">.*?</details>"
                   r"|\n*\*\*Sources\*\*\n[\s\S]*$")
_WHY = re.compile(r'<details class="nr-why"><summary>(.*?)</summary><ul>(.*?)</ul></details>')
_STRIKE = re.compile(r"~~")
_TAG = re.compile(r"<[^>]*>")
_BACKSLASHED = re.compile(r"\\(.)")
_LINK = re.compile(r"(?<!\\)\[((?:\\.|[^\]\\])*)\]\(([^)\s]+)\)")  # [title](url): every literal bracket is escaped
_SOURCES_LIST = re.compile(r"\*\*Sources\*\*\n((?:- .*(?:\n|$))+)")
_EMPHASIS_NOTE = re.compile(r"^\*((?:Struck sentences|Stopped):[^*]*)\*$", re.M)


def escape(text: object) -> str:
    """HTML-escape anything shown on the page, quotes included (it may land in an attribute)."""
    return html.escape("" if text is None else str(text), quote=True)


def safe_url(url: str | None) -> str | None:
    """The URL escaped for an href, or None unless it is an absolute http(s) URL (no javascript:, data:, ...)."""
    if not url:
        return None
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.netloc:
        return None
    return escape(url.strip())


def markdown_text(text: str) -> str:
    """Plain text for a Markdown renderer: HTML escaped, then Markdown syntax backslash-escaped.

    Without the second step a model (or an article that talks it into it) could emit `[click](http://...)`
    links or headings into the chat; bare URLs and e-mail addresses are defused too, since GFM would
    autolink them. Only source cards carry links.
    """
    text = _MD_SPECIAL.sub(r"\\\1", html.escape(text, quote=False))
    return _AUTOLINK.sub(lambda m: m.group(0).replace(":", "&#58;").replace(".", "&#46;").replace("@", "&#64;"), text)


def render_markdown_answer(answer: Answer) -> str:
    """The chat message for a finished answer, in Markdown only (no HTML: the message is also its accessible label).

    Markers stay as plain "[n]" text; the page's script (CHAT_JS) turns each into a link to its source card
    with the quote as a preview. Unsupported sentences are struck through and a note says why.
    """
    if answer.abstained:
        return markdown_text(ABSTAIN_TEXT) + _why(answer)
    text = markdown_text(answer.answer)
    flagged = False
    for sentence in answer.unsupported_sentences:
        escaped = markdown_text(sentence)
        if sentence.strip() and escaped in text:
            text = text.replace(escaped, f"~~{escaped}~~", 1)
            flagged = True
    if flagged:
        text += f"\n\n{UNSUPPORTED_NOTE}"
    text += _why(answer)
    if answer.citations:
        text += f"\n\n{SOURCES_HEADING}\n" + "\n".join(
            _source_line(c) for c in sorted(answer.citations, key=lambda c: c.n))
    return text


def _why(answer: Answer) -> str:
    """A closed "why" disclosure under a declined or rewritten answer: each check that acted and its reason.

    HTML on one line, so Markdown leaves it as one block and reads nothing inside it; every name and reason is
    escaped. Empty when no check declined, rewrote or dropped anything (a note alone needs no explanation).
    """
    if not answer.trace or not (answer.abstained or any(step.action != "annotate" for step in answer.trace)):
        return ""
    summary = "Why this answer was declined" if answer.abstained else "Why this answer was changed"
    items = "".join(f"<li><code>{escape(step.check)}</code>: {escape(' '.join((step.reason or step.action).split()))}</li>"
                    for step in answer.trace)
    return f'\n\n<details class="nr-why"><summary>{summary}</summary><ul>{items}</ul></details>'


def _source_line(citation: Citation) -> str:
    """One source as a Markdown footnote, "- [n] [Title](address) — Outlet, date", so a copied answer keeps it."""
    title = markdown_text(citation.title or "Untitled article")
    address = original_url(citation.url)
    if address:  # an http(s) address of a real host; percent-encoded so it cannot end the Markdown link early
        title = f"[{title}]({quote_path(html.unescape(address), safe=':/?&=#%~+,;@')})"
    where = markdown_text(", ".join(part for part in (citation.outlet, citation.date or "") if part))
    return f"- \\[{citation.n}\\] {title}" + (f" — {where}" if where else "")


def render_stopped_answer(streamed: str) -> str:
    """What a stopped answer leaves in the chat: the partial text, marked as unverified."""
    return (markdown_text(streamed.strip()) + "\n\n" if streamed.strip() else "") + STOPPED_NOTE


def plain_text(markup: str) -> str:
    """What a chat message built by this module says, without markup or notes: the chat history for follow-ups.

    Stripping tags is safe here because every `<` that came from text was escaped by markdown_text.
    """
    text = _STRIKE.sub("", _TAG.sub("", _NOTE.sub("", markup)))
    return html.unescape(_BACKSLASHED.sub(r"\1", text)).strip()


def reader_text(markup: str) -> str:
    """A chat message built by this module as its reader sees it, as plain text: no Markdown escapes or emphasis,
    the sources as footnotes ("Sources:" then "[n] Title (address) — Outlet, date"), struck sentences kept
    between ~~ and the notes kept. What Export writes; CHAT_JS gives Copy the same from the rendered message."""
    text = _WHY.sub(lambda m: m.group(1) + ":\n" + _TAG.sub("", m.group(2).replace("</li>", "\n")).strip(), markup)
    text = _SOURCES_LIST.sub(lambda m: "Sources:\n" + _LINK.sub(lambda link: f"{link.group(1)} ({link.group(2)})",
                                                                re.sub(r"(?m)^- ", "", m.group(1))), text)
    text = _EMPHASIS_NOTE.sub(r"\1", text).replace("**Error:**", "Error:")
    return html.unescape(_BACKSLASHED.sub(r"\1", text)).strip()


def _highlight(text: str, quote: str) -> str:
    """The passage escaped, with the supporting quote (if found verbatim) wrapped in <mark>."""
    start = text.find(quote) if quote.strip() else -1
    if start < 0:
        return escape(text)
    end = start + len(quote)
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


def original_url(url: str | None) -> str | None:
    """The article's own address for a link, or None when it is not http(s) or its host cannot exist."""
    safe = safe_url(url)
    host = (urlsplit(url or "").hostname or "").lower()
    if not safe or not host or host.endswith(RESERVED_HOSTS) or host in ("localhost", "invalid", "example", "test"):
        return None
    return safe


def viewer_url(article_id: str, quote: str = "") -> str:
    """The local article viewer, scrolled to and highlighting the quote: every citation checkable in context."""
    query = f"?{urlencode({'q': quote})}" if quote.strip() else ""
    return escape(f"/articles/{quote_path(article_id, safe='')}{query}#quote")


def _card(label: str, anchor: str, item: Citation | Passage, relevance: float | None = None) -> str:
    title = escape(item.title or "Untitled article")
    meta = [escape(part) for part in (item.outlet, item.date or "date unknown") if part]
    if relevance is not None:
        meta.append(f"relevance {relevance:.2f}")
    quote = item.quote if isinstance(item, Citation) else ""
    article_id = item.article_id if isinstance(item, Passage) else article_id_of(item.passage_id)
    links = f' <a class="nr-link" href="{viewer_url(article_id, quote)}" target="_blank" rel="noopener">open article</a>'
    if original := original_url(item.url):
        links += f' <a class="nr-link" href="{original}" target="_blank" rel="noopener noreferrer nofollow">original ↗</a>'
    body = _highlight(item.text, quote) if quote else escape(item.text)
    quote_attr = f' data-quote="{escape(quote)}"' if quote else ""
    return (
        f'<div class="nr-card" id="{anchor}"{quote_attr}>'
        f'<div class="nr-head"><span class="nr-n">{escape(label)}</span> '
        f'<strong class="nr-title">{title}</strong></div>'
        f'<div class="nr-meta">{" · ".join(meta)}{links}</div>'
        f'<div class="nr-text">{body}</div></div>'
    )


def render_sources_html(items: Sequence[Citation] | Sequence[Passage], heading: str = "Retrieved passages",
                        number: int = 0) -> str:
    """Source cards under a heading: citations keep their [n] and anchor #src-A-n (A: `number`, the answer's place in
    the conversation, so each answer's markers open its own cards); passages are listed in rank order."""
    if not items:
        return f'<div class="nr-sources"><h3>{escape(heading)}</h3><p class="nr-muted">No passages matched.</p></div>'
    cards = []
    for rank, item in enumerate(items, start=1):
        if isinstance(item, Citation):
            cards.append(_card(f"[{item.n}]", f"src-{number}-{item.n}", item))
        else:
            cards.append(_card(f"#{rank}", f"passage-{number}-{rank}", item, item.similarity))
    return f'<div class="nr-sources"><h3>{escape(heading)}</h3>{"".join(cards)}</div>'


def render_answer_html(answer: Answer, min_relevance: float = 0.0, number: int = 0) -> str:
    """The sources of a finished answer (`number`: its place among the conversation's answers, from 0): every
    retrieved passage stays in view.

    Cited cards first, then the other retrieved passages folded under "Also retrieved" with their relevance.
    An abstention lists only passages at least min_relevance close to the question: a decline on an
    off-topic question shows none, rather than four unrelated passages.
    """
    if answer.abstained:
        note = f'<p class="nr-muted nr-abstain">{escape(ABSTAIN_TEXT)}</p>'
        related = [p for p in answer.passages if (p.similarity or 0.0) >= min_relevance]
        if not related:
            return note + '<div class="nr-sources"><p class="nr-muted">No stored passage is about this question.</p></div>'
        return note + render_sources_html(related, "Related passages", number)
    cited_ids = {c.passage_id for c in answer.citations}
    html_out = render_sources_html(sorted(answer.citations, key=lambda c: c.n), "Sources", number)
    others = [p for p in answer.passages if p.id not in cited_ids]
    if others:
        cards = "".join(_card(f"#{rank}", f"passage-{number}-{rank}", p, p.similarity)
                        for rank, p in enumerate(others, start=1))
        html_out += (f'<details class="nr-also"><summary>Also retrieved ({len(others)})</summary>'
                     f'<div class="nr-sources">{cards}</div></details>')
    return html_out


def render_ingest_summary(results: Sequence[dict], counts: dict[str, int]) -> str:
    """Per-source ingest outcome as a table, with each failure's reason (a phone shows each row as a card of
    labelled lines: ui.web's CSS)."""
    total = ", ".join(f"{n} {status}" for status, n in counts.items() if n) or "nothing ingested"
    rows = "".join(
        f'<tr class="nr-{escape(r["status"])}"><td>{escape(r["source"])}</td><td>{escape(r["status"])}</td>'
        f'<td>{escape(r.get("title", ""))}</td><td>{escape(r.get("chunks", 0))}</td>'
        f'<td>{escape(r.get("reason", ""))}</td></tr>'
        for r in results
    )
    table = (
        '<table class="nr-summary"><thead><tr><th>Source</th><th>Status</th><th>Title</th><th>Chunks</th>'
        f"<th>Reason</th></tr></thead><tbody>{rows}</tbody></table>"
        if rows else ""
    )
    return f"<p><strong>{escape(total)}</strong></p>{table}"
