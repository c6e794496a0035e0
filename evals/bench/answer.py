"""Answer latency with the configured model (the bundled local one by default) over gold questions.

Reads the chain's own Answer.timings: `retrieval` (the passages are known and shown), `first_token`,
`total` (the verified answer). The model loads and reads the fixed instructions once before the first question, as in `serve`
(`model_load_seconds` covers both); the first question is also reported on its own.
"""

from __future__ import annotations

from pathlib import Path

from evals.bench.measure import Stopwatch, latency
from evals.metrics import is_answerable, percentile
from evals.run import DEFAULT_DATASET, load_dataset
from ingest.pipeline import ingest, sample_corpus_dir
from rag.chain import build_chain
from rag.config import Settings
from rag.context import fit_passages, focus_passages
from rag.prompts import answer_messages
from rag.store import Store
from rag.tokens import count_tokens
from rag.types import Answer


def questions(n: int, dataset: Path = DEFAULT_DATASET) -> list[str]:
    """The first n answerable gold questions that need no chat history (a follow-up adds a condense call)."""
    items = [item for item in load_dataset(dataset) if is_answerable(item) and not item.get("history")]
    return [item["question"] for item in items[:n]]


def prompt_tokens(answer: Answer, settings: Settings, store: Store) -> int:
    """cl100k tokens of the prompt the chain built for this answer (the same focus and fit steps)."""
    focused = focus_passages(answer.standalone_question, answer.passages, store.embeddings, settings.focus_sentences)
    context = fit_passages(answer.standalone_question, focused, settings)
    return sum(count_tokens(str(m.content)) for m in answer_messages(answer.standalone_question, context))


def bench_answer(settings: Settings, n_questions: int = 5) -> dict:
    """Ingest the sample corpus into settings.data_dir, load the model, then time each question."""
    store = Store(settings)
    ingest([str(sample_corpus_dir())], settings, store=store)
    with Stopwatch() as load:
        chain = build_chain(settings, store=store)
        chain.warm_up()  # as `serve` does while it starts
    answers = [chain.invoke({"question": q, "chat_history": []}) for q in questions(n_questions)]
    timings = [a.timings for a in answers]
    stages = {"passages": "retrieval", "first_token": "first_token", "full_answer": "total"}
    return {
        "llm_backend": settings.llm_backend,
        "questions": len(answers),
        "abstained": sum(a.abstained for a in answers),
        "model_load_seconds": round(load.seconds, 2),
        "prompt_tokens_p50": percentile([prompt_tokens(a, settings, store) for a in answers], 50),
        "first_question_first_token_s": (round(timings[0].get("first_token", timings[0]["total"]), 3)
                                         if timings else None),
        **{name: latency([t[key] for t in timings if key in t], unit="s") for name, key in stages.items()},
    }
