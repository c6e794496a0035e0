"""Read news articles from files and http(s) URLs: load_source picks the reader for each source.

Bad input never raises: every file, JSONL line or URL that cannot become an Article becomes a LoadError
whose reason says what went wrong and, where possible, what to do about it. The readers live beside this
module: `sources` (which paths and URLs), `decode` (bytes to text), `formats` (one Article per format) and
`fetch` (URLs, with their safety rules).
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator, Mapping
from pathlib import Path

from ingest.decode import decode
from ingest.fetch import fetch_article
from ingest.formats import (
    has_lone_surrogate,
    html_article,
    jsonl_articles,
    jsonl_fields,
    markdown_article,
    normalize_date,
    pdf_article,
    printable,
    text_article,
)
from ingest.sources import SUPPORTED_EXTENSIONS, expand_sources, extension_error, is_http_url, scheme_error
from rag.config import Settings
from rag.errors import LoadError
from rag.types import Article

# what callers imported from here before the readers moved out
__all__ = ["SUPPORTED_EXTENSIONS", "expand_sources", "load_source", "normalize_date", "printable"]


def load_source(
    source: str, settings: Settings, *, field_map: Mapping[str, str] | None = None
) -> Iterator[Article | LoadError]:
    """Yield the Articles in a file or URL (one per JSONL line, else one), or a LoadError per bad item.

    field_map renames JSONL fields, e.g. {"text": "body", "date": "published"}; an unknown key in it is a
    ConfigError, the only thing raised. A date that cannot be parsed does not reject the article: it loads
    with date=None and a warning is logged, since a missing date costs less than a missing article.
    """
    fields = jsonl_fields(field_map)
    if is_http_url(source):
        try:
            yield fetch_article(source, settings)
        except LoadError as error:
            yield error
        return
    if has_lone_surrogate(source):  # bytes that are not UTF-8 in a file name: it could not be stored as a source
        yield LoadError(printable(source), "the file name is not valid UTF-8; rename the file")
        return
    path = os.path.realpath(source)
    suffix = Path(path).suffix.lower()
    if refused := scheme_error(source) or extension_error(path, suffix):
        yield refused
        return
    stem = Path(path).stem
    try:
        data = _read_file(path, settings)
        if suffix == ".pdf":
            yield pdf_article(path, data, fallback_title=stem)
            return
        text = decode(path, data)
        if suffix == ".jsonl":
            yield from jsonl_articles(path, text, fields)
        elif suffix in (".md", ".markdown"):
            yield markdown_article(path, text)
        elif suffix in (".html", ".htm"):
            yield html_article(path, text, fallback_title=stem)
        else:
            yield text_article(path, text, fallback_title=stem)
    except LoadError as error:
        yield error


def _read_file(path: str, settings: Settings) -> bytes:
    limit = settings.max_file_bytes
    try:
        info = os.stat(path)
        if not stat.S_ISREG(info.st_mode):
            raise LoadError(path, "not a regular file")
        if info.st_size > limit:
            raise _too_big(path, info.st_size, limit)
        with open(path, "rb") as handle:
            data = handle.read(limit + 1)  # the file may have grown since stat
    except FileNotFoundError:
        raise LoadError(path, "no such file or directory") from None
    except OSError as exc:
        raise LoadError(path, f"cannot read the file: {exc.strerror or exc}") from None
    if len(data) > limit:
        raise _too_big(path, len(data), limit)
    if not data.strip():
        raise LoadError(path, "file is empty")
    return data


def _too_big(path: str, size: int, limit: int) -> LoadError:
    return LoadError(path, f"file is {size} bytes, above the limit of {limit} (NEWSRAG_MAX_FILE_BYTES)")

