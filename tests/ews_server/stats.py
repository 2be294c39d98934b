"""Per-operation counts of requests and bytes seen by the loopback EWS server."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class OpStats:
    count: int
    request_bytes: int
    response_bytes: int


class RequestStats:
    """How many requests of each operation arrived, and the bytes of their bodies both ways.

    A request whose operation cannot be told (not XML, no SOAP body) counts under ``"?"``.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._ops: dict[str, OpStats] = {}

    def record(self, operation: str, request_bytes: int, response_bytes: int) -> None:
        with self._lock:
            old = self._ops.get(operation, OpStats(0, 0, 0))
            self._ops[operation] = OpStats(
                old.count + 1,
                old.request_bytes + request_bytes,
                old.response_bytes + response_bytes,
            )

    def count(self, operation: str) -> int:
        with self._lock:
            return self._ops.get(operation, OpStats(0, 0, 0)).count

    def request_bytes(self, operation: str) -> int:
        with self._lock:
            return self._ops.get(operation, OpStats(0, 0, 0)).request_bytes

    def response_bytes(self, operation: str) -> int:
        with self._lock:
            return self._ops.get(operation, OpStats(0, 0, 0)).response_bytes

    def total(self) -> int:
        """The number of requests of every operation."""
        with self._lock:
            return sum(entry.count for entry in self._ops.values())

    def by_operation(self) -> dict[str, OpStats]:
        with self._lock:
            return dict(self._ops)

    def reset(self) -> None:
        with self._lock:
            self._ops.clear()
