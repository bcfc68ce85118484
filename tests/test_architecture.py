"""The package's shape: which layer may import which, no import cycles, core free of I/O, small modules.

Every import counts: module level, inside functions, under ``if TYPE_CHECKING`` and the string table
through which ``dreamer/__init__.py`` loads its public names lazily (a lazy import that closes a loop is
still a loop). A failure lists each offending import as ``path:line``.
"""

from __future__ import annotations

import ast
import functools
import itertools
from pathlib import Path

PACKAGE = Path(__file__).parents[1] / "dreamer"
MAX_LINES = 320  # "no module much over 300 lines"

# Layers from the bottom up; each may import itself and the layers of its row, nothing else. spec is
# plain data that every layer may read; the engine orchestrates core (tensor code) over nets (models,
# hooks) and records through outputs; featvis is core's visualisation half. runners and samples are
# the plumbing the surfaces share. Surfaces come in two tiers: run kinds (animate: zoom; video;
# lecture: lesson, sweep; mirror: live), each a library function over the engine, and the front ends that present
# them (cli; api: dreamer/__init__.py and api.py; studio). The one edge between front ends: the
# command line starts the studio (``dreamer studio``).
BASE = {"errors", "version"}
DATA = BASE | {"spec"}
BELOW_ENGINE = DATA | {"nets", "core", "outputs", "featvis"}
PLUMBING = BELOW_ENGINE | {"engine", "runners", "samples"}
RUN_KINDS = {"animate", "video", "lecture", "mirror"}
FRONT_ENDS = {"cli", "api", "studio"}
SURFACES = RUN_KINDS | FRONT_ENDS
SURFACE_EDGES = {(front, kind) for front in FRONT_ENDS for kind in RUN_KINDS} | {("cli", "studio")}
ALLOWED: dict[str, set[str]] = {
    "errors": {"version"},  # install hints name the distribution
    "version": set(),
    "spec": BASE,
    "samples": BASE,  # the bundled photos
    "nets": DATA,
    "core": DATA | {"nets"},
    "outputs": DATA | {"core"},
    "featvis": DATA | {"nets", "core", "outputs"},
    "engine": BELOW_ENGINE,
    "runners": PLUMBING - {"runners"},
    **{kind: PLUMBING for kind in RUN_KINDS},
    **{front: PLUMBING | {b for a, b in SURFACE_EDGES if a == front} for front in FRONT_ENDS},
}

# What core may not touch: files, the environment, the clock, the terminal (engine and surfaces do that).
CORE_FORBIDDEN_MODULES = {"os", "pathlib", "io", "shutil", "tempfile", "glob", "subprocess", "sys", "time", "tqdm"}
CORE_FORBIDDEN_MODULES |= {"click", "dreamer.outputs", "dreamer.engine", "dreamer.cli"}
CORE_FORBIDDEN_CALLS = {"open", "print", "input"}
CORE_FORBIDDEN_ATTRIBUTES = {"environ", "getenv", "putenv", "read_text", "read_bytes", "write_text", "write_bytes"}
CORE_FORBIDDEN_ATTRIBUTES |= {"open", "load", "save", "iterdir", "glob"}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@functools.cache
def _modules() -> dict[str, Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _layer(module: str) -> str:
    """``dreamer.<layer>...``; the package's ``__init__`` is the public API, ``__main__`` the command line."""
    special = {"dreamer": "api", "dreamer.api": "api", "dreamer.__main__": "cli"}
    return special[module] if module in special else module.split(".")[1]


def _imports(module: str) -> list[tuple[int, str]]:
    """Every dreamer module ``module`` imports, with the line: anywhere in the file, and named in strings."""
    modules, found = _modules(), []
    for node in ast.walk(ast.parse(modules[module].read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            assert not node.level, f"{_where(module, node.lineno)}: a relative import (the package spells them out)"
            base = node.module or ""
            # ``from pkg import submodule`` depends on the submodule, not on the package's __init__
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in modules else base for a in node.names]
        elif isinstance(node, ast.Constant) and str(node.value).startswith("dreamer.") and node.value in modules:
            targets = [node.value]  # a lazy import by name (dreamer/__init__.py's table, importlib)
        else:
            continue
        for target in targets:
            while target.startswith("dreamer") and target not in modules:
                target = target.rpartition(".")[0]
            if target in modules and target != module and (node.lineno, target) not in found:
                found.append((node.lineno, target))
    return found


@functools.cache
def _graph() -> dict[str, set[str]]:
    return {m: {t for _, t in _imports(m)} for m in _modules()}


def _where(module: str, line: int) -> str:
    return f"{_modules()[module].relative_to(PACKAGE.parent)}:{line}"


def test_every_module_belongs_to_a_layer_of_the_table() -> None:
    assert {m: _layer(m) for m in _modules() if _layer(m) not in ALLOWED} == {}


def test_the_layer_table_points_down_and_keeps_surfaces_apart() -> None:
    """The table itself: no layer reaches a layer that reaches it back, no surface imports a surface of its tier."""
    for layer, allowed in ALLOWED.items():
        below, todo = set(), list(allowed)
        while todo:  # everything the layer reaches through the table
            below.add(lower := todo.pop())
            todo += ALLOWED[lower] - below
        assert layer not in below and below <= set(ALLOWED), layer
    for a, b in itertools.permutations(SURFACES, 2):
        assert b not in ALLOWED[a] or (a, b) in SURFACE_EDGES, (a, b)
    assert not {"runners", "samples", *SURFACES} & (BELOW_ENGINE | ALLOWED["engine"])


def test_every_import_follows_the_layer_table() -> None:
    """Including imports in functions and under TYPE_CHECKING: ``path:line layer -> layer (module)``."""
    offenders = [
        f"{_where(module, line)} {_layer(module)} -> {_layer(target)} ({target})"
        for module in _modules()
        for line, target in _imports(module)
        if _layer(target) != _layer(module) and _layer(target) not in ALLOWED[_layer(module)]
    ]
    assert not offenders, "\n".join(offenders)


def test_no_surface_imports_another_surface() -> None:
    """Front ends may use run kinds (and the CLI starts the studio); what two surfaces share lives below both."""
    offenders = [
        f"{_where(module, line)} {_layer(module)} -> {_layer(target)} ({target})"
        for module in _modules()
        for line, target in _imports(module)
        if {_layer(module), _layer(target)} <= SURFACES
        and _layer(module) != _layer(target)
        and (_layer(module), _layer(target)) not in SURFACE_EDGES
    ]
    assert not offenders, "\n".join(offenders)


def test_no_import_cycles_of_any_kind() -> None:
    """No module reaches itself through other modules, whether the imports are eager, lazy or for typing."""
    graph = _graph()

    @functools.cache
    def reach(start: str) -> frozenset[str]:
        seen, todo = set(), [start]
        while todo:
            for nxt in graph[todo.pop()] - seen:
                seen.add(nxt)
                todo.append(nxt)
        return frozenset(seen)

    cycles = {frozenset(m for m in reach(start) if start in reach(m)) for start in graph if start in reach(start)}
    found = [
        f"cycle {n}: {_where(m, line)} {m} -> {t}"
        for n, cycle in enumerate(sorted(sorted(c) for c in cycles), 1)
        for m in cycle
        for line, t in _imports(m)
        if t in cycle
    ]
    assert not found, "\n".join(found)


def test_core_reads_no_files_no_environment_and_prints_nothing() -> None:
    """core/ is tensor code: no files, environment, clock or terminal, no outputs, engine or surfaces."""
    offenders = []
    for path in sorted((PACKAGE / "core").glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names: list[str] = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names if a.name.split(".")[0] in CORE_FORBIDDEN_MODULES]
            elif isinstance(node, ast.ImportFrom) and node.module:
                module = node.module
                if module.split(".")[0] in CORE_FORBIDDEN_MODULES or module.startswith(tuple(CORE_FORBIDDEN_MODULES)):
                    names = [module]
            elif (
                isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in CORE_FORBIDDEN_CALLS
            ):
                names = [f"{node.func.id}()"]
            elif isinstance(node, ast.Attribute) and node.attr in CORE_FORBIDDEN_ATTRIBUTES:
                names = [f".{node.attr}"]
            elif isinstance(node, ast.Constant) and isinstance(node.value, str):
                names = [node.value for prefix in ("/proc", "/sys", "/dev") if node.value.startswith(prefix)]
            offenders += [f"dreamer/core/{path.name}:{node.lineno} {name}" for name in names]
    assert not offenders, "\n".join(offenders)


def test_no_private_names_imported_across_modules() -> None:
    offenders = []
    for path in PACKAGE.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("dreamer"):
                offenders += [
                    f"{path.name}: {node.module}.{a.name}"
                    for a in node.names
                    if a.name.startswith("_") and not a.name.startswith("__")
                ]
    assert offenders == []


def test_no_module_much_over_300_lines() -> None:
    sizes = {
        str(p.relative_to(PACKAGE)): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")
    }
    assert {k: v for k, v in sizes.items() if v > MAX_LINES} == {}
