"""The server: the FastAPI app (/healthz, /api/*, /v1, the viewer, then the Gradio UI at "/") and running it.

The loopback host guard is ours rather than Starlette's TrustedHostMiddleware: that one answers 400 to an
HTTP request and cannot refuse a websocket cleanly, where a rebinding page should get 421 (Misdirected
Request, the right status for a request sent to the wrong name) and a closed websocket.
"""

from __future__ import annotations

import logging
import os
import threading
from collections.abc import Callable

import gradio as gr
import uvicorn
from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from starlette.routing import Mount

from rag.config import Settings
from ui.api import build_docs_router, build_router, validation_error
from ui.security import (
    GradioFiles,
    GradioGate,
    GradioLogins,
    GradioSessions,
    basic_auth,
    guard_gradio_events,
    parse_auth,
    same_site_uploads,
)
from ui.services import Services
from ui.viewer import build_viewer_router
from ui.web import CHAT_JS, CONCURRENT_ANSWERS, CSS, THEME, build_blocks


def build_app(settings: Settings, services: Services | None = None) -> FastAPI:
    """The FastAPI app: /healthz and /api/* first, then the Gradio UI mounted at "/" (routes match in order).

    Pass `services` to share one store and model between several apps in a process (the tests do);
    `settings` still decides auth and the upload limit Gradio enforces.
    """
    services = services or Services(settings)
    users = parse_auth(settings.ui_auth)
    app = FastAPI(title="newsrag", summary="Answers about news articles, with citations.",
                  openapi_url=None, docs_url=None, redoc_url=None)  # served by build_docs_router, behind the login
    app.include_router(build_docs_router(users))
    app.middleware("http")(same_site_uploads)
    app.add_exception_handler(RequestValidationError, validation_error)
    # Gradio keeps uploads in GRADIO_TEMP_DIR (default: the system temp dir): under the data dir instead
    os.environ["GRADIO_TEMP_DIR"] = str((settings.data_dir / "gradio-uploads").resolve())
    app.include_router(build_router(services, users))
    logins = GradioLogins()  # the chat's login form lets its users read the articles it links to
    app.include_router(build_viewer_router(services.store, [basic_auth(users, logins)]))
    demo = build_blocks(services)
    demo.queue(default_concurrency_limit=CONCURRENT_ANSWERS)
    files = GradioFiles(logins)
    # an event may name only files its login uploaded, and only in that login's own session
    guard_gradio_events(demo, files, GradioSessions())
    app.add_middleware(GradioGate, files=files, auth=bool(users))  # and a login for every /gradio_api route
    gr.mount_gradio_app(
        app, demo, path="/", auth=users or None, auth_message="Sign in to newsrag.", theme=THEME, css=CSS, js=CHAT_JS,
        max_file_size=settings.upload_max_bytes, ssr_mode=False,
    )
    logins.app = next(route.app for route in app.routes if isinstance(route, Mount) and route.path == "")
    return app


LOOPBACK_HOSTS = frozenset({"127.0.0.1", "localhost", "::1", "[::1]"})


def loopback_host_guard(app: Callable, bind_host: str) -> Callable:
    """On a loopback address, answer only requests addressed to a loopback name (421 otherwise).

    DNS rebinding: a web page on evil.example re-points its name at 127.0.0.1 and, being same-origin
    with itself, reads the local API and the chat. Its requests carry "Host: evil.example:7860";
    requests from the user's browser or scripts carry 127.0.0.1, localhost or [::1]. Bound to another
    address (a server, a container) the app is reached under names we cannot know, so nothing changes.
    """
    if bind_host not in LOOPBACK_HOSTS:
        return app

    async def guarded(scope, receive, send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = dict(scope["headers"]).get(b"host", b"").decode("latin-1").lower()
            name = host.rsplit(":", 1)[0] if not host.endswith("]") else host
            if name not in LOOPBACK_HOSTS:
                if scope["type"] == "websocket":
                    await send({"type": "websocket.close", "code": 1008})
                    return
                await send({"type": "http.response.start", "status": 421,
                            "headers": [(b"content-type", b"text/plain; charset=utf-8")]})
                await send({"type": "http.response.body",
                            "body": b"newsrag on a loopback address answers to 127.0.0.1, localhost or [::1] only\n"})
                return
        await app(scope, receive, send)

    return guarded


def serve(settings: Settings, host: str | None = None, port: int | None = None) -> None:
    """Run the web app with uvicorn until interrupted; the model reads its instructions while the UI starts."""
    host = host or settings.ui_host
    services = Services(settings)
    threading.Thread(target=_warm_up, args=(services,), name="newsrag-warm-up", daemon=True).start()
    uvicorn.run(loopback_host_guard(build_app(settings, services), host), host=host, port=port or settings.ui_port)


def _warm_up(services: Services) -> None:
    try:
        services.chain.warm_up()
    except Exception as exc:  # a remote backend that is down: the first question will report it properly
        logging.getLogger("newsrag").warning("model warm-up failed (%s); the first answer will be slower", exc)
