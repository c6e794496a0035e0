"""The SQLite catalog: what is committed (articles, the sources pointing at them, their chunk texts for BM25).

The only module that speaks SQL. An article is pending while its chunks travel to Chroma and ready once they
are there; the `generation` in its meta table goes up with every commit, so other processes notice it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from rag.store.locks import process_identity, writer_alive
from rag.types import Article, Chunk, Passage

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
MIRRORED_KEY = "server_commit"  # meta: the Chroma server's commit token the catalog mirrors (rag.store.sync)
_UPSERT_SOURCE = ("INSERT INTO sources(source, article_id) VALUES(?, ?) "
                  "ON CONFLICT(source) DO UPDATE SET article_id=excluded.article_id")
_INSERT_CHUNK = 'INSERT INTO chunks(id, article_id, idx, start, "end", text) VALUES(?,?,?,?,?,?)'


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


def _like_prefix(text: str) -> str:
    """A LIKE pattern for "starts with text", with LIKE's own wildcards escaped."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"


def _marks(values: Sequence[object]) -> str:
    return ",".join("?" * len(values))


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
    def transaction(self) -> Iterator[sqlite3.Connection]:
        self.db.execute("BEGIN IMMEDIATE")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    # -- the generation and other meta values ------------------------------------------------------------------

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

    # -- reading: sources ----------------------------------------------------------------------------------------

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
            return [(source, article_id) for source, article_id in rows]
        if len(key) >= 6:
            rows = self.db.execute("SELECT source, article_id FROM sources WHERE article_id LIKE ? ESCAPE '\\' "
                                   "ORDER BY source", (_like_prefix(key),)).fetchall()
            if rows:
                return [(source, article_id) for source, article_id in rows]
        tail = key.replace("\\", "/").lstrip("/")
        return [(source, article_id) for source, article_id in self.db.execute(
            "SELECT source, article_id FROM sources ORDER BY source")
            if source.replace("\\", "/").endswith("/" + tail) or source.replace("\\", "/") == tail]

    def named(self, key: str) -> list[tuple[str, str]]:
        """(source, article id) that unlink(key) removes: the source itself, or every source of an article id."""
        return [(source, article_id) for source, article_id in self.db.execute(
            "SELECT source, article_id FROM sources WHERE source=? OR article_id=?", (key, key))]

    def sources_starting(self, prefix: str) -> list[str]:
        """Sources that begin with prefix, e.g. "path:" for the lines of a JSONL file."""
        return [row[0] for row in self.db.execute(
            "SELECT source FROM sources WHERE substr(source, 1, ?) = ?", (len(prefix), prefix))]

    def names_file(self, path: str) -> bool:
        """Whether a source is this file, or a line of it (path:line)."""
        return self.db.execute(
            "SELECT 1 FROM sources WHERE source=? OR substr(source, 1, ?)=? LIMIT 1", (path, len(path) + 1, path + ":")
        ).fetchone() is not None

    def sources_of(self, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """Every source pointing at each article, sorted."""
        return self._by_article(
            "SELECT source, article_id FROM sources WHERE article_id IN ({}) ORDER BY source", article_ids)

    def _by_article(self, query: str, article_ids: Iterable[str]) -> dict[str, list[str]]:
        """The first column of the query's rows grouped by the second, an article id; the query's {} takes the ids."""
        ids = list(article_ids)
        if not ids:
            return {}
        found: dict[str, list[str]] = {}
        for value, article_id in self.db.execute(query.format(_marks(ids)), ids):
            found.setdefault(article_id, []).append(value)
        return found

    # -- reading: articles and chunks ----------------------------------------------------------------------------

    def articles(self, article_id: str | None = None) -> list[StoredArticle]:
        """The ready articles that some source points at, newest first (or the one with this id)."""
        where, arguments = ("AND a.id=? ", (article_id,)) if article_id is not None else ("", ())
        rows = self.db.execute(
            "SELECT a.id, a.fingerprint, a.title, a.date, a.outlet, a.url, a.n_chunks, "
            "group_concat(s.source, char(31)) FROM articles a JOIN sources s ON s.article_id = a.id "
            f"WHERE a.state='ready' {where}GROUP BY a.id ORDER BY a.date DESC, a.title", arguments
        ).fetchall()
        return [
            StoredArticle(r[0], r[1], r[2] or "", r[3] or None, r[4] or "", r[5] or "", r[6],
                          tuple(sorted(r[7].split("\x1f"))))
            for r in rows
        ]

    def outlets(self) -> list[str]:
        """The outlets of the ready articles, each once."""
        rows = self.db.execute(
            "SELECT DISTINCT outlet FROM articles WHERE state='ready' AND coalesce(outlet, '') != '' ORDER BY outlet")
        return [r[0] for r in rows]

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
        for start, _, text in rows:
            chars[start : start + len(text)] = text
        return "".join(chars).strip()

    def ready_fingerprint(self, article_id: str) -> str | None:
        row = self.db.execute(
            "SELECT fingerprint FROM articles WHERE id=? AND state='ready'", (article_id,)
        ).fetchone()
        return row[0] if row else None

    def counts(self) -> tuple[int, int, int]:
        """(ready articles, their chunks, sources)."""
        articles, chunks = self.db.execute(
            "SELECT count(*), coalesce(sum(n_chunks), 0) FROM articles WHERE state='ready'").fetchone()
        sources = self.db.execute("SELECT count(*) FROM sources").fetchone()[0]
        return articles, chunks, sources

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
        return self._by_article("SELECT id, article_id FROM chunks WHERE article_id IN ({}) ORDER BY id", article_ids)

    def ready_chunks(self) -> tuple[list[str], list[str]]:
        rows = self.db.execute(
            "SELECT c.id, c.text FROM chunks c JOIN articles a ON a.id = c.article_id "
            "WHERE a.state='ready' ORDER BY c.id"
        ).fetchall()
        return [r[0] for r in rows], [r[1] for r in rows]

    def passages(self, ids: Sequence[str]) -> dict[str, Passage]:
        if not ids:
            return {}
        rows = self.db.execute(
            "SELECT c.id, c.article_id, c.text, a.title, a.date, a.outlet, a.url, "
            "(SELECT min(source) FROM sources s WHERE s.article_id = a.id) "
            f"FROM chunks c JOIN articles a ON a.id = c.article_id WHERE a.state='ready' AND c.id IN ({_marks(ids)})",
            list(ids),
        ).fetchall()
        return {
            r[0]: Passage(id=r[0], article_id=r[1], text=r[2], title=r[3] or "", date=r[4] or None,
                          outlet=r[5] or "", url=r[6] or "", source=r[7] or "")
            for r in rows
        }

    # -- writing (each its own transaction, and a new generation when anything changed) -------------------------

    def mark_pending(self, items: Sequence[tuple[Article, int]], writer: str, now: float) -> None:
        """Record (article, chunk count) pairs as pending, by this writer, before their chunks reach Chroma."""
        with self.transaction() as db:
            for a, n_chunks in items:
                db.execute(
                    "INSERT INTO articles(id, fingerprint, title, date, outlet, url, author, n_chunks, state, "
                    "updated_at, writer) VALUES(?,?,?,?,?,?,?,?, 'pending', ?, ?) "
                    "ON CONFLICT(id) DO UPDATE SET state='pending', updated_at=excluded.updated_at, "
                    "writer=excluded.writer",
                    (a.id, a.fingerprint, a.title, a.date, a.outlet, a.url, a.author, n_chunks, now, writer),
                )

    def mark_ready(self, items: Sequence[tuple[Article, Sequence[Chunk], str]], now: float) -> None:
        """(article, chunks, source) whose chunks Chroma holds: store the chunks, mark ready, link the source."""
        with self.transaction() as db:
            for a, chunks, source in items:
                db.execute("DELETE FROM chunks WHERE article_id=?", (a.id,))
                db.executemany(_INSERT_CHUNK, [(c.id, a.id, c.index, c.start, c.end, c.text) for c in chunks])
                db.execute(
                    "UPDATE articles SET fingerprint=?, title=?, date=?, outlet=?, url=?, author=?, n_chunks=?, "
                    "state='ready', updated_at=? WHERE id=?",
                    (a.fingerprint, a.title, a.date, a.outlet, a.url, a.author, len(chunks), now, a.id),
                )
                db.execute(_UPSERT_SOURCE, (source, a.id))
            self.bump(db)

    def link(self, links: Sequence[tuple[str, str]]) -> None:
        """Point each source at an article: [(source, article id)]."""
        with self.transaction() as db:
            db.executemany(_UPSERT_SOURCE, list(links))
            self.bump(db)

    def unlink(self, key: str) -> int:
        """Forget a source, or every source of an article id; how many went (no new generation)."""
        with self.transaction() as db:
            return db.execute("DELETE FROM sources WHERE source=? OR article_id=?", (key, key)).rowcount

    def remove_articles(self, article_ids: Sequence[str]) -> None:
        with self.transaction() as db:
            db.execute(f"DELETE FROM chunks WHERE article_id IN ({_marks(article_ids)})", list(article_ids))
            db.execute(f"DELETE FROM articles WHERE id IN ({_marks(article_ids)})", list(article_ids))
            self.bump(db)

    def replace_all(self, articles: Sequence[tuple], chunks: Sequence[tuple], sources: Sequence[tuple[str, str]],
                    mirrored: str | None) -> None:
        """Empty the catalog and fill it with these rows, all ready, in one transaction (see rag.store.sync).

        articles: (id, fingerprint, title, date, outlet, url, author, n_chunks, updated_at);
        chunks: (id, article_id, index, start, end, text). mirrored is the server commit they reflect
        (None: no server commit).
        """
        with self.transaction() as db:
            self._empty(db)
            db.executemany(
                "INSERT INTO articles(id, fingerprint, title, date, outlet, url, author, n_chunks, state, updated_at) "
                "VALUES(?,?,?,?,?,?,?,?, 'ready', ?)", articles,
            )
            db.executemany(_INSERT_CHUNK, chunks)
            db.executemany("INSERT OR REPLACE INTO sources(source, article_id) VALUES(?, ?)", sources)
            self.set_meta(db, MIRRORED_KEY, mirrored)
            self.bump(db)

    @staticmethod
    def _empty(db: sqlite3.Connection) -> None:
        for table in ("chunks", "sources", "articles"):
            db.execute(f"DELETE FROM {table}")

    @property
    def mirrored(self) -> str | None:
        """The Chroma server's commit token this catalog reflects; "" when it is known to be out of date."""
        return self.meta(MIRRORED_KEY)

    def set_mirrored(self, token: str | None) -> None:
        with self.transaction() as db:
            self.set_meta(db, MIRRORED_KEY, token)
