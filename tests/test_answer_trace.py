"""The answer pipeline as a user and a tool see it: Answer.trace in the API and `ask --json`, the switches, the
generated list of checks."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner
from fastapi.testclient import TestClient

from ingest.pipeline import sample_corpus_dir
from rag.answer.docs import checks_markdown
from rag.answer.pipeline import CHECK_NAMES, PIPELINE, switches
from rag.config import Settings
from rag.errors import ConfigError
from ui.server import build_app

from conftest import services_over

ROOT = Path(__file__).resolve().parent.parent
OFF_TOPIC = "Who won the 2023 Tour de France?"  # the sample corpus never names France nor 2023


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    return services_over(tmp_path_factory.mktemp("trace") / "data", [sample_corpus_dir()])


def test_the_committed_list_of_checks_is_the_pipeline_s():
    assert (ROOT / "docs" / "checks.md").read_text(encoding="utf-8") == checks_markdown(), \
        "run: python -m rag.answer.docs > docs/checks.md"
    assert all(f"`{check.name}`" in checks_markdown() for check in PIPELINE)


def test_every_check_has_a_name_a_stage_and_a_docstring_with_an_example():
    assert len(set(CHECK_NAMES)) == len(CHECK_NAMES)
    for check in PIPELINE:
        assert check.stage in {"repair", "verify", "rewrite", "gate", "annotate"}, check.name
        assert '"' in (type(check).__doc__ or ""), f"{check.name}'s docstring quotes no example"


def test_the_switches_are_read_from_the_environment_and_an_unknown_name_is_refused(monkeypatch):
    monkeypatch.setenv("NEWSRAG_ANSWER_CHECKS", '{"conflict_note": false}')
    assert Settings(_env_file=None).answer_checks == {"conflict_note": False}
    assert switches({"conflict_note": False}) == {"conflict_note": False}
    with pytest.raises(ConfigError, match="conflict_notes.*known: cut_off_end"):
        switches({"conflict_notes": False})


def test_the_api_answer_carries_the_trace_of_the_check_that_declined_it(services):
    client = TestClient(build_app(services.settings, services))
    body = client.post("/api/ask", json={"question": OFF_TOPIC}).json()
    assert body["abstained"]
    declined = [step for step in body["trace"] if step["action"] == "decline"]
    assert declined and declined[-1]["check"] in CHECK_NAMES and declined[-1]["reason"]
    assert body["trace"] == [s.model_dump() for s in services.chain.invoke({"question": OFF_TOPIC}).trace]


def test_ask_json_prints_the_trace(services, monkeypatch):
    from ui.commands.ask import answer_json

    answer = services.chain.invoke({"question": OFF_TOPIC})
    assert answer_json(answer)["trace"] == [s.model_dump() for s in answer.trace] and answer.trace
    monkeypatch.setenv("NEWSRAG_DATA_DIR", str(services.settings.data_dir))
    monkeypatch.setenv("NEWSRAG_LLM_BACKEND", "fake")
    result = CliRunner().invoke(__import__("ui.cli", fromlist=["cli"]).cli, ["ask", OFF_TOPIC, "--json"])
    assert result.exit_code == 0, result.output
    assert '"trace": [' in result.output and f'"check": "{answer.trace[-1].check}"' in result.output


def test_a_check_switched_off_leaves_the_trace_and_the_answer(services):
    chain = services.chain
    on = chain.invoke({"question": OFF_TOPIC})
    first = on.trace[0].check
    from rag.chain import AnswerChain

    off = AnswerChain(chain.settings.model_copy(update={"answer_checks": {first: False}}), chain.retriever, chain.llm)
    assert first not in [s.check for s in off.invoke({"question": OFF_TOPIC}).trace]
