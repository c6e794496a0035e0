"""The store: Chroma holds vectors, a SQLite catalog holds what is committed, BM25 mirrors the catalog.

Crash safety comes from the order of writes: an article is marked pending in the catalog before its
chunks reach Chroma and marked ready (with its source linked) after; anything pending or unlinked
when a store opens is removed, so a killed ingest never leaves a half-written article behind.

Each chunk's Chroma metadata also carries everything the catalog knows about its article (fingerprint,
chunk count, every source), so the catalog can be rebuilt from Chroma alone. On a Chroma server, which
several processes with their own data dirs may share, that is what keeps them consistent: every commit
writes a new token into the collection's metadata, and a process whose catalog reflects another token
rebuilds its catalog (and then BM25) from the server's chunks before it reads or writes.

Several processes may use one data dir at once (`serve` while `ingest` or `delete` run): every write holds
the data dir's write lock (a file lock, so a killed writer never leaves it held) for one batch at a time, and
records its process in the rows it leaves pending, so clean-up only removes what a dead writer left. A
reader notices another process's commit by the catalog generation and reopens what caches the store in
memory (the embedded Chroma client's index, BM25) before its next search.
"""

from __future__ import annotations

import json
import logging
import os
import sqlite3
import sys
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from filelock import FileLock, Timeout

from rag.config import RetrievalMode, Settings
from rag.embeddings import MiniLMEmbeddings, get_embeddings
from rag.errors import StoreError
from rag.lexical import LexicalIndex
from rag.types import Article, Chunk, Passage

if TYPE_CHECKING:  # rag.retrieve and rag.retriever import this module
    from langchain_chroma import Chroma

    from rag.retrieve import Filters
    from rag.retriever import NewsRetriever

_SCHEMA = """
CREATE TABLE IF NOT EXISTS articles (
    id TEXT PRIMARY KEY, fingerprint TEXT NOT NULL, title TEXT, date TEXT, outlet TEXT, url TEXT,
    author TEXT, n_chunks INTEGER NOT NULL DEFAULT 0, state TEXT NOT NULL, updated_at REAL NOT NULL,
    writer TEXT);
CREATE TABLE IF NOT EXISTS sources (source TEXT PRIMARY KEY, article_id TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS sources_by_article ON sources(article_id);
CREATE TABLE IF NOT EXISTS chunks (
    id TEXT PRIMARY KEY, article_id TEXT NOT NULL, idx INTEGER NOT NULL, start INTEGER NOT NULL,
    "end" INTEGER NOT NULL, text TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS chunks_by_article ON chunks(article_id);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
COMMIT_KEY = "newsrag_commit"  # collection metadata: the token of the last commit on a Chroma server
_MIRRORED_KEY = "server_commit"  # catalog meta: the commit token the catalog mirrors
_PAGE = 5000  # chunks read per request when rebuilding the catalog from a server

log = logging.getLogger(__name__)


def process_identity(pid: int | None = None) -> str:
    """'pid:start time' of a process (this one by default): a pid alone may be reused by a later process."""
    pid = pid or os.getpid()
    try:
        with open(f"/proc/{pid}/stat", "rb") as handle:
            started = handle.read().rsplit(b")", 1)[1].split()[19].decode()  # field 22, starttime
    except (OSError, IndexError):
        started = ""  # no /proc (macOS) or no such process: the pid alone
    return f"{pid}:{started}"


def writer_alive(identity: str | None) -> bool:
    """Whether the process that recorded this identity is still running (and is not a later one with its pid)."""
    pid, _, _ = (identity or "").partition(":")
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: alive
    return not os.path.exists("/proc/self/stat") or process_identity(int(pid)) == identity


class WriteLock:
    """One writer at a time on a data dir: across processes (a file lock) and threads (an RLock); reentrant.

    The holder writes who it is beside the lock, so a writer that has to wait can say whom it waits for.
    The kernel releases the file lock when its holder dies, so a killed writer never leaves the dir locked.
    """

    def __init__(self, path: Path, timeout: float) -> None:
        self.path = path
        self.holder_file = path.with_name(path.name + ".holder")
        self.timeout = timeout
        self._file = FileLock(str(path), thread_local=False)
        self._threads = threading.RLock()
        self._depth = 0

    def acquire(self, blocking: bool = True) -> bool:
        """Take the lock; when another process holds it, wait (saying so) up to the timeout, then StoreError."""
        if not self._threads.acquire(blocking=blocking):
            return False
        if self._depth == 0:
            try:
                self._file.acquire(timeout=0)
            except Timeout:
                if not blocking:
                    self._threads.release()
                    return False
                log.warning("waiting for the write lock on %s: %s", self.path.parent, self.holder())
                try:
                    self._file.acquire(timeout=self.timeout)
                except Timeout:
                    self._threads.release()
                    raise StoreError(
                        f"another process is writing to {self.path.parent} ({self.holder()}); waited "
                        f"{self.timeout:g} s (NEWSRAG_WRITE_LOCK_TIMEOUT). Try again when it has finished, or "
                        "give this command its own NEWSRAG_DATA_DIR"
                    ) from None
            info = {"pid": os.getpid(), "command": " ".join(sys.argv)[:300], "since": time.strftime("%H:%M:%S")}
            self.holder_file.write_text(json.dumps(info))
        self._depth += 1
        return True

    def release(self) -> None:
        self._depth -= 1
        if self._depth == 0:
            self._file.release()
        self._threads.release()

    @contextmanager
    def held(self) -> Iterator[None]:
        self.acquire()
        try:
            yield
        finally:
            self.release()

    def holder(self) -> str:
        """Who holds the lock, in words, from what the holder wrote."""
        try:
            info = json.loads(self.holder_file.read_text())
            return f"held by pid {info['pid']} (`{info['command']}`) since {info['since']}"
        except (OSError, ValueError, KeyError, TypeError):
            return "held by another process"


@dataclass(frozen=True)
class StoredArticle:
    id: str
    fingerprint: str
    title: str
    date: str | None
    outlet: str
    url: str
    n_chunks: int
    sources: tuple[str, ...]


@dataclass(frozen=True)
class ArticleWrite:
    """One article ready to commit: its chunks, their vectors, and the source it came from."""

    article: Article
    chunks: Sequence[Chunk]
    vectors: np.ndarray


def _like_prefix(text: str) -> str:
    """A LIKE pattern for "starts with text", with LIKE's own wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def date_number(date: str | None) -> int:
    """YYYYMMDD as an int, so Chroma can filter date ranges; 0 when unknown."""
    return int(date.replace("-", "")) if date else 0


def _chroma_client(settings: Settings):
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)
    if settings.uses_chroma_server:
        headers = {}
        if settings.chroma_auth_header:
            name, colon, value = settings.chroma_auth_header.get_secret_value().partition(":")
            if not (colon and name.strip() and value.strip()):
                raise StoreError(
                    "NEWSRAG_CHROMA_AUTH_HEADER must be 'Header-Name: value', e.g. 'Authorization: Bearer TOKEN'"
                )
            headers[name.strip()] = value.strip()
        try:
            return chromadb.HttpClient(
                host=settings.chroma_host, port=settings.chroma_port, ssl=settings.chroma_ssl,
                headers=headers, settings=chroma_settings,
            )
        except Exception as exc:  # chromadb raises plain ValueError/ConnectError here
            raise StoreError(
                f"cannot reach the Chroma server at {settings.chroma_host}:{settings.chroma_port} ({exc}); "
                "start it with `chroma run --path DIR --port PORT` or unset NEWSRAG_CHROMA_HOST"
            ) from exc
    path = settings.data_dir / "chroma"
    path.mkdir(parents=True, exist_ok=True)
    return chromadb.PersistentClient(path=str(path), settings=chroma_settings)


class Catalog:
    """What is committed: articles, which sources point at them, and their chunk texts (for BM25)."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.db = sqlite3.connect(str(path), timeout=30, isolation_level=None, check_same_thread=False)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.executescript(_SCHEMA)
        if "writer" not in {row[1] for row in self.db.execute("PRAGMA table_info(articles)")}:
            self.db.execute("ALTER TABLE articles ADD COLUMN writer TEXT")  # catalogs made before it existed

    @contextmanager
    def transaction(self):
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    @property
    def generation(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key='generation'").fetchone()
        return int(row[0]) if row else 0

    @staticmethod
    def bump(db: sqlite3.Connection) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES('generation', '1') "
            "ON CONFLICT(key) DO UPDATE SET value = CAST(value AS INTEGER) + 1"
        )

    def meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
        return row[0] if row else None

    @staticmethod
    def set_meta(db: sqlite3.Connection, key: str, value: str | None) -> None:
        """Store a value; None removes the key, so that meta(key) reads None again."""
        if value is None:
            db.execute("DELETE FROM meta WHERE key=?", (key,))
        else:
            db.execute("INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
                       (key, value))

    def article_of_source(self, source: str) -> str | None:
        row = self.db.execute("SELECT article_id FROM sources WHERE source=?", (source,)).fetchone()
        return row[0] if row else None

    def match_sources(self, key: str) -> list[tuple[str, str]]:
        """(source, article id) pairs that a user's key names, most specific rule first.

        The exact source or article id; else an id prefix of 6+ characters; else sources whose path ends
        with the key at a path boundary ("story.md", "uploads/story.md"), so a file name is enough.
        """
        rows = self.db.execute(
            "SELECT source, article_id FROM sources WHERE source=? OR article_id=? ORDER BY source", (key, key)
        ).fetchall()
        if rows or not key.strip():
            return [tuple(r) for r in rows]
        if len(key) >= 6:
            rows = self.db.execute("SELECT source, article_id FROM sources WHERE article_id LIKE ? ESCAPE '\\' "
                                   "ORDER BY source", (_like_prefix(key),)).fetchall()
            if rows:
                return [tuple(r) for r in rows]
        tail = key.replace("\\", "/").lstrip("/")
        return [(source, article_id) for source, article_id in self.db.execute(
            "SELECT source, article_id FROM sources ORDER BY source")
            if source.replace("\\", "/").endswith("/" + tail) or source.replace("\\", "/") == tail]

    def article_text(self, article_id: str) -> str | None:
        """The article's text stitched back from its ready chunks by their offsets (None if not stored).

        Chunks overlap and skip only the whitespace between sentences, so what is not covered becomes a space.
        """
        rows = self.db.execute(
            "SELECT c.start, c.\"end\", c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
            "WHERE a.id=? AND a.state='ready' ORDER BY c.idx", (article_id,)
        ).fetchall()
        if not rows:
            return None
        chars = [" "] * max(end for _, end, _ in rows)
        for start, end, text in rows:
            chars[start : start + len(text)] = text
        return "".join(chars).strip()

    def ready_fingerprint(self, article_id: str) -> str | None:
        row = self.db.execute(
            "SELECT fingerprint FROM articles WHERE id=? AND state='ready'", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def orphans(self) -> list[str]:
        """Articles that no source points at any more, or left pending by a writer that is gone.

        Pending rows of another live process are its write in progress; this process's own are not
        (its writes run under the write lock, so by the time it looks, its own write has ended or failed).
        """
        me = process_identity()
        rows = self.db.execute(
            "SELECT id, state, writer FROM articles WHERE state!='ready' OR id NOT IN (SELECT article_id FROM sources)"
        ).fetchall()
        return [r[0] for r in rows if r[1] == "ready" or r[2] == me or not writer_alive(r[2])]

    def chunk_ids(self, article_ids: Iterable[str]) -> list[str]:
        return [chunk_id for ids in self.chunk_ids_by_article(article_ids).values() for chunk_id in ids]

    def chunk_ids_by_article(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        ids = list(article_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        found: dict[str, list[str]] = {}
        for chunk_id, article_id in self.db.execute(
            f"SELECT id, article_id FROM chunks WHERE article_id IN ({marks}) ORDER BY id", ids
        ):
            found.setdefault(article_id, []).append(chunk_id)
        return found

    def sources_of(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """Every source pointing at each article, sorted."""
        ids = list(article_ids)
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        found: dict[str, list[str]] = {}
        for source, article_id in self.db.execute(
            f"SELECT source, article_id FROM sources WHERE article_id IN ({marks}) ORDER BY source", ids
        ):
            found.setdefault(article_id, []).append(source)
        return found

    def articles(self) -> list[StoredArticle]:
        rows = self.db.execute(
            "SELECT a.id, a.fingerprint, a.title, a.date, a.outlet, a.url, a.n_chunks, "
            "group_concat(s.source, char(31)) FROM articles a JOIN sources s ON s.article_id = a.id "
            "WHERE a.state='ready' GROUP BY a.id ORDER BY a.date DESC, a.title"
        ).fetchall()
        return [
            StoredArticle(r[0], r[1], r[2] or "", r[3] or None, r[4] or "", r[5] or "", r[6], tuple(sorted(r[7].split("\x1f"))))
            for r in rows
        ]

    def ready_chunks(self) -> tuple[list[str], list[str]]:
        rows = self.db.execute(
            "SELECT c.id, c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
            "WHERE a.state='ready' ORDER BY c.id"
        ).fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        if not ids:
            return {}
        marks = ",".join("?" * len(ids))
        rows = self.db.execute(
            "SELECT c.id, c.article_id, c.text, a.title, a.date, a.outlet, a.url, "
            "(SELECT min(source) FROM sources s WHERE s.article_id = a.id) "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.state='ready' AND c.id IN ({marks})",
            list(ids),
        ).fetchall()
        return {
            r[0]: Passage(id=r[0], article_id=r[1], text=r[2], title=r[3] or "", date=r[4] or None,
                          outlet=r[5] or "", url=r[6] or "", source=r[7] or "")
            for r in rows
        }


class Store:
    """Chroma collection + catalog + BM25 for one collection name, embedded or on a Chroma server."""

    def __init__(self, settings: Settings, embeddings: MiniLMEmbeddings | None = None) -> None:
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
            self.client = _chroma_client(settings)
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

    def _open_collection(self):
        wanted = {"embedding_model": self.embeddings.name, "dimension": self.embeddings.dimension}
        try:
            collection = self.client.get_or_create_collection(
                self.settings.collection, embedding_function=None, metadata=wanted,
                configuration={"hnsw": {"space": "cosine"}},
            )
        except Exception as exc:
            raise StoreError(f"cannot open Chroma collection {self.settings.collection!r}: {exc}") from exc
        found = {k: (collection.metadata or {}).get(k) for k in wanted}
        if found != wanted:
            raise StoreError(
                f"collection {self.settings.collection!r} holds vectors of {found['embedding_model']} "
                f"({found['dimension']} dimensions) but the configured model is {wanted['embedding_model']} "
                f"({wanted['dimension']}); set NEWSRAG_COLLECTION to another name or run `newsrag ingest --reset`"
            )
        return collection

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
        with self.catalog.transaction() as db:
            for item in batch:
                a = item.article
                db.execute(
                    "INSERT INTO articles(id, fingerprint, title, date, outlet, url, author, n_chunks, state, updated_at, "
                    "writer) VALUES(?,?,?,?,?,?,?,?, 'pending', ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET state='pending', updated_at=excluded.updated_at, writer=excluded.writer",
                    (a.id, a.fingerprint, a.title, a.date, a.outlet, a.url, a.author, len(item.chunks), now, writer),
                )
        ids, vectors, documents, metadatas = [], [], [], []
        for item, source in zip(batch, sources):
            a = item.article
            article_sources = sorted({*known_sources.get(a.id, ()), source})
            for chunk, vector in zip(item.chunks, item.vectors):
                ids.append(chunk.id)
                vectors.append(vector)
                documents.append(chunk.text)
                metadatas.append({
                    "article_id": a.id, "index": chunk.index, "start": chunk.start, "end": chunk.end,
                    "title": a.title, "date": a.date or "", "date_num": date_number(a.date),
                    "outlet": a.outlet, "url": a.url, "source": source, "author": a.author,
                    "fingerprint": a.fingerprint, "n_chunks": len(item.chunks), "sources": article_sources,
                })
        stale = set(self.catalog.chunk_ids(new_ids)) - set(ids)
        step = self.client.get_max_batch_size()
        for begin in range(0, len(ids), step):
            end = begin + step
            self.collection.upsert(
                ids=ids[begin:end], embeddings=np.asarray(vectors[begin:end], dtype=np.float32),
                documents=documents[begin:end], metadatas=metadatas[begin:end],
            )
        if stale:
            self.collection.delete(ids=sorted(stale))
        with self.catalog.transaction() as db:
            for item, source in zip(batch, sources):
                a = item.article
                db.execute("DELETE FROM chunks WHERE article_id=?", (a.id,))
                db.executemany(
                    'INSERT INTO chunks(id, article_id, idx, start, "end", text) VALUES(?,?,?,?,?,?)',
                    [(c.id, a.id, c.index, c.start, c.end, c.text) for c in item.chunks],
                )
                db.execute(
                    "UPDATE articles SET fingerprint=?, title=?, date=?, outlet=?, url=?, author=?, n_chunks=?, "
                    "state='ready', updated_at=? WHERE id=?",
                    (a.fingerprint, a.title, a.date, a.outlet, a.url, a.author, len(item.chunks), now, a.id),
                )
                db.execute(
                    "INSERT INTO sources(source, article_id) VALUES(?, ?) "
                    "ON CONFLICT(source) DO UPDATE SET article_id=excluded.article_id",
                    (source, a.id),
                )
            self.catalog.bump(db)
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
            changed |= {self.catalog.article_of_source(source) for source, _ in links} - {None}
            with self.catalog.transaction() as db:
                db.executemany(
                    "INSERT INTO sources(source, article_id) VALUES(?, ?) "
                    "ON CONFLICT(source) DO UPDATE SET article_id=excluded.article_id",
                    list(links),
                )
                self.catalog.bump(db)
            self._remove_orphans()
            self._push_sources(changed)
            self._publish()

    def delete_source(self, source: str) -> int:
        """Forget a source (or every source of an article id); returns how many sources were removed."""
        with self.writing():
            return self._delete_source(source)

    def _delete_source(self, source: str) -> int:
        affected = {r[0] for r in self.catalog.db.execute(
            "SELECT article_id FROM sources WHERE source=? OR article_id=?", (source, source))}
        if not affected:
            return 0
        with self.catalog.transaction() as db:
            removed = db.execute(
                "DELETE FROM sources WHERE source=? OR article_id=?", (source, source)
            ).rowcount
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
        step = 100
        for begin in range(0, len(orphans), step):
            self.collection.delete(where={"article_id": {"$in": orphans[begin : begin + step]}})
        marks = ",".join("?" * len(orphans))
        with self.catalog.transaction() as db:
            db.execute(f"DELETE FROM chunks WHERE article_id IN ({marks})", orphans)
            db.execute(f"DELETE FROM articles WHERE id IN ({marks})", orphans)
            self.catalog.bump(db)
        return True

    def _push_sources(self, article_ids: Iterable[str]) -> None:
        """Copy the catalog's sources of these articles into their chunks' metadata (articles gone are skipped)."""
        ids = list(article_ids)
        sources = self.catalog.sources_of(ids)
        chunk_ids, metadatas = [], []
        for article_id, chunks in self.catalog.chunk_ids_by_article(ids).items():
            if article_id in sources:
                chunk_ids += chunks
                metadatas += [{"sources": sources[article_id]}] * len(chunks)
        if not chunk_ids:
            return
        step = self.client.get_max_batch_size()
        for begin in range(0, len(chunk_ids), step):
            self.collection.update(ids=chunk_ids[begin : begin + step], metadatas=metadatas[begin : begin + step])

    # -- keeping processes that share a Chroma server consistent -----------------------------------

    def _server_state(self) -> tuple[Any, str | None]:
        """The collection as the server has it now (recreated if another process reset it) and its commit token."""
        from chromadb.errors import NotFoundError

        try:
            collection = self.client.get_collection(self.settings.collection, embedding_function=None)
        except NotFoundError:
            collection = self._open_collection()
        return collection, (collection.metadata or {}).get(COMMIT_KEY)

    def _publish(self) -> None:
        """On a server: record a new commit token, so other processes know to rebuild their catalogs.

        If another process committed since this one last synced, the catalog is marked out of date, so the
        next sync rebuilds it with both commits.
        """
        if not self.settings.uses_chroma_server:
            return
        collection, seen = self._server_state()
        token = uuid.uuid4().hex
        collection.modify(metadata={**(collection.metadata or {}), COMMIT_KEY: token})
        self.collection = collection
        with self.catalog.transaction() as db:
            self.catalog.set_meta(db, _MIRRORED_KEY, token if seen == self.catalog.meta(_MIRRORED_KEY) else "")

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
            self.client = _chroma_client(self.settings)
            self.collection = self._open_collection()
            self._generation = generation
            return True
        collection, token = self._server_state()
        self.collection = collection
        if token == self.catalog.meta(_MIRRORED_KEY):
            return False
        self._mirror(collection, token)
        return True

    def _mirror(self, collection: Any, token: str | None) -> None:
        """Replace the catalog with the articles whose chunks the server holds completely."""
        by_article: dict[str, list[tuple[str, str, dict]]] = {}
        offset = 0
        while True:
            page = collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
            if not page["ids"]:
                break
            for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"]):
                if meta and meta.get("article_id"):  # anything else in the collection is not ours
                    by_article.setdefault(meta["article_id"], []).append((chunk_id, text or "", meta))
            offset += len(page["ids"])
        now = time.time()
        articles, chunks, sources = [], [], []
        for article_id, rows in by_article.items():
            rows = _complete_version(rows)
            if not rows:
                continue  # a write still in progress (or abandoned mid-way): not committed
            m = rows[0][2]
            articles.append((article_id, m.get("fingerprint", ""), m.get("title", ""), m.get("date") or None,
                             m.get("outlet", ""), m.get("url", ""), m.get("author", ""), len(rows), now))
            chunks += [(cid, article_id, meta["index"], meta["start"], meta["end"], text) for cid, text, meta in rows]
            sources += [(source, article_id) for source in m.get("sources") or [m.get("source", "")]]
        with self.catalog.transaction() as db:
            for table in ("chunks", "sources", "articles"):
                db.execute(f"DELETE FROM {table}")
            db.executemany(
                "INSERT INTO articles(id, fingerprint, title, date, outlet, url, author, n_chunks, state, updated_at) "
                "VALUES(?,?,?,?,?,?,?,?, 'ready', ?)", articles,
            )
            db.executemany('INSERT INTO chunks(id, article_id, idx, start, "end", text) VALUES(?,?,?,?,?,?)', chunks)
            db.executemany("INSERT OR REPLACE INTO sources(source, article_id) VALUES(?, ?)", sources)
            self.catalog.set_meta(db, _MIRRORED_KEY, token)
            self.catalog.bump(db)

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
            with self.catalog.transaction() as db:
                for table in ("chunks", "sources", "articles"):
                    db.execute(f"DELETE FROM {table}")
                self.catalog.set_meta(db, _MIRRORED_KEY, None)
                self.catalog.bump(db)
            self.refresh_lexical()

    # -- reading -------------------------------------------------------------------------------

    def dense(self, vector: Sequence[float], k: int, where: dict | None = None) -> list[Passage]:
        result = self.collection.query(
            query_embeddings=np.asarray([vector], dtype=np.float32), n_results=k, where=where or None, include=["distances"]
        )
        ids, distances = result["ids"][0], result["distances"][0]
        found = self.catalog.passages(ids)
        out = []
        for chunk_id, distance in zip(ids, distances):
            if chunk_id in found:
                similarity = 1.0 - float(distance)
                out.append(found[chunk_id].model_copy(update={"score": similarity, "similarity": similarity}))
        return out

    def vectors(self, ids: Sequence[str]) -> dict[str, np.ndarray]:
        if not ids:
            return {}
        got = self.collection.get(ids=list(ids), include=["embeddings"])
        return {i: np.asarray(v, dtype=np.float32) for i, v in zip(got["ids"], got["embeddings"])}

    def stats(self) -> dict[str, object]:
        """Counts from the catalog, Chroma and BM25, each brought up to date with other processes first."""
        self.refresh_lexical()
        articles = self.catalog.db.execute("SELECT count(*), coalesce(sum(n_chunks), 0) FROM articles WHERE state='ready'").fetchone()
        sources = self.catalog.db.execute("SELECT count(*) FROM sources").fetchone()[0]
        return {
            "articles": articles[0], "chunks": articles[1], "sources": sources,
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


def _complete_version(rows: list[tuple[str, str, dict]]) -> list[tuple[str, str, dict]]:
    """The chunks of the article's complete version (every index below n_chunks, one fingerprint), in order.

    [] while a write is in progress or after one was abandoned half-way. Chunk ids are article id + index,
    so at most one version can hold index 0 and be complete.
    """
    versions: dict[str, list[tuple[str, str, dict]]] = {}
    for row in rows:
        versions.setdefault(row[2].get("fingerprint", ""), []).append(row)
    for version in versions.values():
        version.sort(key=lambda row: row[2]["index"])
        n = version[0][2].get("n_chunks", len(version))
        if [row[2]["index"] for row in version] == list(range(n)):
            return version
    return []
