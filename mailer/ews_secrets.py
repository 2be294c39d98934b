"""Where the EWS adapters' secrets come from: the environment, a keyring, an OAuth2 token cache.

Nothing here keeps or logs a secret: each is read when the connection is built and handed to
exchangelib. A delegated OAuth2 token refreshed by exchangelib is written back to its cache file,
readable by its owner only.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rules.errors import UserError

if TYPE_CHECKING:
    from mailer.ews_session import EwsSettings

log = logging.getLogger(__name__)

KeyringLookup = Callable[[str, str], "str | None"]


def read_password(
    settings: EwsSettings,
    environ: Mapping[str, str] | None = None,
    keyring_lookup: KeyringLookup | None = None,
) -> str:
    """The password for ``settings.login``: from the variable ``password_env``, else the keyring."""
    environ = os.environ if environ is None else environ
    if settings.password_env:
        value = environ.get(settings.password_env, "")
        if not value:
            raise UserError(
                f"the environment variable {settings.password_env} (backend.ews.password_env) "
                f"is not set or empty; set it to the password of {settings.login}"
            )
        return value
    lookup = keyring_lookup or _keyring_lookup()
    try:
        stored = lookup(settings.keyring_service, settings.login)
    except UserError:
        raise
    except Exception as error:  # every keyring backend has its own failures
        raise UserError(f"the keyring could not be read ({type(error).__name__})") from None
    if not stored:
        raise UserError(
            f"no password for {settings.login} in the keyring (service "
            f"{settings.keyring_service!r}); store it with `keyring set "
            f"{settings.keyring_service} {settings.login}`, or set backend.ews.password_env"
        )
    return stored


def _keyring_lookup() -> KeyringLookup:
    try:
        import keyring
    except ImportError:
        raise UserError(
            "no password source: set backend.ews.password_env to the name of an environment "
            "variable holding the password, or install the keyring package"
        ) from None
    lookup: KeyringLookup = keyring.get_password
    return lookup


def read_secret(name: str, what: str, environ: Mapping[str, str] | None = None) -> str:
    environ = os.environ if environ is None else environ
    value = environ.get(name, "") if name else ""
    if not value:
        raise UserError(f"the environment variable {name or '(unset)'} holding {what} is empty")
    return value


def read_token_cache(path: Path) -> dict[str, Any]:
    """A delegated OAuth2 token saved as JSON (access_token, refresh_token, expires_at, ...)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise UserError(
            f"the OAuth2 token cache {path} cannot be read ({error.strerror})"
        ) from None
    except ValueError:
        raise UserError(f"the OAuth2 token cache {path} is not JSON") from None
    if not isinstance(data, dict) or not data.get("access_token"):
        raise UserError(f"the OAuth2 token cache {path} holds no access_token")
    return data


def write_token_cache(path: Path, token: Mapping[str, Any]) -> None:
    """Replace the cache atomically, readable by its owner only: it is a credential."""
    temporary = path.with_name(f".{path.name}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        json.dump(dict(token), handle)
    os.replace(temporary, path)


def credentials_for(
    settings: EwsSettings, environ: Mapping[str, str] | None, keyring_lookup: KeyringLookup | None
) -> tuple[Any, str]:
    """exchangelib credentials and the access type they call for."""
    from exchangelib import DELEGATE, IMPERSONATION, Credentials, Identity
    from exchangelib.credentials import OAuth2AuthorizationCodeCredentials, OAuth2Credentials

    if settings.auth != "oauth2":
        return Credentials(
            settings.login, read_password(settings, environ, keyring_lookup)
        ), DELEGATE
    identity = Identity(primary_smtp_address=settings.email)
    if settings.token_cache is None:
        secret = read_secret(settings.client_secret_env, "the OAuth2 client secret", environ)
        app = OAuth2Credentials(
            client_id=settings.client_id,
            client_secret=secret,
            tenant_id=settings.tenant_id,
            identity=identity,
        )
        # An application acting on a mailbox must impersonate it.
        return app, IMPERSONATION
    cache = settings.token_cache

    class CachedToken(OAuth2AuthorizationCodeCredentials):  # type: ignore[misc]
        def on_token_auto_refreshed(self, access_token: Any) -> None:
            super().on_token_auto_refreshed(access_token)
            try:
                write_token_cache(cache, access_token)
            except OSError as error:
                log.warning("the refreshed OAuth2 token could not be saved: %s", error.strerror)

    secret = ""
    if settings.client_secret_env:
        secret = read_secret(settings.client_secret_env, "the OAuth2 client secret", environ)
    user = CachedToken(
        client_id=settings.client_id,
        client_secret=secret or None,
        tenant_id=settings.tenant_id or None,
        identity=identity,
        access_token=read_token_cache(cache),
    )
    return user, DELEGATE
