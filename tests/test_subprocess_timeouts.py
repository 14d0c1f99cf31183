"""Every wait of the tests and benchmarks on a child process is bounded, so that a child
that ignores its signal, or never exits, fails the run instead of hanging it.

``subprocess.run`` and its kin take a ``timeout``; ``wait()`` and ``communicate()`` take
one too, except right after the child was SIGKILLed, which it cannot ignore; no
``with subprocess.Popen(...)``, whose exit waits for the child without a bound.
"""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
RUNNERS = {"run", "call", "check_call", "check_output"}
#: Positional arguments that include the timeout: ``wait(timeout)``, ``communicate(input,
#: timeout)``.
TIMEOUT_POSITION = {"wait": 1, "communicate": 2}


def _bounded(call: ast.Call, at_least: int) -> bool:
    return len(call.args) >= at_least or any(k.arg == "timeout" for k in call.keywords)


def _kills(statement: ast.stmt, target: str) -> bool:
    """Whether ``statement`` is ``target.kill()`` or ``target.send_signal(signal.SIGKILL)``."""
    if not (isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Call)):
        return False
    call, func = statement.value, statement.value.func
    if not (isinstance(func, ast.Attribute) and ast.unparse(func.value) == target):
        return False
    return func.attr == "kill" or (
        func.attr == "send_signal" and [ast.unparse(a) for a in call.args] == ["signal.SIGKILL"]
    )


def _unbounded_waits(statements: list[ast.stmt]) -> list[ast.Call]:
    """The unbounded ``wait()``/``communicate()`` calls of these statements (not nested
    blocks), except a ``wait()`` right after a kill of the same child."""
    found = []
    for index, statement in enumerate(statements):
        calls = [
            node
            for node in _own_nodes(statement)
            if isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr in TIMEOUT_POSITION
            and not _bounded(node, TIMEOUT_POSITION[node.func.attr])
        ]
        for call in calls:
            target = ast.unparse(call.func.value)
            after_kill = index > 0 and _kills(statements[index - 1], target)
            if not (call.func.attr == "wait" and after_kill):
                found.append(call)
    return found


def _own_nodes(statement: ast.stmt):
    """The nodes of ``statement`` outside the statements nested in it."""
    pending = [
        child for child in ast.iter_child_nodes(statement) if not isinstance(child, ast.stmt)
    ]
    while pending:
        node = pending.pop()
        yield node
        pending.extend(c for c in ast.iter_child_nodes(node) if not isinstance(c, ast.stmt))


def violations(path: Path, root: Path = ROOT) -> list[str]:
    """``file:line: call`` for each unbounded wait on a child in the file at ``path``."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found = [
        node
        for node in ast.walk(tree)
        if isinstance(node, ast.Call)
        and ast.unparse(node.func).startswith("subprocess.")
        and ast.unparse(node.func).split(".")[-1] in RUNNERS
        and not any(k.arg == "timeout" for k in node.keywords)
    ]
    found += [
        item.context_expr
        for node in ast.walk(tree)
        if isinstance(node, ast.With)
        for item in node.items
        if isinstance(item.context_expr, ast.Call)
        and ast.unparse(item.context_expr.func) in {"subprocess.Popen", "Popen"}
    ]
    for node in ast.walk(tree):
        for field in ("body", "orelse", "finalbody"):
            block = getattr(node, field, None)
            if isinstance(block, list) and block and isinstance(block[0], ast.stmt):
                found += _unbounded_waits(block)
    name = path.relative_to(root)
    found.sort(key=lambda call: call.lineno)
    return [f"{name}:{call.lineno}: {ast.unparse(call)[:60]}" for call in found]


def test_every_wait_on_a_child_of_the_tests_and_benchmarks_is_bounded():
    files = sorted([*(ROOT / "tests").rglob("*.py"), *(ROOT / "benchmarks").rglob("*.py")])
    assert len(files) > 50
    assert [line for path in files for line in violations(path)] == []


def test_the_audit_finds_an_unbounded_wait(tmp_path):
    sample = tmp_path / "sample.py"
    sample.write_text(
        "import signal, subprocess\n"
        "subprocess.run(['true'])\n"
        "subprocess.run(['true'], timeout=5)\n"
        "child = subprocess.Popen(['sleep', '9'])\n"
        "child.send_signal(signal.SIGINT)\n"
        "child.wait()\n"
        "child.communicate()\n"
        "child.wait(timeout=5)\n"
        "try:\n"
        "    child.kill()\n"
        "    child.wait()\n"
        "finally:\n"
        "    child.send_signal(signal.SIGKILL)\n"
        "    child.wait()\n"
        "with subprocess.Popen(['true']) as child:\n"
        "    pass\n",
        encoding="utf-8",
    )
    found = violations(sample, root=tmp_path)
    assert [line.split(": ")[0] for line in found] == [
        "sample.py:2",
        "sample.py:6",
        "sample.py:7",
        "sample.py:15",
    ]
