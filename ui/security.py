"""Who may use the server: the login (HTTP Basic, or Bearer user:password) and the same-site check on writes."""

from __future__ import annotations

import secrets
from collections.abc import Callable, Sequence
from pathlib import Path
from urllib.parse import urlsplit

from fastapi import Depends, HTTPException, Request
from fastapi.responses import PlainTextResponse, Response
from fastapi.security import HTTPBasic, HTTPBasicCredentials

from rag.errors import ConfigError


def parse_auth(value: str | None) -> list[tuple[str, str]]:
    """settings.ui_auth as (user, password) pairs: one "user:password", or a file of such lines."""
    if not value:
        return []
    path = Path(value).expanduser()
    lines = path.read_text(encoding="utf-8").splitlines() if path.is_file() else [value]
    pairs = []
    for line in (raw.strip() for raw in lines):
        if not line or line.startswith("#"):
            continue
        user, sep, password = line.partition(":")
        if not (sep and user and password):
            raise ConfigError("NEWSRAG_UI_AUTH must be user:password or the path of a file of user:password lines")
        pairs.append((user, password))
    if not pairs:
        raise ConfigError(f"NEWSRAG_UI_AUTH names {path}, which holds no user:password lines")
    return pairs


def basic_auth(users: Sequence[tuple[str, str]]) -> Callable[..., None]:
    """A dependency requiring credentials from `users` (none required when the list is empty).

    HTTP Basic, or `Authorization: Bearer user:password`: what OpenAI clients send as their API key.
    """
    security = HTTPBasic(auto_error=False, realm="newsrag")

    # Depends() as a default, not in Annotated: `security` is a closure variable, which string annotations
    # (from __future__ import annotations) cannot reach when FastAPI resolves them.
    def check(request: Request, credentials: HTTPBasicCredentials | None = Depends(security)) -> None:
        if not users:
            return
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        if credentials is None and scheme.lower() == "bearer" and ":" in token:
            user, _, password = token.strip().partition(":")
            credentials = HTTPBasicCredentials(username=user, password=password)
        if credentials is not None:
            given = (credentials.username.encode(), credentials.password.encode())
            for user, password in users:
                # evaluate both comparisons every time so timing does not reveal which part matched
                user_ok = secrets.compare_digest(given[0], user.encode())
                password_ok = secrets.compare_digest(given[1], password.encode())
                if user_ok and password_ok:
                    return
        raise HTTPException(401, "login required", headers={"WWW-Authenticate": 'Basic realm="newsrag"'})

    return check


def same_site_only(request: Request) -> None:
    """Refuse browser requests sent by other sites (CSRF) to the API's writing routes.

    A page anywhere on the web can make the user's browser POST a multipart form to
    http://127.0.0.1:7860/api/ingest, which would plant articles (and the instructions in them) in the
    library. Browsers send an Origin header with every cross-site POST or DELETE; scripts, curl and
    gradio_client send none and are not affected.
    """
    if origin := _cross_site_origin(request):
        raise HTTPException(403, f"cross-site request from {origin} refused; the API serves scripts and this site only")


def _cross_site_origin(request: Request) -> str | None:
    """The Origin of a writing request sent by another site, or None (same site, or not from a browser)."""
    origin = request.headers.get("origin")
    if origin is None or request.method in ("GET", "HEAD", "OPTIONS"):
        return None
    hosts = {request.headers.get(name, "").lower() for name in ("host", "x-forwarded-host")} - {""}
    parts = urlsplit(origin)
    return origin if parts.scheme not in ("http", "https") or parts.netloc.lower() not in hosts else None


async def same_site_uploads(request: Request, call_next: Callable) -> Response:
    """Middleware: Gradio's own upload route gets the same CSRF check as the API (Gradio has none without auth)."""
    if request.url.path.endswith("/gradio_api/upload") and (origin := _cross_site_origin(request)):
        return PlainTextResponse(f"cross-site upload from {origin} refused", status_code=403)
    return await call_next(request)
