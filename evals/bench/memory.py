"""Peak memory of a real `newsrag serve` over a large store, with the model loaded and one question answered.

The server runs as a child process (the `newsrag` command next to this Python), so the figure includes
everything a deployment pays for: the UI, the API, Chroma's index, the catalog, BM25 and the model.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

from evals.bench.measure import Stopwatch, proc_status_mib
from rag.config import Settings

STARTUP_TIMEOUT = 300.0
ANSWER_TIMEOUT = 300.0
QUESTION = "What did the central bank say about inflation?"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _newsrag_command() -> str:
    beside = Path(sys.executable).with_name("newsrag")
    found = str(beside) if beside.exists() else shutil.which("newsrag")
    if not found:
        raise FileNotFoundError("the `newsrag` command is not installed (pip install -e .)")
    return found


def _wait_until_up(url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"`newsrag serve` exited with code {process.returncode} before answering")
        try:
            if httpx.get(url, timeout=2, trust_env=False).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
    raise TimeoutError(f"`newsrag serve` did not answer {url} within {STARTUP_TIMEOUT:.0f}s")


def bench_memory(settings: Settings, chunks: int) -> dict:
    """Start `serve` on settings' (embedded) store, ask one question through the API, read its peak RSS."""
    port = _free_port()
    env = {
        **os.environ,
        "NEWSRAG_DATA_DIR": str(settings.data_dir),
        "NEWSRAG_COLLECTION": settings.collection,
        "NEWSRAG_CHROMA_HOST": "",  # the store the benchmark built is embedded
        "NEWSRAG_UI_HOST": "127.0.0.1",
        "NEWSRAG_UI_PORT": str(port),
        "NEWSRAG_UI_AUTH": "",
        "NEWSRAG_LLM_BACKEND": settings.llm_backend,
    }
    base = f"http://127.0.0.1:{port}"
    process = subprocess.Popen([_newsrag_command(), "serve"], env=env, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    try:
        with Stopwatch() as startup:
            _wait_until_up(f"{base}/healthz", process)
        ready_mib = proc_status_mib(process.pid, "VmRSS")
        reply = httpx.post(f"{base}/api/ask", json={"question": QUESTION}, timeout=ANSWER_TIMEOUT, trust_env=False)
        reply.raise_for_status()
        peak_mib = proc_status_mib(process.pid, "VmHWM")
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return {
        "chunks": chunks,
        "llm_backend": settings.llm_backend,
        "startup_seconds": round(startup.seconds, 1),
        "rss_after_start_mib": ready_mib,
        "peak_rss_mib": peak_mib,
        "peak_rss_gib": round(peak_mib / 1024, 2) if peak_mib is not None else None,
    }
