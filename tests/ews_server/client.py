"""exchangelib pointed at a loopback EWS server, as the tests of the server use it."""

from __future__ import annotations

from exchangelib import BASIC, DELEGATE, Account, Configuration, Credentials, EWSTimeZone, Version
from exchangelib.protocol import FailFast
from exchangelib.version import EXCHANGE_2016

from tests.ews_server.server import EwsServer


def account(
    server: EwsServer, email: str, password: str = "secret", time_zone: str = "Asia/Shanghai"
) -> Account:
    """An exchangelib account for ``email`` on ``server``: Basic auth, no autodiscover, the
    version given so that nothing is guessed, fail-fast so faults surface at once."""
    config = Configuration(
        service_endpoint=server.url,
        credentials=Credentials(email, password),
        auth_type=BASIC,
        version=Version(build=EXCHANGE_2016),
        retry_policy=FailFast(),
    )
    return Account(
        email,
        config=config,
        autodiscover=False,
        access_type=DELEGATE,
        default_timezone=EWSTimeZone(time_zone),
    )
