"""Faults the loopback EWS server commits on request, and what exchangelib makes of each."""

from __future__ import annotations

import pytest
from exchangelib.errors import (
    ErrorServerBusy,
    ErrorTimeoutExpired,
    MalformedResponseError,
    UnauthorizedError,
)

from tests.ews_server import EwsServer, Fault
from tests.ews_server.client import account
from tests.ews_server.fixtures import ews_server_fixture

__all__ = ["ews_server_fixture"]

AE = "ae@agency.example"


@pytest.fixture
def server(ews_server: EwsServer) -> EwsServer:
    ews_server.add_mailbox(AE, "ae-secret")
    return ews_server


def test_server_busy_raises_error_server_busy_with_the_back_off_then_passes(
    server: EwsServer,
) -> None:
    ae = account(server, AE, "ae-secret")
    ae.inbox.refresh()
    server.inject(Fault.server_busy(back_off_ms=2500))
    with pytest.raises(ErrorServerBusy) as raised:
        ae.inbox.refresh()
    assert raised.value.back_off == 2.5
    ae.inbox.refresh()
    assert [e.status for e in server.exchanges[-2:]] == [500, 200]


def test_http_503_is_a_transient_failure_exchangelib_reports_as_busy(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    server.inject(Fault.http_status(503))
    # exchangelib turns the 503 into ErrorInternalServerTransientError and, failing fast,
    # re-raises it as ErrorServerBusy.
    with pytest.raises(ErrorServerBusy, match="503"):
        ae.inbox.refresh()


def test_a_dropped_connection_is_a_transport_failure(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    ae.inbox.refresh()
    server.inject(Fault.drop())
    with pytest.raises((ErrorTimeoutExpired, ErrorServerBusy), match="Connection aborted"):
        ae.inbox.refresh()
    assert server.exchanges[-1].status == 0 and server.exchanges[-1].response == b""
    ae.inbox.refresh()


def test_http_401_and_a_wrong_password_raise_unauthorized(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    server.inject(Fault.http_status(401))
    with pytest.raises(UnauthorizedError):
        ae.inbox.refresh()
    with pytest.raises(UnauthorizedError):
        account(server, AE, "not-the-password").inbox.refresh()
    with pytest.raises(UnauthorizedError):
        account(server, "stranger@agency.example", "ae-secret").inbox.refresh()


def test_ews_disabled_answers_403_which_exchangelib_cannot_parse(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    server.inject(Fault.ews_disabled())
    with pytest.raises(MalformedResponseError, match="Code: 403"):
        ae.inbox.refresh()


def test_a_slow_answer_still_arrives(server: EwsServer) -> None:
    ae = account(server, AE, "ae-secret")
    server.inject(Fault.slow(0.2))
    ae.inbox.refresh()
    assert server.exchanges[-1].status == 200


def test_a_fault_hits_only_its_operation_and_only_as_many_times_as_asked(
    server: EwsServer,
) -> None:
    ae = account(server, AE, "ae-secret")
    ae.inbox.refresh()
    server.inject(Fault.server_busy(operation="FindItem", times=2))
    ae.inbox.refresh()  # GetFolder passes
    assert [f.operation for f in server.pending_faults()] == ["FindItem"]
    for _ in range(2):
        with pytest.raises(ErrorServerBusy):
            list(ae.inbox.all())
    assert server.pending_faults() == []
    assert list(ae.inbox.all()) == []
    assert server.stats.count("FindItem") == 3
