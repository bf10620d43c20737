"""The layering rule of DESIGN.md, checked on the source: services and solver_runner never import each other,
solver_runner stays synchronous (no asyncio, aiohttp or azure), and contracts imports neither side."""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

FORBIDDEN = {
    "contracts": {"services", "solver_runner", "aiohttp", "aiosqlite", "azure", "numba"},
    "services": {"solver_runner", "numba"},
    "solver_runner": {"services", "asyncio", "aiohttp", "aiosqlite", "azure"},
}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module.split(".")[0])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_layering(package: str) -> None:
    offenders = []
    for path in sorted((ROOT / package).rglob("*.py")):
        bad = imported_modules(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(ROOT)} imports {sorted(bad)}")
    assert not offenders, "layering broken:\n" + "\n".join(offenders)


def _absolute_imports(path: Path, package: str) -> set[str]:
    """Every module `path` imports, relative imports resolved against `package` (the module's own package)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")
            if node.level:
                base = base[: len(base) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return found


SYNC_CLIENT = ("services.client.workspace", "services.client.job", "services.client.optimization",
               "services.client._sync")


def test_the_async_client_never_imports_the_sync_one() -> None:
    """One direction, as azure-storage-blob: the sync client wraps the async one; the async client and the private
    modules both share (services.client._optimization and friends) never import the sync public modules."""
    offenders = []
    client = ROOT / "services" / "client"
    for path in sorted([*(client / "aio").rglob("*.py"), *(client / "_optimization").rglob("*.py")]):
        rel = path.relative_to(ROOT).with_suffix("")
        package = ".".join(rel.parts[:-1]) if rel.name != "__init__" else ".".join(rel.parts[:-1])
        bad = {m for m in _absolute_imports(path, package) if m.startswith(SYNC_CLIENT)}
        if bad:
            offenders.append(f"{rel} imports {sorted(bad)}")
    assert not offenders, "the async client imports the sync one:\n" + "\n".join(offenders)


def _module_name(path: Path) -> str:
    rel = path.relative_to(ROOT).with_suffix("")
    parts = rel.parts[:-1] if rel.name == "__init__" else rel.parts
    return ".".join(parts)


def _imports_of(path: Path, modules: set[str]) -> set[str]:
    """First-party modules `path` imports, anywhere in it (a function's import is an edge too: calling it imports);
    imports under `if TYPE_CHECKING:` never run and do not count."""
    name = _module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    tree = ast.parse(path.read_text(), filename=str(path))
    typing_only = {id(sub) for node in ast.walk(tree)
                   if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test)
                   for sub in ast.walk(node)}
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[: len(package.split(".")) - node.level + 1] if node.level else []
            module = ".".join([*base, node.module] if node.module else base)
            targets = [module] + [f"{module}.{alias.name}" for alias in node.names]
        else:
            continue
        for target in targets:
            while target and target not in modules:
                target = target.rpartition(".")[0]
            if target and target != name:
                found.add(target)
    return found


def test_no_import_cycles() -> None:
    """Issue 13: `services/__main__` ↔ the CLI, the sync ↔ async client, the runner's entry ↔ warm-up: modules that
    import each other, even lazily inside a function, are one idea split badly. (A submodule importing its own
    package's __init__ is not counted.)"""
    paths = [p for package in FORBIDDEN for p in (ROOT / package).rglob("*.py")]
    modules = {_module_name(p) for p in paths}
    graph = {_module_name(p): _imports_of(p, modules) for p in paths}
    cycles: list[list[str]] = []
    state: dict[str, int] = {}  # 1: on the stack, 2: done

    def visit(module: str, stack: list[str]) -> None:
        state[module] = 1
        for dep in sorted(graph.get(module, ())):
            parent_init = module.startswith(dep + ".")  # a submodule importing its own package's __init__
            if state.get(dep) == 1 and not parent_init:
                cycles.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep, stack + [dep])
        state[module] = 2

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)


def test_the_service_process_never_imports_numba_or_the_solvers() -> None:
    """At run time, not only in the source: everything `openqio serve` imports to run (the server, the gateway, the
    dispatcher and the local runner pool) leaves numba and solver_runner to the runner processes, so the service
    starts in a second and a numba import can never set the runners' thread count before they do."""
    import subprocess
    import sys

    code = ("import sys; import services.server, services.gateway.app, services.dispatch.dispatcher, "
            "services.dispatch.runner_pool, services.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('numba', 'solver_runner')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=120,
                         check=True)
    assert out.stdout.strip() == "[]", out.stdout
