"""A stored run's questions asked again without its model: the chain over each corpus the run's rows are about,
built as the run built it, so the passages the run retrieved are found again by their ids.

Shared by the answer-check ablation (evals.recheck) and the answer cache's seeding (evals.answer_cache), which
both replay a results.json; neither imports the other or the eval runner. Run as a module it writes each row's
answer text and abstained flag as the current checks make them from the stored raw answers, so a refactor of the
checks after the model can be proved behaviour-preserving (byte-identical outputs) and a behavioural change
counted, without one model call:

    python -m evals.replay evals/results/dev-2026-12-04k/results.json > /tmp/dev-before.json
    python -m evals.replay --compare /tmp/dev-before.json /tmp/dev-after.json --results RESULTS.json
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from collections.abc import Iterator, Mapping
from contextlib import ExitStack, contextmanager
from pathlib import Path

from evals.dataset import DEFAULT_CORPUS, by_corpus, corpus_dir, item_corpus
from ingest.pipeline import ingest
from rag.chain import AnswerChain, build_chain
from rag.config import Settings, get_settings
from rag.llm import FakeNewsModel
from rag.prompts import ABSTAIN_TEXT
from rag.store import Store
from rag.types import Passage

# Taken from the run, not from today's settings: chunk ids are hashes of chunk texts, so the stored passages are
# found again only with the run's chunking, and focus and k decide what the model was shown.
REPLAYED_SETTINGS = ("chunk_tokens", "chunk_overlap", "focus_sentences", "passage_token_budget", "top_k",
                     "llm_context_tokens", "llm_max_tokens")


def replayed_settings(results: Mapping, settings: Settings, data_dir: Path) -> Settings:
    """settings with the stored run's chunking, focus and k, over data_dir."""
    replayed = {key: value for key, value in results.get("settings", {}).items() if key in REPLAYED_SETTINGS}
    return settings.model_copy(update={**replayed, "data_dir": Path(data_dir)})


@contextmanager
def replayed_chain(results: Mapping, settings: Settings, corpus: str = DEFAULT_CORPUS) -> Iterator[AnswerChain]:
    """A chain over one corpus, in a temporary store, with the stored run's chunking, focus and k; its model is a
    fake that is never asked (the run's answers are stored). Chunk ids are content hashes, so the run's passages
    are found again."""
    with tempfile.TemporaryDirectory(prefix=f"newsrag-replay-{corpus}-", ignore_cleanup_errors=True) as data_dir:
        run_settings = replayed_settings(results, settings, Path(data_dir))
        store = Store(run_settings)
        ingest([str(corpus_dir(corpus))], run_settings, store=store)
        yield build_chain(run_settings, store=store, llm=FakeNewsModel())


@contextmanager
def replayed_chains(results: Mapping, settings: Settings) -> Iterator[dict[str, AnswerChain]]:
    """replayed_chain for every corpus the run's rows (ours and the peer's) are about, by corpus name (a row
    without a corpus is iraq; a run without rows gets the iraq chain): replay a row with `chains[item_corpus(row)]`."""
    rows = [*results["rows"], *(results.get("baseline_rows") or [])]
    with ExitStack() as stack:
        yield {name: stack.enter_context(replayed_chain(results, settings, name))
               for name in by_corpus(rows) or [DEFAULT_CORPUS]}


def stored_passages(chain: AnswerChain, row: Mapping) -> list[Passage]:
    """The row's retrieved passages from the chain's store, with the scores they had in the run: its first k (an
    answer also lists the reports below k its note cites, which the model never read)."""
    retrieved = row["passages"][: chain.settings.top_k]
    stored = chain.retriever.store.passages([p["id"] for p in retrieved])
    return [stored[p["id"]].model_copy(update={"similarity": p["similarity"], "score": p["score"]})
            for p in retrieved if p["id"] in stored]


def replay(results: Mapping, chains: Mapping[str, AnswerChain]) -> dict[str, dict]:
    """Per row id: the answer the current checks make of the row's raw answer, whether it abstained, its trace."""
    out = {}
    for row in results["rows"]:
        chain = chains[item_corpus(row)]
        passages = stored_passages(chain, row)
        if not row["raw_answer"]:  # declined before the model was asked: the checks never ran
            out[row["id"]] = {"answer": ABSTAIN_TEXT, "abstained": True, "trace": []}
            continue
        answer = chain.check(row["question"], row["standalone_question"], row["raw_answer"], passages)
        out[row["id"]] = {"answer": answer.answer, "abstained": answer.abstained,
                          "trace": [step.check for step in answer.trace]}
    return out


def compare(before: Mapping[str, Mapping], after: Mapping[str, Mapping], results: Mapping | None) -> str:
    """How many answers changed and, where the run's scores are given, which way by the stored answer_correct
    (for dev rows only: a sealed test row is counted, never shown)."""
    changed = [i for i in before if (before[i]["answer"], before[i]["abstained"])
               != (after[i]["answer"], after[i]["abstained"])]
    lines = [f"{len(before) - len(changed)} of {len(before)} byte-identical, {len(changed)} changed"]
    scores = {row["id"]: row for row in results["rows"]} if results else {}
    for i in changed:
        row = scores.get(i, {})
        if row.get("split") == "test":
            continue
        lines.append(f"- {i} [{row.get('category', '?')}] was correct={row.get('scores', {}).get('answer_correct')}"
                     f" expected={row.get('expected', '')!r}\n    before: {before[i]['answer']!r}\n"
                     f"    after:  {after[i]['answer']!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("paths", nargs="+")
    parser.add_argument("--compare", action="store_true")
    parser.add_argument("--results")
    args = parser.parse_args(argv)
    if args.compare:
        before, after = (json.loads(Path(p).read_text(encoding="utf-8")) for p in args.paths)
        results = json.loads(Path(args.results).read_text(encoding="utf-8")) if args.results else None
        print(compare(before, after, results))
        return
    results = json.loads(Path(args.paths[0]).read_text(encoding="utf-8"))
    with replayed_chains(results, get_settings()) as chains:
        json.dump(replay(results, chains), sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
