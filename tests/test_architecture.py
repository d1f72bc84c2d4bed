"""docs/architecture.md's layer table is the code's: generated from the imports, checked here.

Each row of the table names a unit (a subpackage ``name/`` or a top-level module ``name.py``),
its layer and the units it imports. The test reads every module's imports (lazy ones inside
functions included) and fails when a unit has no row, when the "imports" column differs from the
code, when an import runs to a higher layer (or sideways between different units of one layer),
or when the units import each other in a cycle. ``python tests/test_architecture.py`` rewrites
the imports column from the code (the layers and descriptions stay as written).
"""

from __future__ import annotations

import ast
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
PACKAGE = REPO / "cosearch"
PAGE = REPO / "docs" / "architecture.md"
#: A row of the layer table: | layer | `unit` (a note) | what it holds | imports |
ROW = re.compile(r"^\| (\d+) \| (`([\w/.]+)`[^|]*) \| (.*) \| (.*) \|$")
#: Not layered: the package's entry points (``import cosearch``, ``python -m cosearch``).
ENTRY_POINTS = {"__init__.py", "__main__.py"}


def unit_of(module: str) -> str | None:
    """``cosearch.hw.cost`` -> ``hw/``, ``cosearch.config`` -> ``config.py``; None for ``cosearch``."""
    parts = module.split(".")
    if parts[0] != "cosearch" or len(parts) == 1:
        return None
    return f"{parts[1]}/" if (PACKAGE / parts[1]).is_dir() else f"{parts[1]}.py"


def units() -> list[str]:
    found = [f"{p.name}/" for p in PACKAGE.iterdir() if p.is_dir() and (p / "__init__.py").exists()]
    found += [p.name for p in PACKAGE.glob("*.py") if p.name not in ENTRY_POINTS]
    return sorted(found)


def imports_of(path: Path) -> set[str]:
    """Modules ``path`` imports (absolute names; ``from . import x`` resolved), lazy ones included."""
    module = ".".join(path.relative_to(REPO).with_suffix("").parts).removesuffix(".__init__")
    package = module if path.name == "__init__.py" else module.rsplit(".", 1)[0]
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                name = f"{base}.{node.module}" if node.module else base
            else:
                name = node.module or ""
            found.add(name)
            found.update(f"{name}.{alias.name}" for alias in node.names)  # `from cosearch import hw`
    return found


def import_graph() -> dict[str, set[str]]:
    """Unit -> the other units its modules import."""
    graph: dict[str, set[str]] = {unit: set() for unit in units()}
    for path in PACKAGE.rglob("*.py"):
        if path.parent == PACKAGE and path.name in ENTRY_POINTS:
            continue
        source = unit_of(".".join(path.relative_to(REPO).with_suffix("").parts))
        assert source is not None
        for name in imports_of(path):
            target = unit_of(name)
            if target is not None and target != source and target in graph:
                graph[source].add(target)
    return graph


def table() -> dict[str, tuple[int, str, str]]:
    """The page's rows: unit -> (layer, description, imports column)."""
    rows = {}
    for line in PAGE.read_text().splitlines():
        match = ROW.match(line)
        if match:
            rows[match.group(3)] = (int(match.group(1)), match.group(4), match.group(5))
    return rows


def imports_cell(targets: set[str]) -> str:
    return ", ".join(f"`{t}`" for t in sorted(targets)) or "-"


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt):] + [nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state:
            found = visit(node)
            if found:
                return found
    return None


def test_every_unit_has_a_row_and_every_row_a_unit():
    rows, code = table(), set(units())
    assert sorted(code - set(rows)) == [], "units without a row in docs/architecture.md"
    assert sorted(set(rows) - code) == [], "rows of docs/architecture.md for units that do not exist"


def test_the_imports_column_is_the_code():
    rows, graph = table(), import_graph()
    stale = {unit: (rows[unit][2], imports_cell(graph[unit])) for unit in graph
             if unit in rows and rows[unit][2] != imports_cell(graph[unit])}
    assert stale == {}, "run `python tests/test_architecture.py` to regenerate the column: (page, code)"


def test_no_import_runs_upwards_or_sideways():
    rows, graph = table(), import_graph()
    wrong = [f"{unit} (layer {rows[unit][0]}) imports {target} (layer {rows[target][0]})"
             for unit in graph for target in sorted(graph[unit])
             if unit in rows and target in rows and rows[target][0] >= rows[unit][0]]
    assert wrong == []


def test_no_cycle():
    assert find_cycle(import_graph()) is None


def test_the_layer_checker_sees_lazy_relative_and_package_imports(tmp_path):
    module = tmp_path / "cosearch" / "hw" / "x.py"
    module.parent.mkdir(parents=True)
    module.write_text("from . import y\nfrom ..core import files\n\ndef f():\n    from cosearch import proxy\n")
    names = {n for n in _imports_under(module, tmp_path) if n.startswith("cosearch")}
    assert {"cosearch.hw.y", "cosearch.core", "cosearch.core.files", "cosearch.proxy"} <= names
    assert find_cycle({"a/": {"b/"}, "b/": {"c.py"}, "c.py": {"a/"}}) == ["a/", "b/", "c.py", "a/"]
    assert find_cycle({"a/": {"b/"}, "b/": set()}) is None


def _imports_under(path: Path, root: Path) -> set[str]:
    global REPO
    saved, REPO = REPO, root
    try:
        return imports_of(path)
    finally:
        REPO = saved


def regenerate() -> None:
    graph = import_graph()
    lines = []
    for line in PAGE.read_text().splitlines():
        match = ROW.match(line)
        if match and match.group(3) in graph:
            line = f"| {match.group(1)} | {match.group(2)} | {match.group(4)} | {imports_cell(graph[match.group(3)])} |"
        lines.append(line)
    PAGE.write_text("\n".join(lines) + "\n")
    missing = sorted(set(graph) - set(table()))
    if missing:
        print("add rows for:", ", ".join(missing), file=sys.stderr)


if __name__ == "__main__":
    regenerate()
