"""The CherryPy documentation's examples, read from the seed document at test time.

drupe never copies CherryPy's code, and the documentation's examples are CherryPy's code:
the tests in this folder do not contain them. They read them from the documentation
itself (``../shared/seeds/001_62e38e69f26d057c.txt``, the CherryPy 8.8 documentation as
extracted from its PDF), through this module:

- :func:`section` finds a numbered section (``"4.1"``, ``"5.2.1"``, ``"7.2.2"``) and
  gives its fenced code blocks, cleaned mechanically (:func:`clean`): the tutorials'
  line-number prefixes stripped, ``cherry.py`` turned back into ``cherrypy``, trailing
  whitespace dropped, dedented. ``Section.code(i, j, ...)`` joins blocks that a page
  break split.
- :func:`as_drupe` makes the one change the acceptance allows: ``import cherrypy``
  becomes ``import drupe as cherrypy`` and ``from cherrypy.x import y`` becomes
  ``from drupe.x import y``.
- Where the PDF extraction mangled an example (indentation lost after a page break, a
  statement pushed out of its block), the test applies a small named repair built from
  :func:`indent_lines` / :func:`replace_once`, each with a comment saying what broke.
  Repairs never change what an example means.

When the seed document is missing, every test using it is skipped with a message saying
where it was looked for (CI always has it).
"""

from __future__ import annotations

import functools
import re
import textwrap
from dataclasses import dataclass
from pathlib import Path

import pytest

SEED_NAME = "001_62e38e69f26d057c.txt"
REPO_ROOT = Path(__file__).resolve().parents[2]
SEED_PATH = REPO_ROOT / ".." / "shared" / "seeds" / SEED_NAME

_FENCE = "```"
_NUMBERED_HEADING = re.compile(r"^#+\s+(\d+(?:\.\d+)+)\s+(.*?)\s*$")
_ANY_HEADING = re.compile(r"^#+\s+(.*?)\s*$")
_LINE_NUMBER = re.compile(r"^(\d+)(?: |$)")


@dataclass(frozen=True)
class Section:
    """One numbered section of the documentation (its own text, not its subsections')."""

    number: str
    title: str
    prose: str
    raw_blocks: tuple[str, ...]

    @property
    def blocks(self) -> list[str]:
        """The section's code blocks, each cleaned by :func:`clean`."""
        return [clean(block) for block in self.raw_blocks]

    def block(self, index: int) -> str:
        """One cleaned code block (0-based, in document order)."""
        try:
            return clean(self.raw_blocks[index])
        except IndexError:
            raise LookupError(
                f"Section {self.number} ({self.title}) has {len(self.raw_blocks)} code "
                f"blocks; block {index} was asked for."
            ) from None

    def code(self, *indices: int) -> str:
        """Cleaned blocks joined in order (for an example split by a page break).

        Each block is cleaned on its own: a page break restarts the indentation, which
        the named repair of the test then puts back where Python needs it.
        """
        return "\n".join(self.block(index) for index in indices) + "\n"

    def find(self, needle: str) -> str:
        """The only cleaned block containing ``needle`` (robust against block order)."""
        found = [block for block in self.blocks if needle in block]
        if len(found) != 1:
            raise LookupError(
                f"Section {self.number}: {len(found)} code blocks contain {needle!r}, "
                "expected exactly one."
            )
        return found[0]


def clean(block: str) -> str:
    """Undo what the PDF extraction did to every code block alike.

    - Tutorials print a line number before each line (``1 import cherrypy``); when every
      line of a block starts with consecutive numbers from 1, they are stripped.
    - The extraction sometimes prints ``cherrypy`` as ``cherry.py``.
    - Trailing whitespace goes, leading and trailing blank lines go, and the block is
      dedented.
    """
    lines = block.split("\n")
    numbers = [_LINE_NUMBER.match(line) for line in lines]
    if lines and all(numbers) and [int(m.group(1)) for m in numbers if m] == list(
        range(1, len(lines) + 1)
    ):
        lines = [line[len(m.group(0)):] for line, m in zip(lines, numbers, strict=True) if m]
    text = "\n".join(line.rstrip() for line in lines)
    text = text.replace("cherry.py", "cherrypy")
    text = textwrap.dedent(text).strip("\n")
    return text + "\n"


@functools.lru_cache(maxsize=1)
def _sections() -> dict[str, Section]:
    if not SEED_PATH.is_file():
        pytest.skip(
            f"The CherryPy documentation these tests read their examples from is missing: "
            f"{SEED_PATH.resolve()} (the repository must sit beside ../shared, as in CI).",
            allow_module_level=True,
        )
    text = SEED_PATH.read_text(encoding="utf-8")
    return parse(text)


def parse(text: str) -> dict[str, Section]:
    """Split the document into numbered sections with their prose and code blocks.

    A section runs from its numbered heading (``## 5.2.1 The special ...``) to the next
    numbered heading or chapter title; unnumbered headings (``## Toolboxes``) belong to
    the section they appear in. Headings inside code blocks are code.
    """
    sections: dict[str, Section] = {}
    current: tuple[str, str] | None = None
    prose: list[str] = []
    blocks: list[str] = []
    block: list[str] | None = None
    lines = text.split("\n")

    def close() -> None:
        if current is not None:
            number, title = current
            # A number seen twice (it is not) would silently lose a section.
            assert number not in sections, f"section {number} appears twice"
            sections[number] = Section(number, title, "\n".join(prose), tuple(blocks))

    for index, line in enumerate(lines):
        if line.strip() == _FENCE:
            if block is None:
                block = []
            else:
                blocks.append("\n".join(block))
                block = None
            continue
        if block is not None:
            block.append(line)
            continue
        numbered = _NUMBERED_HEADING.match(line)
        chapter = _ANY_HEADING.match(line) and _between_rules(lines, index)
        if numbered or chapter:
            close()
            current = (numbered.group(1), numbered.group(2)) if numbered else None
            prose, blocks = [], []
        else:
            prose.append(line)
    close()
    return sections


def _between_rules(lines: list[str], index: int) -> bool:
    """A chapter title (``## Basics``) stands between two ``---`` rules."""
    before = [line.strip() for line in lines[:index] if line.strip()]
    after = [line.strip() for line in lines[index + 1:index + 5] if line.strip()]
    return bool(before and before[-1] == "---" and after and after[0] == "---")


def section(number: str) -> Section:
    """The documentation's section ``number`` (skips the test when the seed is missing)."""
    sections = _sections()
    try:
        return sections[number]
    except KeyError:
        raise LookupError(f"The documentation has no section {number}.") from None


# An import at the start of a line, after its indentation or an interpreter prompt (">>> ").
_IMPORT = re.compile(r"^(?P<indent>[ \t]*(?:>>> )?)import cherrypy[ \t]*$", re.MULTILINE)
_FROM_IMPORT = re.compile(
    r"^(?P<indent>[ \t]*(?:>>> )?)from cherrypy(?P<rest>(?:\.\w+)*) import ", re.MULTILINE)


def as_drupe(code: str) -> str:
    """The example with CherryPy's imports turned into drupe's, and nothing else changed."""
    code = _IMPORT.sub(r"\g<indent>import drupe as cherrypy", code)
    return _FROM_IMPORT.sub(r"\g<indent>from drupe\g<rest> import ", code)


# -- repairs -------------------------------------------------------------------------------
# Building blocks for the named repairs in the tests. Each checks that the text it edits
# is there, so a different extraction of the document fails loudly instead of silently
# running something else.


def indent_lines(code: str, first: str, last: str | None, spaces: int) -> str:
    """Indent by ``spaces`` (dedent when negative) the lines from the one starting (after
    its indentation) with ``first`` through the next one starting with ``last`` (to the
    end when ``last`` is None). Blank lines stay blank.
    """
    lines = code.split("\n")
    start = _line_index(lines, first, 0)
    end = len(lines) - 1 if last is None else _line_index(lines, last, start)
    for index in range(start, end + 1):
        line = lines[index]
        if not line.strip():
            continue
        if spaces >= 0:
            lines[index] = " " * spaces + line
        elif line.startswith(" " * -spaces):
            lines[index] = line[-spaces:]
        else:
            raise LookupError(f"Cannot dedent {line!r} by {-spaces} spaces.")
    return "\n".join(lines)


def drop_first_line(code: str, expected: str) -> str:
    """Remove the example's first line, which must read ``expected``."""
    first, _, rest = code.partition("\n")
    if first.strip() != expected:
        raise LookupError(f"The example's first line is {first!r}, not {expected!r}.")
    return rest


def insert_before(code: str, line: str, inserted: str) -> str:
    """Insert ``inserted`` (whole lines) before the single line of ``code`` reading ``line``
    (for fragments the documentation says to combine: "add this before that")."""
    lines = code.split("\n")
    matches = [index for index, text in enumerate(lines) if text.strip() == line]
    if len(matches) != 1:
        raise LookupError(f"Expected one line {line!r} in the example, found {len(matches)}.")
    index = matches[0]
    indentation = lines[index][: len(lines[index]) - len(lines[index].lstrip())]
    new = [indentation + text if text.strip() else text for text in inserted.rstrip("\n").split("\n")]
    return "\n".join(lines[:index] + new + lines[index:])


def replace_once(code: str, old: str, new: str) -> str:
    """Replace the single occurrence of ``old``."""
    count = code.count(old)
    if count != 1:
        raise LookupError(f"Expected {old!r} once in the example, found it {count} times.")
    return code.replace(old, new)


def _line_index(lines: list[str], prefix: str, start: int) -> int:
    for index in range(start, len(lines)):
        if lines[index].lstrip().startswith(prefix):
            return index
    raise LookupError(f"No line of the example starts with {prefix!r}.")
