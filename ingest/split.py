"""Token-counted, sentence-aware chunking that keeps character offsets into the article."""

from __future__ import annotations

from dataclasses import dataclass

from rag.text import sentence_spans, trim_span
from rag.tokens import count_tokens, encoding


@dataclass(frozen=True)
class Span:
    start: int
    end: int


def _sentences(text: str) -> list[Span]:
    return [Span(start, end) for start, end in sentence_spans(text)]


def _split_long(text: str, span: Span, max_tokens: int) -> list[Span]:
    """Cut a sentence longer than a chunk at token boundaries (it has no better place to break)."""
    tokens = encoding().encode(text[span.start : span.end], disallowed_special=())
    _, offsets = encoding().decode_with_offsets(tokens)
    pieces = []
    for begin in range(0, len(tokens), max_tokens):
        start = span.start + offsets[begin]
        end = span.start + offsets[begin + max_tokens] if begin + max_tokens < len(tokens) else span.end
        if end > start:
            pieces.append(Span(start, end))
    # A window boundary inside a multi-byte character can round an offset; keep each piece within budget.
    out = []
    for piece in pieces:
        while count_tokens(text[piece.start : piece.end]) > max_tokens and piece.end - piece.start > 1:
            cut = piece.start + (piece.end - piece.start) * 3 // 4
            out.extend(_split_long(text, Span(piece.start, cut), max_tokens))
            piece = Span(cut, piece.end)
        out.append(piece)
    return [p for p in (Span(*trim_span(text, p.start, p.end)) for p in out) if p.end > p.start]


def split_spans(text: str, chunk_tokens: int = 200, overlap_tokens: int = 40) -> list[Span]:
    """Spans of at most chunk_tokens tokens, broken between sentences where possible, overlapping a little."""
    if overlap_tokens >= chunk_tokens:
        raise ValueError(f"overlap_tokens ({overlap_tokens}) must be smaller than chunk_tokens ({chunk_tokens})")
    pieces: list[Span] = []
    for sentence in _sentences(text):
        if count_tokens(text[sentence.start : sentence.end]) > chunk_tokens:
            pieces.extend(_split_long(text, sentence, chunk_tokens))
        else:
            pieces.append(sentence)

    chunks: list[Span] = []
    first = 0
    while first < len(pieces):
        last = first
        while last + 1 < len(pieces) and count_tokens(text[pieces[first].start : pieces[last + 1].end]) <= chunk_tokens:
            last += 1
        chunks.append(Span(pieces[first].start, pieces[last].end))
        if last + 1 >= len(pieces):
            break
        # Start the next chunk a few sentences back, as long as they fit in the overlap budget.
        next_first = last + 1
        while (next_first - 1 > first
               and count_tokens(text[pieces[next_first - 1].start : pieces[last].end]) <= overlap_tokens):
            next_first -= 1
        first = next_first
    return chunks
