"""Embedding speed over batch sizes and onnxruntime intra-op threads, on real chunk texts of the corpus.

Texts are length-sorted inside MiniLMEmbeddings, so a bigger batch pads little; what it trades is
onnxruntime's per-call overhead against cache-friendly matrix sizes. threads=0 is onnxruntime's default
(one per physical core, which on a VM with hyper-threads can be fewer than the vCPUs).
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from evals.bench.measure import Stopwatch, rate
from rag.config import Settings
from rag.embeddings import MiniLMEmbeddings

BATCH_SIZES = (2, 4, 8, 16, 32, 64)


def thread_options() -> tuple[int, ...]:
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    return tuple(sorted({0, 1, cores}))


def bench_embedding(texts: Sequence[str], settings: Settings, batch_sizes: Sequence[int] = BATCH_SIZES,
                    threads: Sequence[int] | None = None) -> dict:
    """chunks/s for every (batch size, threads) pair; the best one, and how the configured one compares."""
    grid = []
    for n_threads in threads if threads is not None else thread_options():
        for batch_size in batch_sizes:
            model = MiniLMEmbeddings(batch_size=batch_size, threads=n_threads)
            model.embed(list(texts[:batch_size]))  # warm-up: first-run allocations for this shape
            with Stopwatch() as watch:
                model.embed(list(texts))
            grid.append({"batch_size": batch_size, "threads": n_threads,
                         "chunks_per_s": rate(len(texts), watch.seconds)})
    best = max(grid, key=lambda row: row["chunks_per_s"] or 0.0)
    configured = next((row for row in grid if row["batch_size"] == settings.embed_batch_size
                       and row["threads"] == settings.embed_threads), None)
    return {"texts": len(texts), "grid": grid, "best": best, "configured": configured}
