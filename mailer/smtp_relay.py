"""Relaying outgoing mail through an SMTP server: ``[backend.smtp]`` of the local backend.

Besides speaking the protocol, the relay decides what a failure means for the executor:

- worth another try later (``rules.errors.TransientError``): a 4xx reply, a timeout, a dropped
  connection;
- a problem of the connection, not of the mail (``rules.errors.BackendUnavailable``, a
  ``TransientError`` that says what to fix): a refused login (535, 534, 538, 454, or 530 when
  the server wants one), a refused STARTTLS, a TLS handshake or certificate failure, a host name
  that does not resolve, a refused connection, a server that will not talk to us. Every mail
  would fail the same way, so none is failed: sending is held until it works;
- not worth another try (``SmtpPermanentError``): the mail itself is refused, with a 5xx reply
  for every recipient, at MAIL FROM or at DATA;
- neither, because the mail left: the server refused some recipients and accepted the others.
  ``relay`` then *returns* the refusals instead of raising, since an exception would make the
  caller send the message again to the recipients who already have it.

Every server reply that becomes an error message or a log line goes through ``redact_reply``:
servers have been seen to echo the AUTH exchange (``535 ... AUTH PLAIN <base64>``), which holds
the username and the password.

Credentials never travel in the clear: a username with neither STARTTLS nor implicit TLS is a
configuration error, raised when the relay is built, before any connection is made. The password
is neither shown by ``repr`` nor logged; ``smtplib``'s debug output (which would print the AUTH
exchange) is never switched on.
"""

from __future__ import annotations

import base64
import copy
import logging
import os
import re
import smtplib
import socket
import ssl
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import getaddresses
from typing import NamedTuple

from mailer.port import KEY_HEADER
from mailer.signals import sanitise
from rules.errors import AeflowError, BackendUnavailable, TransientError, UserError

log = logging.getLogger(__name__)

IMPLICIT_TLS_PORT = 465
# Replies about the login or the right to send (RFC 4954, 6; RFC 3207, 4; Postfix's 454 4.7.1
# "Relay access denied"): the connection's problem, whatever command they answer.
LOGIN_CODES = frozenset({454, 530, 534, 535, 538})
REDACTED = "[redacted]"
# A run of base64 (RFC 4648, 4) of 12 characters or more, padding included.
_BASE64_RUN = re.compile(r"(?<![A-Za-z0-9+/=])[A-Za-z0-9+/]{12,}={0,2}(?![A-Za-z0-9+/=])")
# A shorter secret would be found inside ordinary words; its base64 forms are still redacted.
_SHORTEST_SECRET = 4
# Where in the session a failure happened, which decides what it means.
CONNECTING, GREETING, STARTTLS, LOGIN, SENDING = (
    "connecting",
    "greeting",
    "STARTTLS",
    "logging in",
    "sending",
)


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
    # the name of the environment variable the password came from, to say where to fix it
    password_env: str = ""

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
        one was accepted); the message has left for the others. Raises ``TransientError`` (its
        ``BackendUnavailable`` kind when the connection or the login is refused) or
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
        secrets = _secrets(self._settings)
        refusals = {
            address: Refusal(code, redact_reply(reply, secrets))
            for address, (code, reply) in refused.items()
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
        stage = CONNECTING
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
            stage = GREETING
            smtp.ehlo_or_helo_if_needed()
            if settings.starttls and not settings.uses_implicit_tls:
                stage = STARTTLS
                smtp.starttls(context=context)
                smtp.ehlo()
            if settings.username:
                stage = LOGIN
                smtp.login(settings.username, settings.password)
            stage = SENDING
            refused = smtp.send_message(message, sender, recipients)
        except (OSError, UnicodeError) as error:  # SMTPException and SSLError are OSErrors
            if smtp is not None:
                smtp.close()
            if isinstance(error, UnicodeError):
                # smtplib sends AUTH as ASCII only, and the error's text would quote the password
                raise _not_ascii(error, settings, stage) from None
            # A server's reply stays out of the chain: a traceback would print it unredacted.
            replied = isinstance(
                error, smtplib.SMTPResponseException | smtplib.SMTPRecipientsRefused
            )
            raise _translate(error, settings, stage) from (None if replied else error)
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
        host=host,
        port=port,
        starttls=starttls,
        username=username,
        password=password,
        password_env=password_env,
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
    label = f"{LOGIN} as {sanitise(settings.username, 80)}" if stage == LOGIN else stage
    where = f"{sanitise(settings.server, 120)} ({label})"
    secrets = _secrets(settings)
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        refusals = {
            a: Refusal(code, redact_reply(reply, secrets))
            for a, (code, reply) in error.recipients.items()
        }
        summary = _describe(refusals)
        if any(r.code in LOGIN_CODES for r in refusals.values()):
            return BackendUnavailable(
                f"{where}: the SMTP server will not take mail from this login: {summary}",
                _login_fix(settings),
            )
        if not refusals or any(_is_transient(r.code) for r in refusals.values()):
            return TransientError(f"{where}: every recipient was refused for now: {summary}")
        first = next(iter(refusals.values()))
        return SmtpPermanentError(
            f"{where}: every recipient was refused: {summary}", first.code, first.text
        )
    if isinstance(error, smtplib.SMTPResponseException):
        code, text = error.smtp_code, redact_reply(error.smtp_error, secrets)
        reply = f"{code} {text}".strip()
        if stage == STARTTLS:
            return BackendUnavailable(
                f"{where}: the SMTP server refused STARTTLS ({reply})", _tls_fix()
            )
        if isinstance(error, smtplib.SMTPAuthenticationError) or code in LOGIN_CODES:
            return BackendUnavailable(
                f"{where}: the SMTP server refused the login ({reply})", _login_fix(settings)
            )
        if isinstance(error, smtplib.SMTPSenderRefused) and text.startswith("5.7."):
            # a policy refusal of the sender (RFC 3463, 3.8): every mail comes from the AE
            return BackendUnavailable(
                f"{where}: the SMTP server will not take mail from "
                f"{sanitise(str(error.sender), 120)} ({reply})",
                "check [ae] email: [backend.smtp] username must be allowed to send as it",
            )
        if _is_transient(code):
            return TransientError(f"{where}: the server answered {reply}; try again later")
        if stage in (CONNECTING, GREETING):
            # a server that will not talk to us at all (554 at the greeting) refuses every mail
            return BackendUnavailable(
                f"{where}: the SMTP server refused the session ({reply})", _server_fix()
            )
        return SmtpPermanentError(f"{where}: the server answered: {reply}", code, text)
    if isinstance(error, TimeoutError) or isinstance(error.__context__, TimeoutError):
        # smtplib reports a read that timed out as a disconnection
        return TransientError(f"{where}: no answer from the server within {settings.timeout:g} s")
    if isinstance(error, smtplib.SMTPServerDisconnected):
        return TransientError(f"{where}: the server closed the connection")
    if isinstance(error, smtplib.SMTPException):
        reason = redact_reply(str(error), secrets)
        if stage == STARTTLS:
            return BackendUnavailable(
                f"{where}: the SMTP server offers no STARTTLS ({reason})", _tls_fix()
            )
        if stage == LOGIN:
            # no AUTH on offer, or no mechanism smtplib shares with the server
            return BackendUnavailable(
                f"{where}: the SMTP server offers no login aeflow can use ({reason})",
                "check [backend.smtp] host and port (mail submission is port 587 or 465), or "
                "leave username empty if this server takes mail without a login",
            )
        # no SMTPUTF8 for a wide address: this mail, not the connection
        return SmtpPermanentError(f"{where}: {reason}")
    if isinstance(error, ssl.SSLEOFError | ssl.SSLZeroReturnError):
        return TransientError(f"{where}: the connection was dropped during TLS")
    if isinstance(error, ssl.SSLCertVerificationError):
        reason = sanitise(error.verify_message or str(error))
        return BackendUnavailable(
            f"{where}: the SMTP server's TLS certificate is not trusted ({reason})",
            "check [backend.smtp] host: it must be a name on the server's certificate, and a "
            "certificate from a private authority must be trusted by this system",
        )
    if isinstance(error, ssl.SSLError):
        return BackendUnavailable(
            f"{where}: the TLS handshake failed ({sanitise(str(error))})", _tls_fix()
        )
    if isinstance(error, socket.gaierror) and error.errno != socket.EAI_AGAIN:
        return BackendUnavailable(
            f"{where}: the host name cannot be resolved ({sanitise(str(error.strerror))})",
            "check [backend.smtp] host",
        )
    if isinstance(error, ConnectionRefusedError):
        return BackendUnavailable(f"{where}: the connection was refused", _server_fix())
    # reset, unreachable: the network or the server may come back
    reason = error.strerror or str(error) or type(error).__name__
    return TransientError(f"{where}: {sanitise(reason)}")


def _not_ascii(error: UnicodeError, settings: SmtpSettings, stage: str) -> AeflowError:
    where = f"{sanitise(settings.server, 120)} ({stage})"
    if stage == LOGIN:
        return BackendUnavailable(
            f"{where}: the username or the password cannot be sent as ASCII, as smtplib "
            f"sends them ({type(error).__name__})",
            _login_fix(settings),
        )
    return SmtpPermanentError(f"{where}: a value cannot be sent as ASCII ({type(error).__name__})")


def _login_fix(settings: SmtpSettings) -> str:
    if not settings.username:
        return (
            "this server wants a login: set [backend.smtp] username and password_env (the "
            "environment variable that holds the password)"
        )
    held = f"the password in {settings.password_env}" if settings.password_env else "the password"
    return f"check [backend.smtp] username and {held}"


def _tls_fix() -> str:
    return (
        "check [backend.smtp] port and starttls: port 465 speaks TLS from the start, port 587 "
        "starts plain and asks for STARTTLS"
    )


def _server_fix() -> str:
    return "check [backend.smtp] host and port, and that the server is running and lets us in"


def _is_transient(code: int) -> bool:
    return 400 <= code < 500


def redact_reply(reply: bytes | str, secrets: Iterable[str] = ()) -> str:
    """A server's reply fit for a log line, an error message or the state file.

    Decoded, on one line without control characters (``sanitise``), and with ``[redacted]`` for
    each of ``secrets`` (found without regard to case) and for every run of base64 of 12
    characters or more: servers have been seen to echo the AUTH exchange, whose base64 holds the
    username and the password. A run that is a plain word (``Authentication``, ``UNAVAILABLE``)
    is kept; a mixed-case, digit-bearing or padded one is not, at the price of a queue id or a
    path now and then.
    """
    text = reply.decode("utf-8", "replace") if isinstance(reply, bytes) else reply
    # longest first, so that a secret inside another is not left half shown
    for secret in sorted({s for s in secrets if len(s) >= _SHORTEST_SECRET}, key=len)[::-1]:
        text = re.sub(re.escape(secret), REDACTED, text, flags=re.IGNORECASE)
    return sanitise(_BASE64_RUN.sub(_redact_run, text))


def _redact_run(match: re.Match[str]) -> str:
    run = match.group()
    if run.isalpha() and (run.islower() or run.isupper() or run.istitle()):
        return run
    return REDACTED


def _secrets(settings: SmtpSettings) -> tuple[str, ...]:
    """What a reply must not show of the login: the values, and the base64 AUTH sends them in
    (LOGIN one at a time, PLAIN as authorisation, user and password joined by NUL)."""
    user, password = settings.username, settings.password
    values = [v for v in (user, password) if v]
    if password:
        values.append(f"\0{user}\0{password}")
    encoded = [base64.b64encode(v.encode("utf-8")).decode("ascii") for v in values]
    # a padded form is also looked for without its padding, where a reply may have cut it
    return (*values, *encoded, *(e.rstrip("=") for e in encoded))


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
