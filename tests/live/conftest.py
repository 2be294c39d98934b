"""The live tests talk to a real Exchange, so they run only when asked: with the
``AEFLOW_LIVE_EWS_*`` variables set, and never under CI. Otherwise this folder is not collected
at all (rather than collected and skipped): CI fails on any skip, and a live mailbox has no place
in it.

    AEFLOW_LIVE_EWS_URL       the EWS URL, https://mail.example.com/EWS/Exchange.asmx
    AEFLOW_LIVE_EWS_EMAIL     the mailbox's primary SMTP address
    AEFLOW_LIVE_EWS_PASSWORD  its password (with AUTH=oauth2: the application's client secret)
    AEFLOW_LIVE_EWS_USERNAME  optional: the login (DOMAIN\\user or UPN); default the address
    AEFLOW_LIVE_EWS_AUTH      optional: ntlm (default), basic or oauth2
    AEFLOW_LIVE_EWS_TENANT_ID, AEFLOW_LIVE_EWS_CLIENT_ID   with AUTH=oauth2 only

Run them with ``.venv/bin/pytest tests/live``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping

import pytest

from mailer.ews_session import EwsSettings
from tests.conftest import IN_CI

PREFIX = "AEFLOW_LIVE_EWS_"
REQUIRED = ("URL", "EMAIL", "PASSWORD")
OAUTH2_REQUIRED = ("TENANT_ID", "CLIENT_ID")
PASSWORD_ENV = PREFIX + "PASSWORD"


def missing(environ: Mapping[str, str]) -> list[str]:
    """The variables a live run still needs."""
    needed = list(REQUIRED)
    if environ.get(PREFIX + "AUTH", "").strip().lower() == "oauth2":
        needed += OAUTH2_REQUIRED
    return [PREFIX + name for name in needed if not environ.get(PREFIX + name, "").strip()]


def live_settings(environ: Mapping[str, str]) -> EwsSettings:
    """The connection the variables describe; the secret stays in the environment."""

    def value(name: str) -> str:
        return environ.get(PREFIX + name, "").strip()

    auth = value("AUTH").lower() or "ntlm"
    oauth2 = auth == "oauth2"
    return EwsSettings(
        email=value("EMAIL"),
        ews_url=value("URL"),
        username=value("USERNAME"),
        auth=auth,
        password_env="" if oauth2 else PASSWORD_ENV,
        tenant_id=value("TENANT_ID"),
        client_id=value("CLIENT_ID"),
        client_secret_env=PASSWORD_ENV if oauth2 else "",
    )


NOT_RUN = "CI is set" if IN_CI else ", ".join(missing(os.environ))
collect_ignore_glob = ["test_*.py"] if NOT_RUN else []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    # Under CI the folder is left out silently; on a workstation, say how to run it.
    if NOT_RUN and not IN_CI:
        terminalreporter.write_line(f"tests/live not collected: set {NOT_RUN} to run them")
