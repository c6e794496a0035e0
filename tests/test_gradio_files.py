"""No Gradio event can be made to read a server file: a sweep of every event in /config against `newsrag serve`.

Each event (dependency) the running server lists in /config is sent a foreign FileData in every input (a
File's list, a chat history's file block and bare file dict, and the dict itself in any other slot), through
/gradio_api/queue/join and /gradio_api/run/predict, with and without NEWSRAG_UI_AUTH. Foreign means a file
this user did not upload: the auth users file, /etc/passwd, a secret text file, another user's upload, and an
http URL of a local server. The secrets must never come back (in the event's messages, in a /gradio_api/file=
URL it names, or copied under the data dir), nothing may be ingested, and every event with inputs must be
refused by the guard itself, so a new event cannot reopen the hole unnoticed. gradio_client calls get the
same. The legitimate path still works: a file uploaded through /gradio_api/upload is ingested by the
Upload tab. Fake model throughout.
"""

from __future__ import annotations

import json
import re
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import httpx
import pytest

from conftest import HARBOUR, env_for, newsrag, newsrag_serve, serve_http

SECRET = "CANARY-5f1e-never-served"
PASSWORD = "pw-CANARY-users-file"
REFUSED = "was not uploaded in this session"
PASSWD_LINE = "root:x:0:0"
BOBS = "CANARY-bobs-own-upload"
MINE = ("---\ntitle: Ferry timetable changes\ndate: 2026-01-11\noutlet: Test Gazette\n---\n"
        "The winter ferry timetable starts on Monday with {sailings} sailings a day instead of six.\n")


class _Secret(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        body = f"<html><body><p>{SECRET} over http</p></body></html>".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def file_data(path: str) -> dict:
    return {"path": path, "meta": {"_type": "gradio.FileData"}, "orig_name": Path(path).name}


def foreign_value(component: dict, path: str) -> object:
    """A value for this input that names `path` the way its component type would carry a file."""
    kind = component.get("type")
    if kind == "file":
        return [file_data(path)] if component["props"].get("file_count") != "single" else file_data(path)
    if kind == "chatbot":
        return [{"role": "user", "content": [{"type": "file", "file": file_data(path)}]},
                {"role": "user", "content": {"path": path}},
                {"role": "assistant", "content": [{"type": "text", "text": "ok"}]}]
    return file_data(path)


def read_stream(client: httpx.Client, base: str, session_hash: str) -> str:
    """Everything the queue sends this session until its event completes (or the stream closes)."""
    seen = []
    with client.stream("GET", f"{base}/gradio_api/queue/data", params={"session_hash": session_hash},
                       timeout=60) as stream:
        for line in stream.iter_lines():
            seen.append(line)
            if '"process_completed"' in line or '"close_stream"' in line:
                break
    return "\n".join(seen)


def call_every_event(client: httpx.Client, base: str, path: str) -> list[tuple[int, str, str]]:
    """Send each backend event of /config the foreign path, queued and direct; (fn_index, route, answer text)."""
    config = client.get(f"{base}/config").json()
    components = {c["id"]: c for c in config["components"]}
    answers = []
    for dep in config["dependencies"]:
        if not dep.get("backend_fn"):
            continue
        data = [foreign_value(components[i], path) for i in dep["inputs"]]
        body = {"data": data, "fn_index": dep["id"], "event_data": None,
                "trigger_id": (dep.get("targets") or [[None]])[0][0]}
        session_hash = uuid.uuid4().hex[:11]
        joined = client.post(f"{base}/gradio_api/queue/join", json={**body, "session_hash": session_hash})
        text = joined.text + (read_stream(client, base, session_hash) if joined.status_code == 200 else "")
        answers.append((dep["id"], "queue", text))
        direct = client.post(f"{base}/gradio_api/run/predict", json={**body, "session_hash": uuid.uuid4().hex[:11]})
        answers.append((dep["id"], "run", direct.text))
    return answers


def served_urls(text: str) -> set[str]:
    return set(re.findall(r"/gradio_api/file=[^\"'\\\s]+", text))


def assert_nothing_leaked(client: httpx.Client, base: str, data_dir: Path, answers: list, count: int) -> None:
    secrets = (SECRET, PASSWORD, PASSWD_LINE, BOBS)
    for fn_index, route, text in answers:
        assert not any(secret in text for secret in secrets), (fn_index, route, text[:500])
        for url in served_urls(text):
            got = client.get(base + url).text
            assert not any(secret in got for secret in secrets), (fn_index, url)
    for copied in data_dir.rglob("*"):  # Gradio's upload folder: no copy of a foreign file
        if copied.is_file():
            raw = copied.read_bytes()
            assert SECRET.encode() not in raw and PASSWORD.encode() not in raw and b"root:x:0:0" not in raw, copied
    assert client.get(f"{base}/healthz").json()["articles"] == count  # nothing ingested


@pytest.fixture(scope="module")
def library(tmp_path_factory) -> Iterator[tuple[Path, Path]]:
    """A data dir holding one article, a secret file beside it (outside the data dir) and a users file."""
    root = tmp_path_factory.mktemp("gradio-files")
    (root / "harbour.md").write_text(HARBOUR, encoding="utf-8")
    (root / "secret.txt").write_text(f"Secret notes\n\n{SECRET} is the code for the vault at the harbour.\n")
    (root / "users.txt").write_text(f"alice:{PASSWORD}\nbob:bob-pw\n")
    newsrag(env_for(root / "data"), "ingest", str(root / "harbour.md"))
    yield root, root / "data"


def login(client: httpx.Client, base: str, user: str, password: str) -> None:
    assert client.post(f"{base}/login", data={"username": user, "password": password}).status_code == 200


@pytest.mark.slow
@pytest.mark.parametrize("auth", [False, True], ids=["no-auth", "auth"])
def test_no_event_reads_a_file_its_user_did_not_upload(library, auth):
    root, data_dir = library
    env = env_for(data_dir, **({"NEWSRAG_UI_AUTH": str(root / "users.txt")} if auth else {}))
    with newsrag_serve(env, root / f"serve-{auth}.log") as base, serve_http(_Secret) as secret_site:
        with httpx.Client(timeout=60) as bob, httpx.Client(timeout=60) as alice:
            if auth:
                login(alice, base, "alice", PASSWORD)
                login(bob, base, "bob", "bob-pw")
            count = alice.get(f"{base}/healthz").json()["articles"]
            # bob's upload is on the server and alice may not name it; without auth both are one anonymous
            # user (an upload request carries no session), so there only the other foreign paths count
            uploaded = bob.post(f"{base}/gradio_api/upload",
                                files=[("files", ("bobs.txt", f"Bob's notes\n\n{BOBS} by bob.\n"))]).json()[0]
            foreign = [str(root / "secret.txt"), str(root / "users.txt"), "/etc/passwd", f"{secret_site}/x.txt"]
            if auth:
                foreign.append(uploaded)
            config = alice.get(f"{base}/config").json()
            with_inputs = {d["id"] for d in config["dependencies"] if d.get("backend_fn") and d["inputs"]}
            # the probe's two reproductions are among them: the chat's history and the Upload tab's files
            assert set(_named_events(alice, base, "chat", "add_articles")) <= with_inputs
            for path in foreign:
                answers = call_every_event(alice, base, path)
                assert len({fn for fn, _, _ in answers}) >= 10  # the sweep found the events
                for fn_index, route, text in answers:
                    assert fn_index not in with_inputs or REFUSED in text, (path, fn_index, route, text[:300])
                assert_nothing_leaked(alice, base, data_dir / "gradio-uploads", answers, count)
            # and the legitimate path: alice's own upload is ingested by the Upload tab
            mine = alice.post(f"{base}/gradio_api/upload",
                              files=[("files", ("mine.md", MINE.format(sailings=4 if auth else 3)))]).json()[0]
            [add] = _named_events(alice, base, "add_articles")
            config = alice.get(f"{base}/config").json()
            dep = next(d for d in config["dependencies"] if d["id"] == add)
            components = {c["id"]: c for c in config["components"]}
            data = [[file_data(mine)] if components[i]["type"] == "file" else "" for i in dep["inputs"]]
            session_hash = uuid.uuid4().hex[:11]
            joined = alice.post(f"{base}/gradio_api/queue/join", json={
                "data": data, "fn_index": add, "session_hash": session_hash, "event_data": None,
                "trigger_id": dep["targets"][0][0]})
            assert joined.status_code == 200, joined.text
            text = read_stream(alice, base, session_hash)
            assert REFUSED not in text and '"success":true' in text.replace(" ", ""), text[-500:]
            assert alice.get(f"{base}/healthz").json()["articles"] == count + 1


def _named_events(client: httpx.Client, base: str, *names: str) -> list[int]:
    """The fn_index of the events whose Python function or api_name is one of `names`."""
    config = client.get(f"{base}/config").json()
    return [d["id"] for d in config["dependencies"] if d.get("api_name") in names]


@pytest.mark.slow
@pytest.mark.parametrize("auth", [False, True], ids=["no-auth", "auth"])
def test_gradio_client_cannot_name_a_server_file(library, auth):
    from gradio_client import Client

    root, data_dir = library
    env = env_for(data_dir, **({"NEWSRAG_UI_AUTH": str(root / "users.txt")} if auth else {}))
    with newsrag_serve(env, root / f"client-{auth}.log") as base, serve_http(_Secret) as secret_site:
        client = Client(base, auth=("alice", PASSWORD) if auth else None, verbose=False, download_files=False)
        count = httpx.get(f"{base}/healthz").json()["articles"]
        # gradio_client uploads the local files it is given (meta tagged), so a server path reaches the
        # server as a bare file dict, and a URL as it is
        for history in (
            [{"role": "user", "content": {"path": str(root / "secret.txt")}}],
            [{"role": "user", "content": [{"type": "file", "file": {"path": str(root / "users.txt")}}]}],
            [{"role": "user", "content": [{"type": "file", "file": file_data(f"{secret_site}/x.txt")}]}],
        ):
            with pytest.raises(Exception) as refused:
                client.predict("What is the code?", history, api_name="/chat")
            assert REFUSED in str(refused.value), refused.value
            assert SECRET not in str(refused.value) and PASSWORD not in str(refused.value)
        answer = client.predict("How many visitors came to the harbour festival?", [], api_name="/chat")
        assert "twelve thousand" in json.dumps(answer)  # the chat still answers
        assert httpx.get(f"{base}/healthz").json()["articles"] == count
        for copied in (data_dir / "gradio-uploads").rglob("*"):
            assert not copied.is_file() or SECRET.encode() not in copied.read_bytes()
