"""Where the gold questions and the articles they ask about live: every eval tool reads them through here.

evals/data/ holds one JSONL file per set of questions: gold.jsonl on the Iraq sample corpus, gold-DOMAIN.jsonl on
the general corpus (sports, markets, science, courts, disasters), gold-iraq-test.jsonl the sealed Iraq test items.
Each item names its corpus (none: iraq) and its split (none: dev). A corpus is one folder of articles; the eval
ingests each corpus its questions need into a store of its own, so one corpus's figures never depend on another's.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Literal

from ingest.pipeline import sample_corpus_dir
from rag.errors import ConfigError

EVALS_DIR = Path(__file__).resolve().parent
REPO_DIR = EVALS_DIR.parent
DEFAULT_DATASET = EVALS_DIR / "data"  # a folder: every gold*.jsonl in it, in name order
GENERAL_CORPUS_DIR = EVALS_DIR / "corpora" / "general"
DEFAULT_CORPUS = "iraq"  # of an item that names none: the gold set before there were two corpora
# corpus name -> its article folder, in the order runs and reports take them
CORPORA: dict[str, Callable[[], Path]] = {"iraq": sample_corpus_dir, "general": lambda: GENERAL_CORPUS_DIR}
Split = Literal["dev", "test", "all"]
SPLITS: tuple[Split, ...] = ("dev", "test", "all")
CorpusChoice = Literal["iraq", "general", "all"]
CORPUS_CHOICES: tuple[CorpusChoice, ...] = ("iraq", "general", "all")


def item_split(item: Mapping) -> str:
    """An item's split; one without a split (the gold set before splits existed) is dev, never test."""
    return item.get("split") or "dev"


def item_corpus(item: Mapping) -> str:
    """An item's (or a results row's) corpus; one that names none is about the Iraq sample corpus."""
    return item.get("corpus") or DEFAULT_CORPUS


def corpus_dir(name: str) -> Path:
    """The article folder of a corpus, which the eval, the peer and every replay ingest for its questions."""
    if name not in CORPORA:
        raise ConfigError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
    return CORPORA[name]()


def dataset_files(path: Path) -> list[Path]:
    """The gold files a dataset path stands for: the file itself, or a folder's gold*.jsonl in name order."""
    path = Path(path)
    if path.is_dir():
        files = sorted(path.glob("gold*.jsonl"))
        if not files:
            raise ConfigError(f"{path} holds no gold*.jsonl file")
        return files
    if not path.is_file():
        raise ConfigError(f"no gold set at {path}")
    return [path]


def _read(path: Path) -> list[dict]:
    items = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except json.JSONDecodeError as exc:
            raise ConfigError(f"{path}:{number} is not a JSON object: {exc}") from exc
        if not isinstance(item, dict) or "id" not in item:
            raise ConfigError(f"{path}:{number} is not a gold item (a JSON object with an id)")
        if item_corpus(item) not in CORPORA:
            raise ConfigError(f"{path}:{number}: unknown corpus {item_corpus(item)!r}; "
                              f"known corpora: {', '.join(CORPORA)}")
        items.append(item)
    return items


def load_dataset(path: Path = DEFAULT_DATASET, limit: int | None = None, split: Split = "all",
                 corpus: str = "all") -> list[dict]:
    """Gold items of the split and corpus ("all": every one) from a JSONL file or a folder of them, the first
    `limit` when given. An id used twice, even in two files, is an error: results are matched by id."""
    if split not in SPLITS:
        raise ConfigError(f"unknown split {split!r}; valid values: {', '.join(SPLITS)}")
    if corpus not in CORPUS_CHOICES:
        raise ConfigError(f"unknown corpus {corpus!r}; valid values: {', '.join(CORPUS_CHOICES)}")
    items: list[dict] = []
    seen: dict[str, Path] = {}
    for file in dataset_files(path):
        for item in _read(file):
            if item["id"] in seen:
                raise ConfigError(f"gold id {item['id']!r} is in {seen[item['id']]} and again in {file}")
            seen[item["id"]] = file
            items.append(item)
    chosen = [item for item in items if (split == "all" or item_split(item) == split)
              and (corpus == "all" or item_corpus(item) == corpus)]
    return chosen[:limit] if limit is not None else chosen


def by_corpus(items: Iterable[Mapping]) -> dict[str, list]:
    """Items (or rows) grouped by corpus, in CORPORA order, each group in its given order; no empty groups."""
    groups: dict[str, list] = {name: [] for name in CORPORA}
    for item in items:
        name = item_corpus(item)
        if name not in groups:
            raise ConfigError(f"unknown corpus {name!r}; known corpora: {', '.join(CORPORA)}")
        groups[name].append(item)
    return {name: group for name, group in groups.items() if group}
