"""A real SMTP server on loopback for the relay tests (aiosmtpd), with STARTTLS and AUTH.

The fixtures are ``tls_certificate``, ``smtp_servers`` and ``smtp_server``; a test module takes them
by importing their functions (``*_fixture``). ``smtp_servers`` starts as many servers as a test
needs and stops them all when it ends; ``smtp_server`` is one with the usual setup: STARTTLS
required, AUTH LOGIN and PLAIN for one test user, a handler that records what arrives. The server's
certificate is self-signed, made once per test session (with ``cryptography`` when it is installed,
else the ``openssl`` command); a client trusts it through ``LoopbackSmtp.client_tls_context()``.
Without either tool the tests skip, and fail under CI.

``silent_listener`` and ``hanging_up_listener`` are the two broken servers: one that accepts a
connection and never says a word, one that closes every connection at once.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import ipaddress
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from tests.conftest import IN_CI

LOOPBACK = "127.0.0.1"
SERVER_NAME = "smtp.aeflow.test"
TEST_USER = "ae@agency.example"
TEST_PASSWORD = "correct horse battery staple 7f3e"
MECHANISMS = ("LOGIN", "PLAIN")


@dataclass(frozen=True)
class Received:
    """One message as the server took it: the envelope, the bytes, and how the session stood."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    content: bytes
    tls: bool
    login: str | None

    def message(self) -> EmailMessage:
        parsed = BytesParser(policy=policy.default).parsebytes(self.content)
        assert isinstance(parsed, EmailMessage)
        return parsed


class RecordingHandler:
    """Records every message; ``refuse`` maps a recipient to the reply that turns it away, and
    ``data_reply`` (when set) is the answer to every DATA instead of accepting it."""

    def __init__(self, refuse: Mapping[str, str] | None = None, data_reply: str | None = None):
        self.refuse = {address.lower(): reply for address, reply in (refuse or {}).items()}
        self.data_reply = data_reply
        self.received: list[Received] = []
        self.logins: list[tuple[str, str]] = []

    async def handle_RCPT(
        self, server: SMTP, session: Session, envelope: Envelope, address: str, options: list[str]
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        if self.data_reply:
            return self.data_reply
        content = envelope.original_content or b""
        login = session.auth_data.login.decode() if session.auth_data else None
        self.received.append(
            Received(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                content=content,
                # the transport, not session.ssl, which aiosmtpd fills only after STARTTLS
                tls=server.transport is not None
                and server.transport.get_extra_info("ssl_object") is not None,
                login=login,
            )
        )
        return "250 2.0.0 accepted"

    def authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, data: Any
    ) -> AuthResult:
        if not isinstance(data, LoginPassword):
            return AuthResult(success=False, handled=False)
        self.logins.append((mechanism, data.login.decode()))
        good = data.login == TEST_USER.encode() and data.password == TEST_PASSWORD.encode()
        return AuthResult(success=good, handled=False, auth_data=data if good else None)


@dataclass
class LoopbackSmtp:
    host: str
    port: int
    handler: RecordingHandler
    certificate: Path
    username: str = TEST_USER
    password: str = field(default=TEST_PASSWORD, repr=False)

    def client_tls_context(self) -> ssl.SSLContext:
        """A client context that trusts this server's self-signed certificate and nothing else."""
        return ssl.create_default_context(cafile=str(self.certificate))


@dataclass(frozen=True)
class Certificate:
    cert: Path
    key: Path

    def server_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(self.cert, self.key)
        return context


class SmtpServers:
    """Starts aiosmtpd servers on free loopback ports; ``stop_all`` ends every one of them."""

    def __init__(self, certificate: Certificate) -> None:
        self._certificate = certificate
        self._controllers: list[Controller] = []

    def start(
        self,
        handler: RecordingHandler | None = None,
        *,
        starttls: bool = True,
        implicit_tls: bool = False,
        mechanisms: Iterable[str] = MECHANISMS,
    ) -> LoopbackSmtp:
        handler = handler or RecordingHandler()
        tls = self._certificate.server_context()
        options: dict[str, Any] = {
            "server_hostname": SERVER_NAME,
            "authenticator": handler.authenticate,
            "auth_exclude_mechanism": sorted(set(MECHANISMS) - set(mechanisms)),
        }
        if implicit_tls:
            # the whole connection is TLS; aiosmtpd only knows about STARTTLS when it decides
            # whether AUTH may go ahead
            options |= {"ssl_context": tls, "auth_require_tls": False}
        elif starttls:
            options |= {"tls_context": tls, "require_starttls": True}
        else:
            options |= {"auth_require_tls": False}
        last_error: Exception | None = None
        for _ in range(5):  # a free port can be taken between finding it and binding it
            controller = Controller(handler, hostname=LOOPBACK, port=free_port(), **options)
            try:
                controller.start()
            except (OSError, RuntimeError) as error:
                last_error = error
                continue
            self._controllers.append(controller)
            return LoopbackSmtp(LOOPBACK, controller.port, handler, self._certificate.cert)
        raise RuntimeError(f"could not start a loopback SMTP server: {last_error}")

    def stop_all(self) -> None:
        while self._controllers:
            self._controllers.pop().stop()


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind((LOOPBACK, 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture(scope="session", name="tls_certificate")
def tls_certificate_fixture(tmp_path_factory: pytest.TempPathFactory) -> Certificate:
    folder = tmp_path_factory.mktemp("smtp-tls")
    return make_self_signed_certificate(folder)


@pytest.fixture(name="smtp_servers")
def smtp_servers_fixture(tls_certificate: Certificate) -> Iterator[SmtpServers]:
    servers = SmtpServers(tls_certificate)
    try:
        yield servers
    finally:
        servers.stop_all()


@pytest.fixture(name="smtp_server")
def smtp_server_fixture(smtp_servers: SmtpServers) -> LoopbackSmtp:
    return smtp_servers.start()


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A port whose connections the kernel accepts and nobody ever answers."""
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(4)
        yield listener.getsockname()[1]


@contextlib.contextmanager
def hanging_up_listener() -> Iterator[int]:
    """A port that closes every connection as soon as it is made, before any greeting."""
    listener = socket.socket()
    listener.bind((LOOPBACK, 0))
    listener.listen(4)
    stop = threading.Event()

    def hang_up() -> None:
        while not stop.is_set():
            try:
                connection, _ = listener.accept()
            except OSError:
                return
            connection.close()

    thread = threading.Thread(target=hang_up, daemon=True)
    thread.start()
    try:
        yield listener.getsockname()[1]
    finally:
        stop.set()
        # shutdown wakes the blocked accept() on Linux; close alone may not
        with contextlib.suppress(OSError):
            listener.shutdown(socket.SHUT_RDWR)
        listener.close()
        thread.join()


@contextlib.contextmanager
def closed_port() -> Iterator[int]:
    """A port that is bound but not listening, so a connection to it is refused."""
    with socket.socket() as holder:
        holder.bind((LOOPBACK, 0))
        yield holder.getsockname()[1]


# --- the self-signed certificate ---------------------------------------------------------------


def make_self_signed_certificate(folder: Path) -> Certificate:
    certificate = Certificate(folder / "cert.pem", folder / "key.pem")
    try:
        import cryptography  # noqa: F401
    except ImportError:
        _with_openssl(certificate)
    else:
        _with_cryptography(certificate)
    return certificate


def _with_cryptography(certificate: Certificate) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, SERVER_NAME)])
    now = dt.datetime.now(dt.UTC)
    public = key.public_key()
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(public)
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [
                    x509.DNSName(SERVER_NAME),
                    x509.DNSName("localhost"),
                    x509.IPAddress(ipaddress.ip_address(LOOPBACK)),
                ]
            ),
            critical=False,
        )
        # a self-signed certificate is its own trust anchor, so it carries what a CA would
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(public), critical=False)
        .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(public), critical=False)
        .sign(key, hashes.SHA256())
    )
    certificate.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    certificate.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )


def _with_openssl(certificate: Certificate) -> None:
    openssl = shutil.which("openssl")
    if openssl is None:
        message = (
            "a TLS certificate for the test SMTP server needs the cryptography package or the "
            "openssl command, and neither is installed"
        )
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    subprocess.run(
        [
            openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-days", "2", "-subj", f"/CN={SERVER_NAME}",
            "-addext", f"subjectAltName=DNS:{SERVER_NAME},DNS:localhost,IP:{LOOPBACK}",
            "-keyout", str(certificate.key), "-out", str(certificate.cert),
        ],
        check=True,
        capture_output=True,
        timeout=120,
    )  # fmt: skip
