"""The shape of ``rtropo``: every module imports on its own, the imports form no
cycle, nothing below the launch path imports the HTTP client, and no module or
function outside the emulator is above the size limits.

Modules that touch the models need ``django.setup()`` first (:data:`NEEDS_SETUP`,
also named in ``docs/api.rst``); the others import without it.
"""

import ast
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "rtropo"
NEEDS_SETUP = {
    "rtropo.admin",
    "rtropo.db",
    "rtropo.inbox.inbound",
    "rtropo.inbox.received",
    "rtropo.inbox.routing",
    "rtropo.inbox.spool",
    "rtropo.management.commands.tropo_merge_connections",
    "rtropo.management.commands.tropo_prune",
    "rtropo.management.commands.tropo_send_queued",
    "rtropo.management.commands.tropo_status",
    "rtropo.models",
    "rtropo.outbox.answers",
    "rtropo.outbox.launching",
    "rtropo.outbox.pool",
    "rtropo.outbox.programs",
    "rtropo.outbox.queue",
    "rtropo.outbox.release",
    "rtropo.outbox.results",
    "rtropo.outbox.scheduler",
    "rtropo.outbox.sweep",
    "rtropo.outbox.take",
    "rtropo.outbox.window",
    "rtropo.outgoing",
    "rtropo.periodic",
    "rtropo.status.facts",
    "rtropo.status.health",
    "rtropo.status.problems",
    "rtropo.status.report",
    "rtropo.tasks",
    "rtropo.urls",
    "rtropo.views",
}
#: The layout: one package per lifecycle (where a message is), the rest beside them.
LAYOUT = {
    "rtropo": {
        "__init__",
        "admin",
        "apps",
        "checks",
        "conf",
        "db",
        "exceptions",
        "models",
        "outgoing",
        "payloads",
        "periodic",
        "phones",
        "server_errors",
        "signals",
        "tasks",
        "transmissions",
        "tropoml",
        "url_secret",
        "urls",
        "views",
    },
    "rtropo/outbox": {
        "__init__",
        "answers",
        "client",
        "launching",
        "pool",
        "programs",
        "queue",
        "references",
        "release",
        "results",
        "scheduler",
        "sweep",
        "take",
        "window",
    },
    "rtropo/inbox": {"__init__", "inbound", "inline", "received", "routing", "spool"},
    "rtropo/status": {"__init__", "facts", "health", "problems", "report"},
}
#: Below the launch path: what the queue and the inbound view's rooms stand on.
NETWORK_FREE = [
    "rtropo.outbox.queue",
    "rtropo.outbox.pool",
    "rtropo.outbox.programs",
    "rtropo.outbox.take",
    "rtropo.outbox.answers",
    "rtropo.outbox.sweep",
    "rtropo.outbox.release",
    "rtropo.outbox.results",
    "rtropo.outbox.window",
    "rtropo.payloads",
    "rtropo.tropoml",
    "rtropo.inbox.received",
    "rtropo.inbox.routing",
]


def module_name(path: Path) -> str:
    parts = path.relative_to(ROOT).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def modules(include_emulator=True) -> dict[str, Path]:
    found = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
    if include_emulator:
        return found
    return {name: path for name, path in found.items() if not name.startswith("rtropo.emulator")}


def imports_of(name: str, path: Path, known: set[str]) -> set[str]:
    """The modules of ``known`` that ``name`` imports anywhere in its code."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.rsplit(".", node.level - 1)[0] if node.level > 1 else package
                base = f"{anchor}.{base}" if base else anchor
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        else:
            continue
        found.update(target for target in targets if target in known)
    found.discard(name)
    return found


def import_graph(include_emulator=False) -> dict[str, set[str]]:
    found = modules(include_emulator)
    return {name: imports_of(name, path, set(found)) for name, path in found.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle of ``graph`` as a path, or None."""
    done, stack = set(), []

    def visit(name):
        if name in stack:
            return [*stack[stack.index(name) :], name]
        if name in done:
            return None
        stack.append(name)
        for target in sorted(graph[name]):
            if cycle := visit(target):
                return cycle
        stack.pop()
        done.add(name)
        return None

    for name in sorted(graph):
        if cycle := visit(name):
            return cycle
    return None


def import_alone(name: str) -> tuple[str, subprocess.CompletedProcess]:
    setup = "import django; django.setup(); " if name in NEEDS_SETUP else ""
    code = f"{setup}import importlib; importlib.import_module({name!r})"
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    result = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-W", "error", "-c", code],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    return name, result


def test_every_module_imports_on_its_own():
    with ThreadPoolExecutor(max_workers=4) as pool:
        results = list(pool.map(import_alone, sorted(modules())))
    failed = {name: r.stderr.strip().splitlines()[-1:] for name, r in results if r.returncode}
    assert not failed


def test_the_import_graph_has_no_cycle():
    graph = import_graph()
    assert {"rtropo.outbox.take", "rtropo.outbox.client"} <= graph["rtropo.outbox.launching"]
    assert find_cycle(graph) is None


def test_the_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": set()}
    assert find_cycle(graph) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("name", NETWORK_FREE)
def test_nothing_below_the_launch_path_reaches_the_http_client(name):
    graph = import_graph()
    reached, todo = set(), [name]
    while todo:
        current = todo.pop()
        if current not in reached:
            reached.add(current)
            todo.extend(graph[current])
    found = modules(include_emulator=False)
    users = sorted(module for module in reached if imports_of(module, found[module], {"requests"}))
    assert users == []
    assert "rtropo.outbox.client" not in reached


@pytest.mark.parametrize("folder", sorted(LAYOUT))
def test_each_lifecycle_has_its_package_and_nothing_else(folder):
    found = {path.stem for path in (ROOT / folder).glob("*.py")}
    assert found == LAYOUT[folder]


#: The size limits of everything outside the emulator (and the generated migrations).
MOST_MODULE_LINES = 300
MOST_FUNCTION_LINES = 40
MOST_COMPLEXITY = 10


def own_modules() -> dict[str, Path]:
    return {
        name: path
        for name, path in modules(include_emulator=False).items()
        if not name.startswith("rtropo.migrations")
    }


def test_no_module_is_longer_than_the_limit():
    lengths = {name: len(path.read_text().splitlines()) for name, path in own_modules().items()}
    assert {name: n for name, n in lengths.items() if n > MOST_MODULE_LINES} == {}


def test_no_function_is_longer_or_more_complex_than_the_limit():
    from radon.complexity import cc_visit
    from radon.visitors import Class

    too_big = {}
    for name, path in own_modules().items():
        blocks = cc_visit(path.read_text())
        functions = [m for b in blocks for m in (b.methods if isinstance(b, Class) else [b])]
        for block in functions:
            length = block.endline - block.lineno + 1
            if block.complexity > MOST_COMPLEXITY or length > MOST_FUNCTION_LINES:
                too_big[f"{name}.{block.fullname}"] = (block.complexity, length)
    assert too_big == {}
