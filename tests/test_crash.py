"""Crash safety: SIGKILL `newsrag ingest` in the middle of a large batch, run it again, and compare the store with
a clean ingest of the same files: same article ids, chunk ids, offsets, texts, vectors and metadata; no
duplicates; Chroma, the catalog and BM25 in step.

300 short articles cut into small chunks (NEWSRAG_CHUNK_TOKENS=32) give about 600 chunks, which the pipeline
commits in two write batches (512 + the rest): the first kill lands inside the first batch's write, the
second right after that batch was committed, while the next one is embedded; neither after the run.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import pytest

from ingest.pipeline import ingest
from rag.config import Settings
from rag.store import Store

from conftest import NEWSRAG

pytestmark = pytest.mark.slow

N_ARTICLES = 300
CHUNKING = {"chunk_tokens": 32, "chunk_overlap": 8}
TOWNS = ["Ashford", "Bexley", "Carlow", "Dunmore", "Elgin", "Fenwick", "Galway", "Harlow", "Ilford", "Jarrow"]


def make_corpus(folder: Path) -> None:
    folder.mkdir()
    for i in range(N_ARTICLES):
        town = TOWNS[i % len(TOWNS)]
        day = date(2025, 1, 1) + timedelta(days=i)
        body = " ".join([
            f"The {town} council met on {day:%B %d, %Y} and voted {i % 7 + 5} to {i % 5} for road repairs.",
            f"Residents had complained for {i % 11 + 2} months about potholes on {town} High Street.",
            f"The works start in week {i % 52 + 1} and cost {1000 + 17 * i} pounds, item {i} of the budget.",
        ])
        (folder / f"{i:03d}-{town.lower()}.md").write_text(
            f"---\ntitle: {town} road repairs {i}\ndate: {day.isoformat()}\noutlet: Local Wire\n---\n{body}\n",
            encoding="utf-8",
        )


def cli_env(data_dir: Path) -> dict[str, str]:
    return {
        **os.environ, "NEWSRAG_DATA_DIR": str(data_dir),
        "NEWSRAG_CHUNK_TOKENS": str(CHUNKING["chunk_tokens"]), "NEWSRAG_CHUNK_OVERLAP": str(CHUNKING["chunk_overlap"]),
    }


def catalog_counts(data_dir: Path) -> tuple[int, int]:
    """(ready, pending) articles in a catalog another process is writing; (0, 0) before it exists."""
    path = data_dir / "newsrag.catalog.sqlite3"
    if not path.exists():
        return 0, 0
    try:
        with sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=1) as db:
            rows = dict(db.execute("SELECT state, count(*) FROM articles GROUP BY state").fetchall())
    except sqlite3.Error:  # the schema is being created
        return 0, 0
    return rows.get("ready", 0), sum(n for state, n in rows.items() if state != "ready")


def snapshot(data_dir: Path) -> dict:
    """Everything stored, read straight from the files (no recovery on open): catalog, Chroma, BM25."""
    import chromadb
    from chromadb.config import Settings as ChromaSettings

    db = sqlite3.connect(str(data_dir / "newsrag.catalog.sqlite3"))
    try:
        articles = {r[0]: r[1:] for r in db.execute("SELECT id, fingerprint, title, date, n_chunks, state FROM articles")}
        chunks = {r[0]: r[1:] for r in db.execute('SELECT id, article_id, idx, start, "end", text FROM chunks')}
        sources = dict(db.execute("SELECT source, article_id FROM sources").fetchall())
        duplicate_chunks = db.execute("SELECT count(*) - count(DISTINCT article_id || idx) FROM chunks").fetchone()[0]
    finally:
        db.close()
    chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=True)  # as rag.store opens it
    client = chromadb.PersistentClient(path=str(data_dir / "chroma"), settings=chroma_settings)
    got = client.get_collection("newsrag").get(include=["embeddings", "metadatas", "documents"])
    order = np.argsort(got["ids"])
    bm25 = json.loads((data_dir / "newsrag.bm25" / "meta.json").read_text())
    return {
        "articles": articles, "chunks": chunks, "sources": sources, "duplicate_chunks": duplicate_chunks,
        "chroma_ids": [got["ids"][i] for i in order],
        "chroma_meta": [got["metadatas"][i] for i in order],
        "chroma_docs": [got["documents"][i] for i in order],
        "vectors": np.asarray(got["embeddings"])[order],
        "bm25_ids": sorted(bm25["ids"]),
    }


def run_and_kill(corpus: Path, data_dir: Path, log: Path, when, budget: float = 60) -> tuple[int, int]:
    """Start `newsrag ingest corpus`, SIGKILL it as soon as when(ready, pending) holds; the counts at the kill."""
    started = time.monotonic()
    with log.open("ab") as out:
        process = subprocess.Popen([NEWSRAG, "ingest", str(corpus)], env=cli_env(data_dir), stdout=out, stderr=out)
        try:
            while process.poll() is None and not when(*catalog_counts(data_dir)):
                if time.monotonic() - started > budget:
                    pytest.fail(f"the ingest did not get there within {budget} s")
                time.sleep(0.005)
            process.send_signal(signal.SIGKILL)
            process.wait(timeout=30)
        finally:
            if process.poll() is None:
                process.kill()
    assert process.returncode == -signal.SIGKILL, log.read_text()[-2000:]  # killed, not finished
    ready, pending = catalog_counts(data_dir)
    print(f"killed after {time.monotonic() - started:.1f}s: {ready} ready, {pending} pending articles")
    assert ready < N_ARTICLES
    return ready, pending


def test_killed_ingest_then_rerun_equals_a_clean_ingest(tmp_path, embeddings):
    started = time.monotonic()
    corpus = tmp_path / "corpus"
    make_corpus(corpus)
    crashed, clean, log = tmp_path / "crashed", tmp_path / "clean", tmp_path / "killed.log"

    # 1. kill it while it writes its first batch: articles pending in the catalog, chunks on their way to Chroma
    ready, pending = run_and_kill(corpus, crashed, log, lambda ready, pending: pending > 0)
    assert ready == 0 and pending > 0

    # 2. run it again and kill it right after a batch is committed, while it embeds the next one
    ready, _ = run_and_kill(corpus, crashed, log, lambda ready, pending: ready > 0)
    assert 0 < ready < N_ARTICLES

    # 3. the same command once more, to completion
    rerun = subprocess.run([NEWSRAG, "ingest", str(corpus), "--json"], env=cli_env(crashed), capture_output=True,
                           text=True, timeout=300)
    assert rerun.returncode == 0, rerun.stderr[-2000:]
    counts = json.loads(rerun.stdout)["counts"]
    assert counts["failed"] == 0 and counts["added"] + counts["unchanged"] == N_ARTICLES, counts
    assert counts["unchanged"] == ready  # what was committed before the kill is kept, nothing else

    # 4. a clean ingest of the same files elsewhere
    settings = Settings(_env_file=None, data_dir=clean, **CHUNKING)
    store = Store(settings, embeddings)
    report = ingest([str(corpus)], settings, store=store)
    assert report.counts["added"] == N_ARTICLES
    del store

    got, want = snapshot(crashed), snapshot(clean)
    assert got["articles"] == want["articles"]
    assert len(want["articles"]) == N_ARTICLES and {row[-1] for row in want["articles"].values()} == {"ready"}
    assert got["sources"] == want["sources"] and len(got["sources"]) == N_ARTICLES
    assert got["chunks"] == want["chunks"]
    n_chunks = sum(row[3] for row in want["articles"].values())
    assert len(got["chunks"]) == n_chunks > 512  # more than one write batch
    assert got["duplicate_chunks"] == 0
    assert got["chroma_ids"] == sorted(got["chunks"]) == got["bm25_ids"]  # Chroma, catalog and BM25 in step
    assert got["chroma_ids"] == want["chroma_ids"]
    assert got["chroma_meta"] == want["chroma_meta"] and got["chroma_docs"] == want["chroma_docs"]
    assert np.allclose(got["vectors"], want["vectors"], atol=1e-4)
    elapsed = time.monotonic() - started
    print(f"crash, rerun and clean ingest compared in {elapsed:.1f}s ({n_chunks} chunks)")
