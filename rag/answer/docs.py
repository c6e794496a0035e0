"""docs/checks.md, generated from the pipeline: `python -m rag.answer.docs > docs/checks.md`."""

from __future__ import annotations

import inspect

from rag.answer.draft import Check
from rag.answer.pipeline import ON_DECLINE, PIPELINE


def guards_against(check: Check) -> str:
    """The first paragraph of the check's docstring, on one line: the failure class and its example."""
    paragraphs = inspect.cleandoc(type(check).__doc__ or "").split("\n\n")
    return " ".join(paragraphs[0].split()) + (" " + " ".join(paragraphs[1].split()) if len(paragraphs) > 1 else "")


def checks_markdown() -> str:
    """The checks after the model as a Markdown table, in the order they run."""
    lines = [
        "# The checks after the model",
        "",
        "Generated from `rag/answer/pipeline.py` by `python -m rag.answer.docs > docs/checks.md`; do not edit.",
        "",
        "Every answer the model writes goes through these checks in this order. Each one that acts (rewrites the",
        "answer, drops its citations, declines it or adds a note) is listed with its reason in `Answer.trace`",
        "(`newsrag ask --json`, the API). Switch one off by name with `NEWSRAG_ANSWER_CHECKS='{\"name\": false}'`;",
        "`newsrag eval --recheck RESULTS.json` measures each one switched off.",
        "",
        "| # | check | stage | guards against |",
        "|---|---|---|---|",
    ]
    for i, check in enumerate(PIPELINE, 1):
        lines.append(f"| {i} | `{check.name}` | {check.stage} | {guards_against(check)} |")
    lines += ["", "When a check declines with reports, these are tried in turn before the abstention:", "",
              "| check | stage | guards against |", "|---|---|---|"]
    lines += [f"| `{check.name}` | {check.stage} | {guards_against(check)} |" for check in ON_DECLINE]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    print(checks_markdown(), end="")
