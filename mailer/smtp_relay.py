"""Relaying outgoing mail through an SMTP server: ``[backend.smtp]`` of the local backend.

Besides speaking the protocol, the relay decides what a failure means for the executor:

- worth another try later (``rules.errors.TransientError``): a 4xx reply, a timeout, a refused or
  dropped connection;
- not worth another try (``SmtpPermanentError``): a 5xx reply for every recipient, a refused
  login, a TLS failure or a server that offers no TLS when we asked for it;
- neither, because the mail left: the server refused some recipients and accepted the others.
  ``relay`` then *returns* the refusals instead of raising, since an exception would make the
  caller send the message again to the recipients who already have it.

Credentials never travel in the clear: a username with neither STARTTLS nor implicit TLS is a
configuration error, raised when the relay is built, before any connection is made. The password
is neither shown by ``repr`` nor logged; ``smtplib``'s debug output (which would print the AUTH
exchange) is never switched on.
"""

from __future__ import annotations

import copy
import logging
import os
import smtplib
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import NamedTuple

from mailer.port import KEY_HEADER
from mailer.signals import sanitise
from rules.errors import AeflowError, TransientError, UserError

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to relay. ``implicit_tls`` left at ``None`` means: on port 465 only."""

    host: str
    port: int = 587
    starttls: bool = True
    username: str = ""
    password: str = field(default="", repr=False)
    timeout: float = 30.0
    local_hostname: str | None = None
    implicit_tls: bool | None = None

    def __post_init__(self) -> None:
        problems: list[str] = []
        if not self.host.strip():
            problems.append("the SMTP host is empty")
        if not 0 < self.port < 65536:
            problems.append(f"the SMTP port {self.port} is not between 1 and 65535")
        if not self.timeout > 0:
            problems.append(f"the SMTP timeout must be positive, not {self.timeout}")
        if self.local_hostname is not None and not _is_clean(self.local_hostname):
            problems.append("the local host name holds spaces or control characters")
        if problems:
            raise UserError("[backend.smtp] " + "; ".join(problems))

    @property
    def uses_implicit_tls(self) -> bool:
        if self.implicit_tls is None:
            return self.port == IMPLICIT_TLS_PORT
        return self.implicit_tls

    @property
    def encrypted(self) -> bool:
        return self.uses_implicit_tls or self.starttls

    @property
    def server(self) -> str:
        return f"{self.host}:{self.port}"


class Refusal(NamedTuple):
    """The server's reply to one recipient it would not take."""

    code: int
    text: str


class SmtpPermanentError(AeflowError):
    """The relay failed in a way that trying again will not change.

    ``code`` and ``text`` are the server's reply; ``code`` is ``None`` when there was no reply to
    give (a TLS failure, or a message refused before it reached the server).
    """

    def __init__(self, message: str, code: int | None = None, text: str = "") -> None:
        super().__init__(message)
        self.code = code
        self.text = text


class SmtpRelay:
    def __init__(self, settings: SmtpSettings, tls_context: ssl.SSLContext | None = None) -> None:
        if settings.username and not settings.encrypted:
            raise UserError(
                f"[backend.smtp] will not log in as {settings.username!r} to {settings.server} "
                "over an unencrypted connection: set starttls = true, or use port "
                f"{IMPLICIT_TLS_PORT} (implicit TLS)"
            )
        self._settings = settings
        self._tls_context = tls_context

    def __repr__(self) -> str:
        return f"SmtpRelay({self._settings!r})"

    def relay(
        self, message: EmailMessage, recipients: Sequence[str] | None = None
    ) -> dict[str, Refusal]:
        """Send ``message`` to ``recipients`` (default: its To, Cc and Bcc), Bcc left off the copy.

        Returns the recipients the server refused while it accepted the others (empty when every
        one was accepted); the message has left for the others. Raises ``TransientError`` or
        ``SmtpPermanentError`` when it left for nobody. ``message`` itself is not changed.
        """
        label = _label(message)
        sender = envelope_sender(message)
        envelope = (
            _checked_recipients(recipients)
            if recipients is not None
            else envelope_recipients(message)
        )
        if not envelope:
            raise SmtpPermanentError(
                f"{label} names no recipient (To, Cc or Bcc); nothing was sent"
            )
        outgoing = copy.copy(message)
        # Message.__delitem__ rebinds the header list, so the caller's copy keeps its Bcc
        del outgoing["Bcc"]
        del outgoing["Resent-Bcc"]
        server = self._settings.server
        try:
            refused = self._transmit(outgoing, sender, envelope)
        except (TransientError, SmtpPermanentError) as error:
            log.warning("relay of %s via %s failed: %s", label, server, error)
            raise
        refusals = {
            address: Refusal(code, _text(reply)) for address, (code, reply) in refused.items()
        }
        if refusals:
            log.warning(
                "relayed %s via %s to %d of %d recipient(s); refused: %s",
                label,
                server,
                len(envelope) - len(refusals),
                len(envelope),
                _describe(refusals),
            )
        else:
            log.info("relayed %s via %s to %d recipient(s)", label, server, len(envelope))
        return refusals

    def _transmit(
        self, message: EmailMessage, sender: str, recipients: list[str]
    ) -> dict[str, tuple[int, bytes]]:
        settings = self._settings
        context = self._tls_context or ssl.create_default_context()
        stage = "connecting"
        smtp: smtplib.SMTP | None = None
        try:
            if settings.uses_implicit_tls:
                smtp = smtplib.SMTP_SSL(
                    settings.host,
                    settings.port,
                    settings.local_hostname,
                    timeout=settings.timeout,
                    context=context,
                )
            else:
                smtp = smtplib.SMTP(
                    settings.host, settings.port, settings.local_hostname, timeout=settings.timeout
                )
            stage = "greeting"
            smtp.ehlo_or_helo_if_needed()
            if settings.starttls and not settings.uses_implicit_tls:
                stage = "STARTTLS"
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                stage = f"logging in as {sanitise(settings.username, 80)}"
                smtp.login(settings.username, settings.password)
            stage = "sending"
            refused = smtp.send_message(message, sender, recipients)
        except (OSError, UnicodeError) as error:  # SMTPException and SSLError are OSErrors
            if smtp is not None:
                smtp.close()
            if isinstance(error, UnicodeError):
                # smtplib sends AUTH as ASCII only, and the error's text would quote the password
                raise SmtpPermanentError(
                    f"{settings.server} ({stage}): a value cannot be sent as ASCII "
                    f"({type(error).__name__})"
                ) from None
            raise _translate(error, settings, stage) from error
        _quit_quietly(smtp)
        return refused


def settings_from_env(
    host: str,
    port: int,
    starttls: bool,
    username: str,
    password_env: str,
    *,
    environ: Mapping[str, str] | None = None,
) -> SmtpSettings:
    """Settings whose password comes from the environment variable named ``password_env``."""
    env = os.environ if environ is None else environ
    password = ""
    if password_env:
        value = env.get(password_env)
        if not value:
            state = "is not set" if value is None else "is empty"
            raise UserError(
                f"[backend.smtp] password_env names the environment variable {password_env}, "
                f"which {state}: set it to the SMTP password before starting aeflow"
            )
        password = value
    elif username:
        raise UserError(
            f"[backend.smtp] username {username!r} is set but password_env is not: name the "
            "environment variable that holds the SMTP password"
        )
    return SmtpSettings(
        host=host, port=port, starttls=starttls, username=username, password=password
    )


def envelope_sender(message: EmailMessage) -> str:
    """The address in From; with several authors in From, the Sender (RFC 5322, 3.6.2)."""
    authors = _addresses(message, "From")
    if len(authors) > 1:
        authors = _addresses(message, "Sender")
    if len(authors) != 1:
        raise SmtpPermanentError(
            f"{_label(message)} needs exactly one sender address in From (or in Sender when "
            "From names several); nothing was sent"
        )
    return _checked_recipients(authors)[0]


def envelope_recipients(message: EmailMessage) -> list[str]:
    """The addresses in To, Cc and Bcc, each once (domains compared without case)."""
    found = [a for name in ("To", "Cc", "Bcc") for a in _addresses(message, name)]
    return _checked_recipients(found)


def _addresses(message: EmailMessage, name: str) -> list[str]:
    values = [str(value) for value in message.get_all(name, [])]
    return [address for _, address in getaddresses(values) if address]


def _checked_recipients(addresses: Sequence[str]) -> list[str]:
    unique: dict[str, str] = {}
    for address in addresses:
        if not address or not _is_clean(address):
            raise SmtpPermanentError(
                f"the address {sanitise(address, 120)!r} is empty or holds spaces or control "
                "characters; nothing was sent"
            )
        local, at, domain = address.rpartition("@")
        # the local part may be case-sensitive (RFC 5321, 2.4); the domain never is
        unique.setdefault(f"{local}{at}{domain.lower()}" if at else address, address)
    return list(unique.values())


def _is_clean(text: str) -> bool:
    return all(ch.isprintable() and not ch.isspace() for ch in text)


def _translate(error: OSError, settings: SmtpSettings, stage: str) -> AeflowError:
    where = f"{sanitise(settings.server, 120)} ({stage})"
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = {a: Refusal(code, _text(reply)) for a, (code, reply) in error.recipients.items()}
        summary = _describe(refusals)
        if not refusals or any(_is_transient(r.code) for r in refusals.values()):
            return TransientError(f"{where}: every recipient was refused for now: {summary}")
        first = next(iter(refusals.values()))
        return SmtpPermanentError(
            f"{where}: every recipient was refused: {summary}", first.code, first.text
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code, text = error.smtp_code, _text(error.smtp_error)
        if _is_transient(code):
            return TransientError(f"{where}: the server answered {code} {text}; try again later")
        login = isinstance(error, smtplib.SMTPAuthenticationError)
        what = "refused the login" if login else "answered"
        return SmtpPermanentError(f"{where}: the server {what}: {code} {text}", code, text)
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        # smtplib reports a read that timed out as a disconnection
        return TransientError(f"{where}: no answer from the server within {settings.timeout:g} s")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientError(f"{where}: the server closed the connection")
    if isinstance(error, smtplib.SMTPException):
        # no STARTTLS or AUTH on offer, no common AUTH mechanism, no SMTPUTF8 for a wide address
        return SmtpPermanentError(f"{where}: {sanitise(str(error))}")
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TransientError(f"{where}: the connection was dropped during TLS")
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = sanitise(error.verify_message or str(error))
        return SmtpPermanentError(f"{where}: the server's TLS certificate is not trusted: {reason}")
    if isinstance(error, ssl.SSLError):
        return SmtpPermanentError(f"{where}: TLS failed: {sanitise(str(error))}")
    if isinstance(error, socket.gaierror) and error.errno != socket.EAI_AGAIN:
        return SmtpPermanentError(f"{where}: the host name cannot be resolved: {error.strerror}")
    # refused, reset, unreachable: the network or the server may come back
    reason = error.strerror or str(error) or type(error).__name__
    return TransientError(f"{where}: {sanitise(reason)}")


def _is_transient(code: int) -> bool:
    return 400 <= code < 500


def _text(reply: bytes | str) -> str:
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    return sanitise(text)


def _describe(refusals: Mapping[str, Refusal]) -> str:
    return "; ".join(
        f"{sanitise(address, 120)} ({refusal.code} {refusal.text})"
        for address, refusal in refusals.items()
    )


def _label(message: EmailMessage) -> str:
    key = message.get(KEY_HEADER)
    if key:
        return f"message {sanitise(str(key), 120)}"
    message_id = message.get("Message-ID")
    return f"message {sanitise(str(message_id), 120)}" if message_id else "a message"


def _quit_quietly(smtp: smtplib.SMTP) -> None:
    # The mail has left; a server that fumbles QUIT changes nothing about that.
    try:
        smtp.quit()
    except OSError:
        smtp.close()
