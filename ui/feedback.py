"""Thumbs up/down on answers, with an optional comment: a JSONL log under the data dir, a future gold-set source.

Each line is one event. A verdict line carries everything needed to turn the answer into a gold item later
(question, chat history, answer, citations, the settings it ran with); a comment line refers to its verdict
by id and names its user. `entries()` folds each verdict's latest comment by the same user into it.
"""

from __future__ import annotations

import json
import threading
import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

MAX_COMMENT_CHARS = 2000


class FeedbackLog:
    """Appends feedback events to one JSONL file; safe for the threads of one server process."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self._lock = threading.Lock()

    def _append(self, event: Mapping[str, Any]) -> None:
        line = json.dumps(event, ensure_ascii=False)
        with self._lock:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as out:
                out.write(line + "\n")

    def verdict(self, record: Mapping[str, Any], verdict: str, user: str = "") -> str:
        """Log "up" or "down" on an answer record (question, history, answer, citations, settings); returns its id."""
        if verdict not in ("up", "down"):
            raise ValueError(f"a verdict is 'up' or 'down', not {verdict!r}")
        feedback_id = uuid.uuid4().hex
        self._append({"id": feedback_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "user": user,
                      "verdict": verdict, **record})
        return feedback_id

    def comment(self, feedback_id: str, text: str, user: str = "") -> None:
        """Attach a comment to an earlier verdict of the same user; an empty comment is not logged."""
        text = text.strip()[:MAX_COMMENT_CHARS]
        if text:
            self._append({"id": feedback_id, "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "user": user,
                          "comment": text})

    def entries(self) -> list[dict[str, Any]]:
        """Every verdict in order, with its latest comment folded in; unreadable lines are skipped."""
        verdicts: dict[str, dict[str, Any]] = {}
        if not self.path.exists():
            return []
        for line in self.path.read_text(encoding="utf-8").splitlines():
            try:
                event = json.loads(line)
            except json.JSONDecodeError:
                continue
            if "verdict" in event:
                verdicts[event["id"]] = event
            elif event.get("id") in verdicts and "comment" in event:
                verdict = verdicts[event["id"]]
                # only its own user's comment (lines from before comments carried a user have none)
                if event.get("user", verdict.get("user", "")) == verdict.get("user", ""):
                    verdict["comment"] = event["comment"]
        return list(verdicts.values())
