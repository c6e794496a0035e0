"""Retrieval ablation: how well each retrieval mode, k, chunk size and focus setting puts the gold evidence
in front of the model, and how many prompt tokens that costs.

No model answers here, so the whole grid takes under a minute instead of one ~16-minute `newsrag eval` per
setting; it tells which settings can find the evidence at all, and `newsrag eval` then measures the answers of
the few worth it. A follow-up question is searched with the previous user turn in front of it, standing in for
the model's condensed question. Prompt tokens matter because on a CPU the model reads ~55 of them a second
before it writes the first word; the fixed instructions are cached, so the passages and question are the cost.
"""

from __future__ import annotations

import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from evals.bench.ingestion import chunk_texts, wordpieces
from evals.dataset import DEFAULT_CORPUS, DEFAULT_DATASET, Split, corpus_dir, load_dataset
from evals.metrics import mean, reciprocal_rank, retrieval_hit, retrieval_recall
from ingest.pipeline import ingest
from rag.config import RetrievalMode, Settings
from rag.context import fit_passages, focus_passages
from rag.embeddings import MiniLMEmbeddings
from rag.prompts import ANSWER_SYSTEM, answer_messages
from rag.retrieve import Retriever
from rag.store import Store
from rag.tokens import count_tokens

MODES: tuple[RetrievalMode, ...] = ("dense", "bm25", "hybrid", "mmr")


def search_query(item: Mapping) -> str:
    """The question, with the last user turn before it when the question is a follow-up."""
    previous = [turn["content"] for turn in item.get("history") or [] if turn.get("role") == "user"]
    return f"{previous[-1]} {item['question']}" if previous else item["question"]


def _mean(values: Sequence[float | bool | None]) -> float | None:
    value = mean(values)
    return None if value is None else round(value, 3)


class _MemoEmbeddings:
    """The store's embedder with a per-text memo: the grid focuses the same sentences hundreds of times."""

    def __init__(self, embeddings: MiniLMEmbeddings) -> None:
        self._embeddings = embeddings
        self._memo: dict[str, np.ndarray] = {}

    def embed(self, texts: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(t for t in texts if t not in self._memo))
        if missing:
            self._memo.update(zip(missing, self._embeddings.embed(missing)))
        return np.array([self._memo[t] for t in texts], dtype=np.float32).reshape(len(texts), -1)


def retrieval_ablation(
    settings: Settings,
    modes: Sequence[RetrievalMode] = MODES,
    ks: Sequence[int] = (2, 3, 4, 6, 8),
    chunk_sizes: Sequence[int] = (100, 150, 200, 240),
    focus: Sequence[int] | None = None,
    dataset: Path = DEFAULT_DATASET,
    split: Split = "dev",
    overlaps: Sequence[int] | None = None,
    headers: Sequence[bool] | None = None,
    corpus: str = DEFAULT_CORPUS,
) -> list[dict]:
    """One row per (chunk size, overlap, header, mode, k, focus): metrics over the split's gold items on the
    corpus that have evidence. Overlaps and headers default to the configured setting.

    The split defaults to dev: the ablation is for choosing settings, and the test split never chooses one.

    Each chunk size gets a fresh temporary store with the corpus. `kept` is the share of items with
    evidence still in the prompt after each passage is focused to `focus` sentences (0 = whole passages;
    default: the configured setting); `uncached_tokens` the mean cl100k tokens of the prompt after the
    fixed instructions, which is what the model must read before its first token; `wordpieces_per_article`
    what ingest embeds per article, which its speed is proportional to (docs/performance.md).
    """
    focus = tuple(focus) if focus is not None else (settings.focus_sentences,)
    overlaps = tuple(overlaps) if overlaps is not None else (settings.chunk_overlap,)
    headers = tuple(headers) if headers is not None else (settings.chunk_header,)
    instructions = count_tokens(ANSWER_SYSTEM)
    items = [item for item in load_dataset(dataset, split=split, corpus=corpus) if item.get("evidence")]
    articles = corpus_dir(corpus)
    queries = [search_query(item) for item in items]
    rows: list[dict] = []
    chunkings = dict.fromkeys((size, min(overlap, size // 4), header)
                              for size in chunk_sizes for overlap in overlaps for header in headers)
    for chunk_tokens, overlap, header in chunkings:
        with tempfile.TemporaryDirectory(prefix="newsrag-ablation-", ignore_cleanup_errors=True) as directory:
            run_settings = settings.model_copy(
                update={"data_dir": Path(directory), "chroma_host": None, "chunk_tokens": chunk_tokens,
                        "chunk_overlap": overlap, "chunk_header": header})
            store = Store(run_settings)
            ingest([str(articles)], run_settings, store=store)
            retriever = Retriever(store, run_settings)
            sentences = _MemoEmbeddings(store.embeddings)
            stats = store.stats()
            chunks = stats["chunks"]
            embedded = wordpieces(chunk_texts(articles, run_settings, store.embeddings), store.embeddings)
            per_article = round(embedded / max(1, int(stats["articles"])))  # type: ignore[call-overload]
            for mode in modes:
                for k in ks:
                    found = [retriever.search(query, k=k, mode=mode) for query in queries]
                    retrieval = {
                        "hit_at_k": _mean([retrieval_hit(item, ps, k) for item, ps in zip(items, found)]),
                        "recall_at_k": _mean([retrieval_recall(item, ps, k) for item, ps in zip(items, found)]),
                        "mrr": _mean([reciprocal_rank(item, ps) for item, ps in zip(items, found)]),
                    }
                    for keep in focus:
                        prompts = [
                            fit_passages(query, focus_passages(query, ps, sentences, keep), run_settings)  # type: ignore[arg-type]
                            for query, ps in zip(queries, found)
                        ]
                        tokens = [sum(count_tokens(str(m.content)) for m in answer_messages(query, context))
                                  for query, context in zip(queries, prompts)]
                        rows.append({
                            "chunk_tokens": chunk_tokens, "chunk_overlap": overlap, "chunk_header": header,
                            "chunks": chunks, "wordpieces_per_article": per_article,
                            "mode": mode, "k": k, "focus": keep, **retrieval,
                            "kept": _mean([retrieval_hit(item, ps, k) for item, ps in zip(items, prompts)]),
                            "uncached_tokens": round(sum(tokens) / len(tokens)) - instructions,
                        })
    return rows


def render_ablation(rows: Sequence[Mapping]) -> str:
    """A Markdown table, the form evals/README.md keeps."""
    lines = ["| chunk tokens (chunks) | overlap | header | embedded per article | mode | k | focus | hit@k "
             "| recall@k | MRR | evidence in prompt | uncached prompt tokens |",
             "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for row in rows:
        lines.append(f"| {row['chunk_tokens']} ({row['chunks']}) | {row['chunk_overlap']} | "
                     f"{'title, date' if row['chunk_header'] else 'none'} | {row['wordpieces_per_article']} | "
                     f"{row['mode']} | {row['k']} | "
                     f"{row['focus'] or 'whole'} | "
                     f"{row['hit_at_k']:.3f} | {row['recall_at_k']:.3f} | {row['mrr']:.3f} | {row['kept']:.3f} | "
                     f"{row['uncached_tokens']} |")
    return "\n".join(lines)
