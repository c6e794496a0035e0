"""One Article per format: plain text, Markdown (with front matter), HTML, PDF and JSONL lines.

Also what every format shares: cleaning text (line breaks, control characters), one-line metadata, titles
and lenient dates (a date that cannot be read costs the date, never the article).
"""

from __future__ import annotations

import io
import json
import logging
import re
from collections.abc import Iterator, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import frontmatter
import pypdf
import trafilatura
import yaml
from dateutil import parser as date_parser
from frontmatter.default_handlers import YAMLHandler
from trafilatura.settings import Document

from rag.errors import ConfigError, LoadError
from rag.types import Article

log = logging.getLogger(__name__)

ARTICLE_FIELDS = ("title", "date", "outlet", "url", "text", "author")
TITLE_MAX_CHARS = 300
_OUTLET_KEYS = ("outlet", "source", "publisher", "site_name")
_SCALARS = (str, int, float, date)
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
# C0/C1 control characters other than tab and line breaks, shown as their Unicode pictures (ESC as ␛):
# raw, an ESC in a title or passage would reach the user's terminal through `newsrag sources` or `ask` as
# an escape sequence. C1 controls have no pictures and become U+FFFD.
_CONTROL_PICTURES = {
    **{code: 0x2400 + code for code in (*range(0x00, 0x09), *range(0x0E, 0x20))},
    0x7F: 0x2421,
    **{code: 0xFFFD for code in (*range(0x80, 0x85), *range(0x86, 0xA0))},
}
_SURROGATE = re.compile("[\ud800-\udfff]")  # only JSON escapes make them; they cannot be stored as UTF-8
# for one-line messages: line breaks too (a CR in a file name would overwrite the line on the terminal)
_TERMINAL_PICTURES = {**_CONTROL_PICTURES, **{code: 0x2400 + code for code in range(0x0A, 0x0E)}, 0x85: 0xFFFD}
_LINE_BREAKS = re.compile(r"\r\n?|[\x0b\x0c\x85]")  # CR, CRLF, vertical tab, form feed, NEL
# Dates from markup (meta tags, <time>, bylines) only: htmldate's extensive free-text search took 7 s on a
# 48 KB page and guesses from any date in the text.
_HTML_DATE_SEARCH = {"original_date": True, "extensive_search": False}
_BLOCK_LINE = re.compile(r"^\s*(?:[-*+\u2022]\s|\d+[.)]\s|#|\||>|```|\s{4})")  # lines that are not wrapped prose


def normalize_date(value: object) -> str | None:
    """ISO YYYY-MM-DD from a date, datetime or date string; None when missing or empty.

    Raises ValueError when the value is not a date, or leaves out the year, month or day (dateutil would
    fill them in from today, inventing a date). Time zones are ignored: the date is the one written.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.date().isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if not isinstance(value, str):
        raise ValueError(f"not a date: {value!r}")
    text = value.strip()
    if not text:
        return None
    if len(text) > 100:
        raise ValueError(f"not a date: {text[:40]!r}...")
    try:
        first = date_parser.parse(text, default=datetime(2000, 1, 1), ignoretz=True)
        second = date_parser.parse(text, default=datetime(2001, 2, 2), ignoretz=True)
    except (ValueError, OverflowError) as exc:
        raise ValueError(f"not a date: {text!r}") from exc
    if first.date() != second.date():
        raise ValueError(f"incomplete date (needs year, month and day): {text!r}")
    return first.date().isoformat()


def text_article(source: str, text: str, fallback_title: str) -> Article:
    """First line as title when it is short and something follows it; otherwise the whole file is the body."""
    text = _clean_text(text)
    head, _, rest = text.partition("\n")
    if rest.strip() and len(head) <= TITLE_MAX_CHARS:
        return _article(source, reflow(rest), title=head, fallback_title=fallback_title)
    return _article(source, reflow(text), title="", fallback_title=fallback_title)


def reflow(text: str) -> str:
    """Hard-wrapped lines joined back into their paragraphs; blank lines between paragraphs are kept.

    Text files are often wrapped at 72-80 columns, and those breaks would otherwise show mid-sentence in
    source cards and quotes. A paragraph with list items, headings, quotes, tables or code keeps its lines.
    """
    paragraphs = _clean_text(text).split("\n\n")
    return "\n\n".join(
        p if any(_BLOCK_LINE.match(line) for line in p.split("\n")) else " ".join(p.split("\n"))
        for p in paragraphs
    )


class _DatesAsText(yaml.SafeLoader):
    """The safe loader, but YAML dates stay text for normalize_date: year 0 or month 13 then costs only the date."""


_DatesAsText.add_constructor("tag:yaml.org,2002:timestamp", yaml.SafeLoader.construct_scalar)


class _FrontMatterYAML(YAMLHandler):
    def load(self, fm: str, **kwargs: Any) -> dict[str, Any]:
        return yaml.load(fm, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader subclass


def markdown_article(source: str, text: str) -> Article:
    handler = frontmatter.detect_format(text.strip(), frontmatter.handlers)
    try:
        post = frontmatter.loads(text, handler=_FrontMatterYAML() if isinstance(handler, YAMLHandler) else handler)
    except (yaml.YAMLError, ValueError) as exc:
        raise LoadError(source, f"front matter is not valid YAML: {one_line(exc)}") from None
    meta = post.metadata
    heading = _MARKDOWN_HEADING.search(post.content)
    return _article(
        source,
        reflow(post.content),
        title=_meta_text(meta.get("title")) or (heading.group(1) if heading else ""),
        fallback_title=Path(source).stem,
        raw_date=meta.get("date"),
        outlet=next(filter(None, (_meta_text(meta.get(key)) for key in _OUTLET_KEYS)), ""),
        url=_meta_text(meta.get("url")),
        author=_meta_text(meta.get("author")),
    )


def html_article(source: str, html: str, fallback_title: str, page_url: str | None = None) -> Article:
    try:
        doc = cast("Document | None", trafilatura.bare_extraction(  # a Document: as_dict is left False
            html, url=page_url, with_metadata=True, favor_precision=True, date_extraction_params=_HTML_DATE_SEARCH
        ))
    except Exception as exc:  # lxml and trafilatura raise many kinds of errors on malformed pages
        raise LoadError(source, f"cannot parse the HTML page: {one_line(exc)}") from None
    if doc is None or not (doc.text or "").strip():
        raise LoadError(source, "no article text found in the HTML page")
    return _article(
        source,
        (doc.text or "").replace("\n", "\n\n"),  # trafilatura writes one block per line: keep them as paragraphs
        title=doc.title or "",
        fallback_title=fallback_title,
        raw_date=doc.date,
        outlet=doc.sitename or "",
        url=doc.url or page_url or "",
        author=doc.author or "",
    )


def pdf_article(source: str, data: bytes, fallback_title: str) -> Article:
    if b"%PDF-" not in data[:1024]:
        raise LoadError(source, "file is not a PDF (no %PDF header)")
    try:
        reader = pypdf.PdfReader(io.BytesIO(data))
        if reader.is_encrypted and not reader.decrypt(""):
            raise LoadError(source, "PDF is encrypted; remove the password (e.g. qpdf --decrypt) and try again")
        pages = [page.extract_text() or "" for page in reader.pages]
        meta = reader.metadata
        title, author = (_meta_text(meta.title), _meta_text(meta.author)) if meta else ("", "")
    except LoadError:
        raise
    except pypdf.errors.DependencyError:
        raise LoadError(source, "PDF is encrypted with AES; install the 'cryptography' package to open it") from None
    except Exception as exc:  # pypdf raises many kinds of errors on damaged files
        raise LoadError(source, f"cannot read the PDF: {one_line(exc)}") from None
    if not any(page.strip() for page in pages):
        raise LoadError(source, "PDF has no text layer (scanned?); run OCR first")
    return _article(
        source,
        "\n\n".join(pages),
        title=title,
        fallback_title=fallback_title,
        raw_date=_pdf_creation_date(meta),
        author=author,
    )


def _pdf_creation_date(meta: pypdf.DocumentInformation | None) -> datetime | None:
    try:
        return meta.creation_date if meta else None
    except Exception:  # a malformed /CreationDate string: the article loads without a date
        return None


def jsonl_articles(source: str, text: str, fields: Mapping[str, str]) -> Iterator[Article | LoadError]:
    """One Article per non-blank line; a bad line is reported as path:line and the others still load."""
    body_field = fields["text"]
    stem = Path(source).stem
    for number, line in enumerate(text.split("\n"), start=1):  # not splitlines(): U+2028 is valid inside JSON
        if not line.strip():
            continue
        where = f"{source}:{number}"
        try:
            record = json.loads(line)
        except (ValueError, RecursionError) as exc:
            yield LoadError(where, f"line is not valid JSON: {one_line(exc)}")
            continue
        if not isinstance(record, dict):
            yield LoadError(where, f"missing '{body_field}' field (the line is not a JSON object)")
            continue
        body = record.get(body_field)
        if body is not None and not isinstance(body, str):
            yield LoadError(where, f"'{body_field}' field is not a string")
            continue
        if not body or not body.strip():
            yield LoadError(where, f"missing '{body_field}' field")
            continue
        try:
            yield _article(
                where,
                body,
                title=_meta_text(record.get(fields["title"])),
                fallback_title=f"{stem} (line {number})",
                raw_date=record.get(fields["date"]),
                outlet=_meta_text(record.get(fields["outlet"])),
                url=_meta_text(record.get(fields["url"])),
                author=_meta_text(record.get(fields["author"])),
            )
        except LoadError as error:
            yield error


def jsonl_fields(field_map: Mapping[str, str] | None) -> dict[str, str]:
    fields = {name: name for name in ARTICLE_FIELDS}
    for name, renamed in (field_map or {}).items():
        if name not in fields:
            raise ConfigError(
                f"unknown article field '{name}' in the field map; valid fields: {', '.join(ARTICLE_FIELDS)}"
            )
        fields[name] = renamed
    return fields


def _article(
    source: str,
    text: str,
    *,
    title: str,
    fallback_title: str,
    raw_date: object = None,
    outlet: str = "",
    url: str = "",
    author: str = "",
) -> Article:
    body = _clean_text(text)
    if not body:
        raise LoadError(source, "the article has no text")
    for value in (body, title, outlet, url, author):
        if _SURROGATE.search(value):
            raise LoadError(source, "the text holds a lone surrogate escape (such as \\ud800), which is not a "
                                    "character; fix or drop it in the export")
    return Article(
        source=source,
        text=body,
        title=one_line(title)[:TITLE_MAX_CHARS] or fallback_title,
        date=_lenient_date(source, raw_date),
        outlet=one_line(outlet),
        url=url.strip().translate(_CONTROL_PICTURES),
        author=one_line(author),
    )


def _lenient_date(source: str, value: object) -> str | None:
    try:
        return normalize_date(value)
    except ValueError as exc:
        log.warning("%s: %s; loading the article without a date", source, exc)
        return None


def _clean_text(text: str) -> str:
    """Unix newlines, no trailing spaces, at most one blank line between paragraphs."""
    lines = _LINE_BREAKS.sub("\n", text).translate(_CONTROL_PICTURES).split("\n")
    return re.sub(r"\n{3,}", "\n\n", "\n".join(line.rstrip() for line in lines)).strip()


def _meta_text(value: object) -> str:
    """A metadata value as one string: scalars, or a flat list such as several authors.

    Other shapes (null, mappings, nested lists) give "": YAML aliases can nest them exponentially deep.
    """
    if isinstance(value, list):
        return ", ".join(_meta_text(item) for item in value if isinstance(item, _SCALARS))
    return str(value).strip() if isinstance(value, _SCALARS) else ""


def one_line(value: object) -> str:
    return " ".join(str(value).split()).translate(_CONTROL_PICTURES)


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (ESC...) as their pictures, lone surrogates as U+FFFD.

    For file names and reasons in messages: a file name can hold escape sequences.
    """
    return _SURROGATE.sub("\ufffd", text.translate(_TERMINAL_PICTURES))


def has_lone_surrogate(text: str) -> bool:
    """Whether text holds a lone surrogate (only JSON escapes and undecodable file names make them)."""
    return _SURROGATE.search(text) is not None
