"""BM25 over the stored chunks, saved beside the store and rebuilt only when an ingest changed them."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import bm25s
import Stemmer

_stemmer = Stemmer.Stemmer("english")


def _tokenize(texts: list[str], *, as_ids: bool):
    return bm25s.tokenize(texts, stopwords="en", stemmer=_stemmer, return_ids=as_ids, show_progress=False)


class LexicalIndex:
    """A bm25s index plus the chunk ids it was built from, tagged with the catalog generation it reflects."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.generation = -1
        self._ids: list[str] = []
        self._bm25: bm25s.BM25 | None = None
        self.load()

    def load(self, generation: int | None = None) -> bool:
        """Read the saved index (only if it was built for this generation, when one is given); True if read.

        Another process may be replacing the files meanwhile: an index that does not read back whole, or
        whose generation changed while it was read, is not used.
        """
        meta = self.directory / "meta.json"
        try:
            info = json.loads(meta.read_text())
            if generation is not None and info["generation"] != generation:
                return False
            bm25 = bm25s.BM25.load(str(self.directory / "index")) if info["ids"] else None
            if json.loads(meta.read_text())["generation"] != info["generation"]:
                return False
        except Exception:  # missing, half-replaced or unreadable (bm25s raises several kinds): rebuild instead
            return False
        self._ids, self._bm25, self.generation = info["ids"], bm25, info["generation"]
        return True

    def rebuild(self, ids: list[str], texts: list[str], generation: int, *, save: bool = True) -> None:
        """Index these chunks; save atomically (write beside, then rename) so a crash keeps the old index.

        save=False keeps it in memory only: for a process that does not hold the data dir's write lock.
        """
        bm25 = None
        if ids:
            bm25 = bm25s.BM25()
            bm25.index(_tokenize(texts, as_ids=True), show_progress=False)
        self._ids, self._bm25, self.generation = ids, bm25, generation
        if not save:
            return
        staging = self.directory.with_name(self.directory.name + ".new")
        shutil.rmtree(staging, ignore_errors=True)
        staging.mkdir(parents=True)
        if bm25 is not None:
            bm25.save(str(staging / "index"))
        (staging / "meta.json").write_text(json.dumps({"ids": ids, "generation": generation}))
        old = self.directory.with_name(self.directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        if self.directory.exists():
            self.directory.rename(old)
        staging.rename(self.directory)
        shutil.rmtree(old, ignore_errors=True)

    def search(self, query: str, k: int) -> list[tuple[str, float]]:
        """(chunk id, BM25 score) pairs, best first, only chunks that share a term with the query."""
        if self._bm25 is None or not self._ids:
            return []
        tokens = _tokenize([query], as_ids=False)
        if not tokens or not tokens[0]:
            return []
        k = min(k, len(self._ids))
        docs, scores = self._bm25.retrieve(tokens, k=k, show_progress=False, n_threads=1)
        return [(self._ids[int(d)], float(s)) for d, s in zip(docs[0], scores[0]) if s > 0]

    def __len__(self) -> int:
        return len(self._ids)
