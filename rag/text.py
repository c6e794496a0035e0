"""Sentences and [n] citation markers: the one place ingest, focus, verification and the evals split text.

Sentence boundaries come from pysbd, which knows "Gen.", "Mr.", "U.S." and "Jan. 17" are not ends. pysbd is
slow (seconds per megabyte, and minutes on a long line without stops), so a regex proposes the boundaries and
pysbd only arbitrates the doubtful ones: a period after a word on pysbd's own abbreviation list, a single letter
or a dotted abbreviation, or before a lowercase word or a digit. A blank line always ends a sentence.
"""

from __future__ import annotations

import re
from functools import cache

import pysbd
from pysbd.lang.english import English

MARKER_PATTERN = r"\[\d+\]"  # one [n] marker, as regex text for the patterns that look for markers in context
ONE_MARKER = re.compile(r"\[(\d+)\]")
MARKER = re.compile(r"\[(\d+(?:\s*[,;]\s*\d+)*)\]")  # [1], and lists such as [1, 2] before normalize_markers
_SINGLE_MARKER = re.compile(rf"\s*{MARKER_PATTERN}")
# the ", " and " and " in "[1], [2] and [3]"
_MARKER_LIST_GLUE = re.compile(r"(?<=\])\s*(?:[,;]|,?\s*and)\s*(?=\[\d+\])")
# The rough sentence boundary (a stop, then space), for looking a few words back or at capitals that start a
# sentence, where pysbd's care is not worth its cost and a stray "U.S." costs nothing.
ROUGH_SENTENCE_BREAK = r"[.!?]\s+"
_ROUGH_BREAK = re.compile(ROUGH_SENTENCE_BREAK)
# A candidate end: stops, closing quotes or brackets, and the [n] markers a model puts after the period.
_CANDIDATE_END = re.compile(r"""[.!?]+["'”’)\]]*(?:\s*\[\d+\])*(?=\s|$)|\n[^\S\n]*\n\s*""")
_LAST_WORD = re.compile(r"""[A-Za-z][A-Za-z.]*$""")
_ABBREVIATIONS = frozenset(English.Abbreviation.ABBREVIATIONS)
_LOWER_OR_DIGIT = re.compile(r"[a-z0-9]")
_NON_SPACE = re.compile(r"\S")
_MAX_REGION = 3000  # characters pysbd reads at once: a line up to this long, else blocks of a long line
_CONTEXT = 200  # characters of context pysbd sees beyond each block's ends


@cache
def _segmenter() -> pysbd.Segmenter:
    return pysbd.Segmenter(language="en", clean=False)


def _doubtful(text: str, stop: int, next_start: int) -> bool:
    """A period that may belong to an abbreviation, or that a lowercase word or a digit follows."""
    if text[stop] != ".":
        return False
    word = _LAST_WORD.search(text, max(0, stop - 40), stop)
    if word and (len(word.group()) == 1 or "." in word.group() or word.group().lower() in _ABBREVIATIONS):
        return True
    return bool(next_start < len(text) and _LOWER_OR_DIGIT.match(text, next_start))


def _region(text: str, stop: int) -> tuple[int, int]:
    """What pysbd reads to judge a boundary: the stop's line when short, else the stop's block of a long line.

    Blocks are fixed stretches of _MAX_REGION characters, widened by _CONTEXT on each side, so every doubtful
    stop in a block shares one pysbd call and a long line costs about what pysbd costs on it once.
    """
    begin, end = text.rfind("\n", 0, stop) + 1, text.find("\n", stop)
    end = len(text) if end < 0 else end
    if end - begin <= _MAX_REGION:
        return begin, end
    block = begin + (stop - begin) // _MAX_REGION * _MAX_REGION
    left = text.rfind(" ", begin, max(begin, block - _CONTEXT)) + 1
    right = text.find(" ", min(end, block + _MAX_REGION + _CONTEXT), end)
    return max(begin, left), end if right < 0 else right


def _pysbd_starts(text: str, begin: int, end: int) -> list[int]:
    """Where pysbd starts sentences within text[begin:end], as offsets into text."""
    window, starts, cursor = text[begin:end], [], 0
    for segment in _segmenter().segment(window):
        piece = segment.strip()
        found = window.find(piece, cursor) if piece else -1
        if found >= 0:
            starts.append(begin + found)
            cursor = found + len(piece)
    return starts


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """(start, end) character offsets of the sentences of `text`, without surrounding whitespace."""
    spans, start = [], 0
    judged: dict[tuple[int, int], list[int]] = {}  # region → pysbd's sentence starts, one pysbd call per region
    for match in _CANDIDATE_END.finditer(text):
        following = _NON_SPACE.search(text, match.end())
        next_start = following.start() if following else len(text)
        hard = match.group().startswith("\n")
        if not hard and _doubtful(text, match.start(), next_start):
            region = _region(text, match.start())
            if region not in judged:
                judged[region] = _pysbd_starts(text, *region)
            if not any(match.start() < s <= next_start for s in judged[region]):
                continue
        end = match.start() if hard else match.end()
        if text[start:end].strip():
            spans.append(trim_span(text, start, end))
        start = match.end()
    if text[start:].strip():
        spans.append(trim_span(text, start, len(text)))
    return spans


def trim_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span narrowed to exclude leading and trailing whitespace."""
    piece = text[start:end]
    return start + len(piece) - len(piece.lstrip()), end - len(piece) + len(piece.rstrip())


def rough_sentence_start(text: str, position: int) -> int:
    """Where the sentence holding `position` starts by the rough rule (ROUGH_SENTENCE_BREAK)."""
    starts = [match.end() for match in _ROUGH_BREAK.finditer(text, 0, position)]
    return starts[-1] if starts else 0


def split_sentences(text: str) -> list[str]:
    """Sentences with their trailing [n] markers attached (models put them before or after the period)."""
    return [text[a:b] for a, b in sentence_spans(text)]


def markers_of(sentence: str) -> tuple[int, ...]:
    """The passage numbers a sentence cites, in order, each once."""
    return tuple(dict.fromkeys(int(n) for n in ONE_MARKER.findall(sentence)))


def markers_in(text: str) -> list[str]:
    """Every [n] marker in the text as written, in order, repeats kept."""
    return [match.group() for match in ONE_MARKER.finditer(text)]


def strip_markers(sentence: str) -> str:
    return _SINGLE_MARKER.sub("", sentence).strip()


def normalize_markers(answer: str, n_passages: int) -> str:
    """[1, 2] → [1][2], "[1], [2] and [3]" → [1][2][3]; markers that point to no passage are removed.

    A list of markers after a sentence's stop ("… Resolve. [1], [2]") otherwise leaves its commas behind as a
    sentence of their own (", ,").
    """

    def fix(match: re.Match) -> str:
        numbers = [int(x) for x in re.split(r"\s*[,;]\s*", match.group(1))]
        return "".join(f"[{n}]" for n in numbers if 1 <= n <= n_passages)

    joined = _MARKER_LIST_GLUE.sub("", MARKER.sub(fix, answer))
    return re.sub(r"\s+(?=\[\d)", " ", joined).strip()


_FINISHED = re.compile(r"""(?:[.!?…]+["'”’)]*|\])\s*$""")
MIN_UNFINISHED_WORDS = 5  # a shorter cut-off tail ("The mission") says nothing


def without_unfinished_end(answer: str) -> str:
    """The answer with the sentence the model was cut off in (out of tokens) marked as cut ("… took much of
    eastern …"), or dropped when it is short or only begins again a sentence already written (a loop)."""
    if _FINISHED.search(answer):
        return answer
    ends = [m.end() for m in _CANDIDATE_END.finditer(answer)]
    if not ends:
        return answer
    finished, tail = answer[: ends[-1]].rstrip(), answer[ends[-1] :].strip()
    said = " ".join(strip_markers(finished).lower().split())
    if len(tail.split()) < MIN_UNFINISHED_WORDS or " ".join(tail.lower().split()) in said:
        return finished
    return f"{finished} {tail} …"
