"""Typed errors of measureopt, each with the exit code the CLI gives it (SPEC 5)."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Problem:
    """One thing wrong with the input: where it is, what is wrong, and the offending value."""

    file: str
    line: int | None
    column: str
    message: str
    value: object = None

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line is not None else self.file
        shown = "" if self.value is None else f" ({_cut(str(self.value))})"
        return f"{where}: {_cut(self.column)}: {_printable(self.message)}{shown}"


#: Longest column name or value shown in a problem; a huge cell is cut so the message stays readable.
SHOWN_MAX = 80


def _printable(text: str) -> str:
    """Text safe to show on one line: control and line-separator characters but tab escaped (as in repr)."""
    return text if text.isprintable() else "".join(c if c.isprintable() or c == "\t" else repr(c)[1:-1] for c in text)


def _cut(text: str) -> str:
    """A value or column name shown on one line, cut if long."""
    text = _printable(text)
    return text if len(text) <= SHOWN_MAX else f"{text[:SHOWN_MAX - 20]}... ({len(text):,} characters)"


class MeasureoptError(Exception):
    """Base class: every error measureopt raises on purpose."""

    exit_code = 1


class CaseError(MeasureoptError):
    """The case (files, settings or options) is invalid; carries every problem found."""

    exit_code = 2

    def __init__(self, problems: list[Problem]):
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class InfeasibleError(MeasureoptError):
    """No portfolio satisfies every requirement; `explanation` says what blocks it."""

    exit_code = 3

    def __init__(self, explanation: list[str], summary: dict | None = None):
        self.explanation = list(explanation)
        self.summary = summary
        super().__init__("\n".join(self.explanation))


class SolverError(MeasureoptError):
    """The solver failed or found no solution in time."""

    exit_code = 4


class VerificationError(MeasureoptError):
    """A solver answer broke a constraint when checked against the input tables: a bug."""

    exit_code = 4
