"""A catalogue of bad input, each kind run through the whole pipeline with real Chroma and the real embedding model.

Every case ingests two good files plus the bad input in one batch and checks: the reason given for each
bad item (naming the file, or file:line for JSONL, or the URL), that the good files were added, that the
store holds nothing from the bad input (no article, no chunk, no vector, no BM25 entry), and that the
catalog, Chroma and BM25 agree. Some kinds are not errors (Latin-1, UTF-16, a stray invalid UTF-8 byte,
an unparseable date, a truncated page, a very long line): those must load, with the right text.

Loader-level detail for these kinds lives in test_loaders.py; this file is about the batch as a whole.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from types import SimpleNamespace

import pytest
from click.testing import CliRunner

from ingest import pipeline
from ingest.loaders import load_source
from ingest.pipeline import chunk_article, embedding_text, ingest
from rag.config import Settings
from rag.embeddings import MAX_TOKENS
from rag.store import Store, StoredArticle
from rag.tokens import count_tokens
from rag.types import Article
from ui.cli import cli

from conftest import free_port, serve_http
from test_loaders import PNG, make_pdf

GOOD_FILES = {
    "harbour.md": (
        "---\ntitle: Harbour festival draws record crowds\ndate: 2026-01-10\noutlet: Test Gazette\n---\n"
        "The harbour festival drew about twelve thousand visitors on Saturday, a record for the event. "
        "Organisers said the festival would return next summer.\n"
    ),
    "bridge.txt": (
        "Bridge reopens after repairs\n"
        "The river bridge reopened to traffic on Monday after engineers replaced the railing a lorry had struck.\n"
    ),
}
GOOD_TITLES = {"Harbour festival draws record crowds", "Bridge reopens after repairs"}
STORY = (
    "The town council approved a new cycle lane along the seafront on Tuesday. "
    "Work will start in March and should take about six weeks, the council said."
)
LATIN = "Le café du port a rouvert ses portes après les travaux, a déclaré la propriétaire à Zürich."


# --- what a case returns --------------------------------------------------------------------------------------


@dataclass
class Expect:
    """The bad inputs to add to the batch and what must become of each of them."""

    inputs: list[str]
    failed: dict[str, str | re.Pattern] = field(default_factory=dict)  # source -> exact reason, or a pattern
    loaded: dict[str, Callable[[StoredArticle, list[tuple]], None]] = field(default_factory=dict)
    settings: dict = field(default_factory=dict)


def write(folder: Path, name: str, content: str | bytes) -> Path:
    path = folder / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return path


def src(path: Path) -> str:
    """The source name the pipeline reports for a file: its resolved path."""
    return os.path.realpath(path)


_ANY = object()


def single_chunk(expected_text: str, title: str | None = None, date: object = _ANY):
    """A check that the article was stored whole, as one chunk with exactly this text (and title/date)."""

    def check(article: StoredArticle, chunks: list[tuple]) -> None:
        assert [c[1] for c in chunks] == [expected_text]
        if title is not None:
            assert article.title == title
        if date is not _ANY:
            assert article.date == date

    return check


CASES: dict[str, Callable[[Path, SimpleNamespace], Expect]] = {}


def case(fn: Callable[[Path, SimpleNamespace], Expect]) -> Callable:
    CASES[fn.__name__.removeprefix("case_")] = fn
    return fn


# --- the catalogue ----------------------------------------------------------------------------------------------


@case
def case_empty_file(tmp: Path, env) -> Expect:
    bad = write(tmp, "empty.txt", b"")
    return Expect([str(bad)], failed={src(bad): "file is empty"})


@case
def case_whitespace_only(tmp: Path, env) -> Expect:
    bad = write(tmp, "blank.md", b" \n\t \r\n   \n")
    return Expect([str(bad)], failed={src(bad): "file is empty"})


@case
def case_png_renamed_txt(tmp: Path, env) -> Expect:
    bad = write(tmp, "photo.txt", PNG + os.urandom(256))
    return Expect([str(bad)], failed={src(bad): "file looks binary, not text"})


@case
def case_nul_bytes(tmp: Path, env) -> Expect:
    early = write(tmp, "nul-early.txt", f"Title\n{STORY}\x00{STORY}")
    late = write(tmp, "nul-late.md", f"# Late NUL\n\n{STORY}\n" * 100 + "\x00 tail")  # past the first 8 KB
    return Expect([str(early), str(late)], failed={
        src(early): "file looks binary, not text",
        src(late): "file looks binary, not text",
    })


@case
def case_latin1_text(tmp: Path, env) -> Expect:
    good = write(tmp, "cafe.txt", f"Café du port\n{LATIN}\n".encode("latin-1"))
    return Expect([str(good)], loaded={src(good): single_chunk(LATIN, title="Café du port")})


@case
def case_utf16_text(tmp: Path, env) -> Expect:
    good = write(tmp, "cafe16.md", f"---\ntitle: Café à Zürich\n---\n{LATIN}\n".encode("utf-16"))
    return Expect([str(good)], loaded={src(good): single_chunk(LATIN, title="Café à Zürich")})


@case
def case_invalid_utf8_stray_bytes(tmp: Path, env) -> Expect:
    """UTF-8 with two bad bytes: the accents survive, the bad bytes become U+FFFD (not Latin-2 mojibake)."""
    good = write(tmp, "stray.txt", f"Café news\n{LATIN} Une erreur ".encode() + b"\xff\xfe" + b" ici.\n")
    return Expect([str(good)], loaded={src(good): single_chunk(f"{LATIN} Une erreur \ufffd\ufffd ici.", "Café news")})


@case
def case_undecodable_bytes(tmp: Path, env) -> Expect:
    bad = write(tmp, "noise.txt", bytes(range(128, 256)) * 8)
    return Expect([str(bad)], failed={src(bad): "cannot detect the text encoding; save the file as UTF-8"})


@case
def case_over_the_size_cap(tmp: Path, env) -> Expect:
    bad = write(tmp, "long.txt", "Long story\n" + "word " * 1000)
    return Expect([str(bad)], settings={"max_file_bytes": 1500}, failed={
        src(bad): f"file is {bad.stat().st_size} bytes, above the limit of 1500 (NEWSRAG_MAX_FILE_BYTES)",
    })


@case
def case_50mb_file_over_the_default_cap(tmp: Path, env) -> Expect:
    bad = tmp / "huge.txt"
    with bad.open("wb") as handle:  # sparse: 50 MB on paper, instant to make, refused before reading
        handle.write(b"Huge\n")
        handle.truncate(50 * 1024 * 1024)
    return Expect([str(bad)], failed={
        src(bad): "file is 52428800 bytes, above the limit of 20000000 (NEWSRAG_MAX_FILE_BYTES)",
    })


@case
def case_deeply_nested_html(tmp: Path, env) -> Expect:
    html = "<html><body>" + "<div><span>" * 50_000 + f"<p>{STORY}</p>" + "</span></div>" * 50_000
    bad = write(tmp, "nested.html", html)
    return Expect([str(bad)], failed={src(bad): "no article text found in the HTML page"})


@case
def case_truncated_html(tmp: Path, env) -> Expect:
    html = f"<html><head><title>Cycle lane</title></head><body><article><p>{STORY}</p><p>{STORY} And then the"

    def check(article: StoredArticle, chunks: list[tuple]) -> None:
        text = " ".join(c[1] for c in chunks)
        assert STORY in text and text.rstrip().endswith("And then the")

    good = write(tmp, "cut.html", html)
    return Expect([str(good)], loaded={src(good): check})


@case
def case_html_without_article_text(tmp: Path, env) -> Expect:
    bad = write(tmp, "app.html", "<html><head><script>var app = 1;</script></head><body><div id=root></div></body></html>")
    return Expect([str(bad)], failed={src(bad): "no article text found in the HTML page"})


@case
def case_jsonl_broken_line(tmp: Path, env) -> Expect:
    lines = [json.dumps({"title": "Line one", "text": STORY}), '{"title": "Line two", "text": "unterminated',
             json.dumps({"title": "Line three", "text": STORY.replace("Tuesday", "Friday")})]
    feed = write(tmp, "feed.jsonl", "\n".join(lines) + "\n")
    return Expect([str(feed)],
                  failed={f"{src(feed)}:2": re.compile(r"line is not valid JSON: Unterminated string .*")},
                  loaded={f"{src(feed)}:1": single_chunk(STORY, "Line one"),
                          f"{src(feed)}:3": single_chunk(STORY.replace("Tuesday", "Friday"), "Line three")})


@case
def case_jsonl_missing_text_field(tmp: Path, env) -> Expect:
    lines = [json.dumps({"title": "Has text", "text": STORY}), json.dumps({"title": "No body", "body": STORY})]
    feed = write(tmp, "feed.jsonl", "\n".join(lines))
    return Expect([str(feed)], failed={f"{src(feed)}:2": "missing 'text' field"},
                  loaded={f"{src(feed)}:1": single_chunk(STORY, "Has text")})


@case
def case_front_matter_not_yaml(tmp: Path, env) -> Expect:
    bad = write(tmp, "broken.md", f"---\ntitle: [unclosed\ndate: 2026-01-19\n---\n{STORY}")
    return Expect([str(bad)], failed={src(bad): re.compile(r"front matter is not valid YAML: .+")})


@case
def case_unparseable_date(tmp: Path, env) -> Expect:
    good = write(tmp, "undated.md", f"---\ntitle: Cycle lane\ndate: sometime last week\n---\n{STORY}")
    return Expect([str(good)], loaded={src(good): single_chunk(STORY, "Cycle lane", date=None)})


@case
def case_encrypted_pdf(tmp: Path, env) -> Expect:
    bad = write(tmp, "locked.pdf", make_pdf(["Secret council minutes."], user_password="secret"))
    return Expect([str(bad)], failed={
        src(bad): "PDF is encrypted; remove the password (e.g. qpdf --decrypt) and try again",
    })


@case
def case_pdf_without_text_layer(tmp: Path, env) -> Expect:
    bad = write(tmp, "scan.pdf", make_pdf())
    return Expect([str(bad)], failed={src(bad): "PDF has no text layer (scanned?); run OCR first"})


@case
def case_not_a_pdf(tmp: Path, env) -> Expect:
    bad = write(tmp, "fake.pdf", STORY)
    return Expect([str(bad)], failed={src(bad): "file is not a PDF (no %PDF header)"})


@case
def case_symlink_loop_in_a_directory(tmp: Path, env) -> Expect:
    """inner/up points back at the folder (walked once) and loop.txt points at itself (reported)."""
    root = tmp / "linked"
    inner = write(root / "inner", "story.txt", f"Cycle lane approved\n{STORY}")
    (root / "inner" / "up").symlink_to(root)
    (root / "loop.txt").symlink_to(root / "loop.txt")
    return Expect([str(root)], failed={src(root / "loop.txt"): "cannot read the file: Too many levels of symbolic links"},
                  loaded={src(inner): single_chunk(STORY, "Cycle lane approved")})


@case
def case_file_disappears_mid_batch(tmp: Path, env) -> Expect:
    doomed = write(tmp, "zz-doomed.md", f"# Doomed\n\n{STORY}")
    real = pipeline.load_source
    loaded: list[str] = []

    def load_then_delete(source, settings, **kwargs):
        loaded.append(source)
        doomed.unlink(missing_ok=True)  # gone after expand_sources listed it, before it is read
        yield from real(source, settings, **kwargs)

    env.monkeypatch.setattr(pipeline, "load_source", load_then_delete)
    env.after.append(lambda: src(doomed) in loaded or pytest.fail("the file was never handed to the loader"))
    return Expect([str(doomed)], failed={src(doomed): "no such file or directory"})


@case
def case_unsupported_extension(tmp: Path, env) -> Expect:
    bad = write(tmp, "notes.docx", b"PK\x03\x04" + os.urandom(64))
    return Expect([str(bad)], failed={
        str(bad): "unsupported file type '.docx'; supported: .htm, .html, .jsonl, .markdown, .md, .pdf, .txt",
    })


@case
def case_missing_path(tmp: Path, env) -> Expect:
    return Expect([str(tmp / "nowhere.md")], failed={str(tmp / "nowhere.md"): "no such file or directory"})


@case
def case_fifo(tmp: Path, env) -> Expect:
    fifo = tmp / "pipe.txt"
    os.mkfifo(fifo)  # reading it would block forever
    return Expect([str(fifo)], failed={src(fifo): "not a regular file"})


@case
def case_file_url(tmp: Path, env) -> Expect:
    return Expect(["file:///etc/passwd"], failed={
        "file:///etc/passwd": "unsupported URL scheme 'file:'; only http(s) URLs can be loaded",
    })


@case
def case_unreachable_url(tmp: Path, env) -> Expect:
    url = f"http://127.0.0.1:{free_port()}/story.html"  # nothing listens there
    return Expect([url], failed={url: re.compile(rf"cannot reach {re.escape(url)}: .*refused.*", re.I)})


@case
def case_url_answering_404(tmp: Path, env) -> Expect:
    url = f"{env.server}/missing.html"
    return Expect([url], failed={url: "HTTP 404"})


@case
def case_url_with_non_html_type(tmp: Path, env) -> Expect:
    url = f"{env.server}/photo.jpg"
    return Expect([url], failed={url: "unsupported content type image/jpeg; newsrag reads HTML, text and PDF"})


@case
def case_control_characters(tmp: Path, env) -> Expect:
    """Terminal escapes in a title or text are shown as symbols (␛), never sent raw to `newsrag sources` or `ask`."""
    good = write(tmp, "ansi.txt", f"Cycle \x1b[31mlane\x1b[0m\x07\n{STORY}\x1b]0;owned\x07")
    return Expect([str(good)], loaded={src(good): single_chunk(f"{STORY}\u241b]0;owned\u2407",
                                                               "Cycle \u241b[31mlane\u241b[0m\u2407")})


def long_line_check(text: str, chunk_tokens: int, embeddings):
    """Chunks within both token limits (tiktoken and the embedding model's), in order, covering the text."""

    def check(article: StoredArticle, chunks: list[tuple]) -> None:
        assert len(chunks) > 1
        header = Article(source="x", text=text, title=article.title, date=article.date)
        previous_start, previous_end = -1, 0
        for _, chunk_text, start, end in chunks:
            assert chunk_text == text[start:end]
            assert count_tokens(chunk_text) <= chunk_tokens
            assert embeddings.count_tokens(embedding_text(header, chunk_text, Settings())) <= MAX_TOKENS
            assert start > previous_start and not text[previous_end:start].strip()  # in order, nothing skipped
            previous_start, previous_end = start, max(previous_end, end)
        assert chunks[0][2] == 0 and previous_end == len(text)

    return check


def _long_line(n_bytes: int) -> str:
    words = ("council", "harbour", "cycle", "lane", "bridge", "festival", "engineer", "railing", "summer", "visitors")
    out, size = [], 0
    while size < n_bytes:
        out.append(f"{words[len(out) % len(words)]}{len(out) % 977}")
        size += len(out[-1]) + 1
    return " ".join(out)[:n_bytes].rstrip()


@case
def case_enormous_single_line(tmp: Path, env) -> Expect:
    text = _long_line(env.long_line_bytes)
    good = write(tmp, "one-line.txt", text)  # no newline at all: the whole file is one "sentence"
    return Expect([str(good)], loaded={src(good): long_line_check(text, 200, env.embeddings)})


# --- running a case ------------------------------------------------------------------------------------------


class Routes(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, kind, body = {
            "/photo.jpg": (200, "image/jpeg", b"\xff\xd8\xff\xe0" + b"\x00" * 64),
        }.get(self.path, (404, "text/html", b"<html><body><p>Not found</p></body></html>"))
        self.send_response(status)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_http(Routes) as url:
        yield url


def stored_chunks(store: Store, article_id: str) -> list[tuple]:
    return store.catalog.db.execute(
        'SELECT idx, text, start, "end" FROM chunks WHERE article_id=? ORDER BY idx', (article_id,)
    ).fetchall()


def assert_consistent(store: Store) -> None:
    """Catalog, Chroma and BM25 hold exactly the same chunks, and nothing is pending or orphaned."""
    db = store.catalog.db
    stats = store.stats()
    assert stats["chunks"] == stats["vectors"] == stats["bm25_chunks"], stats
    catalog_ids = sorted(r[0] for r in db.execute("SELECT id FROM chunks"))
    assert len(catalog_ids) == stats["chunks"]
    assert sorted(store.collection.get(include=[])["ids"]) == catalog_ids
    bm25 = json.loads((store.lexical.directory / "meta.json").read_text())["ids"]
    assert sorted(bm25) == catalog_ids
    assert db.execute("SELECT count(*) FROM articles WHERE state != 'ready'").fetchone()[0] == 0
    assert store.catalog.orphans() == []


def run_case(name: str, tmp_path: Path, embeddings, monkeypatch, server, long_line_bytes: int = 24_000) -> None:
    good_dir = tmp_path / "good"
    good = [write(good_dir, fname, text) for fname, text in GOOD_FILES.items()]
    env = SimpleNamespace(monkeypatch=monkeypatch, server=server, embeddings=embeddings, after=[],
                          long_line_bytes=long_line_bytes)
    (tmp_path / "bad").mkdir()
    expect = CASES[name](tmp_path / "bad", env)
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", allow_private_urls=True, url_timeout=5,
                        **expect.settings)
    store = Store(settings, embeddings)

    report = ingest([str(p) for p in good] + expect.inputs, settings, store=store)
    for check in env.after:
        check()

    by_source = {r.source: r for r in report.results}
    for path in good:  # the rest of the batch went in
        assert by_source[src(path)].status == "added", by_source[src(path)]
    failures = {r.source: r.reason for r in report.failures}
    assert set(failures) == set(expect.failed), report.failures
    for source, wanted in expect.failed.items():
        if isinstance(wanted, re.Pattern):
            assert wanted.fullmatch(failures[source]), (source, failures[source])
        else:
            assert failures[source] == wanted, (source, failures[source])
    for source in expect.loaded:
        assert by_source[source].status == "added", by_source[source]

    # nothing partial: exactly the good files and the inputs that should load are stored, all of them whole
    articles = {source: a for a in store.catalog.articles() for source in a.sources}
    assert set(articles) == {src(p) for p in good} | set(expect.loaded)
    assert {a.title for s, a in articles.items() if s in {src(p) for p in good}} == GOOD_TITLES
    chroma_sources = {m["source"] for m in store.collection.get(include=["metadatas"])["metadatas"]}
    assert chroma_sources == set(articles)
    assert_consistent(store)
    for source, check in expect.loaded.items():
        chunks = stored_chunks(store, articles[source].id)
        assert len(chunks) == articles[source].n_chunks
        check(articles[source], chunks)


@pytest.mark.parametrize("name", sorted(CASES))
def test_bad_input_in_a_batch(name, tmp_path, embeddings, monkeypatch, server):
    run_case(name, tmp_path, embeddings, monkeypatch, server)


def test_the_catalogue_is_complete():
    assert len(CASES) >= 20
    assert {"empty_file", "png_renamed_txt", "nul_bytes", "latin1_text", "utf16_text", "invalid_utf8_stray_bytes",
            "over_the_size_cap", "50mb_file_over_the_default_cap", "deeply_nested_html", "truncated_html",
            "html_without_article_text", "jsonl_broken_line", "jsonl_missing_text_field", "front_matter_not_yaml",
            "unparseable_date", "encrypted_pdf", "pdf_without_text_layer", "symlink_loop_in_a_directory",
            "file_disappears_mid_batch", "unreachable_url", "url_answering_404", "url_with_non_html_type",
            "enormous_single_line"} <= set(CASES)


def test_a_2mb_single_line_is_loaded_and_chunked_within_limits(tmp_path, settings, embeddings):
    """The 2 MB version of enormous_single_line, loaded and chunked as the pipeline does, without embedding its
    ~1,900 chunks (minutes on 2 cores; the 24 KB case above runs such chunks through the whole pipeline)."""
    text = _long_line(2_000_000)
    path = write(tmp_path, "one-line.txt", text)
    [article] = load_source(str(path), settings)
    assert isinstance(article, Article) and article.text == text and article.title == "one-line"
    chunks = chunk_article(article, settings, embeddings)
    assert len(chunks) > 1000
    stored = StoredArticle(article.id, article.fingerprint, article.title, article.date, "", "", len(chunks), ())
    long_line_check(text, settings.chunk_tokens, embeddings)(stored, [(c.index, c.text, c.start, c.end) for c in chunks])


# --- the CLI -------------------------------------------------------------------------------------------------


def test_cli_reports_each_failure_and_keeps_the_good_article(tmp_path):
    good = write(tmp_path, "harbour.md", GOOD_FILES["harbour.md"])
    empty = write(tmp_path, "empty.txt", b"")
    feed = write(tmp_path, "feed.jsonl", '{"text": "broken\n')
    runner = CliRunner()

    result = runner.invoke(cli, ["ingest", str(good), str(empty), str(feed)])
    assert result.exit_code == 1, result.output
    assert "1 added, 0 updated, 0 unchanged, 0 duplicate, 2 failed" in result.stdout
    assert f"  failed: {src(empty)}: file is empty" in result.stderr
    assert re.search(rf"  failed: {re.escape(src(feed))}:1: line is not valid JSON: .+", result.stderr)

    listed = runner.invoke(cli, ["sources", "--json"])
    assert listed.exit_code == 0, listed.output
    articles = json.loads(listed.stdout)
    assert [(a["title"], a["sources"]) for a in articles] == [("Harbour festival draws record crowds", [src(good)])]

    stats = json.loads(runner.invoke(cli, ["stats", "--json"]).stdout)
    assert stats["articles"] == 1 and stats["chunks"] == stats["vectors"] == stats["bm25_chunks"] >= 1

    again = runner.invoke(cli, ["ingest", str(good), str(empty)])  # the good one is unchanged, the bad one still fails
    assert again.exit_code == 1 and "0 added, 0 updated, 1 unchanged, 0 duplicate, 1 failed" in again.stdout
