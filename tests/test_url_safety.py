"""URL safety beyond what test_loaders.py covers (schemes, loopback/private/link-local literals, redirect hops,
size caps, a silent server, a server dripping its body): headers dripped slowly, compressed bodies, odd
spellings of local addresses, DNS answers, the API path, and DNS rebinding between the check and the connection.

Everything runs against servers on 127.0.0.1 or is refused before any connection; nothing leaves the machine.
"""

from __future__ import annotations

import gzip
import io
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import ClassVar

import httpx
import pytest
from fastapi.testclient import TestClient

from ingest import fetch as fetcher
from ingest.loaders import load_source
from rag.config import Settings
from rag.errors import LoadError
from rag.types import Article

from conftest import serve_http

REFUSAL = "refusing to fetch a private or local address (set NEWSRAG_ALLOW_PRIVATE_URLS=true to allow)"
PARAGRAPH = (
    "The town council approved a new cycle lane along the seafront on Tuesday. "
    "Work will start in March and should take about six weeks, the council said."
)
PAGE = f"<html><head><title>Cycle lane</title></head><body><article><p>{PARAGRAPH}</p></article></body></html>"


def fetch(url: str, settings: Settings) -> Article | LoadError:
    [item] = load_source(url, settings)
    return item


class Handler(BaseHTTPRequestHandler):
    requested: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        Handler.requested.append(self.path)
        if self.path == "/bomb":  # 5 MB of spaces in a few KB of gzip; Content-Length is the small size
            body = gzip.compress(b"<p>" + b" " * 5_000_000 + b"</p>")
            self._send(200, {"Content-Type": "text/html", "Content-Encoding": "gzip"}, body)
        elif self.path == "/article.html":
            self._send(200, {"Content-Type": "text/html; charset=utf-8"}, PAGE.encode())
        elif self.path == "/to-metadata":
            self._send(302, {"Location": "http://169.254.169.254/latest/meta-data/"}, b"")
        else:
            self._send(404, {"Content-Type": "text/plain"}, b"not found")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for key, value in headers.items():
            self.send_header(key, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with serve_http(Handler) as url:
        yield url


@pytest.fixture
def dripping_headers() -> Iterator[str]:
    """A raw server that sends its status line, then one header byte every 50 ms for up to 30 s."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen()
    stop = threading.Event()

    def drip(conn: socket.socket) -> None:
        with conn:
            conn.recv(4096)
            try:
                conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Slow: ")
                for _ in range(600):
                    if stop.is_set():
                        return
                    conn.sendall(b"a")
                    time.sleep(0.05)
            except OSError:
                pass  # the client hung up, as it should

    def accept() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/story.html"
    stop.set()
    listener.close()


@pytest.fixture
def no_network(monkeypatch) -> list[str]:
    """Fail instead of connecting: a check that should have refused the URL must not fall through to a fetch."""
    attempted: list[str] = []

    def refuse(self, method, url, **kwargs):
        attempted.append(str(url))
        raise httpx.ConnectError("connection blocked by the test")

    monkeypatch.setattr(httpx.Client, "stream", refuse)
    return attempted


# --- timeouts and caps ---------------------------------------------------------------------------------------


def test_headers_dripped_byte_by_byte_are_cut_off_by_the_timeout(dripping_headers, tmp_path):
    """httpx's timeout is per read, so each byte resets it; the whole fetch must still end near url_timeout."""
    settings = Settings(_env_file=None, data_dir=tmp_path, allow_private_urls=True, url_timeout=0.5)
    started = time.monotonic()
    error = fetch(dripping_headers, settings)
    elapsed = time.monotonic() - started
    assert isinstance(error, LoadError)
    assert error.reason == "download took longer than 0.5 s (NEWSRAG_URL_TIMEOUT)"
    assert elapsed < 0.5 + fetcher.WATCHDOG_GRACE + 1.5, elapsed  # not the 30 s the server would take


def test_a_compressed_body_is_capped_by_its_decoded_size(server, tmp_path):
    settings = Settings(_env_file=None, data_dir=tmp_path, allow_private_urls=True, max_file_bytes=20_000)
    error = fetch(f"{server}/bomb", settings)
    assert isinstance(error, LoadError)
    assert error.reason == "response larger than 20000 bytes (NEWSRAG_MAX_FILE_BYTES)"


# --- addresses -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("url", [
    "http://0x7f000001/",                 # hex
    "http://127.1/",                      # short form
    "http://LOCALHOST:8080/",             # case
    "http://public.example@127.0.0.1/",   # user info that looks like a host
    "http://[::]/",                       # unspecified
    "http://[::127.0.0.1]/",              # IPv4-compatible IPv6
    "http://[64:ff9b::a00:1]/",           # NAT64 of 10.0.0.1
    "http://[2002:7f00:1::]/",            # 6to4 of 127.0.0.1
    "http://[fec0::1]/",                  # deprecated site-local
    "http://192.0.0.8/",                  # IETF protocol assignments
    "http://198.18.0.1/",                 # benchmarking
])
def test_other_spellings_of_local_addresses_are_refused(url, tmp_path, no_network):
    error = fetch(url, Settings(_env_file=None, data_dir=tmp_path))
    assert isinstance(error, LoadError) and error.reason == REFUSAL
    assert no_network == []


def fake_dns(monkeypatch, answers: dict[str, list[str]]) -> None:
    real = socket.getaddrinfo

    def getaddrinfo(host, port, *args, **kwargs):
        if host in answers:
            family = {4: socket.AF_INET, 6: socket.AF_INET6}
            return [(family[6 if ":" in a else 4], socket.SOCK_STREAM, 6, "", (a, port)) for a in answers[host]]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(fetcher.socket, "getaddrinfo", getaddrinfo)


def test_a_name_with_any_private_address_in_its_dns_answer_is_refused(tmp_path, monkeypatch, no_network):
    fake_dns(monkeypatch, {
        "mixed.example": ["93.184.215.14", "10.0.0.5"],
        "intranet.example": ["192.168.1.10"],
        "public.example": ["93.184.215.14", "2606:2800:21f:cb07:6820:80da:af6b:8b2c"],
    })
    settings = Settings(_env_file=None, data_dir=tmp_path)
    for host in ("mixed.example", "intranet.example"):
        error = fetch(f"https://{host}/story.html", settings)
        assert isinstance(error, LoadError) and error.reason == REFUSAL, host
    assert no_network == []  # refused before connecting

    passed = fetch("https://public.example/story.html", settings)  # all public: the check lets it through
    assert no_network == ["https://public.example/story.html"]
    assert isinstance(passed, LoadError) and passed.reason.endswith("connection blocked by the test")


def test_allowing_private_urls_is_an_explicit_setting(server, tmp_path):
    """The same local page: refused by default, loaded with NEWSRAG_ALLOW_PRIVATE_URLS=true."""
    Handler.requested.clear()
    refused = fetch(f"{server}/article.html", Settings(_env_file=None, data_dir=tmp_path))
    assert isinstance(refused, LoadError) and refused.reason == REFUSAL
    assert Handler.requested == []
    allowed = fetch(f"{server}/article.html", Settings(_env_file=None, data_dir=tmp_path, allow_private_urls=True))
    assert isinstance(allowed, Article) and PARAGRAPH in allowed.text


def test_a_redirect_to_the_cloud_metadata_address_is_refused(server, tmp_path, monkeypatch):
    """The first hop passes (as a public host would); its redirect to 169.254.169.254 is checked and refused."""
    real = fetcher.is_public
    monkeypatch.setattr(fetcher, "is_public", lambda address: address == "127.0.0.1" or real(address))
    Handler.requested.clear()
    error = fetch(f"{server}/to-metadata", Settings(_env_file=None, data_dir=tmp_path))
    assert isinstance(error, LoadError) and error.reason == REFUSAL
    assert Handler.requested == ["/to-metadata"]


def test_dns_rebinding_between_check_and_connect(server, tmp_path, monkeypatch):
    """First answer public (passes the check), later answers 127.0.0.1: the connection goes to the checked one."""
    port = int(server.rsplit(":", 1)[1])
    calls = {"n": 0}
    connected: list[tuple] = []
    real, real_connect = socket.getaddrinfo, socket.create_connection

    def rebinding(host, *args, **kwargs):
        if host != "rebind.example":
            return real(host, *args, **kwargs)
        calls["n"] += 1
        address = "93.184.215.14" if calls["n"] == 1 else "127.0.0.1"
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port))]

    def connect(address, *args, **kwargs):  # nothing leaves the machine: the public address is never dialled
        connected.append(address)
        if address[0] != "127.0.0.1":
            raise ConnectionRefusedError("test: not dialling out")
        return real_connect(address, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)  # both the check and an unpinned connect would use it
    monkeypatch.setattr(socket, "create_connection", connect)
    Handler.requested.clear()
    result = fetch(f"http://rebind.example:{port}/article.html", Settings(_env_file=None, data_dir=tmp_path))
    assert Handler.requested == [], "the local server was reached through a rebound name"
    assert isinstance(result, LoadError) and "cannot reach" in result.reason
    assert calls["n"] == 1 and connected == [("93.184.215.14", port)]  # resolved once, dialled what was checked


def test_a_pinned_connection_keeps_the_name_in_the_host_header(server, tmp_path, monkeypatch):
    """The pinned address is dialled, but the request still names the host (Host header; SNI for https)."""
    port = int(server.rsplit(":", 1)[1])
    calls = {"n": 0}
    real = socket.getaddrinfo
    hosts: list[str] = []

    def resolver(host, *args, **kwargs):
        if host == "news.example":
            calls["n"] += 1
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    monkeypatch.setattr(fetcher, "is_public", lambda address: True)  # let the stub's 127.0.0.1 pass as public
    original = Handler.do_GET
    monkeypatch.setattr(Handler, "do_GET", lambda self: (hosts.append(self.headers["Host"]), original(self)))
    result = fetch(f"http://news.example:{port}/article.html", Settings(_env_file=None, data_dir=tmp_path))
    assert isinstance(result, Article) and result.title == "Cycle lane"
    assert hosts == [f"news.example:{port}"] and calls["n"] == 1


# --- the API applies the same rules --------------------------------------------------------------------------


def test_api_ingest_refuses_local_urls_by_default(server, tmp_path):
    from ui.server import build_app
    from ui.services import Services

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", llm_backend="fake")
    client = TestClient(build_app(settings, Services(settings)))
    Handler.requested.clear()
    response = client.post("/api/ingest", data={"urls": f"{server}/article.html\nhttp://169.254.169.254/"})
    assert response.status_code == 200, response.text
    results = response.json()["results"]
    assert [(r["source"], r["status"], r["reason"]) for r in results] == [
        (f"{server}/article.html", "failed", REFUSAL),
        ("http://169.254.169.254/", "failed", REFUSAL),
    ]
    assert Handler.requested == []
    assert client.post("/api/ingest", data={"urls": "file:///etc/passwd"}).status_code == 400
    assert client.get("/api/sources").json() == []


def test_upload_of_an_html_file_never_fetches_its_links(server, tmp_path):
    """A page's <img>, <link> and <script src> are text to trafilatura: loading a file makes no request."""
    from ui.services import Services

    settings = Settings(_env_file=None, data_dir=tmp_path / "data", llm_backend="fake", allow_private_urls=True)
    services = Services(settings)
    page = (f'<html><head><link rel="stylesheet" href="{server}/style.css"><script src="{server}/app.js"></script>'
            f'</head><body><article><img src="{server}/pixel.gif"><p>{PARAGRAPH}</p></article></body></html>')
    Handler.requested.clear()
    saved = services.receive([("story.html", io.BytesIO(page.encode()))])
    report = services.ingest([str(p) for p in saved])
    assert report.counts["added"] == 1
    assert Handler.requested == []
    assert Path(saved[0]).parent == services.uploads
