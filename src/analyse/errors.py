"""Exceptions and problem reports shared by every stage.

Loading a corpus must not stop at the first bad file: each stage collects
:class:`Problem` records (file, line, message, hint) and keeps going, and the
command line prints them one per line. Exceptions are raised only when a
caller cannot go on at all; they carry the same location fields so the CLI
turns every one of them into a single readable line instead of a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from analyse.messages import msg


@dataclass(frozen=True)
class Problem:
    """One problem found in an input file.

    Parameters
    ----------
    path : str
        File the problem is in (as given, usually relative to the project).
    message : str
        What is wrong.
    line : int or None
        1-based line number in ``path`` where known.
    hint : str
        What the user should do about it.
    severity : {"error", "warning"}
        Warnings (e.g. a re-anchored coding) do not make validation fail.
    """

    path: str
    message: str
    line: int | None = None
    hint: str = ""
    severity: str = "error"

    def __str__(self) -> str:
        where = self.path if self.line is None else f"{self.path}:{self.line}"
        text = f"{where}: {msg('severity.' + self.severity)}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def as_dict(self) -> dict:
        return {
            "path": self.path,
            "line": self.line,
            "severity": self.severity,
            "message": self.message,
            "hint": self.hint,
        }


@dataclass
class Problems:
    """An ordered collection of :class:`Problem`, with helpers used by loaders."""

    items: list[Problem] = field(default_factory=list)

    def add(self, path: str | Path, message: str, line: int | None = None,
            hint: str = "", severity: str = "error") -> None:
        self.items.append(Problem(str(path), message, line, hint, severity))

    def extend(self, other: "Problems | list[Problem]") -> None:
        self.items.extend(other.items if isinstance(other, Problems) else other)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.items if p.severity == "warning"]

    def __iter__(self):
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __bool__(self) -> bool:
        return bool(self.items)


# Exit codes of the ``analyse`` command (documented in the README).
EXIT_OK, EXIT_PROBLEMS, EXIT_USAGE = 0, 1, 2


class AnalyseError(Exception):
    """Base class of the errors the CLI reports as one line (no traceback).

    ``exit_code`` says whether the data is at fault (1) or the way the command was used (2).
    """

    exit_code = EXIT_USAGE

    def __init__(self, message: str, path: str | Path | None = None,
                 line: int | None = None, hint: str = ""):
        super().__init__(message)
        self.message = message
        self.path = None if path is None else str(path)
        self.line = line
        self.hint = hint

    def __str__(self) -> str:
        where = ""
        if self.path:
            where = f"{self.path}:{self.line}: " if self.line else f"{self.path}: "
        text = f"{where}{self.message}"
        return f"{text} ({self.hint})" if self.hint else text


class CorpusError(AnalyseError):
    """A document cannot be read or parsed."""

    exit_code = EXIT_PROBLEMS


class CodebookError(AnalyseError):
    """The codebook is missing, malformed or inconsistent."""

    exit_code = EXIT_PROBLEMS


class CodingsError(AnalyseError):
    """A codings file cannot be read or written."""

    exit_code = EXIT_PROBLEMS


class UsageError(AnalyseError):
    """The user asked for something that does not exist (unknown coder, territory...)."""
