"""The one error hierarchy of aeflow.

It lives in the pure core so that every layer (adapters included) can raise it without importing
the shell. The CLI turns these into messages; see ``aeflow.cli``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass


class AeflowError(Exception):
    """Root of every error aeflow raises on purpose."""


class UserError(AeflowError):
    """Something the user can fix; printed without a traceback, exit status 2."""


@dataclass(frozen=True)
class Problem:
    """One thing wrong with an input, located as precisely as we can (``table.key``, file, line)."""

    where: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.message}" if self.where else self.message


class ConfigError(UserError):
    """A configuration with one or more problems; all of them are collected before raising."""

    def __init__(self, source: str, problems: Iterable[Problem]) -> None:
        self.source = source
        self.problems: tuple[Problem, ...] = tuple(problems)
        lines = "\n".join(f"  - {p}" for p in self.problems)
        super().__init__(
            f"{source}: {len(self.problems)} problem(s) in the configuration:\n{lines}"
        )


class NaiveDateTimeError(AeflowError, ValueError):
    """A datetime without a time zone reached a place that needs an instant."""


class TransientError(AeflowError):
    """A failure that may go away by itself (a busy server, a dropped connection).

    ``retry_after`` is the number of seconds the caller should wait at least, when the server said.
    """

    def __init__(self, message: str, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class UnreadableInput(AeflowError):
    """A file or message aeflow cannot understand; ``reason`` says why, in words."""

    def __init__(self, source: str, reason: str) -> None:
        super().__init__(f"{source}: {reason}")
        self.source = source
        self.reason = reason


class StoreError(UserError):
    """The state file cannot be used (locked by another daemon, corrupt, from a newer version)."""


class NoWorkingTimeError(UserError):
    """The working calendar has no working day within its search limit (a config that rules out
    every day)."""
