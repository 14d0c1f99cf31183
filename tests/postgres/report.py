"""Counts the PostgreSQL tests observed, printed by conftest's terminal summary."""

LINES: list[str] = []


def record(name: str, **counts) -> None:
    """Keep one summary line: ``name: key=value, ...``."""
    LINES.append(f"{name}: " + ", ".join(f"{key}={value}" for key, value in counts.items()))
