"""``aeflow doctor`` against the loopback Exchange server: each step says what is wrong in words."""

from __future__ import annotations

import io
import socket
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from aeflow.commands.doctor import Network, doctor, ews_settings
from aeflow.config import Config, config_from_dict
from mailer.ews_session import EwsSession, EwsSettings
from rules.errors import UserError
from tests.ews_server import EwsServer, Fault

AE = "ae@agency.example"
PASSWORD = "correct horse"


@pytest.fixture
def server() -> Iterator[EwsServer]:
    with EwsServer() as running:
        running.add_mailbox(AE, PASSWORD)
        yield running
    running.assert_valid()


@pytest.fixture
def config() -> Config:
    raw = {
        "ae": {"name": "Wang Fang", "email": AE, "manager": "boss@agency.example"},
        "clients": [{"name": "Acme", "domains": ["acme.example"]}],
    }
    return config_from_dict(raw, Path("/tmp/aeflow.toml"))


def settings_for(url: str, **changes: object) -> EwsSettings:
    values: dict[str, object] = {
        "email": AE,
        "ews_url": url,
        "auth": "basic",
        "password_env": "EWS_PASSWORD",
        "version": "Exchange2016",
        "timeout": 5,
    }
    values.update(changes)
    return EwsSettings(**values)  # type: ignore[arg-type]


def check(
    config: Config, settings: EwsSettings, password: str = PASSWORD, network: Network | None = None
) -> tuple[int, str]:
    out = io.StringIO()
    session = None
    if not settings.problems():
        zone = ZoneInfo("Asia/Shanghai")
        session = EwsSession(settings, zone, environ={"EWS_PASSWORD": password})
    status = doctor(config, out=out, settings=settings, network=network, session=session)
    return status, out.getvalue()


def test_a_healthy_mailbox_passes_every_step(config: Config, server: EwsServer) -> None:
    status, text = check(config, settings_for(server.url))
    assert status == 0
    for step in ("settings", "DNS", "TCP", "TLS", "login", "folders", "property"):
        assert f"ok    {step}" in text
    assert "Sent Items is readable" in text and "AEFlowKey is registered" in text
    assert text.rstrip().endswith("All good: aeflow can use this mailbox.")
    assert PASSWORD not in text


def test_a_name_that_does_not_resolve_is_a_dns_failure(config: Config) -> None:
    def no_such_host(host: str, port: int) -> list[str]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    settings = settings_for("https://mail.agency.example/EWS/Exchange.asmx")
    status, text = check(config, settings, network=Network(resolve=no_such_host))
    assert status == 2
    assert "FAIL  DNS" in text and "mail.agency.example does not resolve" in text
    assert "ok    login" not in text and "FAIL  login" not in text


def test_a_closed_port_is_a_tcp_failure(config: Config) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    status, text = check(config, settings_for(f"http://127.0.0.1:{port}/EWS/Exchange.asmx"))
    assert status == 2
    assert f"FAIL  TCP         cannot connect to 127.0.0.1:{port}" in text


def test_a_server_that_does_not_speak_tls_is_a_tls_failure(
    config: Config, server: EwsServer
) -> None:
    plain = server.url.replace("http://", "https://")
    status, text = check(config, settings_for(plain))
    assert status == 2
    assert "ok    TCP" in text and "FAIL  TLS" in text and "handshake" in text


def test_refused_credentials_are_named(config: Config, server: EwsServer) -> None:
    status, text = check(config, settings_for(server.url), password="not it")
    assert status == 2
    assert "FAIL  login" in text and "refused the credentials of ae@agency.example" in text
    assert "not it" not in text


def test_ews_turned_off_is_named(config: Config, server: EwsServer) -> None:
    server.inject(Fault.ews_disabled())
    status, text = check(config, settings_for(server.url))
    assert status == 2
    assert "EWS is disabled for this mailbox or tenant" in text


def test_throttling_is_busy_not_broken(config: Config, server: EwsServer) -> None:
    server.inject(Fault.server_busy(back_off_ms=30_000, operation="GetFolder"))
    status, text = check(config, settings_for(server.url))
    assert status == 1
    assert "busy" in text and "wait 30 s" in text


def test_inconsistent_settings_are_all_listed(config: Config) -> None:
    settings = EwsSettings(email="ae", auth="kerberos", timeout=0)
    status, text = check(config, settings)
    assert status == 2
    for key in ("email", "ews_url", "auth", "timeout"):
        assert f"backend.ews.{key}" in text


def test_a_configuration_of_another_backend_is_refused(config: Config) -> None:
    with pytest.raises(UserError, match="'local' backend"):
        ews_settings(config)
