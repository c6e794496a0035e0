"""Retrieval latency at 10k and 100k chunks, store-level.

Embedding 100k chunks would take over an hour on 2 cores, so the store gets generated news paragraphs as
texts (real catalog, real BM25) with random unit vectors in Chroma; the questions are embedded for real.
HNSW search time depends on the index size and dimension, not on what the vectors mean, so the figures
hold for a real corpus of that size; the answers' relevance does not, and is not what is measured.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

import numpy as np

from evals.bench import corpus
from evals.bench.measure import Stopwatch, latency
from rag.config import Settings
from rag.retrieve import Retriever
from rag.store import ArticleWrite, Store
from rag.types import Article, Chunk

MODES = ("dense", "bm25", "hybrid")
WRITE_CHUNKS = 5000  # chunks per Store.write while filling
WARMUP_QUERIES = 3
VECTORS_NOTE = "random unit vectors with generated news paragraphs as texts; questions embedded for real"


def synthetic_writes(dimension: int, seed: int = 7) -> Iterator[ArticleWrite]:
    """Generated articles, one chunk per paragraph (with true offsets), each with random unit vectors."""
    rng = np.random.default_rng(seed)
    i = 0
    while True:
        record = corpus.article(i, seed)
        article = Article(source=f"synthetic:{i}", **record)
        chunks, start, article_id = [], 0, article.id  # id hashes the text: once per article
        for index, paragraph in enumerate(record["text"].split("\n\n")):
            chunks.append(Chunk(article_id, index, paragraph, start, start + len(paragraph)))
            start += len(paragraph) + 2
        vectors = rng.standard_normal((len(chunks), dimension)).astype(np.float32)
        vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
        yield ArticleWrite(article, chunks, vectors)
        i += 1


def fill(store: Store, n_chunks: int, writes: Iterator[ArticleWrite]) -> float:
    """Write articles until the store holds at least n_chunks, then build BM25; returns the seconds taken."""
    with Stopwatch() as watch:
        held = store.stats()["chunks"]
        batch: list[ArticleWrite] = []
        pending = 0
        while held + pending < n_chunks:
            batch.append(next(writes))
            pending += len(batch[-1].chunks)
            if pending >= WRITE_CHUNKS or held + pending >= n_chunks:
                store.write(batch, [w.article.source for w in batch])
                held, batch, pending = held + pending, [], 0
        store.refresh_lexical()
    return watch.seconds


def time_queries(retriever: Retriever, queries: Sequence[str], mode: str, k: int) -> dict:
    """Latency of Retriever.search (query embedding included) over the queries, after a short warm-up."""
    for query in queries[:WARMUP_QUERIES]:
        retriever.search(query, k=k, mode=mode)
    timings = []
    for query in queries:
        with Stopwatch() as watch:
            retriever.search(query, k=k, mode=mode)
        timings.append(watch.seconds)
    return latency(timings)


def bench_retrieval(settings: Settings, sizes: Sequence[int], n_queries: int = 50) -> dict:
    """p50/p95 per mode at each size (ascending; the store grows from one size to the next)."""
    store = Store(settings)
    writes = synthetic_writes(store.embeddings.dimension)
    queries = corpus.queries(n_queries)
    result: dict = {"vectors": VECTORS_NOTE, "queries": n_queries, "k": settings.top_k, "sizes": {}}
    for size in sorted(sizes):
        fill_seconds = fill(store, size, writes)
        retriever = Retriever(store, settings)
        result["sizes"][str(size)] = {
            "chunks": store.stats()["chunks"],
            "fill_seconds": round(fill_seconds, 1),
            **{mode: time_queries(retriever, queries, mode, settings.top_k) for mode in MODES},
        }
    return result
