"""The one connection to an Exchange server (EWS, through exchangelib) that both adapters share.

``EwsSettings`` holds what the configuration says (never a secret: only where to find one);
``EwsSession`` builds the exchangelib ``Account`` on first use, so nothing touches the network
until a tick does, and ``guard`` turns whatever exchangelib, requests or oauthlib raise into
aeflow's errors: a busy server or a dropped connection is a ``TransientError`` (the daemon backs
off, honouring the server's BackOffMilliseconds), refused credentials, a blocked EWS and the
like are a ``BackendRefused`` (a ``UserError``) saying what to do, which the engine turns into
holding sending when it comes while a mail goes out, rather than failing that mail.

exchangelib is told to fail fast: it never sleeps or retries inside a tick, so the daemon alone
decides when to try again. This module imports exchangelib only inside the functions that need
it; importing it costs nothing to a user of another backend.
"""

from __future__ import annotations

import importlib.util
import ipaddress
import logging
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from mailer.ews_secrets import KeyringLookup, credentials_for
from mailer.headers import sanitise
from rules.errors import (
    AeflowError,
    BackendRefused,
    ConfigError,
    Problem,
    TransientError,
    UserError,
)

log = logging.getLogger(__name__)

AUTH_KINDS = ("ntlm", "basic", "oauth2")
# Server versions one may name instead of letting exchangelib find out with a first request.
VERSIONS: dict[str, tuple[int, ...]] = {
    "Exchange2010_SP2": (14, 2),
    "Exchange2013": (15, 0),
    "Exchange2013_SP1": (15, 0, 847),
    "Exchange2016": (15, 1),
    "Exchange2019": (15, 2),
}
KEYRING_SERVICE = "aeflow"
# The most we wait on the server's word: a bogus BackOffMilliseconds must not park the daemon for
# days, and a Retry-After on a 503 is a guess about an outage, so it is capped harder.
SERVER_BACK_OFF_CAP = 3600.0
RETRY_AFTER_CAP = 900.0
_LOOPBACK_NAMES = {"localhost", "localhost.localdomain"}


class EwsError(AeflowError):
    """An EWS failure that is neither transient nor the user's to fix (a server bug, a refusal)."""


class StaleSyncState(EwsError):
    """The server no longer accepts a saved sync state: the adapter starts that folder afresh."""


class Http503(Exception):
    """Raised from the retry policy so the Retry-After header survives exchangelib's wrapping:
    a 503 (unavailable) or a 429 (too many requests, Exchange Online's throttling)."""

    def __init__(self, retry_after: float | None, status: int = 503) -> None:
        super().__init__(f"HTTP {status}")
        self.retry_after = retry_after
        self.status = status


class Http403(Exception):
    """Raised from the retry policy: exchangelib would report a 403 as a malformed response."""

    def __init__(self, detail: str) -> None:
        super().__init__(f"HTTP 403 Forbidden {detail}".strip())
        self.detail = detail


@dataclass(frozen=True)
class EwsSettings:
    """Where the mailbox is and how to log in; see ``problems`` for what must go together."""

    email: str
    server: str = ""
    ews_url: str = ""
    autodiscover: bool = False
    username: str = ""
    auth: str = "ntlm"
    password_env: str = ""
    keyring_service: str = KEYRING_SERVICE
    tenant_id: str = ""
    client_id: str = ""
    client_secret_env: str = ""
    token_cache: Path | None = None
    version: str = ""
    timeout: float = 60.0

    @property
    def login(self) -> str:
        """The name the server is asked to authenticate: ``username``, else the address."""
        return self.username or self.email

    @property
    def endpoint(self) -> str:
        """The EWS URL, or "" when autodiscover is to find it."""
        if self.ews_url:
            return self.ews_url
        if self.server:
            return f"https://{self.server}/EWS/Exchange.asmx"
        return ""

    def problems(self, where: str = "backend.ews") -> list[Problem]:
        """Every inconsistency in the settings, each with its key."""
        found: list[Problem] = []

        def add(key: str, message: str) -> None:
            found.append(Problem(f"{where}.{key}", message))

        if "@" not in self.email:
            add("email", f"expected the mailbox's primary SMTP address, got {self.email!r}")
        if self.server and self.ews_url:
            add("ews_url", "give either server or ews_url, not both")
        if not (self.server or self.ews_url or self.autodiscover):
            add("ews_url", "give server, ews_url, or set autodiscover = true")
        if self.ews_url:
            try:
                url = urlsplit(self.ews_url)
                host = url.hostname
            except ValueError:  # "http://[::1": a bracket never closed
                url, host = urlsplit(""), None
            if url.scheme not in ("http", "https") or not host:
                add("ews_url", f"expected an https:// URL, got {self.ews_url!r}")
            elif url.scheme == "http" and not _is_loopback(host):
                add("ews_url", "credentials would travel unencrypted over http://; use https://")
        if self.auth not in AUTH_KINDS:
            add("auth", f"expected one of {', '.join(AUTH_KINDS)}, got {self.auth!r}")
        if self.auth == "oauth2":
            if not self.client_id:
                add("client_id", "OAuth2 needs the application (client) id")
            if self.token_cache is None and not (self.tenant_id and self.client_secret_env):
                add(
                    "tenant_id",
                    "OAuth2 needs either token_cache (a delegated token) or tenant_id and "
                    "client_secret_env (the application's own credentials)",
                )
        if self.version and self.version not in VERSIONS:
            add("version", f'expected one of {", ".join(VERSIONS)} or "", got {self.version!r}')
        if not 1 <= self.timeout <= 600:
            add("timeout", f"expected seconds from 1 to 600, got {self.timeout!r}")
        return found

    def check(self, source: str = "configuration") -> None:
        """Raise ``ConfigError`` listing every problem, if there is any."""
        found = self.problems()
        if found:
            raise ConfigError(source, found)


def _is_loopback(host: str) -> bool:
    if host.lower() in _LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


# --- building the account -------------------------------------------------------------------------


def _retry_policy() -> Any:
    from exchangelib.protocol import FailFast

    class DaemonPaced(FailFast):  # type: ignore[misc]
        """Fail at once, keeping what the daemon needs to pace itself: Retry-After, a 403."""

        def raise_response_errors(self, response: Any) -> None:
            status = response.status_code
            if status in (503, 429):
                raise Http503(_retry_after(response.headers.get("Retry-After", "")), status)
            if status == 403:
                raise Http403(sanitise(response.text or "", 200))
            super().raise_response_errors(response)

    return DaemonPaced()


def _retry_after(value: str) -> float | None:
    try:
        seconds = float(value.strip())
    except ValueError:
        return None
    return seconds if seconds > 0 else None


def ews_zone(zone: ZoneInfo) -> Any:
    """The exchangelib zone for ``zone``, or one with its offsets if Windows has no name for it."""
    from exchangelib import EWSTimeZone
    from exchangelib.errors import UnknownTimeZone

    if zone.key:
        try:
            return EWSTimeZone(zone.key)
        except UnknownTimeZone:
            pass
    samples = [datetime(2025, month, 15, 12) for month in (1, 4, 7, 10)]

    def offsets(tz: ZoneInfo) -> list[timedelta | None]:
        return [s.replace(tzinfo=tz).utcoffset() for s in samples]

    wanted = offsets(zone)
    for name in sorted(EWSTimeZone.IANA_TO_MS_MAP):
        with suppress(Exception):
            candidate = EWSTimeZone(name)
            if offsets(candidate) == wanted:
                return candidate
    log.warning("no Windows time zone matches %s; Exchange is spoken to in UTC", zone.key)
    return EWSTimeZone("UTC")


# exchangelib logs each request and answer at DEBUG, the Authorization header among them, and
# requests-oauthlib logs tokens: a verbose aeflow must not print either.
_CHATTY_LOGGERS = ("exchangelib", "requests_oauthlib", "oauthlib")


def quiet_libraries() -> None:
    """Keep the libraries that see secrets at WARNING, unless someone set them on purpose."""
    for name in _CHATTY_LOGGERS:
        logger = logging.getLogger(name)
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.WARNING)


# aeflow's own property set on Exchange items: nothing else writes into it, so a name cannot clash.
PROPERTY_SET = "a495f4ef-2be6-44d3-835b-48c8210743c4"
KEY_PROPERTY = "AEFlowKey"  # on a sent message: the action it carried out
SENT_AT_PROPERTY = "AEFlowSentAt"  # on a sent message: its Date, for rebuilding from Sent
INVITE_PROPERTY = "AEFlowInviteKey"  # on the AE's meeting: the last request Exchange sent for it
NOTES_PROPERTY = "AEFlowNotes"  # on the AE's meeting: the AE's notes, once the body is the notice
# Every named property aeflow keeps, for both adapters: item class, exchangelib field, name, type.
PROPERTIES = (
    ("Message", "aeflow_key", KEY_PROPERTY, "String"),
    ("Message", "aeflow_sent_at", SENT_AT_PROPERTY, "SystemTime"),
    ("CalendarItem", "aeflow_invite_key", INVITE_PROPERTY, "String"),
    ("CalendarItem", "aeflow_notes", NOTES_PROPERTY, "String"),
)
_registered = threading.Lock()


def register_properties() -> None:
    """Make aeflow's named properties fields of exchangelib's item classes, once; every account
    the session builds has them. Idempotent; a field of the same name that is not ours is an
    error rather than a silent reuse."""
    import exchangelib
    from exchangelib.extended_properties import ExtendedProperty
    from exchangelib.fields import InvalidField

    with _registered:
        for class_name, attribute, name, kind in PROPERTIES:
            item_class = getattr(exchangelib, class_name)
            try:
                existing = item_class.get_field_by_fieldname(attribute)
            except InvalidField:
                prop = type(
                    name,
                    (ExtendedProperty,),
                    {"property_set_id": PROPERTY_SET, "property_name": name, "property_type": kind},
                )
                item_class.register(attribute, prop)
                continue
            cls = getattr(existing, "value_cls", None)
            ours = (getattr(cls, "property_set_id", None), getattr(cls, "property_name", None))
            if ours != (PROPERTY_SET, name):
                raise EwsError(
                    f"exchangelib already has a field {attribute!r} that is not aeflow's"
                )


def build_account(
    settings: EwsSettings,
    zone: ZoneInfo,
    environ: Mapping[str, str] | None = None,
    keyring_lookup: KeyringLookup | None = None,
) -> Any:
    """A configured exchangelib ``Account``. Autodiscover, when asked for, talks to the network."""
    from exchangelib import BASIC, NTLM, OAUTH2, Account, Build, Configuration, Version

    quiet_libraries()
    register_properties()
    credentials, access = credentials_for(settings, environ, keyring_lookup)
    version = Version(build=Build(*VERSIONS[settings.version])) if settings.version else None
    auth = {"ntlm": NTLM, "basic": BASIC, "oauth2": OAUTH2}[settings.auth]
    config = Configuration(
        credentials=credentials,
        service_endpoint=None if settings.autodiscover else settings.endpoint,
        auth_type=auth,
        version=version,
        retry_policy=_retry_policy(),
    )
    account = Account(
        primary_smtp_address=settings.email,
        config=config,
        autodiscover=settings.autodiscover,
        access_type=access,
        default_timezone=ews_zone(zone),
    )
    # Per request; exchangelib's default is two minutes, longer than a tick should hang.
    account.protocol.TIMEOUT = settings.timeout
    return account


# --- errors ---------------------------------------------------------------------------------------


def translate(error: BaseException, what: str, settings: EwsSettings) -> AeflowError | None:
    """aeflow's error for a failure while ``what``; ``None`` when it is not a server failure."""
    import requests
    from exchangelib import errors as ews
    from oauthlib.oauth2 import OAuth2Error

    where = settings.endpoint or f"the server autodiscover finds for {settings.email}"
    if isinstance(error, Http503) and error.status == 429:
        # Throttled: the server says how long; its word is kept, within reason.
        retry = min(error.retry_after, SERVER_BACK_OFF_CAP) if error.retry_after else None
        return TransientError(f"{what}: {where} is throttling aeflow (HTTP 429)", retry_after=retry)
    if isinstance(error, Http503):
        retry = min(error.retry_after, RETRY_AFTER_CAP) if error.retry_after else None
        return TransientError(f"{what}: {where} is unavailable (HTTP 503)", retry_after=retry)
    if isinstance(error, Http403):
        return BackendRefused(
            f"{what}: {where} refused EWS (HTTP 403)",
            "EWS is disabled for this mailbox or tenant (Exchange Online blocks EWS unless the "
            "tenant allows it): ask the administrator to allow EWS for the account (a Microsoft "
            "Graph backend is planned)",
        )
    if isinstance(error, ews.UnauthorizedError):
        return BackendRefused(
            f"{what}: {where} refused the credentials of {settings.login} (HTTP 401)",
            f"check backend.ews.username, auth ({settings.auth}) and the password or token source",
        )
    if isinstance(error, ews.ErrorServerBusy):
        if str(error).startswith("Reraised from"):
            # exchangelib's own wrapping of a timeout or a transient 5xx: no word from the server
            return TransientError(f"{what}: {where} did not answer in time ({_brief(error)})")
        back_off = error.back_off
        retry = min(float(back_off), SERVER_BACK_OFF_CAP) if back_off else None
        return TransientError(f"{what}: {where} is busy (ErrorServerBusy)", retry_after=retry)
    transient = (
        ews.ErrorTimeoutExpired,
        ews.ErrorInternalServerTransientError,
        ews.ErrorTooManyObjectsOpened,
        ews.ErrorExceededConnectionCount,
        ews.ErrorMailboxStoreUnavailable,
        ews.ErrorMailboxMoveInProgress,
        ews.ErrorConnectionFailed,
        ews.SessionPoolMinSizeReached,
        ews.RateLimitError,
        requests.exceptions.ConnectionError,
        requests.exceptions.Timeout,
    )
    if isinstance(error, transient):
        return TransientError(f"{what}: {where} could not be reached ({_brief(error)})")
    if isinstance(error, ews.ErrorInvalidSyncStateData):
        return StaleSyncState(f"{what}: the server no longer accepts the saved sync state")
    if isinstance(error, ews.RedirectError):
        return UserError(
            f"{what}: {where} redirects to {error.url}; set backend.ews.ews_url to that address"
        )
    if isinstance(error, (ews.ErrorNonExistentMailbox, ews.ErrorImpersonateUserDenied)):
        return BackendRefused(
            f"{what}: the server knows no mailbox {settings.email} for this login",
            "check backend.ews.email and backend.ews.username",
        )
    if isinstance(error, ews.ErrorAccessDenied):
        return BackendRefused(
            f"{what}: access denied to the mailbox {settings.email}",
            "check that backend.ews.username may use this mailbox (full access, or send as)",
        )
    if isinstance(error, ews.AutoDiscoverError):
        return UserError(
            f"{what}: autodiscover found no EWS endpoint for {settings.email}; set "
            "backend.ews.ews_url instead"
        )
    if isinstance(error, OAuth2Error):
        return BackendRefused(
            f"{what}: the OAuth2 sign-in failed ({_brief(error)})",
            "check client_id, tenant_id and the secret or token cache",
        )
    if isinstance(error, ews.TransportError) and "SSL" in str(error).upper():
        return BackendRefused(
            f"{what}: the TLS handshake with {where} failed ({_brief(error)})",
            "check backend.ews.server or ews_url (the name must be on the server's certificate) "
            "and that this system trusts the certificate's authority",
        )
    if isinstance(error, ews.CASError):
        return TransientError(f"{what}: the Exchange front end failed ({_brief(error)})")
    if isinstance(error, (ews.EWSError, requests.exceptions.RequestException)):
        return EwsError(f"{what}: {type(error).__name__}: {_brief(error)}")
    return None


def _brief(error: BaseException) -> str:
    # exchangelib puts whole responses into some messages; a line is enough, and it is untrusted.
    return sanitise(str(error), 240) or type(error).__name__


def require_exchangelib() -> None:
    """A ``UserError`` saying how to install the EWS extra, when exchangelib is missing."""
    if importlib.util.find_spec("exchangelib") is None:
        raise UserError(
            "the Exchange (EWS) backend needs exchangelib; install it with "
            "pip install 'aeflow[ews]'"
        )


class EwsSession:
    """The account both adapters use, built once on first use; ``guard`` translates failures."""

    def __init__(
        self,
        settings: EwsSettings,
        zone: ZoneInfo,
        *,
        environ: Mapping[str, str] | None = None,
        keyring_lookup: KeyringLookup | None = None,
    ) -> None:
        settings.check()
        require_exchangelib()
        self.settings = settings
        self.zone = zone
        self._environ = environ
        self._keyring_lookup = keyring_lookup
        self._account: Any = None
        self._lock = threading.Lock()

    @property
    def account(self) -> Any:
        """The exchangelib ``Account``; built (and translated on failure) the first time."""
        if self._account is None:
            with self._lock, self.guard("connecting to Exchange"):
                if self._account is None:
                    self._account = build_account(
                        self.settings, self.zone, self._environ, self._keyring_lookup
                    )
        return self._account

    @contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Run the block, turning server and network failures into aeflow's errors."""
        try:
            yield
        except AeflowError:
            raise
        except Exception as error:
            translated = translate(error, what, self.settings)
            if translated is None:
                raise
            log.debug("%s failed: %s", what, _brief(error))
            raise translated from error

    def close(self) -> None:
        """Close the connections; the next use connects again."""
        account, self._account = self._account, None
        if account is not None:
            with suppress(Exception):
                account.protocol.close()
