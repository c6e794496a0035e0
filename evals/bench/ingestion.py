"""Ingestion throughput: our pipeline, next to the embedding model alone on the same chunk texts (the limit on
this CPU) and the naive LangChain way (RecursiveCharacterTextSplitter + Chroma.add_documents, same embedder).
Then the same corpus again, unchanged, which should cost a small fraction of the first ingest.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from evals.baseline import CHUNK_OVERLAP, CHUNK_SIZE
from evals.bench.measure import Stopwatch, rate, ratio
from ingest.loaders import load_source
from ingest.pipeline import IngestReport, chunk_article, embedding_text, ingest
from ingest.sources import expand_sources
from rag.config import Settings
from rag.embeddings import MAX_TOKENS, MiniLMEmbeddings, get_embeddings
from rag.store import Store
from rag.types import Article


class TimedEmbeddings:
    """The embedding model with a running total of the seconds spent in embed(), to split ingest time."""

    def __init__(self, inner: MiniLMEmbeddings) -> None:
        self.inner = inner
        self.seconds = 0.0

    def embed(self, texts: list[str]) -> np.ndarray:
        with Stopwatch() as watch:
            vectors = self.inner.embed(texts)
        self.seconds += watch.seconds
        return vectors

    def __getattr__(self, name: str):
        return getattr(self.inner, name)


def _complete(report: IngestReport) -> IngestReport:
    """A benchmark of a corpus that did not go in would time nothing: stop with the reason."""
    if report.failures:
        first = report.failures[0]
        raise RuntimeError(f"the benchmark corpus failed to ingest: {first.source}: {first.reason}")
    return report


def ours(corpus: Path, settings: Settings) -> dict:
    """`ingest` on the corpus into a fresh store, opening the store included."""
    timed = TimedEmbeddings(get_embeddings(settings))
    with Stopwatch() as watch:
        report = ingest([str(corpus)], settings, store=Store(settings, timed))  # type: ignore[arg-type]
    counts = _complete(report).counts
    return {
        "seconds": round(watch.seconds, 2),
        "articles": counts["added"],
        "failed": counts["failed"],
        "chunks": report.chunks_written,
        "articles_per_s": rate(counts["added"], watch.seconds),
        "chunks_per_s": rate(report.chunks_written, watch.seconds),
        "embed_seconds": round(timed.seconds, 2),
        "other_seconds": round(watch.seconds - timed.seconds, 2),
    }


def reingest(corpus: Path, settings: Settings, first_seconds: float) -> dict:
    """The same corpus into the same store again: nothing should be embedded or written."""
    with Stopwatch() as watch:
        report = _complete(ingest([str(corpus)], settings, store=Store(settings)))
    return {
        "seconds": round(watch.seconds, 2),
        "unchanged": report.counts["unchanged"],
        "chunks_written": report.chunks_written,
        "percent_of_first": round(100 * watch.seconds / first_seconds, 2) if first_seconds else None,
    }


def chunk_texts(corpus: Path, settings: Settings, embeddings: MiniLMEmbeddings) -> list[str]:
    """Exactly the texts our pipeline embeds for this corpus (header + chunk)."""
    texts = []
    for source in expand_sources([str(corpus)]):
        for article in load_source(source, settings) if isinstance(source, str) else ():
            if isinstance(article, Article):
                chunks = chunk_article(article, settings, embeddings)
                texts += [embedding_text(article, c.text, settings) for c in chunks]
    return texts


def wordpieces(texts: list[str], embeddings: MiniLMEmbeddings) -> int:
    """What the model's cost grows with: its own tokens, special tokens included, after truncation."""
    return sum(min(embeddings.count_tokens(text), MAX_TOKENS) for text in texts)


def raw_embedding(texts: list[str], embeddings: MiniLMEmbeddings) -> float:
    """Seconds the model alone takes on these texts, at the configured batch size: what no pipeline can beat."""
    embeddings.embed(texts[:8])  # warm up onnxruntime's first-run allocations
    with Stopwatch() as watch:
        embeddings.embed(texts)
    return watch.seconds


def langchain_baseline(corpus: Path, settings: Settings, directory: Path) -> dict:
    """The tutorial way, as the eval's peer (evals/baseline.py) builds it: load, RecursiveCharacterTextSplitter at
    the tutorials' 1,000/200 characters, Chroma.add_documents.

    add_documents is called once per Chroma max batch (it refuses larger ones); the embedder is ours.
    """
    import chromadb
    from chromadb.config import Settings as ChromaSettings
    from langchain_chroma import Chroma
    from langchain_core.documents import Document
    from langchain_text_splitters import RecursiveCharacterTextSplitter

    with Stopwatch() as watch:
        documents = []
        with corpus.open(encoding="utf-8") as lines:
            for n, line in enumerate(lines, start=1):
                record = json.loads(line)
                meta = {key: record[key] for key in ("title", "date", "outlet", "url")}
                documents.append(Document(page_content=record["text"], metadata={**meta, "source": f"{corpus}:{n}"}))
        splitter = RecursiveCharacterTextSplitter(chunk_size=CHUNK_SIZE, chunk_overlap=CHUNK_OVERLAP)
        chunks = splitter.split_documents(documents)
        client = chromadb.PersistentClient(str(directory), settings=ChromaSettings(anonymized_telemetry=False))
        store = Chroma(collection_name="baseline", embedding_function=get_embeddings(settings), client=client)
        step = client.get_max_batch_size()
        for begin in range(0, len(chunks), step):
            store.add_documents(chunks[begin : begin + step])
    pieces = wordpieces([c.page_content for c in chunks], get_embeddings(settings))
    return {
        "seconds": round(watch.seconds, 2),
        "articles": len(documents),
        "chunks": len(chunks),
        "articles_per_s": rate(len(documents), watch.seconds),
        "chunks_per_s": rate(len(chunks), watch.seconds),
        "wordpieces": pieces,
        "wordpieces_per_s": rate(pieces, watch.seconds),
    }


def bench_ingest(corpus: Path, settings: Settings, workdir: Path, *, compare: bool = True,
                 again: bool = False) -> dict:
    """Ours on a fresh store; `compare` adds the raw limit and the LangChain baseline, `again` the re-ingest.

    The raw limit is timed in two halves (alternate texts), one before our ingest and one after, so a machine
    whose speed drifts (a shared or virtual one) weighs on both sides of the ratio alike.
    """
    result: dict = {}
    embeddings = get_embeddings(settings)
    texts = chunk_texts(corpus, settings, embeddings) if compare else []
    raw_seconds = raw_embedding(texts[0::2], embeddings) if compare else 0.0
    result["ours"] = ours(corpus, settings)
    if again:
        result["reingest"] = reingest(corpus, settings, result["ours"]["seconds"])
    if compare:
        raw_seconds += raw_embedding(texts[1::2], embeddings)
        pieces = wordpieces(texts, embeddings)
        result["raw_embedding"] = {"seconds": round(raw_seconds, 2), "chunks": len(texts),
                                   "chunks_per_s": rate(len(texts), raw_seconds),
                                   "wordpieces": pieces, "wordpieces_per_s": rate(pieces, raw_seconds)}
        result["langchain"] = langchain_baseline(corpus, settings, workdir / "langchain")
        result["ours"]["wordpieces_per_s"] = rate(pieces, result["ours"]["seconds"])
        result["ours_vs_raw"] = ratio(result["ours"]["chunks_per_s"], result["raw_embedding"]["chunks_per_s"])
        result["ours_vs_langchain"] = ratio(result["ours"]["articles_per_s"], result["langchain"]["articles_per_s"])
    return result
