"""Read news articles from files and http(s) URLs: plain text, Markdown, HTML, JSONL and PDF.

Bad input never raises: every file, JSONL line or URL that cannot become an Article becomes a LoadError
whose reason says what went wrong and, where possible, what to do about it.
"""

from __future__ import annotations

import codecs
import io
import ipaddress
import json
import logging
import os
import re
import socket
import stat
import threading
import time
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, datetime
from pathlib import Path, PurePosixPath

import charset_normalizer
import frontmatter
import httpx
import pypdf
import trafilatura
import yaml
from dateutil import parser as date_parser
from frontmatter.default_handlers import YAMLHandler

from rag.config import Settings
from rag.errors import ConfigError, LoadError
from rag.types import Article

log = logging.getLogger(__name__)

SUPPORTED_EXTENSIONS: frozenset[str] = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"})
ARTICLE_FIELDS = ("title", "date", "outlet", "url", "text", "author")
TITLE_MAX_CHARS = 300
MAX_REDIRECTS = 5
WATCHDOG_GRACE = 1.0  # seconds past NEWSRAG_URL_TIMEOUT before a fetch's connection is shut

_SNIFF_BYTES = 8192
# Signatures of common binary formats, for files renamed to a text extension.
_BINARY_MAGIC = (
    b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"%PDF-", b"PK\x03\x04", b"\x1f\x8b", b"\x7fELF", b"RIFF", b"OggS"
)
_UTF16_32_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),  # before UTF-16 LE: it starts with the same two bytes
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)
# Without a BOM, charset-normalizer happily reads short Latin-1 text as UTF-16: only trust UTF-16/32 with a BOM.
_NO_GUESS = ["utf_16", "utf_16_be", "utf_16_le", "utf_32", "utf_32_be", "utf_32_le"]
_OUTLET_KEYS = ("outlet", "source", "publisher", "site_name")
_SCALARS = (str, int, float, date)
_MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,6}[ \t]+(.+?)(?:[ \t]+#+)?[ \t]*$", re.MULTILINE)
_URL_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):")
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
_CONTENT_KINDS = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "txt", "application/pdf": "pdf"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IETF_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_REQUEST_HEADERS = {
    "User-Agent": "newsrag/0.1 (article loader)",
    "Accept": "text/html,application/xhtml+xml,text/plain,application/pdf;q=0.9",
}


def expand_sources(inputs: Iterable[str], *, follow_links: bool = False) -> Iterator[str | LoadError]:
    """Turn CLI inputs into resolved file paths and http(s) URLs, in a stable order.

    Directories are walked recursively in name order, quietly skipping hidden entries and unsupported file
    types, while a file named explicitly with an unsupported extension is reported. Each directory is entered once
    (by its resolved path), so symlink loops end, and each file is yielded once. Paths are resolved so a
    path and the Articles loaded from it carry the same source. A symlink inside a directory that leads
    outside it is reported, not followed, unless follow_links: naming a folder shares that folder only.
    """
    seen_dirs: set[str] = set()
    seen_files: set[str] = set()
    for raw in inputs:
        if _is_http_url(raw):
            yield raw
            continue
        if error := _scheme_error(raw):
            yield error
            continue
        path = Path(raw)
        if not raw.strip() or not os.path.lexists(path):
            yield LoadError(raw, "no such file or directory")
            continue
        if path.is_dir():
            found: Iterable[str | LoadError] = _walk(path, seen_dirs, None if follow_links else os.path.realpath(path))
        elif error := _extension_error(raw, path.suffix):
            yield error
            continue
        else:
            found = [raw]
        for item in found:
            if isinstance(item, LoadError):
                yield item
                continue
            resolved = os.path.realpath(item)
            if resolved not in seen_files:
                seen_files.add(resolved)
                yield resolved


def _walk(directory: Path, seen_dirs: set[str], root: str | None) -> Iterator[str | LoadError]:
    """Supported files under directory, depth first in name order; seen_dirs holds resolved paths.

    With a root (a resolved path), symlinks leading outside it are reported instead of followed.
    """
    real = os.path.realpath(directory)
    if real in seen_dirs:
        return
    seen_dirs.add(real)
    try:
        with os.scandir(directory) as listing:
            entries = sorted(listing, key=lambda entry: entry.name)
    except OSError as exc:
        yield LoadError(str(directory), f"cannot list the directory: {exc.strerror or exc}")
        return
    for entry in entries:
        if entry.name.startswith("."):
            continue
        path = Path(entry.path)
        is_dir = path.is_dir()  # Path.is_dir follows links and is False for a symlink loop; DirEntry.is_dir raises
        if not is_dir and path.suffix.lower() not in SUPPORTED_EXTENSIONS:
            continue
        if root is not None and entry.is_symlink() and not _inside(os.path.realpath(path), root):
            yield LoadError(entry.path, "symlink leads outside the folder being ingested; not followed "
                                        "(pass --follow-links to follow it)")
        elif is_dir:
            yield from _walk(path, seen_dirs, root)
        else:
            yield entry.path


def _inside(path: str, root: str) -> bool:
    return path == root or path.startswith(root.rstrip(os.sep) + os.sep)


def load_source(
    source: str, settings: Settings, *, field_map: Mapping[str, str] | None = None
) -> Iterator[Article | LoadError]:
    """Yield the Articles in a file or URL (one per JSONL line, else one), or a LoadError per bad item.

    field_map renames JSONL fields, e.g. {"text": "body", "date": "published"}; an unknown key in it is a
    ConfigError, the only thing raised. A date that cannot be parsed does not reject the article: it loads
    with date=None and a warning is logged, since a missing date costs less than a missing article.
    """
    fields = _jsonl_fields(field_map)
    if _is_http_url(source):
        try:
            yield _load_url(source, settings)
        except LoadError as error:
            yield error
        return
    if _SURROGATE.search(source):  # bytes that are not UTF-8 in a file name: it could not be stored as a source
        yield LoadError(printable(source), "the file name is not valid UTF-8; rename the file")
        return
    path = os.path.realpath(source)
    suffix = Path(path).suffix.lower()
    if error := _scheme_error(source) or _extension_error(path, suffix):
        yield error
        return
    stem = Path(path).stem
    try:
        data = _read_file(path, settings)
        if suffix == ".pdf":
            yield _pdf_article(path, data, fallback_title=stem)
            return
        text = _decode(path, data)
        if suffix == ".jsonl":
            yield from _jsonl_articles(path, text, fields)
        elif suffix in (".md", ".markdown"):
            yield _markdown_article(path, text)
        elif suffix in (".html", ".htm"):
            yield _html_article(path, text, fallback_title=stem)
        else:
            yield _text_article(path, text, fallback_title=stem)
    except LoadError as error:
        yield error


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


# --- reading and decoding -------------------------------------------------------------------------------------


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


def _decode(source: str, data: bytes, declared: str | None = None) -> str:
    """Text from bytes: BOM, then the declared charset, then UTF-8, then charset-normalizer's best guess."""
    if data.startswith(_BINARY_MAGIC):
        raise LoadError(source, "file looks binary, not text")
    text = _decode_with_bom(data)
    if text is None:
        text = _decode_declared(data, declared)
    if text is None:
        if b"\x00" in data[:_SNIFF_BYTES]:
            raise LoadError(source, "file looks binary, not text")
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = _damaged_utf8(source, data) or _guess_encoding(source, data)
    text = text.removeprefix("\ufeff")  # a declared UTF-8 charset leaves the BOM in
    if "\x00" in text:  # anywhere: a NUL past the first block would otherwise reach the store
        raise LoadError(source, "file looks binary, not text")
    if not text.strip():
        raise LoadError(source, "file is empty")
    return text


def _decode_with_bom(data: bytes) -> str | None:
    for bom, codec in _UTF16_32_BOMS:
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                continue
    return None


def _decode_declared(data: bytes, declared: str | None) -> str | None:
    if not declared:
        return None
    try:
        return data.decode(declared)
    except (LookupError, UnicodeDecodeError):
        return None


def _damaged_utf8(source: str, data: bytes) -> str | None:
    """UTF-8 with a few bad bytes (a cut or garbled copy): the text, each bad byte shown as U+FFFD.

    Only when there are well-formed multi-byte characters, at least as many as bad bytes: legacy 8-bit text
    (Latin-1, Windows-1252) almost never forms valid UTF-8 sequences, so it still goes to the encoding guess,
    while a UTF-8 article with a stray byte is not read as Latin-2 mojibake from its first accent on.
    """
    text = data.decode("utf-8-sig", errors="replace")
    bad = text.count("\ufffd") - data.count("\ufffd".encode())
    well_formed = sum(1 for char in text if char > "\x7f") - bad
    if not well_formed or bad > well_formed:
        return None
    log.warning("%s: %d bytes are not valid UTF-8; each is shown as U+FFFD", source, bad)
    return text


def _guess_encoding(source: str, data: bytes) -> str:
    """charset-normalizer's best guess, preferring Windows-1252 among equally good ones.

    Short Western text ("café") decodes cleanly in dozens of code pages and the first of them is often an
    exotic one (cp1006, Urdu); Windows-1252 is by far the most common legacy encoding of news text.
    """
    matches = charset_normalizer.from_bytes(data, cp_exclusion=_NO_GUESS)
    best = matches.best()
    if best is None:
        raise LoadError(source, "cannot detect the text encoding; save the file as UTF-8")
    for match in matches:
        if (match.chaos, match.coherence) == (best.chaos, best.coherence) and "cp1252" in match.could_be_from_charset:
            return data.decode("cp1252")
    return str(best)


# --- one Article per format ----------------------------------------------------------------------------------


def _text_article(source: str, text: str, fallback_title: str) -> Article:
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
    def load(self, fm: str, **kwargs: object) -> object:
        return yaml.load(fm, Loader=_DatesAsText)  # noqa: S506 - a SafeLoader subclass


def _markdown_article(source: str, text: str) -> Article:
    handler = frontmatter.detect_format(text.strip(), frontmatter.handlers)
    try:
        post = frontmatter.loads(text, handler=_FrontMatterYAML() if isinstance(handler, YAMLHandler) else handler)
    except (yaml.YAMLError, ValueError) as exc:
        raise LoadError(source, f"front matter is not valid YAML: {_one_line(exc)}") from None
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


def _html_article(source: str, html: str, fallback_title: str, page_url: str | None = None) -> Article:
    try:
        doc = trafilatura.bare_extraction(
            html, url=page_url, with_metadata=True, favor_precision=True, date_extraction_params=_HTML_DATE_SEARCH
        )
    except Exception as exc:  # lxml and trafilatura raise many kinds of errors on malformed pages
        raise LoadError(source, f"cannot parse the HTML page: {_one_line(exc)}") from None
    if doc is None or not (doc.text or "").strip():
        raise LoadError(source, "no article text found in the HTML page")
    return _article(
        source,
        doc.text.replace("\n", "\n\n"),  # trafilatura writes one block per line: keep them as paragraphs
        title=doc.title or "",
        fallback_title=fallback_title,
        raw_date=doc.date,
        outlet=doc.sitename or "",
        url=doc.url or page_url or "",
        author=doc.author or "",
    )


def _pdf_article(source: str, data: bytes, fallback_title: str) -> Article:
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
        raise LoadError(source, f"cannot read the PDF: {_one_line(exc)}") from None
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


def _jsonl_articles(source: str, text: str, fields: Mapping[str, str]) -> Iterator[Article | LoadError]:
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
            yield LoadError(where, f"line is not valid JSON: {_one_line(exc)}")
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


def _jsonl_fields(field_map: Mapping[str, str] | None) -> dict[str, str]:
    fields = {name: name for name in ARTICLE_FIELDS}
    for name, renamed in (field_map or {}).items():
        if name not in fields:
            raise ConfigError(
                f"unknown article field '{name}' in the field map; valid fields: {', '.join(ARTICLE_FIELDS)}"
            )
        fields[name] = renamed
    return fields


# --- URLs ------------------------------------------------------------------------------------------------------


def _load_url(url: str, settings: Settings) -> Article:
    """GET with manual redirects so every hop's address is checked; the body is capped while it streams.

    httpx's timeout bounds each network wait, not the whole fetch: a deadline checked between body chunks
    stops a server that drips the body, and a watchdog shuts the connection shortly after the deadline,
    for a server that drips its headers (httpx reads up to 16 KB of them, one slow byte at a time).
    """
    current = url
    deadline = time.monotonic() + settings.url_timeout
    too_slow = LoadError(url, f"download took longer than {settings.url_timeout:g} s (NEWSRAG_URL_TIMEOUT)")
    with (
        _Watchdog(settings.url_timeout + WATCHDOG_GRACE) as watchdog,
        httpx.Client(timeout=settings.url_timeout, follow_redirects=False, headers=_REQUEST_HEADERS) as client,
    ):
        for _ in range(MAX_REDIRECTS + 1):
            _check_address(url, current, settings)
            try:
                with client.stream("GET", current, extensions={"trace": watchdog.trace}) as response:
                    if response.is_redirect:
                        current = str(response.url.join(response.headers["location"]))
                        continue
                    kind, body = _read_response(url, response, settings, deadline)
                    charset = response.charset_encoding
            except httpx.TimeoutException:
                raise LoadError(url, f"cannot reach {current}: no answer within {settings.url_timeout:g} s") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if watchdog.expired:
                    raise too_slow from None
                raise LoadError(url, f"cannot reach {current}: {_one_line(exc)}") from None
            fallback_title = PurePosixPath(httpx.URL(current).path).stem or httpx.URL(current).host
            if kind == "pdf":
                return _pdf_article(url, body, fallback_title)
            text = _decode(url, body, declared=charset)
            if kind == "html":
                return _html_article(url, text, fallback_title, page_url=current)
            return _text_article(url, text, fallback_title)
    raise LoadError(url, f"too many redirects (more than {MAX_REDIRECTS})")


class _Watchdog:
    """Shuts down the sockets of one fetch when its time is up, which makes a blocked read return at once.

    The sockets come from httpx's documented "trace" extension (connection.connect_tcp.complete).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict) -> None:
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _check_address(url: str, current: str, settings: Settings) -> None:
    """Refuse non-http(s) redirects and, unless allowed, hosts on loopback, private or other local networks.

    The check resolves the name itself; a DNS answer that changes before httpx connects is not caught.
    """
    try:
        parsed = httpx.URL(current)
    except httpx.InvalidURL as exc:
        raise LoadError(url, f"not a valid URL: {_one_line(exc)}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise LoadError(url, f"{current} is not an http(s) URL with a host name")
    if settings.allow_private_urls:
        return
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        host = parsed.raw_host.decode("ascii")  # the IDNA-encoded name httpx will connect to
        addresses = {info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)}
    except (OSError, UnicodeError) as exc:
        raise LoadError(url, f"cannot reach {current}: {_one_line(exc)}") from None
    if not all(_is_public(address) for address in addresses):
        raise LoadError(
            url, "refusing to fetch a private or local address (set NEWSRAG_ALLOW_PRIVATE_URLS=true to allow)"
        )


def _is_public(address: str) -> bool:
    """is_global is False for loopback, private, link-local, unspecified and shared (CGNAT) ranges.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64) are judged by that address; the rest of
    ::/8 (IPv4-compatible ::a.b.c.d, local-use NAT64), deprecated site-local fec0::/10 and 192.0.0.0/24
    are refused too, as Python 3.11.7's is_global still counts them as global.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id such as %eth0
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        if embedded is not None:
            return _is_public(str(embedded))
        if ip.is_reserved or ip.is_site_local:
            return False
    elif ip in _IETF_PROTOCOL_ASSIGNMENTS:
        return False
    return ip.is_global and not ip.is_multicast


def _read_response(url: str, response: httpx.Response, settings: Settings, deadline: float) -> tuple[str, bytes]:
    if response.status_code >= 400:
        raise LoadError(url, f"HTTP {response.status_code}")
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    kind = _CONTENT_KINDS.get(media_type)
    if kind is None:
        raise LoadError(url, f"unsupported content type {media_type or '(none)'}; newsrag reads HTML, text and PDF")
    limit = settings.max_file_bytes
    too_big = LoadError(url, f"response larger than {limit} bytes (NEWSRAG_MAX_FILE_BYTES)")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise too_big
        if time.monotonic() > deadline:
            raise LoadError(url, f"download took longer than {settings.url_timeout:g} s (NEWSRAG_URL_TIMEOUT)")
    if not body.strip():
        raise LoadError(url, "response is empty")
    return kind, bytes(body)


# --- shared helpers ------------------------------------------------------------------------------------------------


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
        title=_one_line(title)[:TITLE_MAX_CHARS] or fallback_title,
        date=_lenient_date(source, raw_date),
        outlet=_one_line(outlet),
        url=url.strip().translate(_CONTROL_PICTURES),
        author=_one_line(author),
    )


def _lenient_date(source: str, value: object) -> str | None:
    try:
        return normalize_date(value)
    except ValueError as exc:
        log.warning("%s: %s; loading the article without a date", source, exc)
        return None


_BLOCK_LINE = re.compile(r"^\s*(?:[-*+\u2022]\s|\d+[.)]\s|#|\||>|```|\s{4})")  # lines that are not wrapped prose


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


def _one_line(value: object) -> str:
    return " ".join(str(value).split()).translate(_CONTROL_PICTURES)


def printable(text: str) -> str:
    """Text safe to print on a terminal: control characters (ESC...) as their pictures, lone surrogates as U+FFFD.

    For file names and reasons in messages: a file name can hold escape sequences.
    """
    return _SURROGATE.sub("\ufffd", text.translate(_TERMINAL_PICTURES))


def _is_http_url(value: str) -> bool:
    return value.lower().startswith(("http://", "https://"))


def _scheme_error(value: str) -> LoadError | None:
    """file:, ftp: and other schemes are refused; a name like 'a:b.txt' that exists on disk is a path."""
    match = _URL_SCHEME.match(value)
    if match and ("://" in value or not os.path.lexists(value)):
        return LoadError(value, f"unsupported URL scheme '{match.group(1).lower()}:'; only http(s) URLs can be loaded")
    return None


def _extension_error(path: str, suffix: str) -> LoadError | None:
    if suffix.lower() in SUPPORTED_EXTENSIONS:
        return None
    found = f"'{suffix}'" if suffix else "(no extension)"
    return LoadError(path, f"unsupported file type {found}; supported: {', '.join(sorted(SUPPORTED_EXTENSIONS))}")
