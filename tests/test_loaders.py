"""Loaders: every format, every kind of bad input, and URL fetching against a local server (no outside network)."""

from __future__ import annotations

import codecs
import io
import json
import os
import re
import time
from collections.abc import Iterator
from datetime import date, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import pytest
from hypothesis import HealthCheck, given
from hypothesis import settings as hsettings
from hypothesis import strategies as st
from pypdf import PdfWriter
from pypdf.generic import DecodedStreamObject, DictionaryObject, NameObject

from ingest import decode, loaders
from ingest import fetch as fetcher
from ingest.formats import normalize_date
from ingest.loaders import load_source
from ingest.sources import SUPPORTED_EXTENSIONS, expand_sources
from rag.config import Settings
from rag.errors import ConfigError, LoadError
from rag.types import Article

from conftest import serve_http

SAMPLES = Path(__file__).resolve().parents[1] / "ingest" / "samples"
PARAGRAPH = (
    "Police closed the river bridge on Monday after a lorry struck its railing. "
    "Engineers will inspect the structure before it reopens to traffic later this week."
)


def load_all(path: Path | str, settings: Settings, **kwargs) -> list[Article | LoadError]:
    return list(load_source(str(path), settings, **kwargs))


def load_one(path: Path | str, settings: Settings) -> Article:
    [item] = load_all(path, settings)
    assert isinstance(item, Article), item
    return item


def reason(path: Path | str, settings: Settings) -> str:
    [item] = load_all(path, settings)
    assert isinstance(item, LoadError), item
    assert item.source == os.path.realpath(path)
    return item.reason


def write(tmp_path: Path, name: str, content: str | bytes) -> Path:
    path = tmp_path / name
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def assert_clean(text: str) -> None:
    assert text and text == text.strip()
    assert "\n\n\n" not in text
    assert all(line == line.rstrip() for line in text.split("\n"))


# --- the sample corpus ---------------------------------------------------------------------------------------


def test_every_sample_file_is_found_and_loads(settings):
    sources = list(expand_sources([str(SAMPLES)]))
    assert sources and all(isinstance(s, str) for s in sources), sources
    assert sources == sorted(sources)
    suffixes = {Path(s).suffix for s in sources}
    assert {".md", ".html", ".txt", ".jsonl"} <= suffixes
    loaded = [item for source in sources for item in load_source(source, settings)]
    errors = [item for item in loaded if isinstance(item, LoadError)]
    assert not errors, errors
    assert len(loaded) > len(sources)  # the JSONL file holds several articles
    for article in loaded:
        assert_clean(article.text)
        assert article.title
        assert article.date is None or re.fullmatch(r"\d{4}-\d{2}-\d{2}", article.date)


def test_sample_markdown_metadata_comes_from_front_matter(settings):
    for path in sorted(SAMPLES.glob("*.md")):
        article = load_one(path, settings)
        assert article.source == str(path.resolve())
        assert article.date == path.name[:10]  # sample files are named after their date
        assert article.outlet and article.author
        assert article.url.startswith("https://samples.newsrag.invalid/")
        assert not article.text.startswith("---")


def test_sample_html_keeps_the_story_and_drops_the_page_furniture(settings):
    [path] = SAMPLES.glob("*.html")
    article = load_one(path, settings)
    assert article.date == path.name[:10]
    assert article.outlet == "Tigris Review (sample)"
    assert article.url.startswith("https://samples.newsrag.invalid/")
    assert "Iraq" in article.title
    assert "\n\n" in article.text  # paragraphs survive extraction
    for furniture in ("cookies", "Subscribe", "Most read", "Privacy policy", "newsletter"):
        assert furniture not in article.text


def test_sample_text_file_title_is_its_first_line(settings):
    [path] = SAMPLES.glob("*.txt")
    first_line = next(line for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    article = load_one(path, settings)
    assert article.title == first_line.strip()
    assert first_line.strip() not in article.text
    assert article.date is None


def test_sample_jsonl_yields_one_article_per_line(settings):
    [path] = SAMPLES.glob("*.jsonl")
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    articles = load_all(path, settings)
    assert all(isinstance(a, Article) for a in articles)
    assert [a.source for a in articles] == [f"{path.resolve()}:{n}" for n in range(1, len(records) + 1)]
    for article, record in zip(articles, records, strict=True):
        assert article.title == record["title"]
        assert article.outlet == record["outlet"]
        assert article.date == normalize_date(record["date"])


# --- formats ---------------------------------------------------------------------------------------------------


def test_text_file_first_line_is_the_title(tmp_path, settings):
    path = write(tmp_path, "bridge.txt", f"\n\n  Bridge closed after crash  \n\n{PARAGRAPH}\n")
    article = load_one(path, settings)
    assert article.title == "Bridge closed after crash"
    assert article.text == PARAGRAPH
    assert article.source == str(path.resolve())


def test_single_line_text_file_takes_its_title_from_the_file_name(tmp_path, settings):
    article = load_one(write(tmp_path, "bridge-closed.txt", PARAGRAPH), settings)
    assert (article.title, article.text) == ("bridge-closed", PARAGRAPH)


def test_a_first_line_too_long_for_a_title_stays_in_the_text(tmp_path, settings):
    long_line = PARAGRAPH * 3
    article = load_one(write(tmp_path, "story.txt", f"{long_line}\n\n{PARAGRAPH}"), settings)
    assert article.title == "story"
    assert article.text.startswith(long_line)


def test_article_text_is_tidied_but_keeps_paragraphs(tmp_path, settings):
    raw = "Title\r\n\r\nFirst paragraph.   \r\nSame paragraph.\t\r\n\r\n\r\n\r\n\r\nSecond paragraph.  \r\n\r\n"
    article = load_one(write(tmp_path, "tidy.txt", raw), settings)
    assert article.text == "First paragraph. Same paragraph.\n\nSecond paragraph."  # hard wraps reflowed


def test_markdown_front_matter_fields(tmp_path, settings):
    md = (
        "---\n"
        'title: "Bridge closed"\n'
        "date: 2026-01-19T10:00:00Z\n"
        "publisher: The Daily Sample\n"
        "url: https://example.invalid/bridge\n"
        "author: [Ana Ruiz, Ben Ode]\n"
        "---\n\n"
        f"{PARAGRAPH}\n"
    )
    article = load_one(write(tmp_path, "bridge.md", md), settings)
    assert article.title == "Bridge closed"
    assert article.date == "2026-01-19"
    assert article.outlet == "The Daily Sample"
    assert article.url == "https://example.invalid/bridge"
    assert article.author == "Ana Ruiz, Ben Ode"
    assert article.text == PARAGRAPH


@pytest.mark.parametrize("key", ["outlet", "source", "site_name"])
def test_markdown_outlet_aliases(tmp_path, settings, key):
    article = load_one(write(tmp_path, "a.md", f"---\n{key}: Sample Wire\n---\n{PARAGRAPH}"), settings)
    assert article.outlet == "Sample Wire"


def test_markdown_without_title_uses_the_first_heading_then_the_file_name(tmp_path, settings):
    with_heading = load_one(write(tmp_path, "a.md", f"Intro line.\n\n## Bridge closed ##\n\n{PARAGRAPH}"), settings)
    assert with_heading.title == "Bridge closed"
    plain = load_one(write(tmp_path, "river-news.markdown", PARAGRAPH), settings)
    assert plain.title == "river-news"
    assert plain.date is None


def test_markdown_front_matter_that_is_not_yaml_is_reported(tmp_path, settings):
    path = write(tmp_path, "broken.md", f"---\ntitle: [unclosed\ndate: 2026-01-19\n---\n{PARAGRAPH}")
    assert reason(path, settings).startswith("front matter is not valid YAML: ")


@pytest.mark.parametrize("impossible", ["2026-13-45", "0000-01-01", "99999-01-01"])
def test_an_impossible_front_matter_date_costs_only_the_date(tmp_path, settings, impossible, caplog):
    path = write(tmp_path, "dated.md", f"---\ntitle: Dated\ndate: {impossible}\n---\n{PARAGRAPH}")
    article = load_one(path, settings)
    assert (article.title, article.date) == ("Dated", None)
    assert "loading the article without a date" in caplog.text


def test_markdown_with_only_front_matter_has_no_text(tmp_path, settings):
    assert reason(write(tmp_path, "empty-body.md", "---\ntitle: Nothing here\n---\n\n"), settings) == (
        "the article has no text"
    )


def test_unparseable_date_loads_the_article_without_a_date(tmp_path, settings, caplog):
    md = write(tmp_path, "a.md", f"---\ntitle: Bridge\ndate: sometime last week\n---\n{PARAGRAPH}")
    article = load_one(md, settings)
    assert (article.title, article.date) == ("Bridge", None)
    assert "sometime last week" in caplog.text
    line = json.dumps({"text": PARAGRAPH, "date": "the day before yesterday"})
    [from_jsonl] = load_all(write(tmp_path, "a.jsonl", line), settings)
    assert isinstance(from_jsonl, Article) and from_jsonl.date is None


def test_html_page_metadata_and_text(tmp_path, settings):
    html = f"""<html><head><title>Bridge closed | The Sample</title>
    <meta property="og:site_name" content="The Sample"><meta name="author" content="Ana Ruiz">
    <meta property="article:published_time" content="2026-01-21T08:00:00Z">
    <link rel="canonical" href="https://example.invalid/bridge"></head>
    <body><nav><a href="/">Home</a><a href="/sport">Sport</a></nav>
    <article><h1>Bridge closed</h1><p>{PARAGRAPH}</p><p>{PARAGRAPH.upper()}</p></article></body></html>"""
    article = load_one(write(tmp_path, "bridge.htm", html), settings)
    assert "Bridge closed" in article.title
    assert (article.date, article.outlet, article.author) == ("2026-01-21", "The Sample", "Ana Ruiz")
    assert article.url == "https://example.invalid/bridge"
    assert f"{PARAGRAPH}\n\n{PARAGRAPH.upper()}" in article.text
    assert "Sport" not in article.text


def test_html_date_comes_from_markup_not_from_dates_in_the_story(tmp_path, settings):
    html = f"""<html><head><title>Treaty</title></head><body><article><h1>Treaty anniversary</h1>
    <p>The treaty was signed on March 3, 2019, in Geneva. {PARAGRAPH}</p></article></body></html>"""
    article = load_one(write(tmp_path, "treaty.html", html), settings)
    assert "March 3, 2019" in article.text
    assert article.date is None


def test_html_in_latin1_with_a_meta_charset(tmp_path, settings):
    html = f'<html><head><meta charset="iso-8859-1"><title>Caf\xe9</title></head><body><article>' \
        f"<p>Le caf\xe9 du port a rouvert ses portes apr\xe8s les travaux. {PARAGRAPH}</p></article></body></html>"
    article = load_one(write(tmp_path, "cafe.html", html.encode("latin-1")), settings)
    assert "Le café du port a rouvert ses portes après les travaux." in article.text


def test_truncated_html_still_yields_the_text_before_the_cut(tmp_path, settings):
    html = f"<html><head><title>Cut</title></head><body><article><p>{PARAGRAPH}</p><p>{PARAGRAPH} And then the"
    article = load_one(write(tmp_path, "cut.html", html), settings)
    assert PARAGRAPH in article.text


def test_deeply_nested_html_fails_cleanly(tmp_path, settings):
    html = "<html><body>" + "<div><span>" * 50_000 + f"<p>{PARAGRAPH}</p>" + "</span></div>" * 50_000
    assert reason(write(tmp_path, "nested.html", html), settings) == "no article text found in the HTML page"


@pytest.mark.parametrize(
    "html",
    [
        "<html><head><title>Empty</title></head><body></body></html>",
        "<html><head><script>var app = 1;</script></head><body><div id='root'></div></body></html>",
        "just words, no markup at all",
    ],
)
def test_html_without_article_text(tmp_path, settings, html):
    assert reason(write(tmp_path, "page.html", html), settings) == "no article text found in the HTML page"


def test_jsonl_bad_lines_are_reported_by_line_and_the_rest_load(tmp_path, settings):
    lines = [
        json.dumps({"title": "One", "text": PARAGRAPH, "date": "21 Jan 2026"}),
        "",
        '{"title": "Two", "text": "unterminated',
        json.dumps(["not", "an", "object"]),
        json.dumps({"title": "No body"}),
        json.dumps({"title": "Blank body", "text": "   "}),
        json.dumps({"title": "Number body", "text": 42}),
        json.dumps({"text": f"Line\u2028separator inside JSON. {PARAGRAPH}"}),
    ]
    path = write(tmp_path, "feed.jsonl", "\n".join(lines) + "\n")
    items = load_all(path, settings)
    where = str(path.resolve())
    by_source = {item.source: item for item in items}
    assert [item.source for item in items] == [f"{where}:{n}" for n in (1, 3, 4, 5, 6, 7, 8)]
    assert isinstance(by_source[f"{where}:1"], Article)
    assert (by_source[f"{where}:1"].title, by_source[f"{where}:1"].date) == ("One", "2026-01-21")
    assert by_source[f"{where}:3"].reason.startswith("line is not valid JSON: ")
    assert by_source[f"{where}:4"].reason == "missing 'text' field (the line is not a JSON object)"
    assert by_source[f"{where}:5"].reason == "missing 'text' field"
    assert by_source[f"{where}:6"].reason == "missing 'text' field"
    assert by_source[f"{where}:7"].reason == "'text' field is not a string"
    last = by_source[f"{where}:8"]
    assert isinstance(last, Article) and "\u2028separator" in last.text
    assert last.title == "feed (line 8)"


def test_jsonl_field_map_renames_fields(tmp_path, settings):
    record = {"headline": "Bridge", "body": PARAGRAPH, "published": "January 21, 2026", "site": "Wire", "text": "x"}
    path = write(tmp_path, "feed.jsonl", json.dumps(record))
    field_map = {"title": "headline", "text": "body", "date": "published", "outlet": "site"}
    [article] = load_all(path, settings, field_map=field_map)
    assert isinstance(article, Article)
    assert (article.title, article.text, article.date, article.outlet) == ("Bridge", PARAGRAPH, "2026-01-21", "Wire")
    [error] = load_all(write(tmp_path, "other.jsonl", json.dumps({"text": PARAGRAPH})), settings, field_map=field_map)
    assert isinstance(error, LoadError) and error.reason == "missing 'body' field"


def test_an_unknown_field_in_the_field_map_is_a_config_error(tmp_path, settings):
    path = write(tmp_path, "feed.jsonl", json.dumps({"text": PARAGRAPH}))
    with pytest.raises(ConfigError, match="unknown article field 'body'"):
        load_all(path, settings, field_map={"body": "text"})


def make_pdf(lines: list[str] = (), *, title: str | None = None, created: str | None = None,
             user_password: str | None = None) -> bytes:
    """A one-page PDF whose text layer holds the given lines (none: a blank page, as from a scanner)."""
    writer = PdfWriter()
    page = writer.add_blank_page(612, 792)
    if lines:
        font = DictionaryObject({
            NameObject("/Type"): NameObject("/Font"),
            NameObject("/Subtype"): NameObject("/Type1"),
            NameObject("/BaseFont"): NameObject("/Helvetica"),
        })
        fonts = DictionaryObject({NameObject("/F1"): font})
        page[NameObject("/Resources")] = DictionaryObject({NameObject("/Font"): fonts})
        shown = " 0 -16 Td ".join(f"({line}) Tj" for line in lines)
        content = DecodedStreamObject()
        content.set_data(f"BT /F1 12 Tf 72 720 Td {shown} ET".encode("latin-1"))
        page.replace_contents(content)
    metadata = {"/Title": title, "/CreationDate": created}
    writer.add_metadata({key: value for key, value in metadata.items() if value})
    if user_password is not None:
        writer.encrypt(user_password=user_password, owner_password="owner", algorithm="RC4-128")
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


def test_pdf_text_title_and_creation_date(tmp_path, settings):
    pdf = make_pdf(["Bridge closed after crash", "Engineers will inspect it."], title="Bridge report",
                   created="D:20260119103000Z")
    article = load_one(write(tmp_path, "report.pdf", pdf), settings)
    assert article.text == "Bridge closed after crash\nEngineers will inspect it."
    assert (article.title, article.date) == ("Bridge report", "2026-01-19")


def test_pdf_without_metadata_is_titled_by_file_name(tmp_path, settings):
    article = load_one(write(tmp_path, "bridge-report.pdf", make_pdf(["Some text."])), settings)
    assert (article.title, article.date) == ("bridge-report", None)


def test_pdf_locked_with_a_password_is_reported(tmp_path, settings):
    path = write(tmp_path, "locked.pdf", make_pdf(["Secret text."], user_password="secret"))
    assert reason(path, settings).startswith("PDF is encrypted")


def test_pdf_with_only_an_owner_password_opens(tmp_path, settings):
    path = write(tmp_path, "restricted.pdf", make_pdf(["Readable text."], user_password=""))
    assert load_one(path, settings).text == "Readable text."


def test_pdf_without_a_text_layer_asks_for_ocr(tmp_path, settings):
    path = write(tmp_path, "scan.pdf", make_pdf())
    assert reason(path, settings) == "PDF has no text layer (scanned?); run OCR first"


def test_a_file_named_pdf_that_is_not_one(tmp_path, settings):
    assert reason(write(tmp_path, "fake.pdf", PARAGRAPH), settings) == "file is not a PDF (no %PDF header)"
    assert reason(write(tmp_path, "damaged.pdf", b"%PDF-1.7\n" + os.urandom(200)), settings).startswith(
        "cannot read the PDF"
    )


# --- bad input common to all files -----------------------------------------------------------------------------

PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00\x1f\x15\xc4\x89"


@pytest.mark.parametrize(
    ("name", "content", "expected"),
    [
        ("empty.txt", b"", "file is empty"),
        ("blank.md", b"  \n\t\r\n  ", "file is empty"),
        ("blank16.txt", "   \n".encode("utf-16"), "file is empty"),
        ("empty.pdf", b"", "file is empty"),
        ("image.txt", PNG, "file looks binary, not text"),
        ("image.html", PNG, "file looks binary, not text"),
        ("nul.txt", b"Title\nSome text\x00with a NUL byte", "file looks binary, not text"),
        ("nul.jsonl", b'{"text": "a"}\x00\n', "file looks binary, not text"),
        ("noise.txt", bytes(range(128, 256)) * 4, "cannot detect the text encoding; save the file as UTF-8"),
    ],
)
def test_unreadable_content_is_reported(tmp_path, settings, name, content, expected):
    assert reason(write(tmp_path, name, content), settings) == expected


@pytest.mark.parametrize(
    ("encoding", "prefix"),
    [("latin-1", b""), ("cp1252", b""), ("utf-16", b""), ("utf-16-be", codecs.BOM_UTF16_BE),
     ("utf-32", b""), ("utf-8", codecs.BOM_UTF8)],
)
def test_text_encodings(tmp_path, settings, encoding, prefix):
    raw = "Café crème\nUn café, s'il vous plaît, à la française.\n"
    article = load_one(write(tmp_path, "cafe.txt", prefix + raw.encode(encoding)), settings)
    assert (article.title, article.text) == ("Café crème", "Un café, s'il vous plaît, à la française.")


def test_short_latin1_word_is_read_as_western_text(tmp_path, settings):
    article = load_one(write(tmp_path, "menu.txt", "café".encode("latin-1")), settings)
    assert article.text == "café"


def test_files_over_the_size_limit_are_refused_before_reading(tmp_path):
    small = Settings(data_dir=tmp_path, max_file_bytes=100)
    path = write(tmp_path, "long.txt", "Title\n" + "word " * 100)
    assert reason(path, small) == "file is 506 bytes, above the limit of 100 (NEWSRAG_MAX_FILE_BYTES)"
    assert isinstance(load_one(write(tmp_path, "short.txt", "Title\nShort."), small), Article)


def test_a_file_that_vanished_after_expansion(tmp_path, settings):
    path = write(tmp_path, "gone.txt", PARAGRAPH)
    [source] = expand_sources([str(path)])
    path.unlink()
    [error] = load_all(source, settings)
    assert isinstance(error, LoadError)
    assert (error.source, error.reason) == (str(path.resolve()), "no such file or directory")


def test_an_unreadable_file_reports_the_os_reason(tmp_path, settings, monkeypatch):
    path = write(tmp_path, "locked.txt", PARAGRAPH)

    def refuse(*args, **kwargs):
        raise PermissionError(13, "Permission denied")  # as root, chmod 000 would not stop the read

    monkeypatch.setattr(loaders, "open", refuse, raising=False)
    assert reason(path, settings) == "cannot read the file: Permission denied"


def test_a_fifo_is_not_read(tmp_path, settings):
    fifo = tmp_path / "pipe.txt"
    os.mkfifo(fifo)  # opening it for reading would block forever
    assert reason(fifo, settings) == "not a regular file"


def test_load_source_refuses_unknown_extensions_and_other_schemes(tmp_path, settings):
    assert reason(write(tmp_path, "notes.docx", b"PK\x03\x04"), settings).startswith("unsupported file type '.docx'")
    [error] = load_all("ftp://example.invalid/a.txt", settings)
    assert isinstance(error, LoadError) and error.reason.startswith("unsupported URL scheme 'ftp:'")


# --- dates -------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-01-19", "2026-01-19"),
        ("2026-01-19T10:00:00Z", "2026-01-19"),
        ("2026-01-19T23:30:00-05:00", "2026-01-19"),  # the date as written, not moved to UTC
        ("January 21, 2026", "2026-01-21"),
        ("21 Jan 2026", "2026-01-21"),
        ("Wed, 21 Jan 2026 08:00:00 GMT", "2026-01-21"),
        (date(2026, 1, 19), "2026-01-19"),
        (datetime(2026, 1, 19, 23, 59), "2026-01-19"),
        (None, None),
        ("", None),
        ("   ", None),
    ],
)
def test_normalize_date(value, expected):
    assert normalize_date(value) == expected


@pytest.mark.parametrize(
    "value", ["not a date", "2026", "January 2026", "31 February 2026", 20260119, ["2026"], "9" * 200]
)
def test_normalize_date_rejects_what_is_not_a_full_date(value):
    with pytest.raises(ValueError):
        normalize_date(value)


# --- expanding CLI inputs --------------------------------------------------------------------------------------


def test_directories_recurse_in_order_skipping_hidden_and_unsupported_files(tmp_path):
    root = tmp_path / "corpus"
    for name in ["b.txt", "a.md", "sub/c.html", "sub/deeper/d.JSONL", "notes.docx", "README", ".hidden.txt",
                 ".git/e.txt", "z.pdf"]:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text("x")
    found = list(expand_sources([str(root)]))
    expected = ["a.md", "b.txt", "sub/c.html", "sub/deeper/d.JSONL", "z.pdf"]
    assert found == [str((root / name).resolve()) for name in expected]


def test_symlink_loops_end_and_each_file_is_yielded_once(tmp_path):
    root = tmp_path / "corpus"
    (root / "inner").mkdir(parents=True)
    (root / "inner" / "story.txt").write_text(PARAGRAPH)
    (root / "inner" / "up").symlink_to(root)  # inner/up/inner/up/... forever
    (root / "self").symlink_to(root / "self")  # a link to itself
    (root / "again").symlink_to(root / "inner")
    started = time.monotonic()
    found = list(expand_sources([str(root), str(root / "inner"), str(root / "inner" / "story.txt")]))
    assert time.monotonic() - started < 5
    assert found == [str((root / "inner" / "story.txt").resolve())]


def test_explicit_inputs_missing_unknown_and_urls(tmp_path):
    docx = write(tmp_path, "notes.docx", b"PK\x03\x04")
    no_ext = write(tmp_path, "README", "x")
    inputs = [str(tmp_path / "missing.txt"), str(docx), str(no_ext), "file:///etc/passwd", "ftp://example.invalid/a",
              "https://example.invalid/a?b=1", "HTTP://example.invalid/B", ""]
    found = list(expand_sources(inputs))
    assert found[5:7] == ["https://example.invalid/a?b=1", "HTTP://example.invalid/B"]
    errors = [item for item in found if isinstance(item, LoadError)]
    assert [(e.source, e.reason.split(";")[0]) for e in errors] == [
        (str(tmp_path / "missing.txt"), "no such file or directory"),
        (str(docx), "unsupported file type '.docx'"),
        (str(no_ext), "unsupported file type (no extension)"),
        ("file:///etc/passwd", "unsupported URL scheme 'file:'"),
        ("ftp://example.invalid/a", "unsupported URL scheme 'ftp:'"),
        ("", "no such file or directory"),
    ]
    assert all(".txt" in e.reason for e in errors if "file type" in e.reason)  # says what is supported


def test_a_hidden_file_named_explicitly_is_loaded(tmp_path, settings):
    path = write(tmp_path, ".draft.md", f"# Draft\n\n{PARAGRAPH}")
    [source] = expand_sources([str(path)])
    assert load_one(source, settings).title == "Draft"


def test_a_file_name_with_a_colon_is_a_path(tmp_path, settings, monkeypatch):
    monkeypatch.chdir(tmp_path)
    write(tmp_path, "brief:2026.txt", PARAGRAPH)
    assert list(expand_sources(["brief:2026.txt"])) == [str((tmp_path / "brief:2026.txt").resolve())]


def test_supported_extensions():
    expected = frozenset({".txt", ".md", ".markdown", ".html", ".htm", ".jsonl", ".pdf"})
    assert expected == SUPPORTED_EXTENSIONS


# --- URLs against a local server -------------------------------------------------------------------------------

ARTICLE_HTML = f"""<html><head><title>Bridge closed</title>
<meta property="og:site_name" content="Local Sample"><meta property="article:published_time" content="2026-01-21">
</head><body><article><h1>Bridge closed</h1><p>{PARAGRAPH}</p><p>{PARAGRAPH.upper()}</p></article></body></html>"""

ROUTES: dict[str, tuple[int, dict[str, str], bytes]] = {
    "/article.html": (200, {"Content-Type": "text/html; charset=utf-8"}, ARTICLE_HTML.encode()),
    "/brief": (200, {"Content-Type": "text/plain; charset=iso-8859-1"}, f"Café closes\n{PARAGRAPH}".encode("latin-1")),
    "/report.pdf": (200, {"Content-Type": "application/pdf"}, make_pdf(["Bridge report text."], title="Report")),
    "/missing": (404, {"Content-Type": "text/html"}, b"<html><body>Not found</body></html>"),
    "/image.png": (200, {"Content-Type": "image/png"}, PNG),
    "/big": (200, {"Content-Type": "text/html"}, b"<p>" + b"x" * 50_000 + b"</p>"),
    "/redirect": (302, {"Location": "/article.html"}, b""),
    "/loop": (302, {"Location": "/loop"}, b""),
    "/to-ftp": (301, {"Location": "ftp://127.0.0.1/file.txt"}, b""),
    "/to-localhost": (302, {"Location": "http://localhost:{port}/article.html"}, b""),
}


class Handler(BaseHTTPRequestHandler):
    requested: ClassVar[list[str]] = []  # paths asked for, in order

    def do_GET(self) -> None:
        Handler.requested.append(self.path)
        if self.path == "/slow":
            time.sleep(1.0)
        if self.path == "/drip":  # each byte arrives quickly, the whole body never does
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", "1000")
            self.end_headers()
            try:
                for _ in range(1000):
                    self.wfile.write(b"x")
                    self.wfile.flush()
                    time.sleep(0.02)
            except (BrokenPipeError, ConnectionResetError):
                pass
            return
        if self.path == "/big-unsized":  # no Content-Length: the cap must hold while streaming
            self.protocol_version = "HTTP/1.0"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.end_headers()
            try:
                for _ in range(50):
                    self.wfile.write(b"<p>" + b"y" * 1000 + b"</p>")
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client stopped reading at its limit, as it should
            return
        status, headers, body = ROUTES.get(self.path, (404, {}, b""))
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value.replace("{port}", str(self.server.server_port)))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_http(Handler) as url:
        yield url


@pytest.fixture
def local_ok(tmp_path):
    return Settings(data_dir=tmp_path, allow_private_urls=True, max_file_bytes=20_000, url_timeout=5)


def fetch(url: str, settings: Settings) -> Article | LoadError:
    [item] = load_source(url, settings)
    return item


def test_url_html_page_loads(server, local_ok):
    article = fetch(f"{server}/article.html", local_ok)
    assert isinstance(article, Article), article
    assert article.source == f"{server}/article.html"
    assert (article.title, article.outlet, article.date) == ("Bridge closed", "Local Sample", "2026-01-21")
    assert article.url == f"{server}/article.html"
    assert article.text == f"Bridge closed\n\n{PARAGRAPH}\n\n{PARAGRAPH.upper()}"  # trafilatura keeps the h1


def test_url_plain_text_and_pdf(server, local_ok):
    brief = fetch(f"{server}/brief", local_ok)
    assert isinstance(brief, Article) and (brief.title, brief.text) == ("Café closes", PARAGRAPH)
    report = fetch(f"{server}/report.pdf", local_ok)
    assert isinstance(report, Article) and (report.title, report.text) == ("Report", "Bridge report text.")


def test_url_redirect_is_followed(server, local_ok):
    article = fetch(f"{server}/redirect", local_ok)
    assert isinstance(article, Article) and article.source == f"{server}/redirect"
    assert article.url == f"{server}/article.html"


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("/missing", "HTTP 404"),
        ("/image.png", "unsupported content type image/png; newsrag reads HTML, text and PDF"),
        ("/big", "response larger than 20000 bytes (NEWSRAG_MAX_FILE_BYTES)"),
        ("/big-unsized", "response larger than 20000 bytes (NEWSRAG_MAX_FILE_BYTES)"),
        ("/loop", "too many redirects (more than 5)"),
    ],
)
def test_url_failures(server, local_ok, path, expected):
    error = fetch(f"{server}{path}", local_ok)
    assert isinstance(error, LoadError) and (error.source, error.reason) == (f"{server}{path}", expected)


def test_url_redirect_to_another_scheme_is_refused(server, local_ok):
    error = fetch(f"{server}/to-ftp", local_ok)
    assert isinstance(error, LoadError)
    assert error.reason == "ftp://127.0.0.1/file.txt is not an http(s) URL with a host name"


def test_url_timeout_and_unreachable(server, tmp_path):
    impatient = Settings(data_dir=tmp_path, allow_private_urls=True, url_timeout=0.2)
    slow = fetch(f"{server}/slow", impatient)
    assert isinstance(slow, LoadError) and slow.reason == f"cannot reach {server}/slow: no answer within 0.2 s"
    drip = fetch(f"{server}/drip", Settings(data_dir=tmp_path, allow_private_urls=True, url_timeout=0.5))
    assert isinstance(drip, LoadError) and drip.reason == "download took longer than 0.5 s (NEWSRAG_URL_TIMEOUT)"
    closed = fetch("http://127.0.0.1:9/", impatient)  # the discard port: nothing listens there
    assert isinstance(closed, LoadError) and closed.reason.startswith("cannot reach http://127.0.0.1:9/: ")


REFUSAL = "refusing to fetch a private or local address (set NEWSRAG_ALLOW_PRIVATE_URLS=true to allow)"


def test_local_addresses_are_refused_by_default(server, tmp_path):
    Handler.requested.clear()
    error = fetch(f"{server}/article.html", Settings(data_dir=tmp_path))
    assert isinstance(error, LoadError) and error.reason == REFUSAL
    assert Handler.requested == []  # refused before connecting


@pytest.mark.parametrize(
    "url",
    [
        "http://localhost/", "http://[::1]/", "http://10.1.2.3/", "http://192.168.0.1/", "http://172.16.0.1/",
        "http://169.254.169.254/latest/meta-data/", "http://0.0.0.0/", "http://224.0.0.1/", "http://240.0.0.1/",
        "http://100.64.0.1/", "http://[::ffff:127.0.0.1]/", "http://[fe80::1]/", "https://2130706433/",
    ],
)
def test_private_and_special_addresses_are_refused(tmp_path, url):
    error = fetch(url, Settings(data_dir=tmp_path))
    assert isinstance(error, LoadError) and error.reason == REFUSAL


def test_every_redirect_hop_is_checked(server, tmp_path, monkeypatch):
    """The first hop passes the check (as a public host would); the redirect to localhost must not be fetched."""
    checked: list[str] = []

    def first_hop_only(address: str) -> bool:
        checked.append(address)
        return len(checked) == 1

    monkeypatch.setattr(fetcher, "is_public", first_hop_only)
    Handler.requested.clear()
    error = fetch(f"{server}/to-localhost", Settings(data_dir=tmp_path))
    assert isinstance(error, LoadError) and error.reason == REFUSAL
    assert Handler.requested == ["/to-localhost"]
    assert len(checked) >= 2


# --- never raises ------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def scratch(tmp_path_factory) -> tuple[Path, Settings]:
    """Module-scoped, as hypothesis re-runs the test body many times within one function-scoped fixture."""
    folder = tmp_path_factory.mktemp("any")
    return folder, Settings(data_dir=folder, max_file_bytes=10_000)


def _check_result(path: Path, items: list) -> None:
    assert items, "load_source must yield something"
    for item in items:
        assert isinstance(item, (Article, LoadError))
        assert item.source.startswith(str(path.resolve()))
        if isinstance(item, Article):
            assert_clean(item.text)
            assert item.title and "\n" not in item.title


@hsettings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=2000))
def test_any_text_file_loads_or_fails_cleanly(scratch, text):
    folder, settings = scratch
    path = folder / "any.txt"
    path.write_text(text, encoding="utf-8")
    items = list(load_source(str(path), settings))
    _check_result(path, items)
    if text.strip() and "\x00" not in text and not text.encode().startswith(decode.BINARY_MAGIC):
        assert isinstance(items[0], Article), items[0]


@hsettings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.sampled_from(sorted(SUPPORTED_EXTENSIONS)))
def test_any_bytes_in_any_format_never_raise(scratch, data, suffix):
    folder, settings = scratch
    path = folder / f"any{suffix}"
    path.write_bytes(data)
    _check_result(path, list(load_source(str(path), settings)))
