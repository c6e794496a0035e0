"""Answers, sources and ingest summaries as HTML and Markdown that is safe to put in a page.

Every piece of article text, title, quote, file name and model output is escaped before any markup is
added, so a `<script>` or `<img onerror=...>` inside an article is shown as text and never runs. Links
are made only from http(s) URLs.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from urllib.parse import urlsplit

from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Citation, Passage

UNSUPPORTED_TITLE = "No retrieved article supports this sentence"

_MD_SPECIAL = re.compile(r"([\\`*_\[\]()#+!|~$-])")
_ESCAPED_MARKER = re.compile(r"\\\[(\d+)\\\]")
_AUTOLINK = re.compile(r"(?i)\b(?:[a-z][a-z0-9+.-]*:/|www\.|[\w.+-]+@)")  # what GFM would turn into a link
_NOTE = re.compile(r'<span class="nr-note">.*?</span>', re.DOTALL)
_TAG = re.compile(r"<[^>]*>")
_BACKSLASHED = re.compile(r"\\(.)")


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


def _marker_link(n: int | str) -> str:
    return f'<sup class="nr-ref"><a href="#src-{n}" title="Source [{n}]">[{n}]</a></sup>'


def render_markdown_answer(answer: Answer) -> str:
    """The chat message for a finished answer: [n] markers link to their source cards, unsupported sentences struck."""
    if answer.abstained:
        return f'<span class="nr-muted">{markdown_text(ABSTAIN_TEXT)}</span>'
    text = markdown_text(answer.answer)
    flagged = False
    for sentence in answer.unsupported_sentences:
        escaped = markdown_text(sentence)
        if sentence.strip() and escaped in text:
            text = text.replace(escaped, f'<del title="{UNSUPPORTED_TITLE}">{escaped}</del>', 1)
            flagged = True
    cited = {c.n for c in answer.citations}
    text = _ESCAPED_MARKER.sub(lambda m: _marker_link(m.group(1)) if int(m.group(1)) in cited else m.group(0), text)
    if flagged:
        text += f'\n\n<span class="nr-note">Struck sentences: {UNSUPPORTED_TITLE.lower()}.</span>'
    return text


def plain_text(markup: str) -> str:
    """What a chat message built by this module says, without markup or notes: the chat history for follow-ups.

    Stripping tags is safe here because every `<` that came from text was escaped by markdown_text.
    """
    text = _TAG.sub("", _NOTE.sub("", markup))
    return html.unescape(_BACKSLASHED.sub(r"\1", text)).strip()


def _highlight(text: str, quote: str) -> str:
    """The passage escaped, with the supporting quote (if found verbatim) wrapped in <mark>."""
    start = text.find(quote) if quote.strip() else -1
    if start < 0:
        return escape(text)
    end = start + len(quote)
    return f"{escape(text[:start])}<mark>{escape(text[start:end])}</mark>{escape(text[end:])}"


def _card(label: str, anchor: str, item: Citation | Passage) -> str:
    title = escape(item.title or "Untitled article")
    meta = " · ".join(escape(part) for part in (item.outlet, item.date or "date unknown") if part)
    url = safe_url(item.url)
    link = (f' <a class="nr-link" href="{url}" target="_blank" rel="noopener noreferrer nofollow">open article ↗</a>'
            if url else "")
    body = _highlight(item.text, item.quote) if isinstance(item, Citation) else escape(item.text)
    return (
        f'<div class="nr-card" id="{anchor}">'
        f'<div class="nr-head"><span class="nr-n">{escape(label)}</span> '
        f'<strong class="nr-title">{title}</strong></div>'
        f'<div class="nr-meta">{meta}{link}</div>'
        f'<div class="nr-text">{body}</div></div>'
    )


def render_sources_html(items: Sequence[Citation] | Sequence[Passage], heading: str = "Retrieved passages") -> str:
    """Source cards under a heading: citations keep their [n] and anchor #src-n; passages are listed in rank order."""
    if not items:
        return f'<div class="nr-sources"><h3>{escape(heading)}</h3><p class="nr-muted">No passages matched.</p></div>'
    cards = []
    for rank, item in enumerate(items, start=1):
        if isinstance(item, Citation):
            cards.append(_card(f"[{item.n}]", f"src-{item.n}", item))
        else:
            cards.append(_card(f"#{rank}", f"passage-{rank}", item))
    return f'<div class="nr-sources"><h3>{escape(heading)}</h3>{"".join(cards)}</div>'


def render_answer_html(answer: Answer) -> str:
    """The sources panel for a finished answer: cited cards, or for an abstention a muted note and related passages."""
    if answer.abstained:
        note = f'<p class="nr-muted nr-abstain">{escape(ABSTAIN_TEXT)}</p>'
        return note + render_sources_html(answer.passages, "Related passages")
    return render_sources_html(sorted(answer.citations, key=lambda c: c.n), "Sources")


def render_ingest_summary(results: Sequence[dict], counts: dict[str, int]) -> str:
    """Per-source ingest outcome as a table, with each failure's reason."""
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
