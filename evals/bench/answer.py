"""Answer latency with the configured model (the bundled local one by default) over gold questions.

Reads the chain's own Answer.timings: `until_passages` (the passages are known and shown), `until_first_token`,
`total` (the verified answer). The model loads and reads the fixed instructions once before the first question,
as in `serve` (`model_load_seconds` covers both); the first question is also reported on its own.

With the bundled model it also counts prompt tokens in the model's own tokenizer (what llama.cpp reads, at
~84 tokens/s on 2 quiet cores) and, from the model's usage report, how many of them its prefix cache saved; and
it times the first question again as a one-shot `newsrag ask` would meet it: a fresh model that reads everything
(cold), and one that restores the instructions read by an earlier process (restored). Last, the same questions go
through the naive LangChain pipeline the eval compares with (evals.baseline), warm, so the ratio is from one run.
"""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import httpx
from langchain_core.callbacks import BaseCallbackHandler
from langchain_core.outputs import LLMResult

from evals.baseline import LangChainBaseline
from evals.bench.measure import Stopwatch, latency, ratio
from evals.dataset import DEFAULT_DATASET, load_dataset
from evals.metrics import is_answerable, percentile
from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import AnswerChain, build_chain
from rag.config import Settings
from rag.context import fit_passages, focus_passages
from rag.llm import local_endpoint, prime_prompt_cache, shutdown_local_models
from rag.prompts import ANSWER_SYSTEM, answer_messages, format_passage
from rag.store import Store
from rag.tokens import count_tokens
from rag.types import Answer, Passage

FOLLOW_UPS = 3  # gold follow-ups timed to see what the prefix cache keeps across a condense call


def questions(n: int, dataset: Path = DEFAULT_DATASET) -> list[str]:
    """The first n answerable gold questions on the sample corpus (the one the benchmark ingests) that need no chat
    history (a follow-up adds a condense call)."""
    items = [item for item in load_dataset(dataset, corpus="iraq") if is_answerable(item) and not item.get("history")]
    return [item["question"] for item in items[:n]]


def follow_ups(n: int, dataset: Path = DEFAULT_DATASET) -> list[dict[str, Any]]:
    """The first n answerable gold questions on the sample corpus that come with chat history, as chain inputs."""
    items = [item for item in load_dataset(dataset, corpus="iraq") if is_answerable(item) and item.get("history")]
    return [{"question": item["question"], "chat_history": item["history"]} for item in items[:n]]


class PromptUsage(BaseCallbackHandler):
    """Each model call's prompt tokens as the model counted them: (sent, reused from its prefix cache)."""

    def __init__(self) -> None:
        self.calls: list[tuple[int, int]] = []

    def on_llm_end(self, response: LLMResult, **kwargs: Any) -> None:
        usage = getattr(response.generations[0][0], "message", None)
        usage = getattr(usage, "usage_metadata", None)
        if usage:
            self.calls.append((usage["input_tokens"], usage.get("input_token_details", {}).get("cache_read") or 0))


def prompt_context(answer: Answer, settings: Settings, store: Store) -> list[Passage]:
    """The passages as the chain showed them to the model for this answer (the same focus and fit steps)."""
    focused = focus_passages(answer.standalone_question, answer.passages, store.embeddings, settings.focus_sentences,
                             settings.passage_token_budget)
    return fit_passages(answer.standalone_question, focused, settings)


def prompt_tokens(answer: Answer, settings: Settings, store: Store) -> int:
    """cl100k tokens of the prompt the chain built for this answer."""
    context = prompt_context(answer, settings, store)
    return sum(count_tokens(str(m.content)) for m in answer_messages(answer.standalone_question, context))


def model_token_parts(answer: Answer, settings: Settings, store: Store, endpoint: tuple[str, str]) -> dict[str, int]:
    """The prompt's parts in the answering model's own tokens: instructions, passage headers and fences,
    passage texts, question."""
    address, key = endpoint
    with httpx.Client(trust_env=False, timeout=60, headers={"Authorization": f"Bearer {key}"}) as client:

        def tokens(text: str) -> int:
            return len(client.post(f"{address}/tokenize", json={"content": text}).json()["tokens"])

        context = prompt_context(answer, settings, store)
        blocks = [tokens(format_passage(n, p)) for n, p in enumerate(context, start=1)]
        fences = [tokens(format_passage(n, p.model_copy(update={"text": ""}))) for n, p in enumerate(context, start=1)]
        return {"instructions": tokens(ANSWER_SYSTEM), "passage_headers": sum(fences),
                "passage_texts": sum(blocks) - sum(fences), "question": tokens(answer.standalone_question),
                "passages": len(context)}


def bench_answer(settings: Settings, n_questions: int = 5) -> dict:
    """Ingest the sample corpus into settings.data_dir, load the model, then time each question."""
    store = Store(settings)
    ingest([str(sample_corpus_dir())], settings, store=store)
    with Stopwatch() as load:
        chain = build_chain(settings, store=store)
        instructions = prime_prompt_cache(chain.llm, answer_messages("", []))  # as `serve` does while it starts
    usage = PromptUsage()
    asked = questions(n_questions)
    runs = [_first_question(chain, question, usage, load_seconds=0.0) for question in asked]
    answers = [answer for answer, _ in runs]
    read = [figures["tokens_read"] for _, figures in runs if figures["tokens_read"] is not None]
    timings = [a.timings for a in answers]
    stages = {"passages": "until_passages", "first_token": "until_first_token", "full_answer": "total"}
    results: dict[str, Any] = {
        "llm_backend": settings.llm_backend,
        "questions": len(answers),
        "abstained": sum(a.abstained for a in answers),
        "model_load_seconds": round(load.seconds, 2),
        "instructions": instructions,
        "prompt_tokens_p50": percentile([prompt_tokens(a, settings, store) for a in answers], 50),
        "first_question_first_token_s": (round(timings[0].get("until_first_token", timings[0]["total"]), 3)
                                         if timings else None),
        **{name: latency([t[key] for t in timings if key in t], unit="s") for name, key in stages.items()},
    }
    if read:
        results["model_tokens_read_p50"] = percentile(read, 50)
    endpoint = local_endpoint(chain.llm)
    if endpoint is not None and asked:
        parts = [model_token_parts(a, settings, store, endpoint) for a in answers if not a.abstained]
        results["model_token_parts_p50"] = (
            {key: percentile([p[key] for p in parts], 50) for key in parts[0]} if parts else {})
        results["follow_ups"] = _follow_ups(chain, usage)
        results["one_shot"] = {"warm": runs[0][1],  # its first asking: nothing of it but the instructions cached
                               **{how: _one_shot(settings, store, asked[0], usage, restore=how == "restored")
                                  for how in ("cold", "restored")}}
    results["peer"] = _peer(settings, asked)
    for stage in ("first_token", "full_answer"):
        results[f"{stage}_p95_vs_peer"] = ratio(results[stage]["p95_s"], results["peer"][stage]["p95_s"])
    return results


def _peer(settings: Settings, asked: list[str]) -> dict[str, Any]:
    """The same questions through the naive LangChain pipeline (evals.baseline), warm as ours: the eval's peer."""
    with tempfile.TemporaryDirectory(prefix="newsrag-bench-peer-", ignore_cleanup_errors=True) as directory:
        peer = LangChainBaseline(settings, sample_corpus_dir(), Path(directory))
        peer.warm_up()
        timings = [peer.ask(question).timings for question in asked]
    return {"first_token": latency([t.get("until_first_token", t["total"]) for t in timings], unit="s"),
            "full_answer": latency([t["total"] for t in timings], unit="s")}


def _follow_ups(chain: AnswerChain, usage: PromptUsage) -> list[dict[str, int]]:
    """For each gold follow-up, the answering call's prompt tokens and how many the cache already held."""
    out = []
    for inputs in follow_ups(FOLLOW_UPS):
        before = len(usage.calls)
        chain.invoke(inputs, {"callbacks": [usage]})
        if len(usage.calls) - before == 2:  # condense, then answer (not an abstention before the model)
            sent, cached = usage.calls[-1]
            out.append({"prompt_tokens": sent, "cached": cached})
    return out


def _first_question(
    chain: AnswerChain, question: str, usage: PromptUsage, load_seconds: float
) -> tuple[Answer, dict[str, Any]]:
    """The answer, and its first token's time after the model started loading and the prompt tokens read for it."""
    before = len(usage.calls)
    answer = chain.invoke({"question": question, "chat_history": []}, {"callbacks": [usage]})
    calls = usage.calls[before:]
    first = answer.timings.get("until_first_token", answer.timings["total"])
    return answer, {"model_load_s": round(load_seconds, 2), "first_token_s": round(first, 3),
                    "after_start_s": round(load_seconds + first, 3),
                    "tokens_read": sum(sent - cached for sent, cached in calls) if calls else None}


def _one_shot(settings: Settings, store: Store, question: str, usage: PromptUsage, *, restore: bool) -> dict:
    """The first question of a new process (the interpreter's own start not included): load, maybe restore, ask."""
    shutdown_local_models()
    with Stopwatch() as load:
        chain = build_chain(settings, store=store)
        if restore:
            prime_prompt_cache(chain.llm, answer_messages("", []))
    return _first_question(chain, question, usage, load.seconds)[1]
