"""Saved conversations: one SQLite file under the data dir, rows per user, so a reload brings the chat back.

A conversation is its title, its chat messages as the chat shows them ({"role", "content"} in Markdown) and what
each answer showed (its citations and passages, by message index: ui.answers), so its sources come back too.
Users are the names of the UI's login; without a login everyone is "" and shares one list.
"""

from __future__ import annotations

import json
import re
import sqlite3
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from ui.render import reader_text

TITLE_MAX_CHARS = 80
_SCHEMA = """
CREATE TABLE IF NOT EXISTS conversations (
    id TEXT PRIMARY KEY, user TEXT NOT NULL, title TEXT NOT NULL, messages TEXT NOT NULL, updated REAL NOT NULL);
CREATE INDEX IF NOT EXISTS conversations_by_user ON conversations(user, updated);
"""
_ANSWERS_COLUMN = "ALTER TABLE conversations ADD COLUMN answers TEXT NOT NULL DEFAULT '{}'"  # files saved before it
_BACKSLASHED = re.compile(r"\\(.)")


@dataclass(frozen=True)
class Conversation:
    id: str
    title: str
    messages: list[dict]
    updated: float
    answers: dict[str, dict] = field(default_factory=dict)


def message_text(message: dict) -> str:
    """A chat message's text; Gradio 6 sends content as a list of blocks ({"type": "text", "text": ...})."""
    content = message.get("content", "")
    if isinstance(content, list):
        content = " ".join(block.get("text", "") for block in content if isinstance(block, dict))
    return str(content)


def title_from(messages: list[dict]) -> str:
    """A conversation's default title: its first question, cut at a word boundary."""
    first = next((message_text(m) for m in messages if m.get("role") == "user"), "")
    text = " ".join(_BACKSLASHED.sub(r"\1", first).split()) or "New conversation"
    if len(text) <= TITLE_MAX_CHARS:
        return text
    return text[: TITLE_MAX_CHARS - 1].rsplit(" ", 1)[0] + "…"


class Conversations:
    """The store; each call opens nothing new: one connection shared by the server's threads under a lock."""

    def __init__(self, path: Path) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        self._db.executescript(_SCHEMA)
        if "answers" not in {row[1] for row in self._db.execute("PRAGMA table_info(conversations)")}:
            self._db.execute(_ANSWERS_COLUMN)
        self._lock = threading.Lock()

    def list(self, user: str) -> list[tuple[str, str]]:
        """(title, id) of the user's conversations, most recent first."""
        with self._lock:
            rows = self._db.execute(
                "SELECT title, id FROM conversations WHERE user=? ORDER BY updated DESC", (user,)).fetchall()
        return [(title, cid) for title, cid in rows]

    def get(self, user: str, conversation_id: str) -> Conversation | None:
        with self._lock:
            row = self._db.execute(
                "SELECT id, title, messages, updated, answers FROM conversations WHERE user=? AND id=?",
                (user, conversation_id)).fetchone()
        return Conversation(row[0], row[1], json.loads(row[2]), row[3], json.loads(row[4])) if row else None

    def latest(self, user: str) -> Conversation | None:
        found = self.list(user)
        return self.get(user, found[0][1]) if found else None

    def save(self, user: str, conversation_id: str | None, messages: list[dict],
             answers: dict[str, dict] | None = None) -> str:
        """Create or update a conversation with these messages and answer records; keeps a renamed title;
        returns its id."""
        conversation_id = conversation_id or uuid.uuid4().hex
        with self._lock:
            self._db.execute(
                "INSERT INTO conversations(id, user, title, messages, updated, answers) VALUES(?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(id) DO UPDATE SET messages=excluded.messages, updated=excluded.updated, "
                "answers=excluded.answers WHERE conversations.user=excluded.user",
                (conversation_id, user, title_from(messages), json.dumps(messages, ensure_ascii=False), time.time(),
                 json.dumps(answers or {}, ensure_ascii=False)),
            )
        return conversation_id

    def rename(self, user: str, conversation_id: str, title: str) -> bool:
        title = " ".join(title.split())[:TITLE_MAX_CHARS]
        if not title:
            return False
        with self._lock:
            return self._db.execute("UPDATE conversations SET title=? WHERE user=? AND id=?",
                                    (title, user, conversation_id)).rowcount > 0

    def delete(self, user: str, conversation_id: str) -> bool:
        with self._lock:
            return self._db.execute("DELETE FROM conversations WHERE user=? AND id=?",
                                    (user, conversation_id)).rowcount > 0


def conversation_markdown(title: str, messages: list[dict]) -> str:
    """A conversation as a Markdown document that reads as the chat did: questions as headings, answers as their
    reader sees them (ui.render.reader_text: no Markdown escapes, the sources as footnotes). Only "<" stays
    escaped, so markup quoted from an article is shown, never run, by a viewer that renders HTML in Markdown."""
    lines = [f"# {title.replace('<', '&lt;')}", ""]
    for message in messages:
        text = reader_text(message_text(message)).replace("<", "&lt;")
        lines += [f"## {' '.join(text.split())}" if message.get("role") == "user" else text, ""]
    return "\n".join(lines).rstrip() + "\n"
