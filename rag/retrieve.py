"""Dense, BM25 and hybrid (reciprocal rank fusion) retrieval, plus MMR; rag.retriever wraps it for LangChain."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

import numpy as np

from rag.config import RetrievalMode, Settings
from rag.dedupe import collapse_near_copies
from rag.filters import Filters
from rag.types import Passage

if TYPE_CHECKING:  # the store hands itself to Retriever (Store.as_retriever): no import back at run time
    from rag.store import Store

Reranker = Callable[[str, list[Passage]], list[Passage]]
"""Reorders candidates (e.g. a cross-encoder the user has); receives more candidates than k."""

CANDIDATES_PER_K = 4


def rrf(rankings: Sequence[Sequence[str]], k: int = 60) -> list[tuple[str, float]]:
    """Reciprocal rank fusion: sum of 1/(k + rank) over the rankings an id appears in, best first."""
    scores: dict[str, float] = {}
    for ranking in rankings:
        for rank, item in enumerate(ranking, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (k + rank)
    return sorted(scores.items(), key=lambda pair: (-pair[1], pair[0]))


def mmr(query: np.ndarray, vectors: np.ndarray, k: int, diversity: float = 0.3) -> list[int]:
    """Maximal marginal relevance: indices of k vectors relevant to the query but unlike each other."""
    if len(vectors) == 0:
        return []
    relevance = vectors @ query
    chosen = [int(np.argmax(relevance))]
    while len(chosen) < min(k, len(vectors)):
        redundancy = (vectors @ vectors[chosen].T).max(axis=1)
        score = (1 - diversity) * relevance - diversity * redundancy
        score[chosen] = -np.inf
        chosen.append(int(np.argmax(score)))
    return chosen


class Retriever:
    """Finds the passages for a question; every passage carries its cosine similarity for abstention."""

    def __init__(self, store: Store, settings: Settings, reranker: Reranker | None = None) -> None:
        self.store = store
        self.settings = settings
        self.reranker = reranker
        store.refresh_lexical()

    def search(
        self, query: str, k: int | None = None, mode: RetrievalMode | None = None, filters: Filters | None = None
    ) -> list[Passage]:
        k = k or self.settings.top_k
        mode = mode or self.settings.retrieval
        filters = filters or Filters()
        # another process may have committed to a shared Chroma server since the last search (one metadata
        # read there; a no-op on an embedded store unless this process ingested)
        self.store.refresh_lexical()
        n_candidates = k * CANDIDATES_PER_K
        query_vector = self.store.embeddings.embed([query])[0]

        dense: list[Passage] = []
        if mode in ("dense", "hybrid", "mmr"):
            dense = self.store.dense(query_vector, n_candidates, filters.chroma_where())
        lexical: list[Passage] = []
        if mode in ("bm25", "hybrid"):
            hits = self.store.lexical.search(query, n_candidates * 2)
            found = self.store.passages([chunk_id for chunk_id, _ in hits])
            lexical = [
                found[chunk_id].model_copy(update={"score": score})
                for chunk_id, score in hits
                if chunk_id in found and filters.accepts(found[chunk_id])
            ][:n_candidates]

        if mode == "dense":
            ranked = dense
        elif mode == "bm25":
            ranked = lexical
        elif mode == "mmr":
            vectors = self.store.vectors([p.id for p in dense])
            matrix = np.array([vectors[p.id] for p in dense]) if dense else np.zeros((0, 1))
            ranked = [dense[i] for i in mmr(query_vector, matrix, k)]
        else:
            by_id = {p.id: p for p in [*lexical, *dense]}
            fused = rrf([[p.id for p in dense], [p.id for p in lexical]])
            ranked = [by_id[i].model_copy(update={"score": score}) for i, score in fused]

        if self.reranker:
            ranked = self.reranker(query, ranked)
        top = collapse_near_copies(ranked, k)  # a wire copy of a kept passage does not take a second slot
        return self._with_similarity(top, query_vector)

    def _with_similarity(self, passages: list[Passage], query_vector: np.ndarray) -> list[Passage]:
        missing = [p.id for p in passages if p.similarity is None]
        vectors = self.store.vectors(missing)
        return [
            p if p.similarity is not None
            else p.model_copy(update={"similarity": float(vectors[p.id] @ query_vector) if p.id in vectors else 0.0})
            for p in passages
        ]
