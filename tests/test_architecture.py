"""The package's structure, read from its imports: the dependency rule, no cycles, no private names across
modules, and storage backends named only by the storage package's factory (docs/architecture.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("index", "ingest", "webapp", "kbcli")
BACKENDS = ("index.storage.local", "index.storage.postgres")
# The one module outside the backends that may name them: the factory that picks one from the settings.
FACTORY = "index.storage"


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, Path]:
    return {_module_name(p): p for package in PACKAGES for p in (ROOT / package).rglob("*.py")}


MODULES = _modules()


def _imports(name: str) -> list[tuple[str, str | None, int]]:
    """``(module imported, name taken from it or None, line)`` for every import of ``name``'s source, wherever it
    stands (a function's lazy import counts as much as one at the top)."""
    tree = ast.parse(MODULES[name].read_text(encoding="utf-8"))
    found: list[tuple[str, str | None, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(alias.name, None, node.lineno) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                # "from index.storage import contract" imports a module; "from index.storage import generations"
                # a name of the package.
                sub = f"{node.module}.{alias.name}"
                found.append((sub, None, node.lineno) if sub in MODULES else (node.module, alias.name, node.lineno))
    return [(m, n, line) for m, n, line in found if m.split(".")[0] in PACKAGES]


def _edges() -> dict[str, set[str]]:
    return {name: {m for m, _, _ in _imports(name) if m in MODULES and m != name} for name in MODULES}


def test_the_walk_sees_the_packages():
    assert {"index.storage.contract", "index.storage.local.store", "index.storage.postgres.store",
            "index.search.ranking", "webapp", "kbcli.main"} <= set(MODULES)
    assert "index.storage.contract" in _edges()["index.storage.local.store"]


def test_no_private_name_is_imported_across_modules():
    private = [f"{name}:{line} imports {module}.{taken}" for name in MODULES for module, taken, line in _imports(name)
               if taken is not None and taken.startswith("_")]
    private += [f"{name}:{line} imports {module}" for name in MODULES for module, _, line in _imports(name)
                if module.rsplit(".", 1)[-1].startswith("_")]
    assert private == []


def test_there_is_no_import_cycle():
    edges = _edges()
    cycles: list[list[str]] = []
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges[node]):
            if state.get(nxt) == 1:
                cycles.append([*stack[stack.index(nxt):], nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(edges):
        if node not in state:
            visit(node)
    assert cycles == []


# The one exception, by design: the "check it at the source" page renders the original PDF page in the same
# limited child process, with the same PDFium code, that the ingest reads it with (docs/architecture.md).
READING_ORIGINALS = ("webapp.source_page", {"ingest.sandbox", "ingest.failures", "ingest.source_pages"})


def test_the_dependency_rule_holds():
    """ingest → index ← webapp; kbcli may call all three; index calls none of them."""
    allowed = {"index": {"index"}, "ingest": {"ingest", "index"}, "webapp": {"webapp", "index"},
               "kbcli": set(PACKAGES)}
    wrong = [f"{name} imports {module}" for name in MODULES for module, _, _ in _imports(name)
             if module.split(".")[0] not in allowed[name.split(".")[0]]
             and not (name == READING_ORIGINALS[0] and module in READING_ORIGINALS[1])]
    assert wrong == []


def test_only_the_backends_and_the_factory_name_a_backend():
    outside = [f"{name}:{line} imports {module}" for name in MODULES for module, _, line in _imports(name)
               if module.startswith(BACKENDS) and not name.startswith(BACKENDS) and name != FACTORY]
    assert outside == []


def test_the_backends_do_not_name_each_other_but_through_the_local_build():
    """A build is always local, so the PostgreSQL backend may use the local build and store it publishes from;
    the local backend never names PostgreSQL."""
    local_to_pg = [f"{name} imports {module}" for name in MODULES if name.startswith(BACKENDS[0])
                   for module, _, _ in _imports(name) if module.startswith(BACKENDS[1])]
    assert local_to_pg == []
