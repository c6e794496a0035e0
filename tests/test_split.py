from hypothesis import given
from hypothesis import settings as hsettings
from hypothesis import strategies as st

from ingest.split import split_spans
from rag.tokens import count_tokens

PARAGRAPH = (
    "US forces left Ain al-Asad on January 19, 2026. Iraq's Defense Ministry confirmed the move. "
    "The base lies in Al Anbar Governorate in western Iraq! Did anyone expect it? Many did.\n\n"
)


def test_chunks_respect_size_and_break_at_sentences():
    text = PARAGRAPH * 20
    spans = split_spans(text, chunk_tokens=60, overlap_tokens=15)
    assert len(spans) > 5
    for span in spans:
        piece = text[span.start : span.end]
        assert count_tokens(piece) <= 60
        assert piece[-1] in ".!?", piece[-20:]  # ends at a sentence boundary
        assert piece == piece.strip()


def test_neighbouring_chunks_overlap():
    text = PARAGRAPH * 10
    spans = split_spans(text, chunk_tokens=60, overlap_tokens=20)
    assert any(b.start < a.end for a, b in zip(spans, spans[1:]))


def test_a_sentence_longer_than_a_chunk_is_cut_by_tokens():
    text = "word " * 1000 + "end."
    spans = split_spans(text, chunk_tokens=50, overlap_tokens=5)
    assert all(count_tokens(text[s.start : s.end]) <= 50 for s in spans)
    assert spans[0].start == 0 and spans[-1].end == len(text)


def test_overlap_must_be_smaller_than_size():
    import pytest

    with pytest.raises(ValueError, match="overlap_tokens"):
        split_spans("Some text.", chunk_tokens=10, overlap_tokens=10)


@hsettings(max_examples=150, deadline=None)
@given(text=st.text(min_size=0, max_size=3000), size=st.integers(8, 120), overlap=st.integers(0, 7))
def test_chunks_never_exceed_the_limit_and_cover_the_text_in_order(text, size, overlap):
    spans = split_spans(text, chunk_tokens=size, overlap_tokens=overlap)
    for span in spans:
        assert 0 <= span.start < span.end <= len(text)
        assert count_tokens(text[span.start : span.end]) <= size
    assert [s.start for s in spans] == sorted(s.start for s in spans)
    covered = set()
    for span in spans:
        covered.update(range(span.start, span.end))
    assert all(i in covered for i, ch in enumerate(text) if not ch.isspace())


def test_chunks_do_not_break_at_abbreviations():
    sentence = "Gen. Kurilla said on Jan. 17 that U.S. forces would leave, Mr. Smith told reporters in Washington. "
    text = sentence * 30
    spans = split_spans(text, chunk_tokens=60, overlap_tokens=10)
    for span in spans:
        assert text[span.start : span.end].endswith("in Washington."), text[span.start : span.end][-30:]
