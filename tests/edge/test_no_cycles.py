"""The device side imports in one direction: no module of har.edge imports one that imports it back.

Lazy imports inside functions count too: a circle hidden behind a function-level import is still two
modules that cannot be understood, tested or replaced apart (the bundle reader and the interpreter were
one such pair). Read from the source with ``ast``, so the test needs nothing installed.
"""

from __future__ import annotations

import ast
from pathlib import Path

EDGE = Path(__file__).resolve().parents[2] / "edge"


def _modules() -> dict[str, Path]:
    out = {}
    for f in EDGE.rglob("*.py"):
        parts = [p for p in f.relative_to(EDGE).with_suffix("").parts if p != "__init__"]
        out[".".join(["har.edge", *parts])] = f
    return out


def _imports(path: Path, known: dict[str, Path]) -> set[str]:
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("har.edge"):
            found.add(node.module)
            found |= {f"{node.module}.{a.name}" for a in node.names}
        elif isinstance(node, ast.Import):
            found |= {a.name for a in node.names}
    return {m for m in found if m in known}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v: str) -> None:
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while (w := stack.pop()) != v:
                on.discard(w)
                comp.append(w)
            on.discard(v)
            if comp:
                out.append(sorted([v, *comp]))

    for v in graph:
        if v not in index:
            visit(v)
    return out


def test_no_module_of_har_edge_imports_one_that_imports_it_back():
    mods = _modules()
    assert len(mods) > 50 and "har.edge.bundle.load" in mods
    graph = {m: _imports(f, mods) - {m} for m, f in mods.items()}
    assert not _cycles(graph)


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
