"""The fault harness's counts, printed by this package's conftest in pytest's terminal summary."""

LINES: list[str] = []


def record(name: str, **counts) -> None:
    """Keep one summary line: ``name: key=value, ...``."""
    LINES.append(f"{name}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
