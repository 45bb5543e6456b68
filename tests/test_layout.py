"""The shape of the house: shared machinery by stage, one room per paper, no import circles,
one file that runs the optimisation step."""
import ast
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
PKG = SRC / "mixlab"


def _module(path: Path) -> str:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> set[str]:
    """mixlab modules a file imports (at import time only, or anywhere in it)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    found = set()
    for node in nodes:
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("mixlab"):
            found.add(node.module)
            found.update(f"{node.module}.{a.name}" for a in node.names)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("mixlab"))
    return found


MODULES = {_module(p): p for p in PKG.rglob("*.py")}


def _graph(top_level_only: bool) -> dict[str, set[str]]:
    return {m: {i for i in _imports(p, top_level_only) if i in MODULES and i != m} for m, p in MODULES.items()}


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for n in sorted(graph[m]):
            if state.get(n) == "open":
                return stack[stack.index(n):] + [n]
            if n not in state and (found := visit(n)):
                return found
        state[m] = "done"
        stack.pop()
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def test_no_import_circle():
    # deferred imports inside functions count too: a circle there is still a circle in the design
    assert _cycle(_graph(top_level_only=False)) is None, _cycle(_graph(top_level_only=False))


def test_cycle_finder_finds_one():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": set()}) is None


def test_shared_stages_do_not_reach_into_a_paper():
    """Only the command line and the plan (which say what each paper runs) may import a paper's room."""
    allowed = ("mixlab.cli", "mixlab.plan", "mixlab.papers")
    offenders = {m: sorted(i for i in imports if i.startswith("mixlab.papers"))
                 for m, imports in _graph(top_level_only=False).items() if not m.startswith(allowed)}
    assert not {m: i for m, i in offenders.items() if i}


def test_papers_do_not_import_each_other():
    graph = _graph(top_level_only=False)
    for m, imports in graph.items():
        for paper, other in (("mixlab.papers.random_mixing", "mixlab.papers.mixit"),
                             ("mixlab.papers.mixit", "mixlab.papers.random_mixing")):
            if m.startswith(paper):
                assert not [i for i in imports if i.startswith(other)], m


def test_one_file_runs_the_optimisation_step():
    calls = [p.relative_to(PKG).as_posix() for p in PKG.rglob("*.py")
             if ".backward(" in p.read_text() or "zero_grad(" in p.read_text()]
    assert calls == ["train/engine.py"]
