"""``aeflow doctor -c FILE``: check the way to the Exchange mailbox, step by step, in words.

Each step needs the one before it, so the first failure stops the walk and says what to look at:
the settings, the server's name (DNS), a TCP connection, the TLS handshake, the login (a 401 is
the credentials, a 403 is EWS turned off for the tenant), throttling, the folders aeflow reads,
and aeflow's own property on Sent Items. Exit 0 when every step passed, 1 when the server is
busy or unreachable for now (try again later), 2 when something must be fixed.
"""

from __future__ import annotations

import argparse
import socket
import ssl
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TextIO
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from aeflow.config import Config, load_config
from mailer.ews_session import EwsSession, EwsSettings
from rules.errors import TransientError, UserError

OK, BUSY, BROKEN = 0, 1, 2
Resolver = Callable[[str, int], list[str]]


def _resolve(host: str, port: int) -> list[str]:
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return sorted({str(info[4][0]) for info in infos})


@dataclass
class Network:
    """The network calls the early steps make; tests hand in their own."""

    resolve: Resolver = _resolve
    timeout: float = 10.0


def run(args: argparse.Namespace) -> int:
    config = load_config(args.config)
    return doctor(config, out=sys.stdout)


def ews_settings(config: Config) -> EwsSettings:
    """The ``[backend.ews]`` settings of ``config``; a ``UserError`` for another backend."""
    found = getattr(config.backend, "ews", None)
    if not isinstance(found, EwsSettings):
        raise UserError(
            f"{config.source}: aeflow doctor checks an Exchange (EWS) connection; this "
            f"configuration uses the {config.backend.kind!r} backend"
        )
    return found


class _Report:
    def __init__(self, out: TextIO) -> None:
        self.out = out

    def ok(self, step: str, text: str) -> None:
        print(f"  ok    {step:<11} {text}", file=self.out)

    def fail(self, step: str, text: str, status: int = BROKEN) -> int:
        print(f"  FAIL  {step:<11} {text}", file=self.out)
        return status


def doctor(
    config: Config,
    *,
    out: TextIO,
    settings: EwsSettings | None = None,
    network: Network | None = None,
    session: EwsSession | None = None,
) -> int:
    """Check the connection ``config`` describes; print one line per step. The exit status."""
    settings = settings or ews_settings(config)
    network = network or Network(timeout=settings.timeout)
    report = _Report(out)
    print(f"Checking the Exchange mailbox {settings.email}", file=out)
    problems = settings.problems()
    if problems:
        for problem in problems:
            report.fail("settings", str(problem))
        return BROKEN
    report.ok("settings", f"{settings.auth} login as {settings.login}")
    if settings.autodiscover:
        report.ok("endpoint", "found by autodiscover when logging in")
    else:
        status = _reach(settings.endpoint, network, report)
        if status != OK:
            return status
    try:
        session = session or EwsSession(settings, ZoneInfo(config.ae.timezone))
    except UserError as error:
        return report.fail("exchangelib", str(error))
    try:
        return _mailbox(session, report)
    finally:
        session.close()


def _reach(endpoint: str, network: Network, report: _Report) -> int:
    url = urlsplit(endpoint)
    host = url.hostname or ""
    port = url.port or (443 if url.scheme == "https" else 80)
    try:
        addresses = network.resolve(host, port)
    except (OSError, UnicodeError) as error:
        return report.fail(
            "DNS", f"{host} does not resolve ({error}); check the server name or ews_url"
        )
    report.ok("DNS", f"{host} is {', '.join(addresses)}")
    try:
        connection = socket.create_connection((host, port), timeout=network.timeout)
    except TimeoutError:
        return report.fail(
            "TCP", f"no answer from {host}:{port}; a firewall, a proxy, or the wrong port", BUSY
        )
    except OSError as error:
        return report.fail("TCP", f"cannot connect to {host}:{port} ({error.strerror or error})")
    with connection:
        report.ok("TCP", f"connected to {host}:{port}")
        if url.scheme != "https":
            report.ok("TLS", "not used: plain http, accepted only on this machine's loopback")
            return OK
        return _tls(connection, host, report)


def _tls(connection: socket.socket, host: str, report: _Report) -> int:
    context = ssl.create_default_context()
    try:
        with context.wrap_socket(connection, server_hostname=host) as secured:
            certificate = secured.getpeercert() or {}
            version = secured.version() or "TLS"
    except ssl.SSLCertVerificationError as error:
        return report.fail(
            "TLS",
            f"the certificate of {host} is not trusted ({error.verify_message}); a proxy that "
            "intercepts TLS, or a certificate your system does not know",
        )
    except (ssl.SSLError, OSError) as error:
        return report.fail("TLS", f"the TLS handshake with {host} failed ({error})")
    until = certificate.get("notAfter", "")
    report.ok("TLS", f"{version}, certificate valid until {until}" if until else version)
    return OK


def _mailbox(session: EwsSession, report: _Report) -> int:
    try:
        with session.guard("logging in"):
            account = session.account
            _ = account.root  # the first request: GetFolder on the mailbox's root
            version = account.version
    except TransientError as error:
        return report.fail("login", _busy(error), BUSY)
    except UserError as error:
        return report.fail("login", str(error))
    except Exception as error:  # anything else the server does is worth showing, not a trace
        return report.fail("login", f"{type(error).__name__}: {error}")
    build = getattr(getattr(version, "build", None), "major_version", "?")
    report.ok("login", f"EWS answered as {session.settings.email} (Exchange major version {build})")
    status = _folders(session, account, report)
    if status != OK:
        return status
    return _property(session, account, report)


def _busy(error: TransientError) -> str:
    wait = f"; the server asks to wait {error.retry_after:.0f} s" if error.retry_after else ""
    return f"{error}{wait}; aeflow backs off by itself, try the doctor again later"


def _folders(session: EwsSession, account: Any, report: _Report) -> int:
    status = OK
    for label, attribute in (("Calendar", "calendar"), ("Inbox", "inbox"), ("Sent Items", "sent")):
        try:
            with session.guard(f"reading {label}"):
                folder = getattr(account, attribute)
                list(folder.all().only("id")[:1])
                count = folder.total_count
        except TransientError as error:
            return report.fail("folders", f"{label}: {_busy(error)}", BUSY)
        except UserError as error:
            status = report.fail("folders", f"{label} cannot be read: {error}")
            continue
        report.ok("folders", f"{label} is readable ({count} items)")
    return status


def _property(session: EwsSession, account: Any, report: _Report) -> int:
    from mailer.ews_session import KEY_PROPERTY, register_properties

    try:
        with session.guard("searching Sent Items by aeflow's key"):
            register_properties()
            stamped = account.sent.filter(aeflow_key__exists=True).count()
    except TransientError as error:
        return report.fail("property", _busy(error), BUSY)
    except UserError as error:
        return report.fail("property", str(error))
    report.ok(
        "property",
        f"{KEY_PROPERTY} is registered and Sent Items can be searched by it "
        f"({stamped} messages carry it)",
    )
    print("All good: aeflow can use this mailbox.", file=report.out)
    return OK
