"""The store: Chroma holds vectors, a SQLite catalog holds what is committed, BM25 mirrors the catalog.

(Over 350 lines on purpose: Store is one class whose writes, reads and catching up share one lock discipline.)

Crash safety comes from the order of writes: an article is marked pending in the catalog before its
chunks reach Chroma and marked ready (with its source linked) after; anything pending or unlinked
when a store opens is removed, so a killed ingest never leaves a half-written article behind.

Several processes may use one data dir at once (`serve` while `ingest` or `delete` run): every write holds
the data dir's write lock for one batch at a time (rag.store.locks). A reader notices another process's
commit by the catalog generation and reopens what caches the store in memory (the embedded Chroma client's
index, BM25) before its next search; on a Chroma server, by the commit token (rag.store.sync).

The package: `catalog` (the SQLite schema and every query), `chroma` (client, collection, chunk metadata),
`locks` (the write lock, live and dead writers), `sync` (processes sharing a Chroma server), and `Store` here,
the one object the rest of newsrag uses.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from rag.config import RetrievalMode, Settings
from rag.embeddings import NewsEmbeddings, get_embeddings
from rag.filters import date_number
from rag.lexical import LexicalIndex
from rag.store import chroma, sync
from rag.store.catalog import Catalog, StoredArticle
from rag.store.chroma import chroma_client
from rag.store.locks import WriteLock, process_identity, writer_alive
from rag.store.sync import COMMIT_KEY
from rag.types import Article, Chunk, Passage

if TYPE_CHECKING:  # rag.retrieve and rag.retriever import this module
    from langchain_chroma import Chroma

    from rag.filters import Filters
    from rag.retriever import NewsRetriever

__all__ = [
    "COMMIT_KEY", "ArticleWrite", "Catalog", "Store", "StoredArticle", "WriteLock", "date_number",
    "process_identity", "writer_alive",
]


@dataclass(frozen=True)
class ArticleWrite:
    """One article ready to commit: its chunks, their vectors, and the source it came from."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: np.ndarray


class Store:
    """Chroma collection + catalog + BM25 for one collection name, embedded or on a Chroma server."""

    def __init__(self, settings: Settings, embeddings: NewsEmbeddings | None = None) -> None:
        self.settings = settings
        self.embeddings = embeddings or get_embeddings(settings)
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        self.write_lock = WriteLock(settings.data_dir / f"{settings.collection}.lock", settings.write_lock_timeout)
        # in this process: searches hold it from start to end, so no write (or reopening) happens in between
        self.lock = threading.RLock()
        self._writing = False
        self.catalog = Catalog(settings.data_dir / f"{settings.collection}.catalog.sqlite3")
        self._generation = self.catalog.generation  # read before Chroma opens: a later commit is noticed
        self.lexical = LexicalIndex(settings.data_dir / f"{settings.collection}.bm25")
        # under the lock: two processes creating one Chroma store at once collide ("table collections already
        # exists"), and clean-up must not run while another process writes
        with self.write_lock.held():
            self.client = chroma_client(settings)
            self.collection = self._open_collection()
            self.recover()
        self.sync()

    @contextmanager
    def writing(self) -> Iterator[None]:
        """Hold the data dir's write lock, with this process's view of the store brought up to date first.

        The file lock is taken before the in-process lock, so a write waiting for another process does not
        hold up this process's searches.
        """
        with self.write_lock.held(), self.lock:
            if self._writing:  # nested: already caught up
                yield
                return
            self.sync()
            self._writing = True
            try:
                yield
            finally:
                self._writing = False
                self._generation = self.catalog.generation  # our own commits need no reopening

    def _open_collection(self) -> Any:
        return chroma.open_collection(self.client, self.settings, self.embeddings)

    # -- reading what is stored ------------------------------------------------------------------------

    def articles(self) -> list[StoredArticle]:
        """Every stored article with its sources, newest first."""
        return self.catalog.articles()

    def outlets(self) -> list[str]:
        """The outlets the stored articles come from, each once, as ingest recorded them."""
        return self.catalog.outlets()

    def article(self, article_id: str) -> StoredArticle | None:
        found = self.catalog.articles(article_id)
        return found[0] if found else None

    def article_text(self, article_id: str) -> str | None:
        """The stored article's whole text (stitched from its chunks), or None."""
        return self.catalog.article_text(article_id)

    def article_of_source(self, source: str) -> str | None:
        return self.catalog.article_of_source(source)

    def stored_fingerprint(self, article_id: str) -> str | None:
        """The fingerprint of the article as stored (ready), or None: unchanged articles are skipped by it."""
        return self.catalog.ready_fingerprint(article_id)

    def match_sources(self, key: str) -> list[tuple[str, str]]:
        """(source, article id) pairs a user's key names: a source, an article id or its prefix, a path's end."""
        return self.catalog.match_sources(key)

    def sources_named(self, key: str) -> list[str]:
        """What delete_source(key) would remove: the source, or every source of an article id."""
        return [source for source, _ in self.catalog.named(key)]

    def jsonl_line_sources(self, path: str) -> list[str]:
        """The stored lines of a JSONL file (sources path:line)."""
        return self.catalog.sources_starting(f"{path}:")

    def names_file(self, path: str) -> bool:
        """Whether a stored source is this file or a line of it."""
        return self.catalog.names_file(path)

    # -- writing -------------------------------------------------------------------------------

    def write(self, batch: Sequence[ArticleWrite], sources: Sequence[str]) -> None:
        """Commit articles (pending → Chroma → ready) and point each source at its article."""
        with self.writing():
            self._write(batch, sources)

    def _write(self, batch: Sequence[ArticleWrite], sources: Sequence[str]) -> None:
        now, writer = time.time(), process_identity()
        new_ids = {item.article.id for item in batch}
        previous = {self.catalog.article_of_source(source) for source in sources} - new_ids - {None}
        known_sources = self.catalog.sources_of(new_ids)
        self.catalog.mark_pending([(item.article, len(item.chunks)) for item in batch], writer, now)
        ids, vectors, documents, metadatas = [], [], [], []
        for item, source in zip(batch, sources, strict=True):
            a = item.article
            article_sources = sorted({*known_sources.get(a.id, ()), source})
            for chunk, vector in zip(item.chunks, item.vectors, strict=True):
                ids.append(chunk.id)
                vectors.append(vector)
                documents.append(chunk.text)
                metadatas.append(chroma.chunk_metadata(a, chunk, len(item.chunks), source, article_sources))
        stale = set(self.catalog.chunk_ids(new_ids)) - set(ids)
        chroma.upsert(self.client, self.collection, ids, vectors, documents, metadatas)
        if stale:
            self.collection.delete(ids=sorted(stale))
        self.catalog.mark_ready(
            [(item.article, item.chunks, source) for item, source in zip(batch, sources, strict=True)], now)
        self._remove_orphans()
        self._push_sources(previous)
        self._publish()

    def link(self, links: Sequence[tuple[str, str]]) -> None:
        """Point sources at articles already stored (same text under another name): [(source, article id)].

        One transaction and one metadata update per article for the whole list, so linking n copies of
        one text costs n row writes, not n rewrites of an ever longer source list.
        """
        if not links:
            return
        with self.writing():
            links = [(source, article_id) for source, article_id in links
                     if self.catalog.article_of_source(source) != article_id]
            if not links:
                return
            changed = {article_id for _, article_id in links}
            changed |= {old for source, _ in links if (old := self.catalog.article_of_source(source)) is not None}
            self.catalog.link(links)
            self._remove_orphans()
            self._push_sources(changed)
            self._publish()

    def delete_source(self, source: str) -> int:
        """Forget a source (or every source of an article id); returns how many sources were removed."""
        with self.writing():
            return self._delete_source(source)

    def _delete_source(self, source: str) -> int:
        affected = {article_id for _, article_id in self.catalog.named(source)}
        if not affected:
            return 0
        removed = self.catalog.unlink(source)
        self._remove_orphans()
        self._push_sources(affected)
        self._publish()
        return removed

    def recover(self) -> None:
        """Remove what a dead writer left (Chroma first, then the catalog) and bring BM25 on disk up to date."""
        with self.writing():
            if self._remove_orphans():
                self._publish()
            self.refresh_lexical()

    def _remove_orphans(self) -> bool:
        orphans = self.catalog.orphans()
        if not orphans:
            return False
        chroma.delete_articles(self.collection, orphans)
        self.catalog.remove_articles(orphans)
        return True

    def _push_sources(self, article_ids: Iterable[str | None]) -> None:
        """Copy the catalog's sources of these articles into their chunks' metadata (articles gone are skipped)."""
        ids = [article_id for article_id in article_ids if article_id is not None]
        sources = self.catalog.sources_of(ids)
        chunk_ids, metadatas = [], []
        for article_id, chunks in self.catalog.chunk_ids_by_article(ids).items():
            if article_id in sources:
                chunk_ids += chunks
                metadatas += [{"sources": sources[article_id]}] * len(chunks)
        if chunk_ids:
            chroma.update_metadata(self.client, self.collection, chunk_ids, metadatas)

    # -- keeping up with other processes -----------------------------------------------------------

    def _server_state(self) -> tuple[Any, str | None]:
        return sync.server_state(self.client, self.settings.collection, self._open_collection)

    def _publish(self) -> None:
        """On a server: record a new commit token, so other processes know to rebuild their catalogs."""
        if not self.settings.uses_chroma_server:
            return
        collection, seen = self._server_state()
        sync.publish(collection, seen, self.catalog)
        self.collection = collection

    def sync(self) -> bool:
        """Catch up with another process's commit; True if there was one.

        Embedded: the catalog is the record, but Chroma's client keeps its vector index in memory and does
        not see vectors another process added ("Error finding id"), so it is reopened. On a Chroma server,
        the catalog is rebuilt from the server. Costs one small read when nothing changed. BM25 follows on
        the next refresh_lexical.
        """
        if not self.settings.uses_chroma_server:
            generation = self.catalog.generation
            if generation == self._generation or self._writing:  # while writing, new generations are ours
                return False
            self.client.close()
            self.client = chroma_client(self.settings)
            self.collection = self._open_collection()
            self._generation = generation
            return True
        collection, token = self._server_state()
        self.collection = collection
        if token == self.catalog.mirrored:
            return False
        sync.mirror(collection, token, self.catalog)
        return True

    def refresh_lexical(self) -> None:
        """Bring BM25 up to the catalog's generation (once per commit, never per query).

        Another process's commit is picked up first (see sync). The index saved for this generation is loaded
        when there is one; otherwise it is built, and saved when the write lock is free (only its holder
        writes the shared files).
        """
        with self.lock:
            self.sync()
            if self.lexical.generation == self.catalog.generation or self.lexical.load(self.catalog.generation):
                return
            saving = self._writing or self.write_lock.acquire(blocking=False)
            try:
                generation = self.catalog.generation  # read before the chunks: a commit in between is seen next time
                ids, texts = self.catalog.ready_chunks()
                self.lexical.rebuild(ids, texts, generation, save=saving)
            finally:
                if saving and not self._writing:
                    self.write_lock.release()

    def reset(self) -> None:
        """Drop this collection's vectors, catalog rows and BM25 index.

        The catalog is emptied, not deleted: another process may have it open, and the generation bump
        tells it to reopen its Chroma client on the recreated collection.
        """
        with self.writing():
            try:
                self.client.delete_collection(self.settings.collection)
            except Exception:
                pass  # already gone
            self.collection = self._open_collection()
            self.catalog.replace_all([], [], [], mirrored=None)
            self.refresh_lexical()

    # -- searching -------------------------------------------------------------------------------

    def dense(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[Passage]:
        result = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, where=where or None,
            include=["distances"],
        )
        ids, distances = result["ids"][0], result["distances"][0]
        found = self.catalog.passages(ids)
        out = []
        for chunk_id, distance in zip(ids, distances, strict=True):
            if chunk_id in found:
                similarity = 1.0 - float(distance)
                out.append(found[chunk_id].model_copy(update={"score": similarity, "similarity": similarity}))
        return out

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        """The stored passages with these chunk ids (those still stored), by id."""
        return self.catalog.passages(ids)

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"], strict=True)}

    def stats(self) -> dict[str, object]:
        """Counts from the catalog, Chroma and BM25, each brought up to date with other processes first."""
        self.refresh_lexical()
        articles, chunks, sources = self.catalog.counts()
        return {
            "articles": articles, "chunks": chunks, "sources": sources,
            "vectors": self.collection.count(), "bm25_chunks": len(self.lexical),
            "collection": self.settings.collection, "embedding_model": self.embeddings.name,
            "store": (f"chroma server {self.settings.chroma_host}:{self.settings.chroma_port}"
                      if self.settings.uses_chroma_server else f"embedded {self.settings.data_dir / 'chroma'}"),
            "data_dir": str(self.settings.data_dir),
        }

    def as_retriever(self, k: int | None = None, mode: RetrievalMode | None = None,
                     filters: Filters | dict | None = None) -> NewsRetriever:
        """The chain's hybrid search as a LangChain BaseRetriever returning Documents (rag.retriever)."""
        from rag.retriever import news_retriever

        return news_retriever(self, k, mode, filters)

    def as_vectorstore(self) -> Chroma:
        """This collection as a langchain_chroma.Chroma with our embeddings, for plain dense search."""
        from rag.retriever import chroma_view

        return chroma_view(self)
