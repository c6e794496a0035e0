"""One data folder, several `newsrag` processes at once, each run compared with a clean single-process ingest.

Real processes throughout (`newsrag ingest`, `delete`, `stats`, `serve`), real Chroma, the real embedding
model; the fake answering model where the server answers (only retrieval and plumbing are checked).
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import httpx
import numpy as np
import pytest

from ingest.pipeline import ingest, sample_corpus_dir
from rag.config import Settings
from rag.store import Store, process_identity

from conftest import HARBOUR, NEWSRAG, env_for, newsrag, newsrag_serve
from test_crash import catalog_counts, snapshot

pytestmark = pytest.mark.slow

TOWNS = ["Ashford", "Bexley", "Carlow", "Dunmore", "Elgin", "Fenwick", "Galway", "Harlow", "Ilford", "Jarrow"]


def make_folder(folder: Path, first: int, count: int, topic: str) -> Path:
    """count short dated articles, numbered from first, so two folders never share an article."""
    folder.mkdir(parents=True)
    for i in range(first, first + count):
        town, day = TOWNS[i % len(TOWNS)], date(2025, 1, 1) + timedelta(days=i)
        (folder / f"{i:04d}-{town.lower()}.md").write_text(
            f"---\ntitle: {town} {topic} {i}\ndate: {day.isoformat()}\noutlet: Local Wire\n---\n"
            f"The {town} council met on {day:%B %d, %Y} and voted {i % 7 + 5} to {i % 5} on {topic}. "
            f"Item {i} of the budget sets aside {1000 + 17 * i} pounds for it.\n",
            encoding="utf-8",
        )
    return folder


def clean_ingest(data_dir: Path, inputs: list[str], embeddings) -> None:
    """The reference: the same inputs ingested by one process, one after the other."""
    settings = Settings(_env_file=None, data_dir=data_dir)
    report = ingest(inputs, settings, store=Store(settings, embeddings))
    assert not report.failures, report.failures


def assert_same_store(got_dir: Path, want_dir: Path) -> None:
    """Catalog, Chroma and BM25 of got equal want's, and each store is consistent in itself."""
    got, want = snapshot(got_dir), snapshot(want_dir)
    for key in ("articles", "sources", "chunks", "chroma_ids", "chroma_meta", "chroma_docs", "bm25_ids"):
        assert got[key] == want[key], key
    assert got["chroma_ids"] == sorted(got["chunks"]) == got["bm25_ids"]
    assert {row[-1] for row in got["articles"].values()} == {"ready"}
    assert np.allclose(got["vectors"], want["vectors"], atol=1e-4)


# --- 1. two ingests at once ------------------------------------------------------------------------------------


def test_two_ingests_at_once_equal_a_clean_ingest_of_both(tmp_path, embeddings):
    first = make_folder(tmp_path / "first", 0, 150, "road repairs")
    second = make_folder(tmp_path / "second", 1000, 150, "school meals")
    data = tmp_path / "data"
    env = env_for(data)
    started = time.monotonic()
    processes = [subprocess.Popen([NEWSRAG, "ingest", str(folder), "--json"], env=env, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, text=True) for folder in (first, second)]
    outputs = [process.communicate(timeout=600) for process in processes]
    print(f"two ingests at once: {time.monotonic() - started:.1f}s")
    for process, (out, err) in zip(processes, outputs):
        assert process.returncode == 0, err[-3000:]
        assert json.loads(out)["counts"]["added"] == 150
    stats = json.loads(newsrag(env, "stats", "--json").stdout)
    assert (stats["articles"], stats["sources"]) == (300, 300), stats  # was 150 articles and 300 sources
    assert stats["chunks"] == stats["vectors"] == stats["bm25_chunks"], stats

    clean_ingest(tmp_path / "clean", [str(first), str(second)], embeddings)
    assert_same_store(data, tmp_path / "clean")


# --- crash clean-up touches only what a dead writer left -------------------------------------------------------------


def test_clean_up_removes_a_dead_writers_pending_rows_only(tmp_path, settings, embeddings):
    Store(settings, embeddings)  # creates the catalog
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    try:
        catalog = settings.data_dir / "newsrag.catalog.sqlite3"
        with sqlite3.connect(catalog) as db:
            for article_id, writer in (("live-writer", process_identity(sleeper.pid)),
                                       ("dead-writer", f"{dead.stdout.strip()}:0"), ("no-writer", None)):
                db.execute("INSERT INTO articles(id, fingerprint, n_chunks, state, updated_at, writer) "
                           "VALUES(?, 'f', 1, 'pending', 0, ?)", (article_id, writer))
        opened = Store(settings, embeddings)
        remaining = {r[0] for r in opened.catalog.db.execute("SELECT id FROM articles")}
        assert remaining == {"live-writer"}  # another process's write in progress is left alone
        sleeper.kill()
        sleeper.wait()
        opened.recover()
        assert not opened.catalog.db.execute("SELECT count(*) FROM articles").fetchone()[0]
    finally:
        sleeper.kill()


# --- the write lock: a second writer waits, saying for whom, or gives up with the holder's name -------------------------

HOLD_LOCK = """
import sys, time
from rag.config import Settings
from rag.store import WriteLock
lock = WriteLock(Settings(_env_file=None, data_dir=sys.argv[1]).data_dir / "newsrag.lock", 0)
lock.acquire()
print("locked", flush=True)
time.sleep(float(sys.argv[2]))
"""


def test_a_second_writer_waits_with_a_message_or_names_the_holder_after_the_timeout(tmp_path):
    folder = make_folder(tmp_path / "articles", 0, 3, "parking")
    data = tmp_path / "data"
    data.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD_LOCK, str(data), "600"], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        refused = newsrag(env_for(data, NEWSRAG_WRITE_LOCK_TIMEOUT="1"), "ingest", str(folder), check=False)
        assert refused.returncode == 1
        assert f"held by pid {holder.pid}" in refused.stderr and "NEWSRAG_WRITE_LOCK_TIMEOUT" in refused.stderr

        log = tmp_path / "waiting.log"
        with log.open("w") as err:
            waiting = subprocess.Popen([NEWSRAG, "ingest", str(folder)], env=env_for(data), stdout=subprocess.PIPE,
                                       stderr=err, text=True)
            deadline = time.monotonic() + 120
            while "waiting for the write lock" not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
            holder.kill()  # the holder goes: the waiting ingest carries on
            out, _ = waiting.communicate(timeout=120)
        assert waiting.returncode == 0, log.read_text()[-2000:]
        assert f"waiting for the write lock on {data}: held by pid {holder.pid}" in log.read_text()
        assert out.startswith("3 added")
    finally:
        holder.kill()
        holder.wait()


# --- 12. stats after a killed ingest --------------------------------------------------------------------------------


def test_stats_after_a_killed_ingest_counts_bm25_entries_for_every_chunk(tmp_path):
    folder = make_folder(tmp_path / "articles", 0, 300, "bus routes")
    data = tmp_path / "data"
    env = env_for(data, NEWSRAG_CHUNK_TOKENS="32", NEWSRAG_CHUNK_OVERLAP="8")  # two write batches
    process = subprocess.Popen([NEWSRAG, "ingest", str(folder)], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 120
    while catalog_counts(data)[0] == 0 and process.poll() is None and time.monotonic() < deadline:
        time.sleep(0.005)
    process.kill()  # right after the first batch was committed, before the ingest rebuilt BM25
    process.wait()
    ready, _ = catalog_counts(data)
    assert 0 < ready < 300
    stats = json.loads(newsrag(env, "stats", "--json").stdout)
    assert stats["articles"] == ready
    assert stats["chunks"] == stats["vectors"] == stats["bm25_chunks"] > 0, stats  # was bm25_chunks 0


# --- 2. ingest and delete while `serve` runs ---------------------------------------------------------------------------


def ask(url: str, question: str, **options) -> dict:
    response = httpx.post(f"{url}/api/ask", json={"question": question, **options}, timeout=120)
    assert response.status_code == 200, response.text[:500]
    return response.json()


def test_ingest_and_delete_during_serve_are_seen_at_once_and_equal_a_clean_store(tmp_path, embeddings):
    data = tmp_path / "data"
    env = env_for(data)
    newsrag(env, "ingest", "--samples")
    news = tmp_path / "news"
    news.mkdir()
    (news / "harbour.md").write_text(HARBOUR)
    extra = make_folder(tmp_path / "extra", 0, 5, "library hours")
    question = "How many visitors came to the harbour festival?"
    with newsrag_serve(env, tmp_path / "server.log") as url:
        assert ask(url, "Which airbase did US forces leave?")["citations"]  # the server has read the store
        newsrag(env, "ingest", str(news), str(extra))
        for mode in ("hybrid", "bm25", "dense", "mmr"):  # was HTTP 500 (Error finding id) or an abstention
            body = ask(url, question, mode=mode)
            assert not body["abstained"], (mode, body["answer"])
            assert body["citations"][0]["title"] == "Harbour festival draws record crowds", mode
        titles = {a["title"] for a in httpx.get(f"{url}/api/sources", timeout=30).json()}
        assert "Library hours 3" not in titles and "Dunmore library hours 3" in titles

        newsrag(env, "delete", str((extra / "0003-dunmore.md").resolve()))
        titles = {a["title"] for a in httpx.get(f"{url}/api/sources", timeout=30).json()}
        assert "Dunmore library hours 3" not in titles
        for mode in ("hybrid", "bm25", "dense"):
            cited = {c["title"] for c in ask(url, "What did the Dunmore council vote on library hours?",
                                             mode=mode, k=8)["passages"]}
            assert "Dunmore library hours 3" not in cited, mode
    (extra / "0003-dunmore.md").unlink()
    clean_ingest(tmp_path / "clean", [str(sample_corpus_dir()), str(news), str(extra)], embeddings)
    newsrag(env, "stats", "--json")  # brings BM25 on disk up to date, as any next command would
    assert_same_store(data, tmp_path / "clean")
