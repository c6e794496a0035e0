"""Fetching an article from an http(s) URL, safely: every hop's address checked, size and time bounded.

Hosts on loopback, private, link-local and other local networks are refused unless NEWSRAG_ALLOW_PRIVATE_URLS
(SECURITY.md says what this guards against and what it cannot).
"""

from __future__ import annotations

import ipaddress
import socket
import threading
import time
from pathlib import PurePosixPath
from typing import Any

import httpcore
import httpx

from ingest.decode import decode
from ingest.formats import html_article, one_line, pdf_article, text_article
from rag.config import Settings
from rag.errors import LoadError
from rag.types import Article

MAX_REDIRECTS = 5
WATCHDOG_GRACE = 1.0  # seconds past NEWSRAG_URL_TIMEOUT before a fetch's connection is shut
_CONTENT_KINDS = {"text/html": "html", "application/xhtml+xml": "html", "text/plain": "txt", "application/pdf": "pdf"}
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_IETF_PROTOCOL_ASSIGNMENTS = ipaddress.ip_network("192.0.0.0/24")
_REQUEST_HEADERS = {
    "User-Agent": "newsrag/0.1 (article loader)",
    "Accept": "text/html,application/xhtml+xml,text/plain,application/pdf;q=0.9",
}


def fetch_article(url: str, settings: Settings) -> Article:
    """GET with manual redirects so every hop's address is checked; the body is capped while it streams.

    httpx's timeout bounds each network wait, not the whole fetch: a deadline checked between body chunks
    stops a server that drips the body, and a watchdog shuts the connection shortly after the deadline,
    for a server that drips its headers (httpx reads up to 16 KB of them, one slow byte at a time).
    """
    current = url
    deadline = time.monotonic() + settings.url_timeout
    too_slow = LoadError(url, f"download took longer than {settings.url_timeout:g} s (NEWSRAG_URL_TIMEOUT)")
    pinned = _PinnedBackend()
    transport = None if settings.allow_private_urls else httpx.HTTPTransport()
    if transport is not None:  # connect only to the addresses _check_address approved, never resolving again
        transport._pool = httpcore.ConnectionPool(ssl_context=httpx.create_ssl_context(), network_backend=pinned)
    with (
        _Watchdog(settings.url_timeout + WATCHDOG_GRACE) as watchdog,
        httpx.Client(timeout=settings.url_timeout, follow_redirects=False, headers=_REQUEST_HEADERS,
                     transport=transport) as client,
    ):
        for _ in range(MAX_REDIRECTS + 1):
            pinned.pin(*_check_address(url, current, settings))
            try:
                with client.stream("GET", current, extensions={"trace": watchdog.trace}) as response:
                    if response.is_redirect:
                        current = str(response.url.join(response.headers["location"]))
                        continue
                    kind, body = _read_response(url, response, settings, deadline)
                    charset = response.charset_encoding
            except httpx.TimeoutException:
                raise LoadError(url, f"cannot reach {current}: no answer within {settings.url_timeout:g} s") from None
            except (httpx.HTTPError, httpx.InvalidURL) as exc:
                if watchdog.expired:
                    raise too_slow from None
                raise LoadError(url, f"cannot reach {current}: {one_line(exc)}") from None
            fallback_title = PurePosixPath(httpx.URL(current).path).stem or httpx.URL(current).host
            if kind == "pdf":
                return pdf_article(url, body, fallback_title)
            text = decode(url, body, declared=charset)
            if kind == "html":
                return html_article(url, text, fallback_title, page_url=current)
            return text_article(url, text, fallback_title)
    raise LoadError(url, f"too many redirects (more than {MAX_REDIRECTS})")


class _PinnedBackend(httpcore.SyncBackend):
    """httpcore's network backend, connecting each host name to the address the check approved for it.

    DNS rebinding: resolving again to connect could give another answer (127.0.0.1) than the one checked.
    The URL keeps its name, so the Host header and TLS's SNI and certificate check still use the name.
    """

    def __init__(self) -> None:
        self._addresses: dict[str, str] = {}

    def pin(self, host: str, address: str | None) -> None:
        if address is not None:
            self._addresses[host] = address

    def connect_tcp(self, host: str, port: int, *args: Any, **kwargs: Any) -> httpcore.NetworkStream:
        address = self._addresses.get(host)
        if address is None:
            raise httpcore.ConnectError(f"{host} was not checked before connecting")
        return super().connect_tcp(address, port, *args, **kwargs)


class _Watchdog:
    """Shuts down the sockets of one fetch when its time is up, which makes a blocked read return at once.

    The sockets come from httpx's documented "trace" extension (connection.connect_tcp.complete).
    """

    def __init__(self, seconds: float) -> None:
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> _Watchdog:
        self._timer.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._timer.cancel()

    def trace(self, event: str, info: dict) -> None:
        if event != "connection.connect_tcp.complete":
            return
        sock = info["return_value"].get_extra_info("socket")
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    try:
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass  # already closed


def _check_address(url: str, current: str, settings: Settings) -> tuple[str, str | None]:
    """Refuse non-http(s) redirects and, unless allowed, hosts on loopback, private or other local networks.

    Returns the host name httpx will connect to and the checked address to connect it to (None when private
    addresses are allowed and nothing was checked).
    """
    try:
        parsed = httpx.URL(current)
    except httpx.InvalidURL as exc:
        raise LoadError(url, f"not a valid URL: {one_line(exc)}") from None
    if parsed.scheme not in ("http", "https") or not parsed.host:
        raise LoadError(url, f"{current} is not an http(s) URL with a host name")
    if settings.allow_private_urls:
        return parsed.host, None
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        host = parsed.raw_host.decode("ascii")  # the IDNA-encoded name httpx will connect to
        addresses = [str(info[4][0]) for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]
    except (OSError, UnicodeError) as exc:
        raise LoadError(url, f"cannot reach {current}: {one_line(exc)}") from None
    if not addresses or not all(is_public(address) for address in addresses):
        raise LoadError(
            url, "refusing to fetch a private or local address (set NEWSRAG_ALLOW_PRIVATE_URLS=true to allow)"
        )
    return host, addresses[0]


def is_public(address: str) -> bool:
    """is_global is False for loopback, private, link-local, unspecified and shared (CGNAT) ranges.

    IPv6 forms that carry an IPv4 address (mapped, 6to4, NAT64) are judged by that address; the rest of
    ::/8 (IPv4-compatible ::a.b.c.d, local-use NAT64), deprecated site-local fec0::/10 and 192.0.0.0/24
    are refused too, as Python 3.11.7's is_global still counts them as global.
    """
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 scope id such as %eth0
    if isinstance(ip, ipaddress.IPv6Address):
        embedded = ip.ipv4_mapped or ip.sixtofour
        if embedded is None and ip in _NAT64:
            embedded = ipaddress.IPv4Address(int(ip) & 0xFFFF_FFFF)
        if embedded is not None:
            return is_public(str(embedded))
        if ip.is_reserved or ip.is_site_local:
            return False
    elif ip in _IETF_PROTOCOL_ASSIGNMENTS:
        return False
    return ip.is_global and not ip.is_multicast


def _read_response(url: str, response: httpx.Response, settings: Settings, deadline: float) -> tuple[str, bytes]:
    if response.status_code >= 400:
        raise LoadError(url, f"HTTP {response.status_code}")
    media_type = response.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    kind = _CONTENT_KINDS.get(media_type)
    if kind is None:
        raise LoadError(url, f"unsupported content type {media_type or '(none)'}; newsrag reads HTML, text and PDF")
    limit = settings.max_file_bytes
    too_big = LoadError(url, f"response larger than {limit} bytes (NEWSRAG_MAX_FILE_BYTES)")
    declared = response.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_big
    body = bytearray()
    for chunk in response.iter_bytes():
        body += chunk
        if len(body) > limit:
            raise too_big
        if time.monotonic() > deadline:
            raise LoadError(url, f"download took longer than {settings.url_timeout:g} s (NEWSRAG_URL_TIMEOUT)")
    if not body.strip():
        raise LoadError(url, "response is empty")
    return kind, bytes(body)

