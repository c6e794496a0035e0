"""Shared fixtures and helpers: every test gets its own data dir; the models load once per session; one short
article to store, Services over a fresh store, and the app served on loopback (in a thread, or as `newsrag serve`)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from hypothesis import HealthCheck
from hypothesis import settings as hypothesis_settings

# Timing is not what property tests check: no deadlines, so a busy 2-core machine cannot make them flake.
hypothesis_settings.register_profile("newsrag", deadline=None, suppress_health_check=[HealthCheck.too_slow])
hypothesis_settings.load_profile("newsrag")

for _name, _value in {
    "ANONYMIZED_TELEMETRY": "False",
    "GRADIO_ANALYTICS_ENABLED": "False",
    "HF_HUB_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "TOKENIZERS_PARALLELISM": "false",
}.items():
    os.environ.setdefault(_name, _value)

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")  # Debian's (make browser); Playwright never downloads one
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]
SAMPLES = ROOT / "ingest" / "samples"
DATA = Path(__file__).parent / "data"
INJECTION = DATA / "injection"
HARBOUR_PATH = DATA / "harbour.md"  # one short dated article, for tests that need one to store or upload
HARBOUR = HARBOUR_PATH.read_text(encoding="utf-8")
NEWSRAG = shutil.which("newsrag") or str(Path(sys.executable).with_name("newsrag"))


@pytest.fixture(autouse=True)
def _isolated_data_dir(tmp_path, monkeypatch):
    """Point NEWSRAG_DATA_DIR at a temp folder and hide any developer .env, like simonw/llm's user dir fixture."""
    for key in list(os.environ):
        if key.startswith("NEWSRAG_") and key != "NEWSRAG_MODEL_DIR":
            monkeypatch.delenv(key)
    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.chdir(tmp_path)


@pytest.fixture
def settings(tmp_path):
    from rag.config import Settings

    return Settings(data_dir=tmp_path / "data")


@pytest.fixture(scope="session")
def embeddings():
    from rag.config import Settings
    from rag.embeddings import get_embeddings

    return get_embeddings(Settings())


@pytest.fixture(scope="module")
def verifier(embeddings):
    """The citation verifier over the real MiniLM model."""
    from rag.citations import CitationVerifier

    return CitationVerifier(embeddings)


@contextmanager
def serve_http(handler: type[BaseHTTPRequestHandler]) -> Iterator[str]:
    """A threaded HTTP server on a free loopback port for the duration; yields its base URL. Logs nothing."""
    quiet = type(handler.__name__, (handler,), {"log_message": lambda self, *args: None})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), quiet)
    httpd.daemon_threads = True
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{httpd.server_port}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url: str, timeout: float = 60.0) -> None:
    import httpx

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if httpx.get(url, timeout=2).status_code < 500:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.3)
    raise TimeoutError(f"{url} did not answer within {timeout}s")


@pytest.fixture(scope="session")
def chroma_server(tmp_path_factory):
    """A real `chroma run` on a free loopback port for the session."""
    chroma = shutil.which("chroma") or str(Path(sys.executable).with_name("chroma"))
    path = tmp_path_factory.mktemp("chroma-server")
    port = free_port()
    env = {**os.environ, "RUST_LOG": "warn", "ANONYMIZED_TELEMETRY": "False"}
    process = subprocess.Popen(
        [chroma, "run", "--path", str(path), "--host", "127.0.0.1", "--port", str(port)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env,
    )
    try:
        wait_for_http(f"http://127.0.0.1:{port}/api/v2/heartbeat")
        yield {"host": "127.0.0.1", "port": port}
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    """One headless Chromium per test module.

    Not per session: Playwright's sync API keeps an asyncio loop running on the main thread while it is open, and
    every async test that runs after a browser module (pytest-asyncio, LangChain's standard suites) would then fail
    with "cannot be called from a running event loop".
    """
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


# --- the app, in this process or as `newsrag serve` ------------------------------------------------------------


def fake_settings(data_dir: Path, **overrides):
    """Settings from arguments only (no developer .env, no NEWSRAG_* variables), answered by the fake model."""
    from rag.config import Settings

    return Settings(_env_file=None, data_dir=data_dir, **{"llm_backend": "fake", **overrides})


def services_over(data_dir: Path, inputs: Iterable[str | Path], **overrides):
    """Services (store, chain, uploads) over a fresh store holding the inputs; the fake model unless overridden."""
    from ui.services import Services

    services = Services(fake_settings(data_dir, **overrides))
    report = services.ingest([str(item) for item in inputs])
    assert not report.failures, report.failures
    return services


@contextmanager
def live_server(services, settings=None) -> Iterator[str]:
    """The whole app (UI + API) as `newsrag serve` builds it, under uvicorn in a thread on a free loopback port.

    `settings` (default: the services' own) decide auth and limits; yields the base URL.
    """
    import uvicorn

    from ui.server import build_app

    server = uvicorn.Server(uvicorn.Config(build_app(settings or services.settings, services), host="127.0.0.1",
                                           port=free_port(), log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError("the server did not start")
            thread.join(0.05)
        yield f"http://127.0.0.1:{server.config.port}"
    finally:
        server.should_exit = True
        thread.join(30)


def env_for(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment of a `newsrag` process on this data dir, answered by the fake model."""
    return {**os.environ, "NEWSRAG_DATA_DIR": str(data_dir), "NEWSRAG_LLM_BACKEND": "fake", **extra}


def newsrag(env: dict[str, str], *args: str, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run the `newsrag` command in its own process; with check, it must succeed."""
    done = subprocess.run([NEWSRAG, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check:
        assert done.returncode == 0, done.stderr[-3000:]
    return done


@contextmanager
def newsrag_serve(env: dict[str, str], log: Path) -> Iterator[str]:
    """`newsrag serve` in its own process on a free loopback port until the block ends; yields its base URL."""
    port = free_port()
    with log.open("wb") as out:
        server = subprocess.Popen([NEWSRAG, "serve", "--host", "127.0.0.1", "--port", str(port)], env=env,
                                  stdout=out, stderr=subprocess.STDOUT)
        try:
            wait_for_http(f"http://127.0.0.1:{port}/healthz", timeout=120)
            yield f"http://127.0.0.1:{port}"
        finally:
            server.terminate()
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait(timeout=30)
