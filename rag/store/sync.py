"""Keeping processes that share a Chroma server consistent: commit tokens and rebuilding the catalog.

Several processes with their own data dirs may share one Chroma server. Every commit writes a new token into
the collection's metadata; a process whose catalog reflects another token rebuilds its catalog (and then BM25)
from the server's chunks before it reads or writes, taking only articles whose chunks are all there.

(On an embedded store the catalog is the record and the generation in it tells other processes to reopen
what they cache: see Store.sync.)
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from rag.store.catalog import Catalog

COMMIT_KEY = "newsrag_commit"  # collection metadata: the token of the last commit on a Chroma server
_PAGE = 5000  # chunks read per request when rebuilding the catalog from a server

_Row = tuple[str, str, dict]  # chunk id, text, metadata


def server_state(client: Any, name: str, reopen: Callable[[], Any]) -> tuple[Any, str | None]:
    """The collection as the server has it now (reopen() recreates it if another process reset it) and its token."""
    from chromadb.errors import NotFoundError

    try:
        collection = client.get_collection(name, embedding_function=None)
    except NotFoundError:
        collection = reopen()
    return collection, (collection.metadata or {}).get(COMMIT_KEY)


def publish(collection: Any, seen: str | None, catalog: Catalog) -> None:
    """Record a new commit token on the server, so other processes know to rebuild their catalogs.

    seen is the token the server had before; if another process committed since this one last synced, the
    catalog is marked out of date, so the next sync rebuilds it with both commits.
    """
    token = uuid.uuid4().hex
    collection.modify(metadata={**(collection.metadata or {}), COMMIT_KEY: token})
    catalog.set_mirrored(token if seen == catalog.mirrored else "")


def mirror(collection: Any, token: str | None, catalog: Catalog) -> None:
    """Replace the catalog with the articles whose chunks the server holds completely."""
    by_article: dict[str, list[_Row]] = {}
    offset = 0
    while True:
        page = collection.get(include=["documents", "metadatas"], limit=_PAGE, offset=offset)
        if not page["ids"]:
            break
        for chunk_id, text, meta in zip(page["ids"], page["documents"], page["metadatas"], strict=True):
            if meta and meta.get("article_id"):  # anything else in the collection is not ours
                by_article.setdefault(meta["article_id"], []).append((chunk_id, text or "", meta))
        offset += len(page["ids"])
    now = time.time()
    articles: list[tuple] = []
    chunks: list[tuple] = []
    sources: list[tuple[str, str]] = []
    for article_id, found in by_article.items():
        rows = complete_version(found)
        if not rows:
            continue  # a write still in progress (or abandoned mid-way): not committed
        m = rows[0][2]
        articles.append((article_id, m.get("fingerprint", ""), m.get("title", ""), m.get("date") or None,
                         m.get("outlet", ""), m.get("url", ""), m.get("author", ""), len(rows), now))
        chunks += [(cid, article_id, meta["index"], meta["start"], meta["end"], text) for cid, text, meta in rows]
        sources += [(source, article_id) for source in m.get("sources") or [m.get("source", "")]]
    catalog.replace_all(articles, chunks, sources, mirrored=token)


def complete_version(rows: list[_Row]) -> list[_Row]:
    """The chunks of the article's complete version (every index below n_chunks, one fingerprint), in order.

    [] while a write is in progress or after one was abandoned half-way. Chunk ids are article id + index,
    so at most one version can hold index 0 and be complete.
    """
    versions: dict[str, list[_Row]] = {}
    for row in rows:
        versions.setdefault(row[2].get("fingerprint", ""), []).append(row)
    for version in versions.values():
        version.sort(key=lambda row: row[2]["index"])
        n = version[0][2].get("n_chunks", len(version))
        if [row[2]["index"] for row in version] == list(range(n)):
            return version
    return []
