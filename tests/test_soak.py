"""A 60-second soak on one data folder: `newsrag serve` answering 30 askers without pause while a CLI ingest
and a CLI delete run beside it. Nothing may fail, and the store must end equal to a clean ingest of what
remains. The server's memory is sampled throughout: it must level off, not keep what the burst needed.

Loopback only; the fake answering model (the subject is the store and the server under concurrent use).
"""

from __future__ import annotations

import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import pytest

from ingest.pipeline import sample_corpus_dir

from conftest import env_for, newsrag, newsrag_serve
from test_concurrency import QUESTIONS
from test_multiprocess import assert_same_store, clean_ingest, make_folder

pytestmark = pytest.mark.slow

SOAK_SECONDS = 60
ASKERS = 30
CALL_TIMEOUT = 300  # per question: on a 2-core machine 30 askers queue behind each other


def server_pid(port: int) -> int:
    """The pid of the `newsrag serve` listening on this port (from /proc: the test starts it by command line)."""
    for entry in Path("/proc").iterdir():
        try:
            cmdline = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"serve" in cmdline and str(port).encode() in cmdline:
            return int(entry.name)
    raise LookupError(f"no newsrag serve on port {port}")


def rss_mib(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise LookupError("VmRSS")


def test_sixty_seconds_of_askers_an_ingest_and_a_delete_end_clean(tmp_path, embeddings):
    data = tmp_path / "data"
    env = env_for(data)
    newsrag(env, "ingest", "--samples", timeout=900)  # minutes on a loaded 2-core machine
    extra = make_folder(tmp_path / "extra", 0, 60, "harbour dues")
    doomed = (extra / "0007-harlow.md").resolve()

    with newsrag_serve(env, tmp_path / "server.log") as url:
        pid = server_pid(int(url.rsplit(":", 1)[1]))
        stop = threading.Event()
        outcomes: Counter[str] = Counter()
        errors: list[str] = []
        memory: list[float] = [rss_mib(pid)]

        def asker(i: int) -> None:
            with httpx.Client(base_url=url, timeout=CALL_TIMEOUT) as http:
                n = i
                while not stop.is_set():
                    question, keyword = QUESTIONS[n % len(QUESTIONS)]
                    n += 1
                    try:
                        response = http.post("/api/ask", json={"question": question})
                        body = response.json() if response.status_code == 200 else {}
                        ok = bool(body.get("citations")) and any(keyword in c["text"] for c in body["citations"])
                    except httpx.HTTPError as exc:
                        response, ok = None, False
                        errors.append(f"{question}: {exc!r}")
                    if response is not None and not ok:
                        errors.append(f"{question}: HTTP {response.status_code} {response.text[:200]}")
                    outcomes["ok" if ok else "error"] += 1

        def sample_memory() -> None:
            while not stop.wait(2):
                memory.append(rss_mib(pid))

        threads = [threading.Thread(target=asker, args=(i,)) for i in range(ASKERS)]
        threads.append(threading.Thread(target=sample_memory))
        started = time.monotonic()
        for thread in threads:
            thread.start()
        try:
            time.sleep(5)
            ingested = newsrag(env, "ingest", str(extra), "--json", timeout=900)
            ingest_seconds = time.monotonic() - started - 5
            print(ingested.stderr[-500:])
            time.sleep(2)
            newsrag(env, "delete", str(doomed))
            time.sleep(max(0.0, SOAK_SECONDS - (time.monotonic() - started)))
        finally:
            stop.set()
            for thread in threads:
                thread.join(timeout=CALL_TIMEOUT + 30)
        elapsed = time.monotonic() - started
        titles = {a["title"] for a in httpx.get(f"{url}/api/sources", timeout=30).json()}
        memory.append(rss_mib(pid))

    print(f"\nsoak: {elapsed:.0f}s, {ASKERS} askers, {outcomes['ok']} answers, {outcomes['error']} errors; "
          f"CLI ingest of 60 articles took {ingest_seconds:.0f}s; server RSS {memory[0]:.0f} MiB at start, "
          f"peak {max(memory):.0f}, end {memory[-1]:.0f}")
    assert not errors, errors[:5]
    assert outcomes["ok"] > ASKERS
    assert '"added": 60' in ingested.stdout
    assert "Harlow harbour dues 7" not in titles and "Ilford harbour dues 8" in titles
    assert elapsed < SOAK_SECONDS + CALL_TIMEOUT

    doomed.unlink()
    clean_ingest(tmp_path / "clean", [str(sample_corpus_dir()), str(extra)], embeddings)
    newsrag(env, "stats", "--json")
    assert_same_store(data, tmp_path / "clean")
