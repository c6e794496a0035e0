"""Replays a run's stored raw answers through `AnswerChain.check` and writes each item's answer text and abstained
flag, so a refactor of the checks after the model can be proved behaviour-preserving (byte-identical outputs) and a
behavioural change counted, without one model call.

    python -m evals.replay evals/results/dev-2026-12-04k/results.json > /tmp/dev-before.json
    python -m evals.replay --compare /tmp/dev-before.json /tmp/dev-after.json --results RESULTS.json
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path

from evals.recheck import replayed_chain, stored_passages
from rag.chain import AnswerChain
from rag.config import get_settings
from rag.prompts import ABSTAIN_TEXT


def replay(results: Mapping, chain: AnswerChain) -> dict[str, dict]:
    """Per row id: the answer the current checks make of the row's raw answer, and whether it abstained."""
    out = {}
    for row in results["rows"]:
        passages = stored_passages(chain, row)
        if not row["raw_answer"]:  # declined before the model was asked: the checks never ran
            out[row["id"]] = {"answer": ABSTAIN_TEXT, "abstained": True}
            continue
        answer = chain.check(row["question"], row["standalone_question"], row["raw_answer"], passages)
        out[row["id"]] = {"answer": answer.answer, "abstained": answer.abstained,
                          "trace": [step.check for step in getattr(answer, "trace", [])]}
    return out


def compare(before: Mapping[str, Mapping], after: Mapping[str, Mapping], results: Mapping | None) -> str:
    """How many answers changed and, where the run's scores are given, which way by the stored answer_correct."""
    changed = [i for i in before if (before[i]["answer"], before[i]["abstained"])
               != (after[i]["answer"], after[i]["abstained"])]
    lines = [f"{len(before) - len(changed)} of {len(before)} byte-identical, {len(changed)} changed"]
    scores = {row["id"]: row for row in results["rows"]} if results else {}
    for i in changed:
        row = scores.get(i, {})
        lines.append(f"- {i} [{row.get('category', '?')}] was correct={row.get('scores', {}).get('answer_correct')}"
                     f" expected={row.get('expected', '')!r}\n    before: {before[i]['answer']!r}\n"
                     f"    after:  {after[i]['answer']!r}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
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
    with replayed_chain(results, get_settings()) as chain:
        json.dump(replay(results, chain), sys.stdout, indent=1, ensure_ascii=False)


if __name__ == "__main__":
    main()
