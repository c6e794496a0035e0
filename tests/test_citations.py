import pytest

from rag.citations import CitationVerifier, lexical_support, normalize_markers, split_sentences
from rag.types import Passage

PASSAGES = [
    Passage(id="p1", article_id="a1", title="Transfers begin", outlet="Desk", date="2026-01-21",
            text="CENTCOM began by moving 150 Islamic State fighters from a prison in Hasakah. "
                 "Up to 7,000 detainees could be moved in total."),
    Passage(id="p2", article_id="a2", title="Base handed over", outlet="Desk", date="2026-01-19",
            text="US forces left Ain al-Asad airbase, Iraq's Defense Ministry said. They moved to the Kurdistan Region."),
]


@pytest.fixture(scope="module")
def verifier(embeddings):
    return CitationVerifier(embeddings)


def test_markers_to_missing_passages_are_removed_and_lists_split():
    assert normalize_markers("Fact [1, 2]. Other [7].", 2) == "Fact [1][2]. Other ."


def test_numbers_must_match_for_lexical_support():
    assert lexical_support("CENTCOM moved 150 fighters.", PASSAGES[0].text) > 0.5
    assert lexical_support("CENTCOM moved 250 fighters.", PASSAGES[0].text) == 0.0


def test_sentence_splitting_keeps_markers_with_their_sentence():
    assert split_sentences("A fact. [1] Another fact [2]. Third.") == ["A fact. [1]", "Another fact [2].", "Third."]


def test_right_citation_is_kept_with_its_quote(verifier):
    text, citations, unsupported = verifier.verify("CENTCOM moved 150 fighters from Hasakah [1].", PASSAGES)
    assert text.endswith("[1]") and not unsupported
    assert citations[0].n == 1 and "150" in citations[0].quote


def test_right_fact_under_wrong_marker_is_reattributed(verifier):
    text, citations, _ = verifier.verify("Up to 7,000 detainees could be moved [2].", PASSAGES)
    assert "[1]" in text and "[2]" not in text
    assert [c.n for c in citations] == [1]
    assert "7,000" in citations[0].quote


def test_uncited_supported_sentence_gets_a_citation(verifier):
    text, citations, _ = verifier.verify("US forces moved to the Kurdistan Region.", PASSAGES)
    assert text.endswith("[2]") and citations[0].passage_id == "p2"


def test_unsupported_sentence_is_flagged_not_cited(verifier):
    text, citations, unsupported = verifier.verify(
        "CENTCOM moved 150 fighters [1]. The president of France visited Paris zoo on Monday [2].", PASSAGES
    )
    assert unsupported == ["The president of France visited Paris zoo on Monday."]
    assert [c.n for c in citations] == [1]
    assert "Paris zoo on Monday." in text and "Monday. [2]" not in text


@pytest.mark.parametrize("raw, clean", [
    ("The first detainees came from Hasakah, Syria, as stated in. [1]", "The first detainees came from Hasakah, Syria. [1]"),
    ("Mosul was a major defeat in 2017. [1] This is stated in the passage. [1]", "Mosul was a major defeat in 2017. [1]"),
    ("According to the articles, the number could reach 7,000. [1]", "The number could reach 7,000. [1]"),
    ("According to CENTCOM, up to 7,000 could be moved [1].", "According to CENTCOM, up to 7,000 could be moved [1]."),
    ("The base is in Anbar, according to passage 2 and 3. [2]", "The base is in Anbar. [2]"),
])
def test_narration_of_sources_is_removed(raw, clean):
    from rag.citations import strip_narration

    assert strip_narration(raw) == clean
