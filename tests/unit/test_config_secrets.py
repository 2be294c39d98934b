"""A secret written into the configuration is refused, saying where it goes instead (an
environment variable or the keyring), with its table and key, and never repeating the value."""

from __future__ import annotations

from pathlib import Path

import pytest

from aeflow.config import config_from_dict, load_config
from rules.errors import ConfigError

SECRET = "hunter2-do-not-print"


def minimal() -> dict[str, object]:
    return {
        "ae": {"name": "AE", "email": "ae@agency.example", "manager": "boss@agency.example"},
        "clients": [{"name": "Acme", "domains": ["acme.example"]}],
    }


def refusal(raw: dict[str, object]) -> tuple[str, str]:
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("aeflow.toml"))
    (problem,) = caught.value.problems
    assert SECRET not in str(caught.value)
    return problem.where, problem.message


def test_an_inline_exchange_password_is_refused_pointing_to_password_env_or_the_keyring() -> None:
    raw = minimal()
    raw["backend"] = {
        "kind": "ews",
        "ews": {"server": "mail.agency.example", "password": SECRET},
    }
    assert refusal(raw) == (
        "backend.ews.password",
        "secrets do not go in this file; use password_env (an environment variable) or the keyring",
    )


def test_an_inline_smtp_password_is_refused_pointing_to_password_env() -> None:
    raw = minimal()
    raw["backend"] = {"smtp": {"host": "smtp.agency.example", "password": SECRET}}
    assert refusal(raw) == (
        "backend.smtp.password",
        "secrets do not go in this file; use password_env (an environment variable)",
    )


def test_an_inline_client_secret_is_refused_pointing_to_client_secret_env() -> None:
    raw = minimal()
    raw["backend"] = {
        "kind": "ews",
        "ews": {"server": "mail.agency.example", "auth": "oauth2", "client_secret": SECRET},
    }
    where, message = refusal(raw)
    assert where == "backend.ews.client_secret"
    assert (
        message == "secrets do not go in this file; use client_secret_env (an environment variable)"
    )


@pytest.mark.parametrize("key", ["secret", "token", "access_token", "Password"])
def test_a_secret_in_a_table_without_a_place_for_one_names_where_secrets_go(key: str) -> None:
    raw = minimal()
    raw["ae"] = {**raw["ae"], key: SECRET}  # type: ignore[dict-item]
    where, message = refusal(raw)
    assert where == f"ae.{key}"
    assert message.startswith("secrets do not go in this file; use password_env")
    assert "[backend.ews]" in message and "keyring" in message


def test_check_config_prints_the_refusal_with_its_table_and_key(tmp_path: Path) -> None:
    path = tmp_path / "aeflow.toml"
    path.write_text(
        '[ae]\nname = "AE"\nemail = "ae@agency.example"\nmanager = "boss@agency.example"\n'
        '[backend.smtp]\nhost = "smtp.agency.example"\nusername = "ae"\n'
        f'password = "{SECRET}"\n'
        '[[clients]]\nname = "Acme"\ndomains = ["acme.example"]\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError) as caught:
        load_config(path)
    text = str(caught.value)
    assert "backend.smtp.password: secrets do not go in this file" in text
    assert "unknown key" not in text and SECRET not in text
