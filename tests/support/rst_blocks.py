"""The code blocks of a reStructuredText file: ``.. code-block::`` directives and
``::`` literal blocks, each with its language, ``:name:``, first line and text as written."""

import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

_CODE_BLOCK = re.compile(r"^ *\.\. (?:code-block|code|sourcecode|parsed-literal)::\s*(\S*)")
#: A paragraph that ends in ``::`` introduces a literal block; a directive does not.
_LITERAL_MARKER = re.compile(r"::\s*$")
_DIRECTIVE = re.compile(r"^ *\.\. ")


@dataclass(frozen=True)
class Block:
    """One code block: its language (``""`` for a ``::`` block), ``:name:`` (or ``None``),
    the 1-based number of its first text line, and its lines."""

    path: Path
    language: str
    name: str | None
    line: int
    lines: tuple[str, ...]

    @property
    def text(self) -> str:
        """The block's text, dedented, without leading or trailing blank lines."""
        return textwrap.dedent("\n".join(self.lines)).strip()


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _name(options: list[str]) -> str | None:
    """The value of a ``:name:`` option among a directive's option lines."""
    named = [option.split(":", 2)[2].strip() for option in options if option.startswith(":name:")]
    return named[0] if named else None


def _options(lines: list[str], start: int, is_directive: bool) -> list[str]:
    """The option lines (``:name: x``) right after the directive on line ``start``."""
    options = []
    for text in lines[start + 1 :] if is_directive else ():
        if not text.strip().startswith(":"):
            break
        options.append(text.strip())
    return options


def _body(lines: list[str], cursor: int, indent: int) -> tuple[int, list[str]]:
    """The index of the first text line from ``cursor`` on and the lines indented past
    ``indent``."""
    body = []
    for text in lines[cursor:]:
        if text.strip() and _indent(text) <= indent:
            break
        body.append(text)
    while body and not body[-1].strip():
        body.pop()
    first = cursor + next((i for i, text in enumerate(body) if text.strip()), 0)
    return first, body


def code_blocks(path: Path) -> list[Block]:
    """Every code block of ``path``, in the order they appear."""
    lines = path.read_text(encoding="utf-8").splitlines()
    blocks = []
    for index, line in enumerate(lines):
        directive = _CODE_BLOCK.match(line)
        if not (directive or (_LITERAL_MARKER.search(line) and not _DIRECTIVE.match(line))):
            continue
        options = _options(lines, index, bool(directive))
        first, body = _body(lines, index + 1 + len(options), _indent(line))
        if any(text.strip() for text in body):
            language = directive[1] if directive else ""
            blocks.append(Block(path, language, _name(options), first + 1, tuple(body)))
    return blocks
