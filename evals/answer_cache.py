"""Model answers remembered by their prompt, so an experiment only asks the model what it changed.

A `newsrag eval` run of the dev split takes ~30 minutes on 2 cores, nearly all of it the model reading prompts.
Runs repeat byte for byte, so a question whose prompt an experiment leaves as it was gets the answer it got
before: `newsrag eval --answer-cache FILE` looks each model call up by its exact messages and sampling settings,
asks the model only on a miss, and remembers what it wrote. Seeded from a committed run (`seed_from_results`),
an experiment that changes 12 prompts of 59 costs 12 model answers.

For experiments only: an answer from the cache has no latency worth reporting, so the report counts them, and
the gate never uses the cache (CI answers every test question with the model).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from langchain_core.callbacks import CallbackManagerForLLMRun
from langchain_core.language_models import BaseChatModel
from langchain_core.messages import AIMessage, AIMessageChunk, BaseMessage
from langchain_core.outputs import ChatGeneration, ChatGenerationChunk, ChatResult
from pydantic import ConfigDict

from rag.config import Settings
from rag.llm import LOCAL_MODEL_SHA256
from rag.prompts import ABSTAIN_TEXT, ANSWER_SYSTEM_NO_DECLINE, CONDENSE_SYSTEM

SAMPLING = ("llm_backend", "llm_model", "llm_base_url", "llm_temperature", "llm_max_tokens", "llm_context_tokens")


class AnswerCache:
    """A SQLite file of prompt key → the model's text; safe to share between the threads of one process."""

    def __init__(self, path: Path, settings: Settings) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._identity = [str(getattr(settings, name)) for name in SAMPLING]
        if settings.llm_backend == "local":  # the bundled weights, should another release replace them
            self._identity.append(LOCAL_MODEL_SHA256)
        self._db = sqlite3.connect(self.path, check_same_thread=False)
        self._db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, text TEXT NOT NULL)")
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.stored = 0

    def key(self, messages: Sequence[BaseMessage], options: Mapping[str, Any]) -> str:
        """What decides the model's words: the model and its sampling settings, every message, the call's options."""
        record = [self._identity, [(m.type, m.text) for m in messages], sorted(options.items())]
        return hashlib.sha256(json.dumps(record, default=str).encode()).hexdigest()

    def get(self, key: str) -> str | None:
        with self._lock:
            row = self._db.execute("SELECT text FROM answers WHERE key = ?", (key,)).fetchone()
        return None if row is None else row[0]

    def put(self, key: str, text: str) -> None:
        with self._lock, self._db:
            self._db.execute("INSERT OR REPLACE INTO answers (key, text) VALUES (?, ?)", (key, text))
            self.stored += 1

    def close(self) -> None:
        self._db.close()


class CachedChatModel(BaseChatModel):
    """The wrapped model, asked only for prompts the cache has not seen; it stays the chain's llama.cpp model for
    the prompt-cache warm-up and restore (`openai_api_base` is the wrapped model's)."""

    model_config = ConfigDict(arbitrary_types_allowed=True)

    inner: BaseChatModel
    answers: AnswerCache  # not `cache`: BaseChatModel's own field of that name is LangChain's cache
    openai_api_base: str | None = None

    @classmethod
    def wrapping(cls, inner: BaseChatModel, cache: AnswerCache) -> CachedChatModel:
        return cls(inner=inner, answers=cache, openai_api_base=getattr(inner, "openai_api_base", None))

    @property
    def _llm_type(self) -> str:
        return f"cached-{self.inner._llm_type}"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        text = "".join(chunk.text for chunk in self._stream(messages, stop, None, **kwargs))
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])

    def _stream(self, messages: list[BaseMessage], stop: list[str] | None = None,
                run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> Iterator[ChatGenerationChunk]:
        key = self.answers.key(messages, {**kwargs, "stop": stop})
        known = self.answers.get(key)
        if known is not None:
            self.answers.hits += 1
            yield ChatGenerationChunk(message=AIMessageChunk(content=known))
            return
        self.answers.misses += 1
        parts = []
        for chunk in self.inner.stream(messages, stop=stop, **kwargs):
            if chunk.text:
                parts.append(chunk.text)
                if run_manager:
                    run_manager.on_llm_new_token(chunk.text)
                yield ChatGenerationChunk(message=AIMessageChunk(content=chunk.text))
        self.answers.put(key, "".join(parts))


class _Replay(BaseChatModel):
    """Replies what a stored run's model replied: its condensed question to the condense prompt, else its answer
    (and the decline it wrote first, to the first answer prompt of a question it was asked again)."""

    condensed: str
    answer: str
    reasked: bool = False

    @property
    def _llm_type(self) -> str:
        return "replay"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        system = messages[0].text if messages else ""
        if system == CONDENSE_SYSTEM:
            text = self.condensed
        elif system == ANSWER_SYSTEM_NO_DECLINE:  # asked again after a decline: its answer, if the run asked
            text = self.answer if self.reasked else ""
        else:
            text = ABSTAIN_TEXT if self.reasked else self.answer
        if not text:
            raise _NotInTheRun
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])


class _NotInTheRun(Exception):
    """The chain asked the model something the stored run never asked it: this code is not the run's."""


def seed_from_results(cache_path: Path, results_path: Path, settings: Settings, dataset: Path) -> int:
    """File a stored run's answers (and condensed follow-ups) under the prompts this code sends for them.

    Each question goes through the chain again, over its own corpus with the run's chunking, focus and k, with a
    model that replies what the run's model replied: the cache records those replies under the very prompts the
    chain built (retrieval, folded near-copies, focus and all). So seed with the code that made the run: after a
    change to the prompt, the old answers would be filed under the new prompts. Returns how many were filed.
    """
    from evals.dataset import by_corpus, load_dataset
    from evals.replay import replayed_chains
    from rag.chain import AnswerChain

    results = json.loads(Path(results_path).read_text(encoding="utf-8"))
    gold = {item["id"]: item for item in load_dataset(dataset, None, "all")}
    with replayed_chains(results, settings) as chains:
        cache = AnswerCache(cache_path, next(iter(chains.values())).settings)
        try:
            for name, rows in by_corpus(results["rows"]).items():
                chain = chains[name]
                for row in rows:
                    if row.get("error"):
                        continue
                    item = gold[row["id"]]
                    replay = _Replay(condensed=row["standalone_question"] if item.get("history") else "",
                                     answer=row["raw_answer"], reasked=row.get("reasked", False))
                    llm = CachedChatModel.wrapping(replay, cache)
                    with contextlib.suppress(_NotInTheRun):
                        AnswerChain(chain.settings, chain.retriever, llm).invoke(
                            {"question": item["question"], "chat_history": item.get("history") or []})
            for name, rows in by_corpus(results.get("baseline_rows") or []).items():
                _seed_peer(cache, chains[name].settings, name, rows, gold)
            return cache.stored
        finally:
            cache.close()


def _seed_peer(cache: AnswerCache, settings: Settings, corpus: str, rows: Sequence[Mapping],
               gold: Mapping[str, Mapping]) -> None:
    """The LangChain peer's answers (a `--baseline` run's) on one corpus, filed under the prompts the peer builds
    for them, so a run with the peer beside ours asks the model nothing the stored run asked it."""
    import tempfile

    from evals.baseline import LangChainBaseline
    from evals.dataset import corpus_dir

    replay = _PeerReplay()
    with tempfile.TemporaryDirectory(prefix="newsrag-seed-peer-", ignore_cleanup_errors=True) as directory:
        peer = LangChainBaseline(settings, corpus_dir(corpus), Path(directory),
                                 llm=CachedChatModel.wrapping(replay, cache))
        for row in rows:
            if row.get("error"):
                continue
            item = gold[row["id"]]
            replay.condensed, replay.answer = row["standalone_question"], row["raw_answer"]
            peer.ask(item["question"], item.get("history") or [])


class _PeerReplay(BaseChatModel):
    """Replies what a stored run's peer replied: its standalone question to the contextualize prompt, else its
    answer. The seeding sets both before each question."""

    condensed: str = ""
    answer: str = ""

    @property
    def _llm_type(self) -> str:
        return "peer-replay"

    def _generate(self, messages: list[BaseMessage], stop: list[str] | None = None,
                  run_manager: CallbackManagerForLLMRun | None = None, **kwargs: Any) -> ChatResult:
        from evals.baseline import CONTEXTUALIZE_SYSTEM

        text = self.condensed if messages and messages[0].text == CONTEXTUALIZE_SYSTEM else self.answer
        return ChatResult(generations=[ChatGeneration(message=AIMessage(text))])
