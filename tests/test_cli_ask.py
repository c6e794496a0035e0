"""`newsrag ask` through a running `newsrag serve` (NEWSRAG_SERVER_URL), and its fallback when none answers."""

from __future__ import annotations

import base64
import json
from http.server import BaseHTTPRequestHandler
from typing import ClassVar

from click.testing import CliRunner

from rag.prompts import ABSTAIN_TEXT
from rag.types import Answer, Citation
from ui.cli import cli

from conftest import free_port, serve_http

ANSWER = Answer(question="Who left?", standalone_question="Who left?", answer="US forces left the base. [1]",
                citations=[Citation(n=1, passage_id="a-0000", title="Forces leave", date="2026-01-18",
                                    outlet="Wire", url="", text="US forces left the base.",
                                    quote="US forces left the base.")])
LOGIN = "Basic " + base64.b64encode(b"ann:secret").decode()


class AskRoute(BaseHTTPRequestHandler):
    """/api/ask as `newsrag serve` answers it, behind HTTP Basic; it keeps the bodies it was sent."""

    received: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        if self.headers.get("Authorization") != LOGIN:
            self.send_response(401)
            self.end_headers()
            return
        self.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        body = json.dumps(ANSWER.model_dump(mode="json")).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_ask_prints_the_servers_answer_and_sends_the_filters(monkeypatch):
    with serve_http(AskRoute) as url:
        monkeypatch.setenv("NEWSRAG_SERVER_URL", url.replace("http://", "http://ann:secret@"))
        result = CliRunner().invoke(cli, ["ask", "Who left?", "--outlet", "Wire", "--k", "3"])
    assert result.exit_code == 0, result.output
    assert "US forces left the base. [1]" in result.output and "“US forces left the base.”" in result.output
    assert AskRoute.received[-1] == {"question": "Who left?", "k": 3, "mode": None,
                                     "filters": {"date_from": None, "date_to": None, "outlet": "Wire"}}


def test_a_server_that_needs_a_login_says_so_without_printing_the_password(monkeypatch):
    with serve_http(AskRoute) as url:
        monkeypatch.setenv("NEWSRAG_SERVER_URL", url.replace("http://", "http://ann:wrong@"))
        result = CliRunner().invoke(cli, ["ask", "Who left?"])
    assert result.exit_code == 1 and "needs a login" in result.output and "wrong" not in result.output


def test_with_no_server_listening_the_question_is_answered_in_process(monkeypatch):
    monkeypatch.setenv("NEWSRAG_SERVER_URL", f"http://127.0.0.1:{free_port()}")
    monkeypatch.setenv("NEWSRAG_LLM_BACKEND", "fake")
    result = CliRunner().invoke(cli, ["ask", "Who left?"])
    assert result.exit_code == 0, result.output
    assert "answering in this process" in result.stderr and ABSTAIN_TEXT in result.stdout  # the store is empty


class StreamRoute(BaseHTTPRequestHandler):
    """/api/ask?stream=true as `newsrag serve` streams it (sse-starlette's CRLF lines): passages, tokens, answer;
    or, with the question "fail", an error event after a token."""

    def do_POST(self) -> None:
        question = json.loads(self.rfile.read(int(self.headers["Content-Length"])))["question"]
        assert self.path.endswith("?stream=true"), self.path
        events = [("passages", "[]"), ("token", json.dumps("US forces ")), ("token", json.dumps("left. [1]"))]
        events.append(("error", json.dumps({"detail": "the model stopped"})) if question == "fail"
                      else ("answer", ANSWER.model_dump_json()))
        body = "".join(f"event: {name}\r\ndata: {data}\r\n\r\n" for name, data in events).encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def test_ask_stream_prints_the_servers_tokens_then_its_verified_answer(monkeypatch):
    with serve_http(StreamRoute) as url:
        monkeypatch.setenv("NEWSRAG_SERVER_URL", url)
        result = CliRunner().invoke(cli, ["ask", "Who left?", "--stream"])
        failed = CliRunner().invoke(cli, ["ask", "fail", "--stream"])
    assert result.exit_code == 0, result.output
    streamed, verified = result.stdout.split("Verified answer:")
    assert streamed.strip() == "US forces left. [1]"
    assert "US forces left the base. [1]" in verified and "“US forces left the base.”" in verified
    assert failed.exit_code == 1 and "failed: the model stopped" in failed.output
