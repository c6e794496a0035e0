"""The Chroma side of the store: the client (embedded or a server), the collection, and what each chunk carries.

Each chunk's metadata carries everything the catalog knows about its article (fingerprint, chunk count, every
source), so the catalog can be rebuilt from Chroma alone (rag.store.sync).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from rag.config import Settings
from rag.embeddings import NewsEmbeddings
from rag.errors import StoreError
from rag.filters import date_number
from rag.types import Article, Chunk


def chroma_client(settings: Settings) -> Any:
    """A chromadb client: HttpClient for NEWSRAG_CHROMA_HOST, else a PersistentClient in DATA_DIR/chroma."""
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
                host=settings.chroma_host or "", port=settings.chroma_port, ssl=settings.chroma_ssl,
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


def open_collection(client: Any, settings: Settings, embeddings: NewsEmbeddings) -> Any:
    """The collection, created if missing; one made with another embedding model is a StoreError."""
    wanted = {"embedding_model": embeddings.name, "dimension": embeddings.dimension}
    try:
        collection = client.get_or_create_collection(
            settings.collection, embedding_function=None, metadata=wanted,
            configuration={"hnsw": {"space": "cosine"}},
        )
    except Exception as exc:
        raise StoreError(f"cannot open Chroma collection {settings.collection!r}: {exc}") from exc
    found = {k: (collection.metadata or {}).get(k) for k in wanted}
    if found != wanted:
        raise StoreError(
            f"collection {settings.collection!r} holds vectors of {found['embedding_model']} "
            f"({found['dimension']} dimensions) but the configured model is {wanted['embedding_model']} "
            f"({wanted['dimension']}); set NEWSRAG_COLLECTION to another name or run `newsrag ingest --reset`"
        )
    return collection


def chunk_metadata(article: Article, chunk: Chunk, n_chunks: int, source: str, sources: list[str]) -> dict:
    """What Chroma stores beside a chunk: enough to filter, to show it, and to rebuild the catalog."""
    a = article
    return {
        "article_id": a.id, "index": chunk.index, "start": chunk.start, "end": chunk.end,
        "title": a.title, "date": a.date or "", "date_num": date_number(a.date),
        "outlet": a.outlet, "url": a.url, "source": source, "author": a.author,
        "fingerprint": a.fingerprint, "n_chunks": n_chunks, "sources": sources,
    }


def upsert(client: Any, collection: Any, ids: list[str], vectors: Sequence[np.ndarray], documents: list[str],
           metadatas: list[dict]) -> None:
    """Upsert in batches of the client's largest size."""
    step = client.get_max_batch_size()
    for begin in range(0, len(ids), step):
        end = begin + step
        collection.upsert(
            ids=ids[begin:end], embeddings=np.asarray(vectors[begin:end], dtype=np.float32),
            documents=documents[begin:end], metadatas=metadatas[begin:end],
        )


def update_metadata(client: Any, collection: Any, ids: list[str], metadatas: list[dict]) -> None:
    """Update chunks' metadata in batches of the client's largest size."""
    step = client.get_max_batch_size()
    for begin in range(0, len(ids), step):
        collection.update(ids=ids[begin : begin + step], metadatas=metadatas[begin : begin + step])


def delete_articles(collection: Any, article_ids: Sequence[str]) -> None:
    """Remove every chunk of these articles, 100 articles per request."""
    step = 100
    for begin in range(0, len(article_ids), step):
        collection.delete(where={"article_id": {"$in": list(article_ids[begin : begin + step])}})
