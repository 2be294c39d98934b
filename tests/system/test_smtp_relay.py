"""The SMTP relay of the local backend against a real SMTP server (aiosmtpd) on loopback.

Every test starts its own server through the ``smtp_servers`` fixture, which stops it at the end.
The messages are built by hand from RFC 5322 (headers) and RFC 5321 (envelope, reply codes).
"""

from __future__ import annotations

import base64
import logging
import socket
import ssl
from dataclasses import replace
from email.message import EmailMessage
from typing import Any

import pytest

from mailer.port import KEY_HEADER
from mailer.smtp_relay import (
    REDACTED,
    Refusal,
    SmtpPermanentError,
    SmtpRelay,
    SmtpSettings,
    envelope_recipients,
    settings_from_env,
)
from rules.errors import BackendUnavailable, TransientError, UserError
from tests.smtp_server import (
    LOOPBACK,
    TEST_PASSWORD,
    TEST_USER,
    LoopbackSmtp,
    RecordingHandler,
    SmtpServers,
    closed_port,
    hanging_up_listener,
    silent_listener,
    smtp_server_fixture,  # noqa: F401 (a fixture)
    smtp_servers_fixture,  # noqa: F401 (a fixture)
    tls_certificate_fixture,  # noqa: F401 (a fixture)
)

KEY = "confirm:meeting-42@agency.example:20250612T020000Z"
BODY = "Dear Ms. Li,\n\nThis confirms tomorrow's meeting at 10:00 — 会议确认.\n"


def confirmation(**headers: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = "Wang Fang <ae@agency.example>"
    message["To"] = "Li Na <li.na@client.example>"
    message["Cc"] = "team@agency.example"
    message["Bcc"] = "manager@agency.example"
    message["Subject"] = "Confirmation: brand review, 12 June 10:00"
    message["Message-ID"] = "<confirm-42@agency.example>"
    message[KEY_HEADER] = KEY
    for name, value in headers.items():
        del message[name]
        message[name] = value
    message.set_content(BODY)
    return message


def relay_to(server: LoopbackSmtp, password: str = TEST_PASSWORD, **overrides: Any) -> SmtpRelay:
    settings = SmtpSettings(
        host=server.host,
        port=server.port,
        username=TEST_USER,
        password=password,
        timeout=10.0,
        local_hostname="aeflow.test",
    )
    settings = replace(settings, **overrides)
    return SmtpRelay(settings, tls_context=server.client_tls_context())


def password_forms(password: str) -> list[str]:
    # what an AUTH exchange would carry: the password itself, and base64 of LOGIN's and PLAIN's
    plain = f"\0{TEST_USER}\0{password}".encode()
    return [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(plain).decode(),
    ]


# --- mail that arrives -------------------------------------------------------------------------


@pytest.mark.parametrize("mechanism", ["LOGIN", "PLAIN"])
def test_a_message_relayed_with_starttls_and_login_arrives_whole_without_its_bcc(
    smtp_servers: SmtpServers, mechanism: str
) -> None:
    server = smtp_servers.start(mechanisms=[mechanism])
    message = confirmation()

    refused = relay_to(server).relay(message)

    assert refused == {}
    assert server.handler.logins == [(mechanism, TEST_USER)]
    [received] = server.handler.received
    assert received.tls, "the message must travel after STARTTLS"
    assert received.login == TEST_USER
    assert received.mail_from == "ae@agency.example"
    assert received.rcpt_tos == (
        "li.na@client.example",
        "team@agency.example",
        "manager@agency.example",
    )
    arrived = received.message()
    assert arrived[KEY_HEADER] == KEY
    assert arrived["Message-ID"] == "<confirm-42@agency.example>"
    # on the wire lines end in CRLF (RFC 5321, 2.3.8); the text is the same
    assert arrived.get_content().replace("\r\n", "\n") == BODY
    assert "Bcc" not in arrived
    assert b"manager@agency.example" not in received.content
    # the caller's message (the copy filed in Sent) keeps its Bcc
    assert message["Bcc"] == "manager@agency.example"


def test_explicit_recipients_replace_the_header_recipients_in_the_envelope(
    smtp_server: LoopbackSmtp,
) -> None:
    relay_to(smtp_server).relay(confirmation(), recipients=["li.na@client.example"])

    [received] = smtp_server.handler.received
    assert received.rcpt_tos == ("li.na@client.example",)
    assert received.message()["Cc"] == "team@agency.example"


def test_a_recipient_named_twice_is_sent_to_once() -> None:
    message = confirmation(Cc="Li Na <li.na@CLIENT.example>, team@agency.example")

    assert envelope_recipients(message) == [
        "li.na@client.example",
        "team@agency.example",
        "manager@agency.example",
    ]


def test_implicit_tls_relays_over_smtp_ssl(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.start(implicit_tls=True)

    relay_to(server, implicit_tls=True).relay(confirmation())

    [received] = server.handler.received
    assert received.tls
    assert received.login == TEST_USER


# --- refusals ----------------------------------------------------------------------------------


def test_a_wrong_password_holds_sending_saying_what_to_fix_and_nothing_is_sent(
    smtp_server: LoopbackSmtp,
) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        relay_to(smtp_server, password="not the password", password_env="SMTP_PW").relay(
            confirmation()
        )

    assert "refused the login (535" in caught.value.problem
    assert caught.value.what_to_fix == "check [backend.smtp] username and the password in SMTP_PW"
    assert "not the password" not in str(caught.value)
    assert smtp_server.handler.received == []


def test_a_password_smtplib_cannot_send_holds_sending_without_quoting_it(
    smtp_server: LoopbackSmtp,
) -> None:
    with pytest.raises(BackendUnavailable) as caught:
        relay_to(smtp_server, password="pässwörd").relay(confirmation())

    assert "pässwörd" not in str(caught.value)
    assert caught.value.__cause__ is None and caught.value.__suppress_context__
    assert smtp_server.handler.received == []


@pytest.mark.parametrize(
    "behaviour",
    [
        pytest.param({"data_reply": "451 4.3.0 try again later"}, id="451-at-data"),
        pytest.param(
            {
                "refuse": {
                    "li.na@client.example": "451 4.7.1 greylisted",
                    "team@agency.example": "451 4.7.1 greylisted",
                    "manager@agency.example": "451 4.7.1 greylisted",
                }
            },
            id="451-for-every-recipient",
        ),
    ],
)
def test_a_451_reply_is_a_transient_error(
    smtp_servers: SmtpServers, behaviour: dict[str, Any]
) -> None:
    server = smtp_servers.start(RecordingHandler(**behaviour))

    with pytest.raises(TransientError) as caught:
        relay_to(server).relay(confirmation())

    assert "451" in str(caught.value)
    assert caught.value.retry_after is None
    assert server.handler.received == []


def test_a_550_for_one_of_two_recipients_delivers_to_the_other_and_reports_the_refusal(
    smtp_servers: SmtpServers, caplog: pytest.LogCaptureFixture
) -> None:
    handler = RecordingHandler(refuse={"gone@client.example": "550 5.1.1 no such mailbox"})
    server = smtp_servers.start(handler)
    message = confirmation(To="li.na@client.example, gone@client.example")
    del message["Cc"]
    del message["Bcc"]
    caplog.set_level(logging.INFO, logger="mailer")

    refused = relay_to(server).relay(message)

    assert refused == {"gone@client.example": Refusal(550, "5.1.1 no such mailbox")}
    [received] = handler.received
    assert received.rcpt_tos == ("li.na@client.example",)
    assert received.message()[KEY_HEADER] == KEY
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert any("gone@client.example (550" in w and KEY in w for w in warnings), warnings


def test_a_550_for_every_recipient_is_a_permanent_error_with_the_server_reply(
    smtp_servers: SmtpServers,
) -> None:
    handler = RecordingHandler(refuse={"li.na@client.example": "550 5.7.1 relaying denied"})
    server = smtp_servers.start(handler)

    with pytest.raises(SmtpPermanentError) as caught:
        relay_to(server).relay(confirmation(), recipients=["li.na@client.example"])

    assert (caught.value.code, caught.value.text) == (550, "5.7.1 relaying denied")


def test_a_refused_address_in_a_hostile_header_is_logged_on_one_line(
    smtp_servers: SmtpServers, caplog: pytest.LogCaptureFixture
) -> None:
    # the refusal text comes from the server; a control character in it must not reach the log
    handler = RecordingHandler(refuse={"gone@client.example": "550 5.1.1 gone\x1b[31m red"})
    server = smtp_servers.start(handler)
    caplog.set_level(logging.INFO, logger="mailer")

    refused = relay_to(server).relay(
        confirmation(), recipients=["li.na@client.example", "gone@client.example"]
    )

    assert refused["gone@client.example"].code == 550
    for record in caplog.records:
        assert "\x1b" not in record.getMessage()
        assert "\n" not in record.getMessage()


# --- held: the connection refused, not the mail -----------------------------------------------


class RefusingMailFrom(RecordingHandler):
    """A server that answers ``mail_reply`` to every MAIL FROM."""

    def __init__(self, mail_reply: str) -> None:
        super().__init__()
        self.mail_reply = mail_reply

    async def handle_MAIL(
        self, server: Any, session: Any, envelope: Any, address: str, options: list[str]
    ) -> str:
        return self.mail_reply


def test_a_530_from_a_server_that_wants_a_login_holds_sending_and_says_to_set_one(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.start(
        RefusingMailFrom("530 5.7.0 Authentication required"), starttls=False
    )
    relay = SmtpRelay(SmtpSettings(host=server.host, port=server.port, starttls=False))

    with pytest.raises(BackendUnavailable) as caught:
        relay.relay(confirmation())

    assert "530" in caught.value.problem
    assert "set [backend.smtp] username and password_env" in caught.value.what_to_fix
    assert server.handler.received == []


def test_a_sender_this_login_may_not_use_holds_sending_and_names_the_address(
    smtp_servers: SmtpServers,
) -> None:
    refusal = "553 5.7.1 <ae@agency.example>: Sender address rejected: not owned by user"
    server = smtp_servers.start(RefusingMailFrom(refusal))

    with pytest.raises(BackendUnavailable) as caught:
        relay_to(server).relay(confirmation())

    assert "will not take mail from ae@agency.example (553 5.7.1" in caught.value.problem
    assert "check [ae] email" in caught.value.what_to_fix


def test_a_552_at_mail_from_is_the_mails_own_refusal(smtp_servers: SmtpServers) -> None:
    server = smtp_servers.start(RefusingMailFrom("552 5.3.4 Message size exceeds fixed limit"))

    with pytest.raises(SmtpPermanentError) as caught:
        relay_to(server).relay(confirmation())

    assert caught.value.code == 552


def test_a_454_relay_access_denied_for_every_recipient_holds_sending(
    smtp_servers: SmtpServers,
) -> None:
    denied = "454 4.7.1 Relay access denied"
    server = smtp_servers.start(
        RecordingHandler(refuse={a: denied for a in envelope_recipients(confirmation())})
    )

    with pytest.raises(BackendUnavailable) as caught:
        relay_to(server, password_env="SMTP_PW").relay(confirmation())

    assert "will not take mail from this login" in caught.value.problem
    assert "454 4.7.1 Relay access denied" in caught.value.problem
    assert "the password in SMTP_PW" in caught.value.what_to_fix


def test_a_host_that_cannot_be_resolved_holds_sending_and_says_to_check_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def unknown(*_: object, **__: object) -> object:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", unknown)
    relay = SmtpRelay(SmtpSettings(host="smtp.nowhere.invalid", port=587, timeout=10.0))

    with pytest.raises(BackendUnavailable) as caught:
        relay.relay(confirmation())

    assert "cannot be resolved" in caught.value.problem
    assert caught.value.what_to_fix == "check [backend.smtp] host"


def test_a_refused_connection_holds_sending_and_says_to_check_host_and_port() -> None:
    with closed_port() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port, timeout=10.0))
        with pytest.raises(BackendUnavailable) as caught:
            relay.relay(confirmation())

    assert "connection was refused" in caught.value.problem
    assert "[backend.smtp] host and port" in caught.value.what_to_fix


class EchoingPassword(RecordingHandler):
    """A server whose 535 quotes what it was given, the password in clear and in base64."""

    def authenticate(
        self, server: Any, session: Any, envelope: Any, mechanism: str, data: Any
    ) -> Any:
        from aiosmtpd.smtp import AuthResult

        secret = data.password.decode()
        blob = base64.b64encode(data.password).decode()
        return AuthResult(
            success=False,
            handled=False,
            message=f"535 5.7.8 Bad credentials for {data.login.decode()}: {secret} ({blob})",
        )


def test_a_refused_login_quoting_the_credentials_shows_them_nowhere(
    smtp_servers: SmtpServers, caplog: pytest.LogCaptureFixture
) -> None:
    server = smtp_servers.start(EchoingPassword(), mechanisms=["LOGIN"])
    caplog.set_level(logging.DEBUG, logger="mailer")

    with pytest.raises(BackendUnavailable) as caught:
        relay_to(server).relay(confirmation())

    error = caught.value
    # the username and the password, in clear and in base64: the reply keeps neither
    assert error.problem.endswith(
        f"refused the login (535 5.7.8 Bad credentials for {REDACTED}: {REDACTED} ({REDACTED}))"
    )
    # the raw reply is not chained either: a traceback would print it whole
    assert error.__cause__ is None and error.__suppress_context__
    shown = [str(error), *(r.getMessage() for r in caplog.records if r.name != "mail.log")]
    for text in shown:
        for form in password_forms(TEST_PASSWORD):
            assert form not in text


# --- connections that fail ---------------------------------------------------------------------


def test_a_closed_port_is_a_transient_error() -> None:
    with closed_port() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port, timeout=10.0))
        with pytest.raises(TransientError):
            relay.relay(confirmation())


def test_a_server_that_hangs_up_at_once_is_a_transient_error() -> None:
    with hanging_up_listener() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port, timeout=10.0))
        with pytest.raises(TransientError) as caught:
            relay.relay(confirmation())
    assert "closed the connection" in str(caught.value)


def test_a_server_that_never_answers_is_a_transient_error() -> None:
    with silent_listener() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port, timeout=0.5))
        with pytest.raises(TransientError) as caught:
            relay.relay(confirmation())
    assert "no answer" in str(caught.value)


def test_a_certificate_the_client_does_not_trust_holds_sending(
    smtp_server: LoopbackSmtp,
) -> None:
    settings = SmtpSettings(
        host=smtp_server.host, port=smtp_server.port, username=TEST_USER, password=TEST_PASSWORD
    )
    # the system's trust store, which has never heard of the test certificate
    relay = SmtpRelay(settings, tls_context=ssl.create_default_context())

    with pytest.raises(BackendUnavailable) as caught:
        relay.relay(confirmation())

    assert "certificate is not trusted" in caught.value.problem
    assert "[backend.smtp] host" in caught.value.what_to_fix
    assert smtp_server.handler.received == []


def test_a_server_without_starttls_holds_sending_before_any_login(
    smtp_servers: SmtpServers,
) -> None:
    server = smtp_servers.start(starttls=False)

    with pytest.raises(BackendUnavailable) as caught:
        relay_to(server).relay(confirmation())

    assert "STARTTLS" in str(caught.value)
    assert server.handler.logins == []
    assert server.handler.received == []


def test_login_without_tls_is_refused_before_connecting() -> None:
    with socket.socket() as listener:
        listener.bind((LOOPBACK, 0))
        listener.listen(1)
        port = listener.getsockname()[1]
        settings = SmtpSettings(
            host=LOOPBACK, port=port, starttls=False, username=TEST_USER, password=TEST_PASSWORD
        )

        with pytest.raises(UserError) as caught:
            SmtpRelay(settings)

        listener.setblocking(False)
        with pytest.raises(BlockingIOError):
            listener.accept()  # nobody knocked
    assert "unencrypted" in str(caught.value)
    assert TEST_PASSWORD not in str(caught.value)


def test_a_message_without_recipients_is_refused_before_connecting() -> None:
    message = confirmation()
    for name in ("To", "Cc", "Bcc"):
        del message[name]
    with closed_port() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port))
        with pytest.raises(SmtpPermanentError, match="no recipient"):
            relay.relay(message)


def test_an_address_with_a_line_break_is_refused_before_connecting() -> None:
    with closed_port() as port:
        relay = SmtpRelay(SmtpSettings(host=LOOPBACK, port=port))
        with pytest.raises(SmtpPermanentError, match="control characters"):
            relay.relay(confirmation(), recipients=["a@b.example\r\nRCPT TO:<x@evil.example>"])


# --- the password ------------------------------------------------------------------------------


def test_the_password_is_in_no_repr_str_or_log_record(
    smtp_servers: SmtpServers,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    good = smtp_servers.start()
    refusing = smtp_servers.start(RecordingHandler(refuse={"gone@client.example": "550 gone"}))
    relay = relay_to(good)
    settings = SmtpSettings(host="smtp.example", username=TEST_USER, password=TEST_PASSWORD)

    relay.relay(confirmation())
    relay_to(refusing).relay(
        confirmation(), recipients=["li.na@client.example", "gone@client.example"]
    )
    with pytest.raises(BackendUnavailable) as wrong:
        relay_to(good, password=TEST_PASSWORD + "x").relay(confirmation())

    shown = [repr(settings), str(settings), repr(relay), str(wrong.value)]
    # aiosmtpd's own debug log ("mail.log") is the test server's, not ours
    ours = [r for r in caplog.records if r.name != "mail.log"]
    shown += [r.getMessage() for r in ours] + [str(r.exc_info) for r in ours]
    captured = capsys.readouterr()
    shown += [captured.out, captured.err]
    assert any(r.name == "mailer.smtp_relay" for r in ours)
    for text in shown:
        for form in password_forms(TEST_PASSWORD):
            assert form not in text


def test_the_password_comes_from_the_named_environment_variable() -> None:
    settings = settings_from_env(
        "smtp.example", 587, True, TEST_USER, "AEFLOW_SMTP_PASSWORD",
        environ={"AEFLOW_SMTP_PASSWORD": TEST_PASSWORD},
    )  # fmt: skip

    assert settings.password == TEST_PASSWORD
    assert (settings.host, settings.port, settings.starttls) == ("smtp.example", 587, True)


@pytest.mark.parametrize("environ", [{}, {"AEFLOW_SMTP_PASSWORD": ""}], ids=["unset", "empty"])
def test_a_missing_password_variable_is_a_user_error_naming_it(environ: dict[str, str]) -> None:
    with pytest.raises(UserError, match="AEFLOW_SMTP_PASSWORD"):
        settings_from_env(
            "smtp.example", 587, True, TEST_USER, "AEFLOW_SMTP_PASSWORD", environ=environ
        )


def test_a_username_without_a_password_variable_is_a_user_error() -> None:
    with pytest.raises(UserError, match="password_env"):
        settings_from_env("smtp.example", 587, True, TEST_USER, "", environ={})


def test_no_login_needs_no_password_variable() -> None:
    settings = settings_from_env("smtp.example", 25, False, "", "", environ={})

    assert (settings.username, settings.password) == ("", "")
    SmtpRelay(settings)  # a clear connection without login is allowed


def test_settings_out_of_range_are_a_user_error() -> None:
    with pytest.raises(UserError, match="port"):
        SmtpSettings(host="smtp.example", port=0)
    with pytest.raises(UserError, match="host"):
        SmtpSettings(host=" ")
