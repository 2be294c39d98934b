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


class BackendUnavailable(TransientError):
    """The way to a server is barred until someone fixes it: a refused login, a refused STARTTLS
    or TLS handshake, a certificate not trusted, a host name that does not resolve, a refused
    connection.

    It is a problem of the connection, not of the mail: nothing is marked failed, sending stops
    for the tick and is tried again with back-off, and what waited goes once it works.
    ``problem`` says what happened and ``what_to_fix`` what to change, both in words fit for a
    log line and ``aeflow status`` (no secret, no raw server reply); ``str()`` gives both.
    """

    def __init__(self, problem: str, what_to_fix: str, retry_after: float | None = None) -> None:
        super().__init__(f"{problem}; {what_to_fix}", retry_after)
        self.problem = problem
        self.what_to_fix = what_to_fix


class BackendRefused(UserError):
    """A server would not let aeflow in as configured: credentials refused, the protocol turned
    off for the account, a mailbox this login may not use, a certificate not trusted.

    The user's to fix: a command that only reads stops with it (exit status 2). Raised while
    sending, the engine holds sending as for ``BackendUnavailable`` instead of failing the mail.
    """

    def __init__(self, problem: str, what_to_fix: str) -> None:
        super().__init__(f"{problem}; {what_to_fix}")
        self.problem = problem
        self.what_to_fix = what_to_fix
