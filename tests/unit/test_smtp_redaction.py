"""``redact_reply``: what of a server's reply may reach a log line, an error or the state file."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from mailer.smtp_relay import REDACTED, redact_reply

USER = "ae@agency.example"
PASSWORD = "correct horse battery staple 7f3e"
PLAIN = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()


def test_the_auth_plain_blob_a_server_echoes_is_redacted() -> None:
    reply = f"5.7.8 Error: authentication failed: AUTH PLAIN {PLAIN}"

    assert redact_reply(reply) == f"5.7.8 Error: authentication failed: AUTH PLAIN {REDACTED}"


@pytest.mark.parametrize(
    "token",
    [
        "dXNlcjpwYXNzd29yZA==",  # padded
        "aHVudGVyMmh1bnRlcjI",  # digits, no padding
        "QWxhZGRpbjpvcGVuIHNlc2FtZQ",  # mixed case letters and digits
        "YWJjZGVmZ2hpamts+/ab",  # the two symbols of the alphabet
        "UGFzc3dvcmRQYXNzd29yZA",  # mixed case
    ],
)
def test_a_base64_looking_run_of_twelve_or_more_is_redacted(token: str) -> None:
    assert redact_reply(f"535 {token} rejected") == f"535 {REDACTED} rejected"


@pytest.mark.parametrize(
    "reply",
    [
        "5.7.8 Authentication credentials invalid",
        "5.7.0 Authentication required; UNAVAILABLE for now",
        "4.7.0 Temporary authentication failure",
        "5.7.8 Username and Password not accepted (abc123)",  # short runs stay
    ],
)
def test_plain_words_and_short_runs_are_kept(reply: str) -> None:
    assert redact_reply(reply) == reply


def test_the_literal_username_and_password_are_redacted_whatever_their_case() -> None:
    reply = f"5.7.8 user {USER.upper()} with password {PASSWORD} refused"

    assert redact_reply(reply, (USER, PASSWORD)) == (
        f"5.7.8 user {REDACTED} with password {REDACTED} refused"
    )


def test_the_base64_of_a_short_known_password_is_redacted_though_under_twelve() -> None:
    encoded = base64.b64encode(b"hunter2").decode()  # aHVudGVyMg== : 12 with its padding
    short = base64.b64encode(b"abc").decode()  # YWJj

    assert redact_reply(f"535 {short} / {encoded}", ("abc", short, encoded)) == (
        f"535 {REDACTED} / {REDACTED}"
    )


def test_a_secret_too_short_to_be_told_from_words_is_not_hunted_letter_by_letter() -> None:
    assert redact_reply("5.7.8 bad credentials", ("a",)) == "5.7.8 bad credentials"


def test_a_reply_is_decoded_and_put_on_one_line_without_control_characters() -> None:
    reply = b"5.7.8 bad\r\n535 5.7.8 \x1b[31mred \xff"

    assert redact_reply(reply) == "5.7.8 bad 535 5.7.8 [31mred \ufffd"


@given(st.binary(min_size=9, max_size=200))
def test_no_base64_of_nine_bytes_or_more_survives(secret: bytes) -> None:
    # nine bytes make twelve characters of base64; a plain word by chance is the one exception
    encoded = base64.b64encode(secret).decode()
    shown = redact_reply(f"535 5.7.8 AUTH PLAIN {encoded} refused")
    assert encoded not in shown or encoded.isalpha()
