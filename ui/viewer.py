"""The local article viewer: /articles/{id} shows a stored article whole, scrolled to the quoted sentence.

Every citation can then be checked in its full context, even for uploaded files and for articles whose
site is gone. The page is static HTML: all text escaped, no script.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from fastapi import APIRouter, Depends, HTTPException
from fastapi.responses import HTMLResponse

from rag.store import Store
from ui.render import escape, original_url

_PARAGRAPHS = re.compile(r"\n\s*\n")
PAGE_CSS = """
body { font: 16px/1.6 system-ui, sans-serif; max-width: 46rem; margin: 2rem auto; padding: 0 1rem; color: #1f2937; }
h1 { font-size: 1.5rem; line-height: 1.3; margin-bottom: .3rem; }
.meta { color: #6b7280; font-size: .9rem; margin-bottom: 1.5rem; }
mark { background: #fde68a; padding: 0 .1rem; scroll-margin-top: 40vh; }
@media (prefers-color-scheme: dark) { body { background: #111827; color: #e5e7eb; } mark { color: #111827; } }
"""


def find_quote(text: str, quote: str) -> tuple[int, int] | None:
    """Where the quote stands in the text, ignoring differences in whitespace; None when it does not."""
    words = quote.split()
    if not words:
        return None
    match = re.search(r"\s+".join(re.escape(word) for word in words), text)
    return match.span() if match else None


def _paragraphs_html(text: str, span: tuple[int, int] | None) -> str:
    """Paragraphs as <p>, the quote's span wrapped in <mark id="quote"> (split across paragraphs if it must)."""
    out = []
    offset = 0
    for piece in _PARAGRAPHS.split(text):
        start = text.index(piece, offset)
        end = start + len(piece)
        offset = end
        if span and span[0] < end and span[1] > start:
            a, b = max(span[0], start) - start, min(span[1], end) - start
            anchor = ' id="quote"' if span[0] >= start else ""
            body = f"{escape(piece[:a])}<mark{anchor}>{escape(piece[a:b])}</mark>{escape(piece[b:])}"
        else:
            body = escape(piece)
        out.append(f"<p>{body}</p>")
    return "\n".join(out)


def render_article_page(title: str, outlet: str, date: str | None, url: str, text: str, quote: str = "") -> str:
    """The whole page for one article."""
    meta = " · ".join(escape(part) for part in (outlet, date or "date unknown") if part)
    original = original_url(url)
    if original:
        meta += f' · <a href="{original}" rel="noopener noreferrer nofollow">original ↗</a>'
    span = find_quote(text, quote)
    missing = ('<p class="meta">The quoted sentence is not in this version of the article.</p>'
               if quote.strip() and span is None else "")
    return (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" '
        f'content="width=device-width, initial-scale=1"><title>{escape(title or "Untitled article")}</title>'
        f"<style>{PAGE_CSS}</style></head><body><article><h1>{escape(title or 'Untitled article')}</h1>"
        f'<div class="meta">{meta}</div>{missing}{_paragraphs_html(text, span)}</article></body></html>'
    )


def build_viewer_router(store: Store, dependencies: Sequence = ()) -> APIRouter:
    """GET /articles/{article_id}?q=quote, behind the same auth as the API."""
    router = APIRouter(dependencies=[Depends(d) for d in dependencies])

    @router.get("/articles/{article_id}", response_class=HTMLResponse, include_in_schema=False)
    def article(article_id: str, q: str = "") -> HTMLResponse:
        found = store.article(article_id)
        text = store.article_text(article_id) if found else None
        if found is None or text is None:
            raise HTTPException(404, f"no stored article {article_id!r}; it may have been deleted")
        return HTMLResponse(render_article_page(found.title, found.outlet, found.date, found.url, text, q[:2000]))

    return router
