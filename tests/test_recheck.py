"""The answer-check ablation replays a run's stored raw answers: each check, switched off, shows what it moved."""

from __future__ import annotations

from evals.dataset import DEFAULT_DATASET, load_dataset
from evals.recheck import recheck, render_answer_check_ablation, switched_off
from rag.answer.pipeline import CHECK_NAMES
from rag.chain import build_chain
from rag.llm import FakeNewsModel

from test_chain import sample_store  # noqa: F401 - a fixture

GOLD = {item["id"]: item for item in load_dataset(DEFAULT_DATASET, None, "all")}
# the bundled model's own answer to dev item x007, with the passages retrieved for it on the sample corpus
TOUR = "Lea Brandt won the 2023 Tour de France. [4]"


def _run_with(chain, item_id: str, raw: str) -> dict:
    item = GOLD[item_id]
    passages = chain.retriever.search(item["question"])
    return {"rows": [{"id": item_id, "standalone_question": item["question"], "raw_answer": raw,
                      "passages": [{"id": p.id, "score": p.score, "similarity": p.similarity} for p in passages]}]}


def test_each_check_switched_off_shows_what_it_moved(sample_store):  # noqa: F811
    settings, store = sample_store
    chain = build_chain(settings, store=store, llm=FakeNewsModel())
    results = _run_with(chain, "x007", TOUR)
    on = recheck(results, {"iraq": switched_off(chain, None)}, GOLD)["overall"]
    names_off = switched_off(switched_off(chain, "unmentioned_names"), "cited_names")  # both read unmentioned names
    assert recheck(results, {"iraq": names_off}, GOLD)["overall"] == on, \
        "the quote rule of the citation check also finds no sentence stating the 2023 Tour de France"
    off = recheck(results, {"iraq": switched_off(switched_off(names_off, "citations"), "unbacked")}, GOLD)["overall"]
    assert on["abstention_accuracy"] == 1.0, "the off-topic answer is declined with every check on"
    assert off["abstention_accuracy"] == 0.0, "without the name, citation and unbacked checks the sports passage's answer gets through"
    table = render_answer_check_ablation({"all checks on": {"overall": on},
                                          "unmentioned_names": {"overall": off}})
    assert "| without unmentioned_names | – | 0.000 (-1.000) |" in table
    assert recheck(results, {"iraq": switched_off(chain, "unmentioned_names")}, GOLD)["overall"] == on, \
        "the gate on the cited passages' names still declines it"


def test_a_row_switches_one_check_off_through_the_settings_and_leaves_the_chain_as_it_was(sample_store):  # noqa: F811
    settings, store = sample_store
    chain = build_chain(settings, store=store, llm=FakeNewsModel())
    for name in CHECK_NAMES:
        off = switched_off(chain, name)
        assert off.settings.answer_checks == {name: False} and not off.switches[name]
    assert chain.settings.answer_checks == {} and switched_off(chain, None) is chain


def test_a_replay_reads_the_passages_the_model_read_not_the_reports_below_k_its_note_cited(sample_store):  # noqa: F811
    """An answer lists, after the k retrieved passages, the reports below k its note cites: replayed as retrieved
    they would reach the model's context and hide what the search below k does (dev d021)."""
    from evals.replay import stored_passages

    settings, store = sample_store
    chain = build_chain(settings, store=store, llm=FakeNewsModel())
    wide = chain.retriever.search("How many large camps did Syrian government forces take?", 3 * settings.top_k)
    row = {"passages": [{"id": p.id, "score": p.score, "similarity": p.similarity} for p in wide]}
    assert [p.id for p in stored_passages(chain, row)] == [p.id for p in wide[: settings.top_k]]
