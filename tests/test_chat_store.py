"""What the chat keeps on the server (saved conversations, feedback) and the CLI's library commands."""

from __future__ import annotations

import json
import shutil
import sqlite3

import pytest
from click.testing import CliRunner

from rag.config import Settings
from rag.store import Store
from rag.types import Answer, Citation, TraceStep
from ui.answers import answer_record, feedback_fields, sources_panel
from ui.cli import cli
from ui.conversations import Conversations, conversation_markdown, title_from
from ui.feedback import FeedbackLog
from ui.render import plain_text, reader_text, render_markdown_answer

ARTICLE = """---
title: "{title}"
date: 2026-01-{day}
outlet: Test Gazette
---
The harbour festival drew about twelve thousand visitors on Saturday, organisers said.
"""
CHAT = [
    {"role": "user", "content": "How many detainees could be moved to Iraq?"},
    {"role": "assistant", "content": "Up to 7,000 \\[1\\].\n\n**Sources**\n- \\[1\\] CENTCOM moves — Desert Wire"},
]


def test_conversations_are_kept_per_user_and_survive_a_new_connection(tmp_path):
    path = tmp_path / "conversations.sqlite"
    store = Conversations(path)
    first = store.save("ann", None, CHAT)
    store.save("bob", None, [{"role": "user", "content": "Bob's question"}])
    assert store.list("ann") == [("How many detainees could be moved to Iraq?", first)]

    reopened = Conversations(path)
    assert reopened.latest("ann").messages == CHAT
    assert reopened.get("bob", first) is None  # one user cannot read another's conversation
    assert not reopened.rename("bob", first, "taken over")
    assert reopened.rename("ann", first, "  Detainee   numbers ")
    reopened.save("ann", first, [*CHAT, {"role": "user", "content": "And from where?"}])
    assert reopened.list("ann") == [("Detainee numbers", first)]  # a renamed title stays on the next save
    assert reopened.delete("ann", first) and reopened.list("ann") == []


def test_each_answers_sources_are_saved_with_it_and_older_files_still_open(tmp_path):
    path = tmp_path / "conversations.sqlite"
    old = sqlite3.connect(path)  # a file from before answers were kept
    old.executescript("CREATE TABLE conversations (id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, "
                      "messages TEXT NOT NULL, updated REAL NOT NULL);"
                      "INSERT INTO conversations VALUES ('old', '', 'Old', '[]', 1);")
    old.close()
    store = Conversations(path)
    assert store.get("", "old").answers == {}
    answer = Answer(question="q", answer="Up to 7,000 [1].", citations=[
        Citation(n=1, passage_id="a::0", title="CENTCOM moves", text="Up to 7,000 could be moved.", quote="7,000")])
    records = {"1": answer_record(answer, [], {"k": 4})}
    saved = store.save("", None, CHAT, records)
    shown = Conversations(path).get("", saved).answers["1"]["shown"]
    assert Answer.model_validate(shown).citations[0].text == "Up to 7,000 could be moved."
    panel = sources_panel(CHAT, records, 0.3)
    assert 'id="src-0-1"' in panel and "CENTCOM moves" in panel
    assert "shown" not in feedback_fields(records["1"]) and feedback_fields(records["1"])["citations"]


def test_a_declined_or_rewritten_answer_says_why_escaped_and_the_history_leaves_it_out():
    hostile = '<img src=x onerror="alert(1)"> [link](javascript:alert(1))'
    trace = [TraceStep(check="outlet_gate", stage="gate", action="decline", reason=f"no report\n\nsays so {hostile}")]
    declined = render_markdown_answer(Answer(question="q", answer="", abstained=True, trace=trace))
    assert '<details class="nr-why"><summary>Why this answer was declined</summary>' in declined
    assert "<code>outlet_gate</code>" in declined and "&lt;img src=x" in declined and "<img" not in declined
    assert "\n\n" not in declined.split("<details", 1)[1]  # one HTML block: Markdown reads nothing inside it
    assert "outlet_gate" not in plain_text(declined)  # not part of the conversation the model sees
    assert reader_text(declined).endswith(f"Why this answer was declined:\noutlet_gate: no report says so {hostile}")
    rewritten = Answer(question="q", answer="Up to 7,000 [1].", citations=[Citation(
        n=1, passage_id="a::0", title="CENTCOM moves", text="t")], trace=[
        TraceStep(check="negation", stage="rewrite", action="rewrite", reason="a dropped negation")])
    assert "Why this answer was changed" in render_markdown_answer(rewritten)
    noted = rewritten.model_copy(update={"trace": [TraceStep(check="note", stage="annotate", action="annotate")]})
    assert "<details" not in render_markdown_answer(noted) and "<details" not in render_markdown_answer(
        rewritten.model_copy(update={"trace": []}))


def test_titles_are_the_first_question_cut_at_a_word():
    blocks = [{"role": "user", "content": [{"type": "text", "text": "Who commands CENTCOM?"}]}]  # as Gradio 6 sends it
    assert title_from(blocks) == "Who commands CENTCOM?"
    assert title_from([{"role": "user", "content": "word " * 40}]).endswith("…")
    assert len(title_from([{"role": "user", "content": "word " * 40}])) <= 80
    assert title_from([]) == "New conversation"


def test_conversation_exports_as_markdown_with_its_sources():
    text = conversation_markdown("Detainees", CHAT)
    assert text.startswith("# Detainees\n")
    assert "## How many detainees could be moved to Iraq?" in text
    assert "Sources:\n[1] CENTCOM moves — Desert Wire" in text and "Up to 7,000 [1]." in text
    assert "\\" not in text and "**" not in text  # no Markdown escapes or emphasis: it reads as the chat did
    hostile = conversation_markdown("<b>", [{"role": "assistant", "content": "&lt;img src=x onerror=alert(1)&gt;"}])
    assert "<" not in hostile and "&lt;img src=x onerror=alert(1)>" in hostile


def test_reader_text_is_the_message_as_read_with_its_sources_as_footnotes():
    answer = Answer(question="q", answer="On 2026-01-21 up to 7,000 (not 5,000) [1]. The moon fell.",
                    unsupported_sentences=["The moon fell."], citations=[Citation(
                        n=1, passage_id="a::0", title="CENTCOM [update]", outlet="Harbor Wire", date="2026-01-22",
                        url="https://news.example.org/a?b=1", text="t", quote="q")])
    assert reader_text(render_markdown_answer(answer)) == (
        "On 2026-01-21 up to 7,000 (not 5,000) [1]. ~~The moon fell.~~\n\n"
        "Struck sentences: no retrieved article supports them.\n\n"
        "Sources:\n[1] CENTCOM [update] (https://news.example.org/a?b=1) — Harbor Wire, 2026-01-22")


def test_feedback_folds_comments_into_their_verdicts(tmp_path):
    log = FeedbackLog(tmp_path / "feedback.jsonl")
    record = {"question": "q?", "answer": "a [1].", "citations": [{"n": 1}], "settings": {"k": 4}}
    up = log.verdict(record, "up", user="ann")
    down = log.verdict(record, "down")
    log.comment(down, "  It was 150, not 100.  ")
    log.comment(up, "   ")  # an empty comment is not logged
    entries = log.entries()
    assert [e["verdict"] for e in entries] == ["up", "down"]
    assert entries[1]["comment"] == "It was 150, not 100." and "comment" not in entries[0]
    assert entries[0]["user"] == "ann" and entries[0]["citations"] == [{"n": 1}]
    with pytest.raises(ValueError):
        log.verdict(record, "meh")


def test_feedback_export_prints_jsonl(tmp_path, monkeypatch):
    data = tmp_path / "data"
    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(data))
    log = FeedbackLog(data / "feedback.jsonl")
    log.verdict({"question": "q1", "answer": "a1"}, "up")
    log.verdict({"question": "q2", "answer": "a2"}, "down")
    result = CliRunner().invoke(cli, ["feedback", "export", "--verdict", "down"])
    assert result.exit_code == 0, result.output
    assert [json.loads(line)["question"] for line in result.output.splitlines()] == ["q2"]


def test_an_answer_copies_with_its_sources_but_the_history_drops_them():
    answer = Answer(question="q", answer="Up to 7,000 detainees could be moved [1].", citations=[
        Citation(n=1, passage_id="abc-0000", title="CENTCOM moves", outlet="Desert Wire", date="2026-01-21",
                 url="https://news.example.org/centcom", text="t")])
    markdown = render_markdown_answer(answer)
    assert "**Sources**" in markdown
    assert "[CENTCOM moves](https://news.example.org/centcom) — Desert Wire, 2026" in markdown.replace("\\", "")
    assert plain_text(markdown) == "Up to 7,000 detainees could be moved [1]."


@pytest.fixture
def library(tmp_path, monkeypatch):
    """A store holding two articles whose files share a name in different folders, and a third."""
    data = tmp_path / "data"
    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(data))
    for folder, title, day in (("a", "Festival in the north", "10"), ("b", "Festival in the south", "11"),
                               ("b", "Harbour cranes mended", "12")):
        (tmp_path / folder).mkdir(exist_ok=True)
        name = "cranes.md" if "cranes" in title else "story.md"
        (tmp_path / folder / name).write_text(ARTICLE.format(title=title, day=day).replace(
            "harbour festival", title.lower()), encoding="utf-8")
    result = CliRunner().invoke(cli, ["ingest", str(tmp_path / "a"), str(tmp_path / "b")])
    assert result.exit_code == 0, result.output
    return tmp_path


def test_delete_takes_a_unique_file_name_and_says_what_it_removed(library):
    result = CliRunner().invoke(cli, ["delete", "cranes.md"])
    assert result.exit_code == 0, result.output
    assert "Harbour cranes mended" in result.output and "2026-01-12" in result.output
    titles = [a.title for a in Store(Settings()).catalog.articles()]
    assert "Harbour cranes mended" not in titles and len(titles) == 2


def test_delete_asks_when_a_name_fits_several_articles(library):
    result = CliRunner().invoke(cli, ["delete", "story.md"])
    assert result.exit_code != 0
    assert "fits 2 articles" in result.output
    assert "Festival in the north" in result.output and "Festival in the south" in result.output
    assert len(Store(Settings()).catalog.articles()) == 3  # nothing removed
    result = CliRunner().invoke(cli, ["delete", "b/story.md"])  # more of the path settles it
    assert result.exit_code == 0 and "Festival in the south" in result.output


def test_sources_lists_each_source_and_marks_cut_titles(library):
    long_title = "A very long headline " * 5
    (library / "a" / "long.md").write_text(ARTICLE.format(title=long_title.strip(), day="13").replace(
        "harbour festival", "long story"), encoding="utf-8")
    CliRunner().invoke(cli, ["ingest", str(library / "a" / "long.md")])
    output = CliRunner().invoke(cli, ["sources"]).output
    assert "…" in output
    assert "story.md" in output and "cranes.md" in output
    shutil.rmtree(library / "a")


def test_the_chat_can_set_sentences_kept_per_passage():
    from rag.chain import ChainInput, read_input
    from rag.errors import QuestionError

    assert read_input({"question": "q?", "focus": 0}).focus == 0  # 0 = whole passages
    assert ChainInput(question="q?").focus is None  # the settings' default
    with pytest.raises(QuestionError, match="focus"):
        read_input({"question": "q?", "focus": -1})
