"""The eval runner end to end on the fake model: report files, per-question failures, compare and the gate."""

from __future__ import annotations

import copy
import json
import os
import tomllib

import pytest

from evals.run import DEFAULT_DATASET, DEFAULT_THRESHOLDS, check_gate, compare, load_dataset, run_eval

METRIC_KEYS = {
    "answer_correctness", "citation_precision", "citation_recall", "hit_at_k", "recall_at_k", "mrr",
    "abstention_precision", "abstention_recall", "abstention_accuracy",
    "retrieval_p50", "retrieval_p95", "first_token_p50", "first_token_p95", "total_p50", "total_p95",
}
ROW_KEYS = {
    "id", "category", "question", "expected", "answer", "abstained", "citations", "passages", "scores",
    "timings", "error",
}


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    """One run over three gold questions (a fact, a follow-up with history, an unanswerable) and one broken one."""
    root = tmp_path_factory.mktemp("eval")
    gold = {item["id"]: item for item in load_dataset(DEFAULT_DATASET)}
    broken = {**gold["q01"], "id": "broken", "question": "   "}  # the chain refuses an empty question
    dataset = root / "tiny.jsonl"
    dataset.write_text("".join(json.dumps(item) + "\n" for item in [gold["q01"], gold["q38"], gold["q44"], broken]))
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # no developer .env
        for key in [k for k in os.environ if k.startswith("NEWSRAG_") and k != "NEWSRAG_MODEL_DIR"]:
            mp.delenv(key)
        from rag.config import Settings

        user_data = root / "user-data"
        settings = Settings(llm_backend="fake", data_dir=user_data)
        summary = run_eval(settings, dataset, root / "out", retrieval="bm25", k=3, progress=False)
    return {"summary": summary, "out": root / "out", "user_data": user_data}


def test_run_writes_results_report_and_chart(eval_run):
    out = eval_run["out"]
    results = json.loads((out / "results.json").read_text())
    assert [row["id"] for row in results["rows"]] == ["q01", "q38", "q44", "broken"]
    for row in results["rows"]:
        assert ROW_KEYS <= set(row)
        assert len(row["passages"]) <= 3
    assert results["settings"]["retrieval"] == "bm25" and results["settings"]["top_k"] == 3
    assert "llm_api_key" not in results["settings"]

    report = (out / "report.md").read_text()
    for heading in ("## Headline", "## By category", "## Failures"):
        assert heading in report
    assert (out / "report.png").read_bytes().startswith(b"\x89PNG")
    assert not eval_run["user_data"].exists()  # the sample corpus went into a temporary store


def test_summary_has_every_metric_overall_and_per_category(eval_run):
    summary = eval_run["summary"]
    assert METRIC_KEYS <= set(summary["overall"])
    assert set(summary["by_category"]) == {"single_fact", "follow_up", "unanswerable"}
    for metrics in summary["by_category"].values():
        assert METRIC_KEYS <= set(metrics)
    assert summary["run"]["retrieval"] == "bm25" and summary["run"]["k"] == 3
    assert summary["overall"]["n"] == 4
    assert summary["overall"]["hit_at_k"] is not None  # the fact and the follow-up have evidence


def test_a_question_that_raises_is_a_recorded_failure(eval_run):
    results = json.loads((eval_run["out"] / "results.json").read_text())
    broken = next(row for row in results["rows"] if row["id"] == "broken")
    assert "empty" in broken["error"]
    assert broken["scores"]["answer_correct"] is False
    assert eval_run["summary"]["overall"]["errors"] == 1
    assert "### broken (single_fact): error: QuestionError" in (eval_run["out"] / "report.md").read_text()


def test_compare_names_regressed_and_improved_questions(eval_run, tmp_path):
    results = json.loads((eval_run["out"] / "results.json").read_text())
    old, new = copy.deepcopy(results), copy.deepcopy(results)
    good = {"answer_correct": True, "abstention": "answered", "citation_precision": 1.0}
    bad = {"answer_correct": False, "abstention": "false_abstain", "citation_precision": None}
    old["rows"][0]["scores"].update(good)  # q01 was right and is now an abstention
    new["rows"][0]["scores"].update(bad)
    old["rows"][2]["scores"].update(abstention="missed_abstain")  # q44 now abstains as it should
    new["rows"][2]["scores"].update(abstention="true_abstain")
    new["summary"]["overall"]["answer_correctness"] = (old["summary"]["overall"]["answer_correctness"] or 0) - 0.25
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))

    text = compare(tmp_path / "old.json", tmp_path / "new.json")
    regressed, improved = text.split("## Improved")
    assert "q01 (single_fact): no longer correct; abstention answered → false_abstain" in regressed
    assert "q44" in improved and "q44" not in regressed
    assert "| answer correctness |" in text and "-0.25" in text


def test_gate_fails_below_threshold_and_passes_above(tmp_path):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[gate]\nanswer_correctness = 0.85\nhit_at_k = 0.5\n")
    below = {"overall": {"answer_correctness": 0.81, "hit_at_k": 0.9}}
    assert check_gate(below, thresholds) == ["answer_correctness 0.81 < 0.85"]
    above = {"overall": {"answer_correctness": 0.9, "hit_at_k": 0.5}}
    assert check_gate(above, thresholds) == []
    unmeasured = {"overall": {"answer_correctness": None, "hit_at_k": 0.9}}
    assert check_gate(unmeasured, thresholds) == ["answer_correctness was not measured (minimum 0.85)"]
    thresholds.write_text("[gate]\nanswer_corectness = 0.85\n")  # a typo must not pass silently
    assert check_gate(above, thresholds) == ["answer_corectness is not a metric of the summary"]


def test_shipped_thresholds_gate_the_headline_metrics():
    gate = tomllib.loads(DEFAULT_THRESHOLDS.read_text())["gate"]
    assert {"answer_correctness", "citation_precision", "abstention_accuracy", "hit_at_k"} <= set(gate)
    assert all(0 < minimum <= 1 for minimum in gate.values())


def test_limit_takes_the_first_questions():
    assert [item["id"] for item in load_dataset(DEFAULT_DATASET, limit=2)] == ["q01", "q02"]
    assert len(load_dataset(DEFAULT_DATASET)) == 59


def test_retrieval_ablation_scores_every_setting_and_misses_a_wrong_evidence(tmp_path, monkeypatch):
    from evals.ablation import render_ablation, retrieval_ablation, search_query
    from rag.config import Settings

    gold = {item["id"]: item for item in load_dataset(DEFAULT_DATASET)}
    misplaced = {**gold["q01"], "id": "misplaced",
                 "evidence": [{"article": "no-such-article.md", "span": gold["q01"]["evidence"][0]["span"]}]}
    dataset = tmp_path / "tiny.jsonl"
    dataset.write_text("".join(json.dumps(item) + "\n" for item in [gold["q01"], misplaced]))
    monkeypatch.chdir(tmp_path)

    rows = retrieval_ablation(Settings(data_dir=tmp_path / "unused"), modes=("dense", "bm25"), ks=(1, 4),
                              chunk_sizes=(120,), focus=(0, 1), dataset=dataset)

    assert [(row["mode"], row["k"], row["focus"]) for row in rows] == [
        (mode, k, focus) for mode in ("dense", "bm25") for k in (1, 4) for focus in (0, 1)]
    assert all(row["chunk_tokens"] == 120 and row["chunks"] > 0 for row in rows)
    # q01's evidence is found with k=4 by both modes; the misplaced copy never is, so hit@4 is exactly 1/2
    assert [row["hit_at_k"] for row in rows if row["k"] == 4] == [0.5] * 4
    whole, one_sentence = [row for row in rows if row["k"] == 4 and row["mode"] == "dense"]
    assert whole["kept"] == 0.5 and one_sentence["kept"] <= whole["kept"]
    assert 0 < one_sentence["uncached_tokens"] < whole["uncached_tokens"]
    assert not (tmp_path / "unused").exists()  # each chunk size gets its own temporary store
    table = render_ablation(rows)
    assert table.count("\n") == len(rows) + 1 and "| 120 (" in table
    assert search_query(gold["q38"]).startswith(gold["q38"]["history"][0]["content"])
    assert search_query(gold["q01"]) == gold["q01"]["question"]
