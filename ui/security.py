"""Who may use the server: the login (HTTP Basic, Bearer user:password, or Gradio's login cookie on pages), the
same-site check on writes, and the guard on the files Gradio's events may name."""

from __future__ import annotations

import inspect
import json
import os
import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import gradio as gr
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


def basic_auth(users: Sequence[tuple[str, str]], logins: GradioLogins | None = None) -> Callable[..., None]:
    """A dependency requiring credentials from `users` (none required when the list is empty).

    HTTP Basic, or `Authorization: Bearer user:password`: what OpenAI clients send as their API key. With
    `logins`, a GET or HEAD from someone logged in through the chat's login form passes too, so one login
    opens the pages the chat links to (a cookie never authorises a write: that stays a CSRF question).
    """
    security = HTTPBasic(auto_error=False, realm="newsrag")

    # Depends() as a default, not in Annotated: `security` is a closure variable, which string annotations
    # (from __future__ import annotations) cannot reach when FastAPI resolves them.
    def check(request: Request, credentials: HTTPBasicCredentials | None = Depends(security)) -> None:
        if not users:
            return
        if logins is not None and request.method in ("GET", "HEAD") and logins.user(request.cookies):
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


# --- the Gradio app: who logged in through its form, whose session an event is, which files it may name, and
# which routes need a login


class GradioLogins:
    """Who Gradio's login form let in: its cookie holds a token that the mounted Gradio app maps to a user.

    `app` is set once mount_gradio_app has built the Gradio app; until then nobody is logged in.
    """

    def __init__(self) -> None:
        self.app: Any = None  # gradio.routes.App: .cookie_id names the cookies, .tokens maps token -> user

    def user(self, cookies: Mapping[str, str]) -> str | None:
        """The user logged in by these cookies, or None."""
        if self.app is None:
            return None
        cookie_id = self.app.cookie_id
        token = cookies.get(f"access-token-{cookie_id}") or cookies.get(f"access-token-unsecure-{cookie_id}")
        return self.app.tokens.get(token) if token else None


class GradioFiles:
    """The files each login uploaded through Gradio's upload route: the only server paths a Gradio event may name.

    Gradio would check this itself only after `launch()`: processing_utils._check_allowed returns at once while
    `blocks.has_launched` is false, and gr.mount_gradio_app never sets it, so a FileData dict naming
    /etc/passwd in any input (a File, chat history) was copied into its cache and served. Setting the flag is
    not enough either: it lets any file in the shared upload folder through, and it would also refuse our own
    outputs outside the working and temp dirs (the conversation export in DATA_DIR/exports). So every event's
    raw inputs are checked here, in `guard_gradio_events`, before Gradio preprocesses them.

    The upload request carries no session id, so a login is the finest owner a file can have; without
    NEWSRAG_UI_AUTH everyone is one anonymous user, and a path must still be one this server received.
    """

    def __init__(self, logins: GradioLogins) -> None:
        self.logins = logins
        self._owned: dict[str, set[str]] = {}
        self._lock = threading.Lock()

    def record(self, user: str, paths: Iterable[object]) -> None:
        """Remember files Gradio's upload route just stored for `user`; files Gradio has since deleted are forgotten."""
        with self._lock:
            owned = {path for path in self._owned.get(user, set()) if os.path.exists(path)}
            owned.update(os.path.realpath(path) for path in paths if isinstance(path, str))
            self._owned[user] = owned

    def refusal(self, user: str, inputs: object) -> str | None:
        """Why an event with these raw inputs must not run for `user` in this session, or None when it may."""
        with self._lock:
            owned = self._owned.get(user, set())
            if any(os.path.realpath(path) not in owned for path in _file_paths(inputs)):
                return "A file given to this action was not uploaded in this session; upload it first."
        return None


def _file_paths(value: object) -> Iterator[str]:
    """Every "path" of a file-like dict anywhere in an event's inputs (FileData, with or without its meta tag)."""
    if isinstance(value, dict):
        if isinstance(value.get("path"), str):
            yield value["path"]
        for item in value.values():
            yield from _file_paths(item)
    elif isinstance(value, (list, tuple)):
        for item in value:
            yield from _file_paths(item)


class GradioSessions:
    """Which login each Gradio session hash belongs to: the first one that used it.

    Gradio keeps a session's state (the conversation id, the feedback id just rated) under a hash the client
    chose, and gives it to whoever sends that hash; another login sending it is refused here. Without
    NEWSRAG_UI_AUTH there is one anonymous user and nothing to tell apart.
    """

    MAX_SESSIONS = 10_000  # as many as Gradio keeps states for

    def __init__(self) -> None:
        self._owners: OrderedDict[str, str] = OrderedDict()
        self._lock = threading.Lock()

    def refusal(self, user: str, session_hash: str | None) -> str | None:
        """Why `user` may not act in this session, or None."""
        if not session_hash:
            return None
        with self._lock:
            owner = self._owners.setdefault(session_hash, user)
            self._owners.move_to_end(session_hash)
            while len(self._owners) > self.MAX_SESSIONS:
                self._owners.popitem(last=False)
        return None if owner == user else "This page's session belongs to another login: reload the page."


def guard_gradio_events(demo: gr.Blocks, files: GradioFiles, sessions: GradioSessions) -> None:
    """Check every event with `files` and `sessions` before Gradio touches its inputs: one place for all events.

    Blocks.process_api is where the queue, /gradio_api/run and /gradio_api/call all hand an event its inputs.
    """
    original = demo.process_api
    signature = inspect.signature(original)

    async def process_api(*args: Any, **kwargs: Any) -> dict[str, Any]:
        given = signature.bind(*args, **kwargs).arguments
        request = given.get("request")
        request = request[0] if isinstance(request, list) and request else request
        user = getattr(request, "username", None) or ""
        if problem := sessions.refusal(user, given.get("session_hash")) or files.refusal(user, given.get("inputs")):
            raise gr.Error(problem)
        return await original(*args, **kwargs)

    demo.process_api = process_api  # type: ignore[method-assign]


# Gradio routes its login page needs before anyone has logged in; with auth on, every other /gradio_api
# route needs the login (Gradio itself leaves /cancel, /reset and /heartbeat open).
OPEN_GRADIO_ROUTES = frozenset({"login_check", "user", "token", "app_id", "theme.css"})


class GradioGate:
    """ASGI middleware: with auth, a login for every /gradio_api route; always, a record of who uploaded what.

    Upload responses are read to record their paths in `files`; the request goes without Accept-Encoding
    so that the answer is plain JSON, not Brotli.
    """

    def __init__(self, app: Callable, files: GradioFiles, auth: bool) -> None:
        self.app, self.files, self.auth = app, files, auth

    async def __call__(self, scope: dict, receive: Callable, send: Callable) -> None:
        path = scope.get("path", "")
        if scope["type"] != "http" or not path.startswith("/gradio_api/"):
            await self.app(scope, receive, send)
            return
        user = self.files.logins.user(Request(scope).cookies)
        if self.auth and user is None and path.removeprefix("/gradio_api/").strip("/") not in OPEN_GRADIO_ROUTES:
            await PlainTextResponse("login required", status_code=401)(scope, receive, send)
            return
        if path.rstrip("/") != "/gradio_api/upload":
            await self.app(scope, receive, send)
            return
        status, body = 0, bytearray()

        async def record(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            elif message["type"] == "http.response.body" and status == 200:
                body.extend(message.get("body", b""))
                if not message.get("more_body"):
                    try:
                        paths = json.loads(body)
                    except ValueError:  # not Gradio's list of paths: nothing recorded, so nothing may be named
                        paths = []
                    self.files.record(user or "", paths if isinstance(paths, list) else [])
            await send(message)

        headers = [(name, value) for name, value in scope["headers"] if name.lower() != b"accept-encoding"]
        await self.app({**scope, "headers": headers}, receive, record)
