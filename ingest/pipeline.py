"""load → split → embed → commit, idempotently: unchanged articles cost one catalog lookup, nothing else."""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Literal

from ingest.formats import has_lone_surrogate
from ingest.loaders import load_source
from ingest.sources import expand_sources
from ingest.split import split_spans
from rag.config import Settings
from rag.embeddings import MAX_TOKENS, NewsEmbeddings
from rag.errors import LoadError
from rag.store import ArticleWrite, Store
from rag.tokens import count_tokens
from rag.types import Article, Chunk

Status = Literal["added", "updated", "unchanged", "duplicate", "failed"]
STATUSES: tuple[Status, ...] = ("added", "updated", "unchanged", "duplicate", "failed")
WRITE_BATCH_CHUNKS = 512  # chunks embedded and committed together: large enough to keep the model busy
WRITE_BATCH_LINKS = 5000  # duplicates linked together: one short transaction each


@dataclass(frozen=True)
class SourceResult:
    source: str
    status: Status
    reason: str = ""
    title: str = ""
    chunks: int = 0


@dataclass
class IngestReport:
    results: list[SourceResult] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        found = Counter(r.status for r in self.results)
        return {status: found.get(status, 0) for status in STATUSES}

    @property
    def failures(self) -> list[SourceResult]:
        return [r for r in self.results if r.status == "failed"]

    @property
    def chunks_written(self) -> int:
        return sum(r.chunks for r in self.results if r.status in ("added", "updated"))

    def to_dict(self) -> dict:
        return {
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "chunks_written": self.chunks_written,
            "results": [r.__dict__ for r in self.results],
        }


def sample_corpus_dir() -> Path:
    """The bundled sample articles about the US withdrawal from Iraq's bases and the detainee transfers."""
    return Path(str(resources.files("ingest") / "samples"))


def embedding_text(article: Article, chunk_text: str, settings: Settings) -> str:
    """What gets embedded: a short header so a chunk read out of context still says what it is about.

    `chunk_header` off embeds the chunk alone; docs/performance.md (Ingest) has what each costs and finds.
    """
    if not settings.chunk_header:
        return chunk_text
    header = article.title[:120]
    if article.date:
        header = f"{header} ({article.date})"
    return f"{header}\n{chunk_text}" if header else chunk_text


def chunk_article(article: Article, settings: Settings, embeddings: NewsEmbeddings) -> list[Chunk]:
    """Token-bounded chunks whose embedded form (with header) also fits the embedding model's window."""
    size, overlap = settings.chunk_tokens, settings.chunk_overlap
    while True:
        spans = split_spans(article.text, size, min(overlap, size // 4))
        if size <= 32 or all(
            embeddings.count_tokens(embedding_text(article, article.text[s.start : s.end], settings)) <= MAX_TOKENS
            for s in spans
        ):
            break
        size = int(size * 0.8)  # word pieces outnumber tiktoken tokens in some texts: shrink and retry
    meta = {"title": article.title, "date": article.date, "outlet": article.outlet, "url": article.url}
    article_id = article.id  # a hash of the whole text, computed on every access: once, not once per chunk
    return [Chunk(article_id, i, article.text[s.start : s.end], s.start, s.end, meta) for i, s in enumerate(spans)]


class _Batch:
    """Articles waiting to be embedded and committed together."""

    def __init__(self) -> None:
        self.items: list[tuple[Article, str, list[Chunk], Status]] = []
        self.links: list[tuple[str, str]] = []  # (source, article id) of duplicates, linked after the commit
        self.linked: list[SourceResult] = []  # what to report for them once linked
        self.ids: set[str] = set()

    @property
    def n_chunks(self) -> int:
        return sum(len(chunks) for _, _, chunks, _ in self.items)


def ingest(
    inputs: Iterable[str],
    settings: Settings,
    *,
    store: Store | None = None,
    reset: bool = False,
    field_map: Mapping[str, str] | None = None,
    progress: Callable[[int, int], None] | None = None,
    follow_links: bool = False,
) -> IngestReport:
    """Ingest files, directories and URLs; bad inputs are reported per source and never stop the batch.

    progress(done, total) is called after each file or URL. Each batch holds the data dir's write lock only
    while it is committed, so other processes' questions and writes go on in between. follow_links lets a
    directory's symlinks lead outside it.
    """
    started = time.perf_counter()
    store = store or Store(settings)
    if reset:
        store.reset()
    report = IngestReport()

    record = report.results.append

    sources = list(expand_sources(inputs, follow_links=follow_links))
    batch = _Batch()
    for done, item in enumerate(sources, start=1):
        if progress:
            progress(done - 1, len(sources))
        if isinstance(item, LoadError):
            record(SourceResult(item.source, "failed", item.reason))
            continue
        seen_lines: set[str] = set()
        for loaded in load_source(item, settings, field_map=field_map):
            if isinstance(loaded, LoadError):
                seen_lines.add(loaded.source)
                record(SourceResult(loaded.source, "failed", loaded.reason))
                continue
            seen_lines.add(loaded.source)
            _plan(loaded, settings, store, batch, record)
            if batch.n_chunks >= WRITE_BATCH_CHUNKS or len(batch.links) >= WRITE_BATCH_LINKS:
                _flush(batch, settings, store, record)
                batch = _Batch()
        if seen_lines - {item}:
            _forget_missing_lines(store, item, seen_lines)
    _flush(batch, settings, store, record)
    store.refresh_lexical()
    if progress:
        progress(len(sources), len(sources))
    report.seconds = time.perf_counter() - started
    return report


def _plan(article: Article, settings: Settings, store: Store, batch: _Batch, record) -> None:
    previous = store.article_of_source(article.source)
    stored_fingerprint = store.stored_fingerprint(article.id)
    if stored_fingerprint == article.fingerprint and article.id not in batch.ids:
        if previous == article.id:
            record(SourceResult(article.source, "unchanged", title=article.title))
        else:
            status: Status = "updated" if previous else "duplicate"
            batch.links.append((article.source, article.id))
            batch.linked.append(
                SourceResult(article.source, status, "same text as an article already stored", article.title))
        return
    if article.id in batch.ids:
        batch.links.append((article.source, article.id))
        batch.linked.append(SourceResult(article.source, "duplicate", "same text as another input", article.title))
        return
    step = settings.chunk_tokens - min(settings.chunk_overlap, settings.chunk_tokens // 4)
    estimate = count_tokens(article.text) // step  # before splitting: a huge article is refused in a second
    chunks = [] if estimate > settings.max_article_chunks else chunk_article(article, settings, store.embeddings)
    if not chunks or len(chunks) > settings.max_article_chunks:
        record(SourceResult(article.source, "failed", (
            f"article is too long: about {max(estimate, len(chunks)):,} chunks, above the limit of "
            f"{settings.max_article_chunks:,} (NEWSRAG_MAX_ARTICLE_CHUNKS); split it into several articles or "
            "raise the limit"), article.title))
        return
    status = "updated" if previous or stored_fingerprint else "added"
    batch.items.append((article, article.source, chunks, status))
    batch.ids.add(article.id)


def _flush(batch: _Batch, settings: Settings, store: Store, record) -> None:
    """Embed (unlocked), then commit the batch; its sources are reported only after the commit, so "added" is
    durable."""
    if batch.items:
        _commit(batch, settings, store, record)
    store.link(batch.links)
    for result in batch.linked:
        record(result)


def _commit(batch: _Batch, settings: Settings, store: Store, record) -> None:
    # the settings chunk_article fitted the chunks with, so each embedded text is the one it measured
    texts = [embedding_text(a, c.text, settings) for a, _, chunks, _ in batch.items for c in chunks]
    vectors = store.embeddings.embed(texts)
    writes, offset = [], 0
    for article, _, chunks, _ in batch.items:
        writes.append(ArticleWrite(article, chunks, vectors[offset : offset + len(chunks)]))
        offset += len(chunks)
    store.write(writes, [source for _, source, _, _ in batch.items])
    for article, source, chunks, status in batch.items:
        record(SourceResult(source, status, title=article.title, chunks=len(chunks)))


def _forget_missing_lines(store: Store, path: str, seen: set[str]) -> None:
    """A JSONL file that lost lines since the last ingest: drop the articles of the lines that are gone."""
    if has_lone_surrogate(path):  # a file name that is not UTF-8 was never stored, and SQLite cannot be asked about it
        return
    for source in store.jsonl_line_sources(path):
        if source not in seen:
            store.delete_source(source)
