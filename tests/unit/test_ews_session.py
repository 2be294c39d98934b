"""The EWS connection's settings, secrets and error translation, without a server.

Errors are exchangelib's and requests' own exception classes, raised the way their code raises
them (see exchangelib's services/common.py and util.post_ratelimited).
"""

from __future__ import annotations

import json
import os
import stat
from datetime import datetime
from importlib import resources
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import requests
from exchangelib import errors as ews
from exchangelib.credentials import DELEGATE, IMPERSONATION, OAuth2Credentials

from mailer.ews_secrets import read_password, read_token_cache, write_token_cache
from mailer.ews_session import (
    EwsError,
    EwsSession,
    EwsSettings,
    Http403,
    Http503,
    StaleSyncState,
    build_account,
    ews_zone,
    translate,
)
from rules.errors import ConfigError, TransientError, UserError

SETTINGS = EwsSettings(
    email="ae@agency.example",
    server="mail.agency.example",
    username="AGENCY\\wangfang",
    auth="ntlm",
    password_env="AEFLOW_EWS_PASSWORD",
)
SHANGHAI = ZoneInfo("Asia/Shanghai")


def problems(**values: object) -> dict[str, str]:
    settings = EwsSettings(**{"email": "ae@agency.example", **values})  # type: ignore[arg-type]
    return {p.where.removeprefix("backend.ews."): p.message for p in settings.problems()}


# --- settings -------------------------------------------------------------------------------------


def test_a_server_name_gives_the_usual_ews_url_and_the_login_defaults_to_the_address() -> None:
    settings = EwsSettings(email="ae@agency.example", server="mail.agency.example")
    assert settings.endpoint == "https://mail.agency.example/EWS/Exchange.asmx"
    assert settings.login == "ae@agency.example"
    assert settings.problems() == []


def test_inconsistent_settings_are_each_named_by_key() -> None:
    assert set(problems()) == {"ews_url"}
    assert set(problems(server="a.example", ews_url="https://a.example/EWS/Exchange.asmx")) == {
        "ews_url"
    }
    assert problems(autodiscover=True) == {}
    assert "https" in problems(ews_url="ftp://a.example/ews")["ews_url"]
    assert set(problems(server="a.example", auth="kerberos", version="Exchange2003")) == {
        "auth",
        "version",
    }
    assert set(problems(server="a.example", auth="oauth2")) == {"client_id", "tenant_id"}
    assert problems(server="a.example", auth="oauth2", client_id="c", token_cache=Path("t")) == {}
    with pytest.raises(ConfigError, match=r"backend\.ews\.timeout"):
        EwsSettings(email="ae@agency.example", server="a.example", timeout=0).check()


def test_credentials_never_travel_over_plain_http_except_on_loopback() -> None:
    assert (
        "unencrypted" in problems(ews_url="http://mail.agency.example/EWS/Exchange.asmx")["ews_url"]
    )
    assert problems(ews_url="http://127.0.0.1:8080/EWS/Exchange.asmx") == {}
    assert problems(ews_url="http://[::1]:8080/EWS/Exchange.asmx") == {}
    assert problems(ews_url="http://localhost/EWS/Exchange.asmx") == {}


# --- secrets --------------------------------------------------------------------------------------


def test_the_password_comes_from_the_named_variable() -> None:
    assert read_password(SETTINGS, {"AEFLOW_EWS_PASSWORD": "s3cret"}) == "s3cret"
    with pytest.raises(UserError, match="AEFLOW_EWS_PASSWORD") as caught:
        read_password(SETTINGS, {})
    assert "AGENCY\\wangfang" in str(caught.value)


def test_without_a_variable_the_password_comes_from_the_keyring() -> None:
    settings = EwsSettings(email="ae@agency.example", server="a.example")
    asked: list[tuple[str, str]] = []

    def keyring(service: str, user: str) -> str | None:
        asked.append((service, user))
        return "from the keyring"

    assert read_password(settings, {}, keyring) == "from the keyring"
    assert asked == [("aeflow", "ae@agency.example")]
    with pytest.raises(UserError, match=r"keyring set aeflow ae@agency\.example"):
        read_password(settings, {}, lambda service, user: None)

    def locked(service: str, user: str) -> str | None:
        raise RuntimeError("the keyring is locked; secret=hunter2")

    with pytest.raises(UserError, match="RuntimeError") as caught:
        read_password(settings, {}, locked)
    assert "hunter2" not in str(caught.value)


def test_a_delegated_token_cache_is_read_and_rewritten_for_its_owner_only(tmp_path: Path) -> None:
    cache = tmp_path / "token.json"
    token = {"access_token": "a", "refresh_token": "r", "expires_at": 1_900_000_000}
    write_token_cache(cache, token)
    assert read_token_cache(cache) == token
    assert stat.S_IMODE(os.stat(cache).st_mode) == 0o600
    cache.write_text(json.dumps({"refresh_token": "r"}))
    with pytest.raises(UserError, match="no access_token"):
        read_token_cache(cache)
    with pytest.raises(UserError, match="cannot be read"):
        read_token_cache(tmp_path / "missing.json")


# --- the account ----------------------------------------------------------------------------------


def test_the_account_fails_fast_with_the_configured_timeout_and_no_request() -> None:
    settings = EwsSettings(
        email="ae@agency.example",
        ews_url="https://mail.agency.example/EWS/Exchange.asmx",
        auth="basic",
        password_env="PW",
        version="Exchange2016",
        timeout=20,
    )
    account = build_account(settings, SHANGHAI, {"PW": "pw"})
    assert account.protocol.retry_policy.fail_fast
    assert account.protocol.TIMEOUT == 20
    assert account.access_type == DELEGATE
    assert account.default_timezone.ms_id == "China Standard Time"
    assert account.protocol.config.credentials.username == "ae@agency.example"


def test_an_application_with_client_credentials_impersonates_the_mailbox() -> None:
    settings = EwsSettings(
        email="ae@agency.example",
        server="outlook.office365.com",
        auth="oauth2",
        client_id="app",
        tenant_id="tenant",
        client_secret_env="SECRET",
    )
    account = build_account(settings, SHANGHAI, {"SECRET": "s"})
    assert isinstance(account.protocol.config.credentials, OAuth2Credentials)
    assert account.access_type == IMPERSONATION
    with pytest.raises(UserError, match="SECRET"):
        build_account(settings, SHANGHAI, {})


def test_a_zone_without_a_windows_name_is_spoken_as_one_with_the_same_offsets() -> None:
    source = resources.files("tzdata").joinpath("zoneinfo/Asia/Shanghai")
    with source.open("rb") as handle:
        unnamed = ZoneInfo.from_file(handle)  # no key: nothing to look up
    spoken = ews_zone(unnamed)
    for month in (1, 7):
        moment = datetime(2025, month, 15, 12)
        assert (
            moment.replace(tzinfo=spoken).utcoffset() == moment.replace(tzinfo=SHANGHAI).utcoffset()
        )


# --- errors ---------------------------------------------------------------------------------------


def test_throttling_is_transient_and_carries_the_servers_back_off() -> None:
    busy = translate(ews.ErrorServerBusy("busy", back_off=45.0), "syncing", SETTINGS)
    assert isinstance(busy, TransientError) and busy.retry_after == 45.0
    absurd = translate(ews.ErrorServerBusy("busy", back_off=86_400.0), "syncing", SETTINGS)
    assert isinstance(absurd, TransientError) and absurd.retry_after == 3600.0


def test_timeouts_and_503s_are_transient_with_a_capped_wait() -> None:
    wrapped = ews.ErrorServerBusy("Reraised from ErrorTimeoutExpired(read timed out)", back_off=10)
    timeout = translate(wrapped, "syncing", SETTINGS)
    assert isinstance(timeout, TransientError) and timeout.retry_after is None
    assert "did not answer in time" in str(timeout)
    for error in (
        ews.ErrorTimeoutExpired("Reraised from ConnectionError"),
        requests.exceptions.ConnectTimeout("connect timed out"),
        requests.exceptions.ConnectionError("reset"),
    ):
        assert isinstance(translate(error, "syncing", SETTINGS), TransientError)
    later = translate(Http503(120.0), "syncing", SETTINGS)
    assert isinstance(later, TransientError) and later.retry_after == 120.0
    capped = translate(Http503(7200.0), "syncing", SETTINGS)
    assert isinstance(capped, TransientError) and capped.retry_after == 900.0


def test_refused_credentials_and_a_blocked_ews_are_the_users_to_fix() -> None:
    refused = translate(ews.UnauthorizedError("Invalid credentials"), "syncing", SETTINGS)
    assert isinstance(refused, UserError)
    assert "refused the credentials of AGENCY\\wangfang (HTTP 401)" in str(refused)
    blocked = translate(Http403("EWS is disabled"), "syncing", SETTINGS)
    assert isinstance(blocked, UserError) and "EWS is disabled" in str(blocked)
    moved = translate(
        ews.RedirectError("https://mail2.agency.example/EWS/Exchange.asmx"), "", SETTINGS
    )
    assert isinstance(moved, UserError) and "mail2.agency.example" in str(moved)
    nobody = translate(ews.ErrorNonExistentMailbox("no such mailbox"), "", SETTINGS)
    assert isinstance(nobody, UserError)


def test_other_server_failures_are_named_and_programming_errors_are_left_alone() -> None:
    stale = translate(ews.ErrorInvalidSyncStateData("bad"), "syncing", SETTINGS)
    assert isinstance(stale, StaleSyncState)
    odd = translate(ews.ErrorInternalServerError("x" * 5000), "syncing", SETTINGS)
    assert isinstance(odd, EwsError) and len(str(odd)) < 400
    assert translate(KeyError("ours"), "syncing", SETTINGS) is None


def test_the_guard_translates_and_lets_everything_else_through() -> None:
    session = EwsSession(SETTINGS, SHANGHAI, environ={})
    with pytest.raises(TransientError), session.guard("syncing"):
        raise ews.ErrorServerBusy("busy", back_off=5)
    with pytest.raises(KeyError), session.guard("syncing"):
        raise KeyError("a bug of ours stays a bug")
    with pytest.raises(UserError, match="AEFLOW_EWS_PASSWORD"):
        _ = session.account  # no password: nothing is built, nothing is sent


def test_without_exchangelib_the_user_is_told_how_to_install_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "exchangelib" else real(name)
    )
    with pytest.raises(UserError, match=r"pip install 'aeflow\[ews\]'"):
        EwsSession(SETTINGS, SHANGHAI, environ={})
