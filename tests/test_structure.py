"""The project's shape, checked on every fast run: no gold ids in library code, no oversized modules, no import
circles, and layers that import only downward (rag <- ingest <- evals <- ui)."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("rag", "ingest", "evals", "ui")  # each may import only the ones before it
LIBRARY = ("rag", "ingest", "ui")
MAX_LINES = 400
# a gold item id as a comment or a rule would cite it: "dev y021", "test w015", "q12", "d037"
GOLD_ID = re.compile(r"\b(dev|test) [a-z]?[0-9]{2,3}\b|(?<![\\\w])[dqwxy][0-9]{2,3}\b")


def _files(*packages: str) -> list[Path]:
    return sorted(path for package in packages for path in (ROOT / package).rglob("*.py"))


def _module(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def imported_names(source: str, module: str, is_package: bool) -> set[str]:
    """Every dotted name a module's imports could mean, at module level or inside functions; what an
    `if TYPE_CHECKING:` block imports is left out (it never runs)."""
    names: set[str] = set()

    def visit(node: ast.AST) -> None:
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.orelse:
                visit(child)
            return
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                package = module.split(".") if is_package else module.split(".")[:-1]
                base = ".".join(package[: len(package) - node.level + 1] + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from rag import questions` is rag.questions; `from rag.chain import build_chain` resolves to rag.chain
            names.update(f"{base}.{alias.name}" for alias in node.names)
        for child in ast.iter_child_nodes(node):
            visit(child)

    visit(ast.parse(source))
    return names


def import_graph(root: Path = ROOT, packages: tuple[str, ...] = LAYERS) -> dict[str, set[str]]:
    """module -> the project modules it imports (a name resolves to the longest module it starts with)."""
    paths = {_module(path, root): path for path in sorted(p for package in packages for p in (root / package).rglob("*.py"))}

    def resolve(name: str) -> str | None:
        while name and name not in paths:
            name = name.rpartition(".")[0]
        return name or None

    graph = {}
    for module, path in paths.items():
        found = {resolve(name) for name in imported_names(path.read_text(encoding="utf-8"), module,
                                                          path.name == "__init__.py")}
        graph[module] = {name for name in found if name and name != module}
    return graph


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected groups of more than one module (Tarjan's algorithm, iterative), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    for start in graph:
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = len(index)
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = len(index)
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    group.append(member)
                    if member == node:
                        break
                if len(group) > 1:
                    found.append(sorted(group))
    return found


def test_no_gold_id_in_library_code():
    hits = [f"{path.relative_to(ROOT)}:{number}: {line.strip()}" for path in _files(*LIBRARY)
            for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
            if GOLD_ID.search(line)]
    assert hits == []


@pytest.mark.parametrize("package", ["rag", "ui"])
def test_no_module_over_the_line_limit(package):
    long = {str(path.relative_to(ROOT)): n for path in _files(package)
            if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES}
    assert long == {}


def test_no_import_cycle():
    assert cycles(import_graph()) == []


def test_layers_import_only_downward():
    rank = {layer: n for n, layer in enumerate(LAYERS)}
    upward = sorted(f"{module} imports {target}" for module, targets in import_graph().items() for target in targets
                    if rank[target.split(".")[0]] > rank[module.split(".")[0]])
    assert upward == []


# --- the checks themselves, on code written to break them -----------------------------------------------------


def test_the_gold_id_pattern_finds_ids_and_spares_ordinary_code():
    for line in ("# chosen on dev y021", "found on test w015", "see q12", 'ids = ("d037",)', "test x007 again"):
        assert GOLD_ID.search(line), line
    for line in ("width = 120", "sha256", "x = d[1]", r"re.compile(r'\d12')", "q_12", "dq100", "model q4_k_m"):
        assert not GOLD_ID.search(line), line


def test_the_import_graph_sees_function_imports_relative_imports_and_skips_type_checking(tmp_path):
    files = {
        "rag/__init__.py": "",
        "rag/a.py": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from rag import b\n",
        "rag/b.py": "def f():\n    from . import c\n",
        "rag/c.py": "import rag.b\n",
        "ingest/__init__.py": "",
        "ingest/d.py": "from ..ui.e import thing\n",
        "evals/__init__.py": "",
        "ui/__init__.py": "",
        "ui/e.py": "from rag.a import x\n",
    }
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    graph = import_graph(tmp_path)
    assert graph["rag.a"] == set(), "an import under `if TYPE_CHECKING:` never runs"
    assert graph["rag.b"] == {"rag.c"} and graph["rag.c"] == {"rag.b"}
    assert graph["ingest.d"] == {"ui.e"} and graph["ui.e"] == {"rag.a"}
    assert cycles(graph) == [["rag.b", "rag.c"]]
