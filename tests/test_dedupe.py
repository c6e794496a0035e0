"""Wire copies fold into one retrieved passage; an early report and its correction never do."""

from __future__ import annotations

import pytest

from ingest.pipeline import ingest, sample_corpus_dir
from rag.config import Settings
from rag.dedupe import collapse_near_copies, is_near_copy
from rag.retrieve import Retriever
from rag.store import Store
from rag.types import Passage

STORY = (
    "US Central Command (CENTCOM) said on January 21 that it had launched a mission to transfer Islamic State "
    "detainees out of Syria and into Iraq in order to keep them secure. The operation began with 150 Islamic State "
    "fighters, who were brought out of a detention site in Hasakah, Syria, and taken to a secure site inside Iraq. "
    "In all, as many as 7,000 detainees could eventually be transferred into facilities that Iraq controls. "
    "CENTCOM did not disclose where in Iraq the detainees would be held.")
WIRE = (
    "US Central Command (CENTCOM) said on January 21 it had launched a mission to transfer Islamic State detainees "
    "out of Syria and into Iraq to keep them secure. The operation began with 150 Islamic State fighters, who were "
    "brought out of a detention site in Hasakah, Syria, and taken to a secure site in Iraq. In all, up to 7,000 "
    "detainees could eventually be transferred into facilities that Iraq controls. CENTCOM did not disclose where "
    "in Iraq the detainees would be held.")
OTHER = ("Syrian government troops seized much of the country's east from the Syrian Democratic Forces in less than "
         "a week, and gained control of several camps and prisons where Islamic State detainees are kept. " * 2)


def passage(pid: str, article: str, text: str, **meta) -> Passage:
    return Passage(id=pid, article_id=article, text=text, **meta)


def test_a_wire_copy_is_folded_into_the_story_and_listed():
    story = passage("s", "a1", STORY, outlet="Desert Wire", date="2026-01-21")
    wire = passage("w", "a2", WIRE, outlet="Gulf Dispatch", date="2026-01-21")
    other = passage("o", "a3", OTHER)
    kept = collapse_near_copies([story, wire, other], k=2)
    assert [p.id for p in kept] == ["s", "o"]  # the copy's slot went to different evidence
    assert [p.id for p in kept[0].also_reported_by] == ["w"]


def test_the_prompt_names_the_outlets_of_the_folded_copies():
    from rag.prompts import format_passage

    story = passage("s", "a1", STORY, outlet="Desert Wire", date="2026-01-21")
    wire = passage("w", "a2", WIRE, outlet="Gulf Dispatch", date="2026-01-21")
    [kept] = collapse_near_copies([story, wire], k=1)
    assert format_passage(1, kept).startswith("<passage [1] 2026-01-21 Desert Wire; also Gulf Dispatch>\n")


def test_the_copy_with_a_date_and_outlet_is_the_one_kept_in_the_better_ranked_slot():
    undated = passage("s", "a1", STORY, score=0.9)
    wire = passage("w", "a2", WIRE, outlet="Gulf Dispatch", date="2026-01-21", score=0.5)
    [kept] = collapse_near_copies([undated, wire], k=1)
    assert kept.id == "w" and kept.score == 0.9 and [p.id for p in kept.also_reported_by] == ["s"]


@pytest.mark.parametrize("a, b", [
    (passage("s", "a1", STORY), passage("c", "a2", STORY.replace("150", "about 100"))),  # a correction: a conflict
    (passage("s", "a1", STORY), passage("s2", "a1", WIRE)),  # two chunks of one article
    (passage("s", "a1", STORY[:200]), passage("w", "a2", WIRE[:200])),  # too short to tell a copy from stock phrases
    (passage("s", "a1", STORY), passage("o", "a2", OTHER)),
])
def test_not_near_copies(a, b):
    assert not is_near_copy(a, b)


def test_retrieval_on_the_sample_corpus_gives_each_slot_different_evidence(tmp_path, embeddings):
    settings = Settings(data_dir=tmp_path / "data")
    store = Store(settings, embeddings)
    ingest([str(sample_corpus_dir() / name) for name in (
        "2026-01-21-centcom-begins-moving-is-detainees-to-iraq.md",
        "2026-01-21-wire-centcom-launches-is-detainee-transfer.md",
        "2026-01-22-correction-first-detainee-group-numbered-150.md",
        "2026-01-21-syrian-government-forces-push-back-sdf.md")], settings, store=store)
    found = Retriever(store, settings).search("How many fighters were in the first group CENTCOM moved to Iraq?", k=3)
    titles = [p.title for p in found]
    assert len(found) == 3
    assert sum(t.startswith(("CENTCOM starts", "CENTCOM launches")) for t in titles) == 1
    assert any(p.also_reported_by for p in found)
    assert any(t.startswith("Correction") for t in titles)  # different figures: kept apart
