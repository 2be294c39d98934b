"""pytest fixtures for the loopback EWS server; a test module takes them by importing the
functions (``from tests.ews_server.fixtures import ews_server_fixture``)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.conftest import require_corpus
from tests.ews_server.server import EwsServer


@pytest.fixture(name="ews_server")
def ews_server_fixture() -> Iterator[EwsServer]:
    """A running server with no mailboxes; the test fails if any request or answer it saw was
    out of schema (or the server itself broke)."""
    require_corpus("ews")
    with EwsServer() as server:
        yield server
    server.assert_valid()
