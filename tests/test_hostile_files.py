"""What real users feed newsrag that went wrong once: badly made exports, many copies of one file, one huge
article, uploads that share a name, file names with escape codes, symlinks out of a folder, the API's docs
and Gradio's upload route. Real Chroma and the real embedding model; the fake answering model for the API.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ingest.pipeline import ingest
from rag.config import Settings
from rag.store import Store
from ui.cli import cli
from ui.server import build_app
from ui.services import Services

from conftest import HARBOUR, env_for, fake_settings, newsrag, newsrag_serve, services_over

STORY = "Bridge reopens\nThe river bridge reopened to traffic on Monday after engineers replaced the railing.\n"
OWN_STORY = "Ferry returns\nThe island ferry returned to service on Thursday after its engine was repaired.\n"
OTHER_STORY = "Library extends hours\nThe town library will stay open until nine on weekdays from March.\n"


@pytest.fixture(scope="module")
def services(tmp_path_factory) -> Services:
    """One small store and the fake model for the API tests of this module."""
    folder = tmp_path_factory.mktemp("seed")
    (folder / "harbour.md").write_text(HARBOUR)
    return services_over(tmp_path_factory.mktemp("hostile") / "data", [folder / "harbour.md"])


@pytest.fixture(scope="module")
def client(services) -> TestClient:
    return TestClient(build_app(services.settings, services))


def stored_titles(services: Services) -> list[str]:
    return sorted(a.title for a in services.store.catalog.articles())


def uploads(services: Services) -> list[str]:
    return sorted(p.name for p in services.uploads.iterdir() if not p.name.startswith("."))


# --- 3. lone surrogates -----------------------------------------------------------------------------------------


def test_a_jsonl_line_with_a_lone_surrogate_fails_alone(tmp_path, settings, embeddings):
    feed = tmp_path / "feed.jsonl"
    lines = [
        {"title": "Ferry timetable changes", "text": "The ferry will leave at seven from Monday, the operator said."},
        {"title": "Broken", "text": "Text with a lone surrogate \ud800 inside."},
        {"title": "Bad title \udfff", "text": "A fine body about the new tram line opening in April."},
        {"title": "Market reopens", "text": "The covered market reopened on Friday after a year of repairs."},
    ]
    feed.write_text("\n".join(json.dumps(line) for line in lines) + "\n")  # json.dumps writes "\ud800" escapes
    report = ingest([str(feed)], settings, store=Store(settings, embeddings))
    failed = {r.source: r.reason for r in report.failures}
    source = os.path.realpath(feed)
    assert set(failed) == {f"{source}:2", f"{source}:3"}
    assert all("lone surrogate" in reason for reason in failed.values())
    assert report.counts["added"] == 2


def test_uploads_with_a_lone_surrogate_line_store_everything_else(client, services):
    feed = "\n".join(json.dumps(line) for line in (
        {"title": "Pool closes for repairs", "text": "The swimming pool closes for three weeks of repairs in May."},
        {"title": "Bad", "text": "Broken \ud800 text."},
    ))
    response = client.post("/api/ingest", files=[
        ("files", ("feed.jsonl", feed.encode(), "application/x-ndjson")),
        ("files", ("bridge.txt", STORY.encode(), "text/plain")),
    ])
    assert response.status_code == 200, response.text
    counts = response.json()["counts"]
    assert (counts["added"], counts["failed"]) == (2, 1), response.json()
    assert {"Pool closes for repairs", "Bridge reopens"} <= set(stored_titles(services))


def test_a_file_name_that_is_not_utf8_fails_alone_and_serve_lists_the_rest(tmp_path):
    """Byte 0xE9 in a name (Latin-1 "café") beside a good file: one failure, the good file stored and served."""
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "fine.md").write_text(HARBOUR)
    with open(os.fsencode(folder) + b"/caf\xe9.txt", "wb") as bad:
        bad.write(b"Cafe opens\n\nA cafe opened on the quay on Friday.\n")
    env = env_for(tmp_path / "data")
    done = newsrag(env, "ingest", str(folder), check=False)
    assert done.returncode == 1 and "Traceback" not in done.stderr, done.stderr[-2000:]
    assert "1 added" in done.stdout and "1 failed" in done.stdout, done.stdout
    assert "caf\ufffd.txt: the file name is not valid UTF-8" in done.stderr, done.stderr
    with newsrag_serve(env, tmp_path / "serve.log") as base:
        listed = httpx.get(f"{base}/api/sources").json()
    assert [[Path(source).name for source in a["sources"]] for a in listed] == [["fine.md"]], listed


def test_a_question_with_a_lone_surrogate_is_422_not_500(client):
    response = client.post("/api/ask", content=b'{"question": "When did the festival \\ud800 start?"}',
                           headers={"content-type": "application/json"})
    assert response.status_code == 422, response.text
    assert "lone surrogate" in response.text


# --- 4. many copies of one file -----------------------------------------------------------------------------------


def test_two_thousand_identical_files_cost_one_lookup_each(tmp_path, settings, embeddings):
    folder = tmp_path / "copies"
    folder.mkdir()
    for i in range(2000):
        (folder / f"copy-{i:04d}.txt").write_text(STORY)
    store = Store(settings, embeddings)
    started = time.monotonic()
    report = ingest([str(folder)], settings, store=store)
    elapsed = time.monotonic() - started
    assert (report.counts["added"], report.counts["duplicate"]) == (1, 1999)
    [article] = store.catalog.articles()
    assert len(article.sources) == 2000
    chunk_meta = store.collection.get(include=["metadatas"])["metadatas"]
    assert all(len(meta["sources"]) == 2000 for meta in chunk_meta)
    # was 98 s (every copy rewrote an ever longer source list); 2,000 different files take about 7 s
    print(f"2,000 identical files in {elapsed:.1f}s")
    assert elapsed < 30


# --- 5. one huge article ------------------------------------------------------------------------------------------


def test_an_article_over_the_chunk_cap_is_refused_quickly_and_the_rest_lands(tmp_path, settings, embeddings):
    sentence = "The council debated the harbour budget for many hours and finally agreed a plan. "
    huge = sentence * (5_000_000 // len(sentence))  # about 5 MB on one JSONL line: ~6,000 chunks
    feed = tmp_path / "feed.jsonl"
    feed.write_text(json.dumps({"title": "Endless minutes", "text": huge}) + "\n"
                    + json.dumps({"title": "Short one", "text": "The bakery on Mill Street opens on Sunday."}) + "\n")
    started = time.monotonic()
    report = ingest([str(feed)], settings, store=Store(settings, embeddings))
    elapsed = time.monotonic() - started
    [failure] = report.failures
    assert failure.source.endswith("feed.jsonl:1")
    assert "NEWSRAG_MAX_ARTICLE_CHUNKS" in failure.reason and "above the limit of 1,000" in failure.reason
    assert report.counts["added"] == 1
    print(f"5 MB article refused in {elapsed:.1f}s")
    assert elapsed < 60  # was over 10 minutes, embedding 8,680 chunks in one batch


def test_the_chunk_cap_is_a_setting(tmp_path, embeddings):
    settings = Settings(_env_file=None, data_dir=tmp_path / "data", max_article_chunks=2, chunk_tokens=32,
                        chunk_overlap=8)
    path = tmp_path / "long.txt"
    path.write_text("Long read\n" + "The harbour wall was rebuilt with stone from the old quarry nearby. " * 20)
    [result] = ingest([str(path)], settings, store=Store(settings, embeddings)).results
    assert result.status == "failed" and "above the limit of 2 " in result.reason


# --- 6, 7. uploads that share a name --------------------------------------------------------------------------------


def test_two_uploads_with_one_name_in_one_request_are_both_kept(client, services):
    one, other = "Tram line\nThe tram line opens in April.\n", "Bus station\nThe bus station moves in May.\n"
    response = client.post("/api/ingest", files=[
        ("files", ("twice.txt", one.encode(), "text/plain")),
        ("files", ("twice.txt", other.encode(), "text/plain")),
    ])
    assert response.status_code == 200, response.text
    assert response.json()["counts"]["added"] == 2
    assert {"twice.txt", "twice-2.txt"} <= set(uploads(services))
    assert (services.uploads / "twice.txt").read_text() == one
    assert (services.uploads / "twice-2.txt").read_text() == other
    assert {"Tram line", "Bus station"} <= set(stored_titles(services))


def test_a_later_upload_never_replaces_an_earlier_one_unless_asked(client, services):
    first = client.post("/api/ingest", files={"files": ("my story.txt", OWN_STORY.encode(), "text/plain")}).json()
    second = client.post("/api/ingest", files={"files": ("my_story.txt", OTHER_STORY.encode(), "text/plain")}).json()
    [first_source] = [r["source"] for r in first["results"]]
    [second_source] = [r["source"] for r in second["results"]]
    assert first_source != second_source
    by_source = {s: a.title for a in services.store.catalog.articles() for s in a.sources}
    assert by_source[first_source] == "Ferry returns" and by_source[second_source] == "Library extends hours"

    again = client.post("/api/ingest", files={"files": ("my_story.txt", OWN_STORY.encode(), "text/plain")}).json()
    assert [r["source"] for r in again["results"]] == [first_source]  # the same bytes: the same file, unchanged
    assert again["counts"]["unchanged"] == 1

    edited = "Ferry returns late\nThe island ferry returned on Friday, a day later than planned.\n"
    replaced = client.post("/api/ingest", data={"replace": "true"},
                           files={"files": ("my_story.txt", edited.encode(), "text/plain")}).json()
    assert [r["source"] for r in replaced["results"]] == [first_source]
    assert replaced["counts"]["updated"] == 1
    titles = stored_titles(services)
    assert "Ferry returns late" in titles and "Ferry returns" not in titles and "Library extends hours" in titles


def test_rejected_uploads_are_not_kept_and_deleted_articles_take_their_file(client, services):
    png_as_text = b"\x89PNG\r\n\x1a\n" + bytes(range(256))
    response = client.post("/api/ingest", files={"files": ("picture.txt", png_as_text, "text/plain")})
    assert response.json()["counts"]["failed"] == 1
    assert "picture.txt" not in uploads(services)

    body = client.post("/api/ingest", files={"files": ("gone-soon.txt", b"Gone soon\nThe old pier closes.\n",
                                                       "text/plain")}).json()
    [source] = [r["source"] for r in body["results"]]
    assert "gone-soon.txt" in uploads(services)
    assert client.delete(f"/api/sources/{source}").json() == {"removed": 1}
    assert "gone-soon.txt" not in uploads(services)


# --- 8. escape codes in file names -------------------------------------------------------------------------------


def test_escape_codes_in_file_names_never_reach_the_terminal(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    hostile = folder / "\x1b[2J\x1b]0;owned\x07red\r.txt"
    hostile.write_bytes(b"\x89PNG\r\n\x1a\nnot text")
    result = CliRunner().invoke(cli, ["ingest", str(folder), str(folder / "\x1b[31mmissing.md")])
    assert result.exit_code == 1
    assert "failed:" in result.output and "␛[2J" in result.output and "␛[31mmissing.md" in result.output
    assert not any(char in result.output for char in "\x1b\x07\r")


def test_escape_codes_in_stored_file_names_never_reach_the_terminal_in_sources_or_delete(tmp_path):
    """A good article under a name holding an OSC title sequence and a colour code: `sources` and `delete` print
    the name with the escapes as pictures (␛), as ingest's failure lines already did."""
    folder = tmp_path / "in"
    folder.mkdir()
    name = "\x1b]0;owned\x07news-\x1b[31mred\x9b2J.md"
    (folder / name).write_text(HARBOUR)
    env = env_for(tmp_path / "data")
    newsrag(env, "ingest", str(folder))
    listed = newsrag(env, "sources")
    removed = newsrag(env, "delete", name)
    for done in (listed, removed):
        shown = done.stdout + done.stderr
        assert not any(char in shown for char in "\x1b\x07\x9b"), repr(shown)
        assert "␛]0;owned" in shown and "news-␛[31mred" in shown, shown
    assert removed.stdout.startswith("Removed 'Harbour festival draws record crowds'")
    assert "No articles yet" in newsrag(env, "sources").stdout


# --- 9. symlinks out of the named folder --------------------------------------------------------------------------


def test_symlinks_out_of_a_named_folder_are_not_followed_unless_asked(tmp_path, settings, embeddings):
    outside = tmp_path / "private"
    outside.mkdir()
    (outside / "secret.txt").write_text("Private notes\nThe safe code is written on the back of the calendar.\n")
    (outside / "more").mkdir()
    (outside / "more" / "diary.md").write_text("# Diary\n\nA private diary entry about the weekend.\n")
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "bridge.txt").write_text(STORY)
    (shared / "secret.txt").symlink_to(outside / "secret.txt")
    (shared / "more").symlink_to(outside / "more")
    (shared / "same.txt").symlink_to(shared / "bridge.txt")  # inside the folder: fine

    store = Store(settings, embeddings)
    report = ingest([str(shared)], settings, store=store)
    assert {Path(r.source).name: r.reason for r in report.failures} == {
        name: "symlink leads outside the folder being ingested; not followed (pass --follow-links to follow it)"
        for name in ("secret.txt", "more")
    }
    assert sorted(a.title for a in store.catalog.articles()) == ["Bridge reopens"]

    followed = ingest([str(shared)], settings, store=store, follow_links=True)
    assert not followed.failures
    assert sorted(a.title for a in store.catalog.articles()) == ["Bridge reopens", "Diary", "Private notes"]


# --- 10, 11. Gradio's upload route and the API docs -----------------------------------------------------------------


def test_gradio_upload_refuses_other_sites_and_keeps_files_under_the_data_dir(client, services):
    files = {"files": ("note.txt", b"hello", "text/plain")}
    refused = client.post("/gradio_api/upload", files=files, headers={"Origin": "https://evil.example"})
    assert refused.status_code == 403
    accepted = client.post("/gradio_api/upload", files=files, headers={"Origin": "http://testserver"})
    assert accepted.status_code == 200, accepted.text
    [path] = accepted.json()
    assert Path(path).resolve().is_relative_to((services.settings.data_dir / "gradio-uploads").resolve())


def test_api_docs_need_the_login_when_auth_is_on(services):
    settings = fake_settings(services.settings.data_dir, ui_auth="ann:secret")
    locked = TestClient(build_app(settings, Services(settings, chain=services.chain)))
    for route in ("/openapi.json", "/docs", "/redoc"):
        assert locked.get(route).status_code == 401, route
        assert locked.get(route, auth=("ann", "secret")).status_code == 200, route
    assert "/api/ask" in locked.get("/openapi.json", auth=("ann", "secret")).json()["paths"]
    open_app = TestClient(build_app(services.settings, services))
    assert open_app.get("/openapi.json").status_code == 200 and open_app.get("/docs").status_code == 200
