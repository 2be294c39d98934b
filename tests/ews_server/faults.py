"""Faults a test can make the loopback EWS server commit, and the queue that hands them out."""

from __future__ import annotations

import threading
from dataclasses import dataclass


@dataclass(frozen=True)
class Fault:
    """One kind of misbehaviour. ``operation`` None matches every operation; ``times`` is how many
    matching requests it hits before it is used up."""

    kind: str  # "server_busy" | "http_status" | "slow" | "drop" | "ews_disabled"
    operation: str | None = None
    times: int = 1
    back_off_ms: int = 0
    status: int = 0
    seconds: float = 0.0
    retry_after: str = ""  # a Retry-After header to send with an http_status answer

    @staticmethod
    def server_busy(back_off_ms: int = 1000, operation: str | None = None, times: int = 1) -> Fault:
        """The SOAP fault ErrorServerBusy with BackOffMilliseconds, as Exchange throttling sends."""
        return Fault("server_busy", operation, times, back_off_ms=back_off_ms)

    @staticmethod
    def http_status(
        status: int, operation: str | None = None, times: int = 1, retry_after: str = ""
    ) -> Fault:
        """A bare HTTP answer with ``status`` (503, 429, 401, 500 ...) and no SOAP body, with
        ``Retry-After: retry_after`` when given."""
        return Fault("http_status", operation, times, status=status, retry_after=retry_after)

    @staticmethod
    def slow(seconds: float, operation: str | None = None, times: int = 1) -> Fault:
        """The normal answer, after waiting ``seconds``."""
        return Fault("slow", operation, times, seconds=seconds)

    @staticmethod
    def drop(operation: str | None = None, times: int = 1) -> Fault:
        """The connection closed after the request is read, with no answer at all."""
        return Fault("drop", operation, times)

    @staticmethod
    def ews_disabled(operation: str | None = None, times: int = 1) -> Fault:
        """The 403 Exchange Online answers when the tenant has EWS turned off."""
        return Fault("ews_disabled", operation, times, status=403)

    def matches(self, operation: str) -> bool:
        return self.operation is None or self.operation == operation


@dataclass
class _Waiting:
    fault: Fault
    remaining: int


class FaultQueue:
    """Faults waiting for their requests, oldest first; each one is used ``times`` times."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._waiting: list[_Waiting] = []

    def add(self, fault: Fault) -> None:
        if fault.times < 1:
            raise ValueError(f"a fault must hit at least one request, not {fault.times}")
        with self._lock:
            self._waiting.append(_Waiting(fault, fault.times))

    def take(self, operation: str) -> Fault | None:
        with self._lock:
            for entry in self._waiting:
                if entry.fault.matches(operation):
                    entry.remaining -= 1
                    if not entry.remaining:
                        self._waiting.remove(entry)
                    return entry.fault
        return None

    def pending(self) -> list[Fault]:
        with self._lock:
            return [entry.fault for entry in self._waiting]

    def clear(self) -> None:
        with self._lock:
            self._waiting.clear()
