"""The eval runner end to end on the fake model: ours and the LangChain peer, report files, per-question
failures, splits, compare and the gate."""

from __future__ import annotations

import copy
import json
import os
import tomllib
from pathlib import Path

import pytest
from click.testing import CliRunner

from evals.dataset import load_dataset
from evals.run import DEFAULT_THRESHOLDS, check_gate, compare, run_eval
from rag.config import Settings
from rag.errors import ConfigError

FIXTURE_GOLD = Path(__file__).parent / "data" / "gold-fixture.jsonl"
METRIC_KEYS = {
    "answer_correctness", "citation_precision", "citation_recall", "citation_recall_verified", "malformed_rate",
    "hit_at_k", "recall_at_k", "mrr",
    "abstention_precision", "abstention_recall", "abstention_accuracy",
    "until_passages_p50", "until_passages_p95", "until_first_token_p50", "until_first_token_p95", "total_p50",
    "total_p95",
}
ROW_KEYS = {
    "id", "split", "category", "question", "expected", "must_not", "answer", "raw_answer", "abstained", "citations",
    "passages", "scores", "timings", "error",
}
GOLD = {item["id"]: item for item in load_dataset(FIXTURE_GOLD)}


def write_gold(path: Path, items: list[dict]) -> Path:
    path.write_text("".join(json.dumps(item) + "\n" for item in items))
    return path


@pytest.fixture(scope="module")
def eval_run(tmp_path_factory):
    """One run, with the peer, over three gold questions (a fact, a follow-up with history, an unanswerable) and
    one broken one."""
    root = tmp_path_factory.mktemp("eval")
    broken = {**GOLD["f01"], "id": "broken", "split": "dev", "question": "   "}  # the chain refuses an empty question
    dataset = write_gold(root / "tiny.jsonl", [GOLD["f01"], GOLD["f02"], GOLD["f03"], broken])
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(root)  # no developer .env
        for key in [k for k in os.environ if k.startswith("NEWSRAG_") and k != "NEWSRAG_MODEL_DIR"]:
            mp.delenv(key)
        user_data = root / "user-data"
        settings = Settings(llm_backend="fake", data_dir=user_data)
        results = run_eval(settings, dataset, root / "out", retrieval="bm25", k=3, baseline=True, progress=False)
    return {"results": results, "summary": results["summary"], "out": root / "out", "user_data": user_data}


def test_run_writes_results_report_and_chart(eval_run):
    out = eval_run["out"]
    results = json.loads((out / "results.json").read_text())
    assert results == json.loads(json.dumps(eval_run["results"]))  # run_eval returns what it wrote
    for rows in (results["rows"], results["baseline_rows"]):
        assert [row["id"] for row in rows] == ["f01", "f02", "f03", "broken"]
        assert all(ROW_KEYS <= set(row) for row in rows)
    assert all(len(row["passages"]) <= 3 for row in results["rows"])
    assert [row["split"] for row in results["rows"]] == ["test", "dev", "test", "dev"]
    assert {row["corpus"] for row in results["rows"] + results["baseline_rows"]} == {"iraq"}
    assert results["settings"]["retrieval"] == "bm25" and results["settings"]["top_k"] == 3
    assert "llm_api_key" not in results["settings"]

    report = (out / "report.md").read_text()
    for heading in ("## Headline", "## By category", "## Ours vs the LangChain peer", "## Failures"):
        assert heading in report
    assert "| answer correctness | " in report.split("## Ours vs the LangChain peer")[1]
    assert (out / "report.png").read_bytes().startswith(b"\x89PNG")
    assert not eval_run["user_data"].exists()  # the sample corpus went into a temporary store


def test_summary_has_every_metric_overall_and_per_category(eval_run):
    results = eval_run["results"]
    for summary in (results["summary"], results["baseline_summary"]):
        assert METRIC_KEYS <= set(summary["overall"])
        assert set(summary["by_category"]) == {"single_fact", "follow_up", "unanswerable_on_topic"}
        for metrics in summary["by_category"].values():
            assert METRIC_KEYS <= set(metrics)
        assert summary["overall"]["n"] == 4 and summary["run"]["split"] == "all"
        assert summary["overall"]["hit_at_k"] is not None  # the fact and the follow-up have evidence
    assert results["summary"]["run"]["retrieval"] == "bm25" and results["summary"]["run"]["k"] == 3
    assert results["baseline_summary"]["run"]["k"] == 4 and results["baseline_summary"]["run"]["system"] == "LangChain peer"


def test_the_peers_citations_are_the_retrieved_documents_its_markers_name(eval_run):
    rows = {row["id"]: row for row in eval_run["results"]["baseline_rows"]}
    fact = rows["f01"]  # the fake model answers with the first sentence of context piece [n] and cites it
    assert not fact["abstained"] and fact["raw_answer"] == fact["answer"]
    assert fact["citations"], fact["answer"]
    for cited in fact["citations"]:
        assert f"[{cited['n']}]" in fact["answer"]
        assert cited["passage_id"] == fact["passages"][cited["n"] - 1]["id"]
        assert cited["source"] == fact["passages"][cited["n"] - 1]["source"]
    assert len(fact["passages"]) == 4
    assert fact["scores"]["citation_recall"] == 1.0
    assert set(fact["timings"]) >= {"until_passages", "until_first_token", "total"}
    assert rows["f02"]["standalone_question"]  # the follow-up went through the contextualize step


def test_a_question_that_raises_is_a_recorded_failure(eval_run):
    results = json.loads((eval_run["out"] / "results.json").read_text())
    broken = next(row for row in results["rows"] if row["id"] == "broken")
    assert "empty" in broken["error"]
    assert broken["scores"]["answer_correct"] is False
    assert eval_run["summary"]["overall"]["errors"] == 1
    report = (eval_run["out"] / "report.md").read_text()
    assert "### broken (single_fact): error: QuestionError" in report


def test_the_report_lists_no_failure_of_the_sealed_test_split(eval_run):
    from evals.run import render_report

    rows = copy.deepcopy(eval_run["results"]["rows"])
    for row in rows:  # every question fails: f01 and f03 are test items, f02 and broken dev ones
        row["scores"].update(answer_correct=False)
    report = render_report(eval_run["summary"], rows)
    assert "### f02 (follow_up): wrong answer" in report and "### broken " in report
    assert "### f01 " not in report and "### f03 " not in report
    assert "2 of them on the sealed test split, not listed" in report


def test_compare_names_regressed_and_improved_questions(eval_run, tmp_path):
    results = json.loads((eval_run["out"] / "results.json").read_text())
    old, new = copy.deepcopy(results), copy.deepcopy(results)
    good = {"answer_correct": True, "abstention": "answered", "citation_precision": 1.0}
    bad = {"answer_correct": False, "abstention": "false_abstain", "citation_precision": None}
    old["rows"][0]["scores"].update(good)  # f01 was right and is now an abstention
    new["rows"][0]["scores"].update(bad)
    old["rows"][2]["scores"].update(abstention="missed_abstain")  # f03 now abstains as it should
    new["rows"][2]["scores"].update(abstention="true_abstain")
    new["summary"]["overall"]["answer_correctness"] = (old["summary"]["overall"]["answer_correctness"] or 0) - 0.25
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))

    for results_ in (old, new):
        results_["rows"][0]["split"] = "dev"  # the sealed test split's questions are only counted
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    text = compare(tmp_path / "old.json", tmp_path / "new.json")
    regressed, improved = text.split("## Improved")
    assert "f01 (single_fact, dev): no longer correct; abstention answered → false_abstain" in regressed
    assert "f03" not in text and "Test split (sealed, counted only): 0 questions regressed, 1 improved." in text
    assert "| answer correctness |" in text and "-0.25" in text
    assert "Old: all split, 4 questions. New: all split, 4 questions." in text and "not comparable" not in text
    new["summary"]["run"]["split"] = "test"
    (tmp_path / "new.json").write_text(json.dumps(new))
    assert "different splits" in compare(tmp_path / "old.json", tmp_path / "new.json")


def test_compare_reads_results_written_before_the_timings_were_renamed(eval_run, tmp_path):
    new = json.loads((eval_run["out"] / "results.json").read_text())
    old = copy.deepcopy(new)
    for p in ("p50", "p95"):  # Answer.timings said "retrieval" and "first_token" then
        old["summary"]["overall"][f"retrieval_{p}"] = old["summary"]["overall"].pop(f"until_passages_{p}")
        old["summary"]["overall"][f"first_token_{p}"] = old["summary"]["overall"].pop(f"until_first_token_{p}")
    (tmp_path / "old.json").write_text(json.dumps(old))
    (tmp_path / "new.json").write_text(json.dumps(new))
    rows = compare(tmp_path / "old.json", tmp_path / "new.json").splitlines()
    for label in ("until passages p50 (s)", "until first token p95 (s)"):
        row = next(line for line in rows if line.startswith(f"| {label} |"))
        assert row.endswith("| +0.00 |"), row


def summary_of(split: str = "test", questions: int = 80, **overall: float | None) -> dict:
    return {"run": {"split": split, "questions": questions}, "overall": overall}


def test_gate_fails_below_threshold_and_passes_above(tmp_path):
    thresholds = tmp_path / "thresholds.toml"
    thresholds.write_text("[gate]\nanswer_correctness = 0.85\nhit_at_k = 0.5\n")
    below = summary_of(answer_correctness=0.81, hit_at_k=0.9)
    assert check_gate(below, thresholds).failures == ["answer_correctness 0.81 < 0.85"]
    above = summary_of(answer_correctness=0.9, hit_at_k=0.5)
    assert check_gate(above, thresholds).passed
    unmeasured = summary_of(answer_correctness=None, hit_at_k=0.9)
    assert check_gate(unmeasured, thresholds).failures == ["answer_correctness was not measured (minimum 0.85)"]
    assert check_gate({**above, "run": {"split": "dev", "questions": 80}}, thresholds).failures == [
        "the gate reads the test split; this run was on dev"]
    thresholds.write_text("[gate]\nanswer_corectness = 0.85\n")  # a typo must not pass silently
    assert check_gate(above, thresholds).failures == ["answer_corectness is not a metric of the summary"]


@pytest.fixture
def recorded_peer(tmp_path):
    """thresholds.toml with a beats_baseline section and the committed peer run it names."""
    peer = summary_of(answer_correctness=0.5, abstention_accuracy=0.7)
    (tmp_path / "peer.json").write_text(json.dumps({"summary": summary_of(), "baseline_summary": peer}))

    def thresholds(expected_to_fail: bool, results: Path = tmp_path / "peer.json") -> Path:
        path = tmp_path / "thresholds.toml"
        path.write_text(f'[beats_baseline]\nresults = "{results}"\n'
                        f'metrics = ["answer_correctness", "abstention_accuracy"]\n'
                        f"expected_to_fail = {str(expected_to_fail).lower()}\n")
        return path

    return thresholds


def test_beats_baseline_fails_when_ours_is_below_the_recorded_peer(recorded_peer):
    behind = summary_of(answer_correctness=0.4, abstention_accuracy=0.9)
    assert check_gate(behind, recorded_peer(False)).failures == [
        "beats_baseline: answer_correctness 0.4 < 0.5 of the LangChain peer"]
    assert check_gate(summary_of(answer_correctness=0.5, abstention_accuracy=0.7), recorded_peer(False)).passed


def test_an_expected_failure_is_printed_not_failed_and_a_pass_says_to_drop_the_flag(recorded_peer):
    behind = check_gate(summary_of(answer_correctness=0.4, abstention_accuracy=0.9), recorded_peer(True))
    assert behind.passed and behind.notes == []
    assert behind.expected_failures == ["beats_baseline: answer_correctness 0.4 < 0.5 of the LangChain peer"]
    ahead = check_gate(summary_of(answer_correctness=0.6, abstention_accuracy=0.9), recorded_peer(True))
    assert ahead.passed and ahead.expected_failures == []
    assert ahead.notes == ["beats_baseline now passes: set expected_to_fail = false in thresholds.toml"]


def test_beats_baseline_uses_the_peer_of_this_run_when_there_is_one(recorded_peer, tmp_path):
    ours = summary_of(answer_correctness=0.6, abstention_accuracy=0.9)
    stronger_peer = summary_of(answer_correctness=0.7, abstention_accuracy=0.9)
    thresholds = recorded_peer(False, results=tmp_path / "missing.json")
    assert check_gate(ours, thresholds, peer_summary=stronger_peer).failures == [
        "beats_baseline: answer_correctness 0.6 < 0.7 of the LangChain peer"]


def test_beats_baseline_refuses_a_missing_or_mismatched_peer_record(recorded_peer, tmp_path):
    ours = summary_of(answer_correctness=0.6, abstention_accuracy=0.9)
    missing = check_gate(ours, recorded_peer(True, results=tmp_path / "missing.json"))
    assert not missing.passed and "no recorded peer results" in missing.failures[0]
    fewer = check_gate(ours, recorded_peer(True), peer_summary=summary_of(questions=3, answer_correctness=0.1))
    assert not fewer.passed and "record the peer again" in fewer.failures[0]


def test_shipped_thresholds_gate_the_headline_metrics():
    config = tomllib.loads(DEFAULT_THRESHOLDS.read_text())
    gate = config["gate"]
    assert {"answer_correctness", "citation_precision", "abstention_accuracy", "hit_at_k"} <= set(gate)
    assert all(0 < minimum <= 1 for minimum in gate.values())
    # the peer comparison is enabled once a test-split peer run is committed (thresholds.toml says why not yet)
    beats = config.get("beats_baseline")
    if beats is None:
        assert "[beats_baseline]" in DEFAULT_THRESHOLDS.read_text()  # kept, commented, with its reason
        return
    assert beats["results"].startswith("evals/results/") and beats["results"].endswith("/results.json")
    assert (DEFAULT_THRESHOLDS.parents[1] / beats["results"]).is_file()
    assert set(beats["metrics"]) == {"answer_correctness", "abstention_accuracy"}
    assert isinstance(beats["expected_to_fail"], bool)


def test_splits_select_questions_and_an_item_without_one_is_dev(tmp_path):
    assert [item["id"] for item in load_dataset(FIXTURE_GOLD, split="test")] == ["f01", "f03", "f05"]
    assert [item["id"] for item in load_dataset(FIXTURE_GOLD, split="dev", limit=2)] == ["f02", "f04"]
    assert [item["id"] for item in load_dataset(FIXTURE_GOLD, split="dev")] == ["f02", "f04", "f06", "f07"]
    assert len(load_dataset(FIXTURE_GOLD)) == 7
    unsplit = {key: value for key, value in GOLD["f01"].items() if key != "split"}
    dataset = write_gold(tmp_path / "old.jsonl", [unsplit])
    assert load_dataset(dataset, split="dev") == [unsplit] and load_dataset(dataset, split="test") == []
    with pytest.raises(ConfigError, match="no test questions"):
        run_eval(Settings(llm_backend="fake"), dataset, tmp_path / "out", split="test")
    with pytest.raises(ConfigError, match="unknown split"):
        load_dataset(dataset, split="train")  # type: ignore[arg-type]


def test_cli_gate_refuses_another_split():
    from ui.cli import cli

    result = CliRunner().invoke(cli, ["eval", "--gate", "--split", "dev"])
    assert result.exit_code == 2 and "--gate runs the test split" in result.output


def test_retrieval_ablation_scores_every_setting_and_misses_a_wrong_evidence(tmp_path, monkeypatch):
    from evals.ablation import render_ablation, retrieval_ablation, search_query

    fact = GOLD["f07"]  # a fact stated in one article only, so its evidence is complete however the corpus grows
    misplaced = {**fact, "id": "misplaced",
                 "evidence": [{"article": "no-such-article.md", "span": fact["evidence"][0]["span"]}]}
    held_out = {**misplaced, "id": "held-out", "split": "test"}  # the ablation tunes on dev: never counted
    dataset = write_gold(tmp_path / "tiny.jsonl", [fact, misplaced, held_out])
    monkeypatch.chdir(tmp_path)

    rows = retrieval_ablation(Settings(data_dir=tmp_path / "unused"), modes=("dense", "bm25"), ks=(1, 4),
                              chunk_sizes=(120,), focus=(0, 1), dataset=dataset)

    assert [(row["mode"], row["k"], row["focus"]) for row in rows] == [
        (mode, k, focus) for mode in ("dense", "bm25") for k in (1, 4) for focus in (0, 1)]
    assert all(row["chunk_tokens"] == 120 and row["chunks"] > 0 for row in rows)
    # f07's evidence is found with k=4 by both modes; the misplaced copy never is, so hit@4 is exactly 1/2
    assert [row["hit_at_k"] for row in rows if row["k"] == 4] == [0.5] * 4
    whole, one_sentence = [row for row in rows if row["k"] == 4 and row["mode"] == "dense"]
    assert whole["kept"] == 0.5 and one_sentence["kept"] <= whole["kept"]
    assert 0 < one_sentence["uncached_tokens"] < whole["uncached_tokens"]
    assert not (tmp_path / "unused").exists()  # each chunk size gets its own temporary store
    table = render_ablation(rows)
    assert table.count("\n") == len(rows) + 1 and "| 120 (" in table
    assert search_query(GOLD["f02"]).startswith(GOLD["f02"]["history"][0]["content"])
    assert search_query(GOLD["f01"]) == GOLD["f01"]["question"]


def test_retrieval_ablation_prices_the_chunk_header_and_overlap(tmp_path, monkeypatch):
    from evals.ablation import render_ablation, retrieval_ablation

    dataset = write_gold(tmp_path / "tiny.jsonl", [GOLD["f07"]])
    monkeypatch.chdir(tmp_path)

    rows = retrieval_ablation(Settings(data_dir=tmp_path / "unused"), modes=("dense",), ks=(4,), chunk_sizes=(120,),
                              overlaps=(0, 30), headers=(True, False), dataset=dataset)

    cost = {(row["chunk_overlap"], row["chunk_header"]): row["wordpieces_per_article"] for row in rows}
    assert list(cost) == [(0, True), (0, False), (30, True), (30, False)]
    assert cost[(0, False)] < cost[(0, True)] < cost[(30, True)]  # the header and the overlap are embedded too
    assert cost[(0, False)] < cost[(30, False)]
    assert all(row["hit_at_k"] == 1.0 for row in rows)  # f07's evidence is found with or without either
    assert "| 30 | none |" in render_ablation(rows)


HARBOUR_ITEM = {
    "id": "g-fixture-01", "corpus": "general", "split": "dev", "category": "single_fact",
    "question": "How many visitors did the harbour festival draw?", "history": [],
    "answer": "About twelve thousand visitors came.", "must_include": [["twelve thousand", "12000"]], "must_not": [],
    "wrong_answer": "About two thousand visitors came.",
    "evidence": [{"article": "harbour.md", "span": "The harbour festival drew about twelve thousand visitors"}],
}


@pytest.fixture
def two_corpora(tmp_path, monkeypatch):
    """A gold folder with an Iraq item and a general one, the general corpus a folder of one short article."""
    import evals.dataset

    general = tmp_path / "general"
    general.mkdir()
    (general / "harbour.md").write_text((Path(__file__).parent / "data" / "harbour.md").read_text())
    monkeypatch.setitem(evals.dataset.CORPORA, "general", lambda: general)
    gold = tmp_path / "gold"
    gold.mkdir()
    write_gold(gold / "gold.jsonl", [GOLD["f07"]])
    write_gold(gold / "gold-fixture.jsonl", [HARBOUR_ITEM])
    monkeypatch.chdir(tmp_path)
    return gold


def test_each_corpus_is_asked_over_a_store_of_its_own_and_reported_apart(two_corpora, tmp_path):
    settings = Settings(llm_backend="fake", data_dir=tmp_path / "user-data")
    results = run_eval(settings, two_corpora, tmp_path / "out", baseline=True, progress=False)
    for rows in (results["rows"], results["baseline_rows"]):
        assert [(row["id"], row["corpus"]) for row in rows] == [("f07", "iraq"), ("g-fixture-01", "general")]
        iraq, general = rows
        assert {p["source"].rpartition("/")[2] for p in general["passages"]} == {"harbour.md"}
        assert iraq["passages"] and all(not p["source"].endswith("harbour.md") for p in iraq["passages"])
    summary = results["summary"]
    assert summary["run"]["corpora"] == ["iraq", "general"] and summary["run"]["corpus"] == "all"
    assert {name: tables["overall"]["n"] for name, tables in summary["by_corpus"].items()} == {"iraq": 1, "general": 1}
    assert set(results["baseline_summary"]["by_corpus"]) == {"iraq", "general"}
    report = (tmp_path / "out" / "report.md").read_text()
    assert "over the iraq corpus and the general corpus, each in a store of its own" in report
    assert "| general | single_fact | 1 |" in report and "| general | 1 | " in report
    assert not (tmp_path / "user-data").exists()

    only = run_eval(settings, two_corpora, tmp_path / "general-only", corpus="general", progress=False)
    assert [row["id"] for row in only["rows"]] == ["g-fixture-01"] and only["summary"]["run"]["corpora"] == ["general"]
    with pytest.raises(ConfigError, match="--data-dir evaluates one existing store.*2 corpora"):
        run_eval(settings, two_corpora, tmp_path / "x", data_dir=tmp_path / "store", progress=False)

    from evals.answer_cache import seed_from_results

    seeded = seed_from_results(tmp_path / "a.db", tmp_path / "out" / "results.json", settings, two_corpora)
    assert seeded >= 4, "ours and the peer's answer, on each corpus"
    again = run_eval(settings, two_corpora, tmp_path / "again", baseline=True, answer_cache=tmp_path / "a.db",
                     progress=False)
    # only the two warm-ups (ours, the peer's) reach the model: the second corpus's warm-up is the same prompt
    assert again["summary"]["run"]["answer_cache"]["model_answers"] == 2
    assert [row["raw_answer"] for row in again["rows"]] == [row["raw_answer"] for row in results["rows"]]


def test_the_gate_reads_the_test_split_of_every_corpus_and_a_peer_record_of_the_same_corpora(recorded_peer):
    ours = summary_of(answer_correctness=0.6, abstention_accuracy=0.9)
    one_corpus = {**ours, "run": {**ours["run"], "corpus": "iraq", "corpora": ["iraq"]}}
    assert "the gate reads the test split of every corpus" in check_gate(one_corpus, recorded_peer(False)).failures[0]
    both = {**ours, "run": {**ours["run"], "corpus": "all", "corpora": ["iraq", "general"]}}
    outcome = check_gate(both, recorded_peer(False))  # the record is of the Iraq corpus alone
    assert not outcome.passed and "(iraq), this run on 80 test questions (iraq, general)" in outcome.failures[0]
    peer = {"run": {**both["run"]}, "overall": {"answer_correctness": 0.5, "abstention_accuracy": 0.7}}
    assert check_gate(both, recorded_peer(False), peer_summary=peer).passed


def test_cli_gate_refuses_one_corpus():
    from ui.cli import cli

    result = CliRunner().invoke(cli, ["eval", "--gate", "--corpus", "iraq"])
    assert result.exit_code == 2 and "--gate runs the test split of every corpus" in result.output
