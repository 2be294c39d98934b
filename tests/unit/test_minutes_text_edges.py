"""The edges of taking minutes in from a reply: HTML-only replies, empty ones, replies without
headings or without any text, and replies of five megabytes.

As in ``test_minutes_text_replies``, each sample is written by hand in the shape the named
client produces, built as MIME with the stdlib ``email`` package and parsed back from bytes.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage

import pytest

from mailer.minutes_text import is_empty_minutes, parse_minutes, read_reply, reply_text
from mailer.signals import parse_message
from rules.errors import UnreadableInput
from tests.unit.test_minutes_text_replies import (
    MINUTES_EN,
    OUTLOOK_HEADERS_EN,
    OUTLOOK_PLAIN_EN,
    PROMPT_EN,
    PROMPT_ZH,
    TODAY,
    assert_english_minutes,
    build,
    divs,
    quoted,
    taken_in,
)


def test_an_html_only_reply_becomes_text_with_its_breaks_and_list_items() -> None:
    # Written by hand as a web client's HTML-only message: entities, <br>, <p>, a list, a style
    # and a script that must not show.
    markup = (
        "<html><head><title>Re: Minutes</title><style>p {margin:0}</style></head><body>"
        "<script>var x = '<b>not text</b>';</script>"
        "<p>Conclusions:</p><ul><li>Budget &amp; timing agreed</li><li>Film&nbsp;shoot in "
        "March</li></ul><p>Next steps:<br>Book the studio - Tom - 12/5</p></body></html>"
    )
    text = reply_text(build(None, markup))
    assert text == (
        "Conclusions:\n- Budget & timing agreed\n- Film shoot in March\nNext steps:\n"
        "Book the studio - Tom - 12/5"
    )
    minutes = parse_minutes(text, today=TODAY)
    assert minutes.conclusions == ("Budget & timing agreed", "Film shoot in March")
    assert minutes.next_steps[0].due == date(2026, 12, 5)


OUTLOOK_EMPTY_HTML = f"""<html><body dir="ltr"><div class="elementToProof"><br></div>
<div id="appendonsend"></div><hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> aeflow<br><b>Sent:</b> Monday, November 30, 2026
<br><b>To:</b> Mei Zhao<br><b>Subject:</b> Minutes</div>
<div>{divs(PROMPT_EN)}</div></body></html>"""


@pytest.mark.parametrize(
    "message",
    [
        pytest.param(build("", None), id="empty text body"),
        pytest.param(build(None, "<html><body><div><br></div></body></html>"), id="empty html"),
        pytest.param(
            build(f"\n\n________________________________\n{OUTLOOK_HEADERS_EN}\n\n{PROMPT_EN}"),
            id="outlook text with the prompt only",
        ),
        pytest.param(build(None, OUTLOOK_EMPTY_HTML), id="outlook html with the prompt only"),
        pytest.param(
            build(f"On Mon, 30 Nov 2026 at 11:40, aeflow <ae@agency.example.cn> wrote:\n"
                  f"{quoted(PROMPT_EN)}"),
            id="gmail text with the prompt only",
        ),
        pytest.param(build(f"\n\n发自我的iPhone\n\n{quoted(PROMPT_ZH)}"), id="iphone"),
        pytest.param(build(PROMPT_EN.split("\n", 2)[2]), id="the headings typed back empty"),
    ],
)  # fmt: skip
def test_a_reply_with_nothing_but_the_quoted_prompt_is_empty_minutes(
    message: EmailMessage,
) -> None:
    """Sample written by hand in the shape Outlook, Gmail and iPhone Mail produces."""
    assert is_empty_minutes(taken_in(message))


def test_a_written_reply_is_not_empty_minutes() -> None:
    """Sample written by hand in the shape Outlook's text/plain produces."""
    assert not is_empty_minutes(taken_in(build(OUTLOOK_PLAIN_EN)))


def test_a_reply_that_deleted_the_headings_is_kept_whole_and_unstructured() -> None:
    """Sample written by hand in the shape Gmail's text/plain produces."""
    written = (
        "We agreed the budget of 1.2 million and the March launch.\n"
        "Mei revises the key visual by Dec 5; Tom sends the quotation."
    )
    minutes = taken_in(build(f"{written}\n\nThanks,\nMei\n\nOn Mon, 30 Nov 2026, aeflow wrote:\n"
                             f"{quoted(PROMPT_EN)}"))  # fmt: skip
    assert not minutes.structured
    assert minutes.text == written
    assert (minutes.conclusions, minutes.next_steps, minutes.questions) == ((), (), ())
    assert not is_empty_minutes(minutes)


def test_minutes_attached_as_a_text_file_to_an_empty_reply_are_read() -> None:
    """Sample written by hand in the shape any client (an empty body, a .md attachment) produces."""
    message = EmailMessage()
    message["From"] = "mei.zhao@agency.example.cn"
    message["Subject"] = "RE: Minutes"
    message.set_content("")
    message.add_attachment(MINUTES_EN.encode(), "text", "markdown", filename="minutes.md")
    assert_english_minutes(taken_in(parse_message(message.as_bytes())))


def test_a_reply_with_no_text_part_at_all_is_unreadable_input() -> None:
    """Sample written by hand in the shape a phone sending a photo alone produces."""
    message = EmailMessage()
    message["From"] = "mei.zhao@agency.example.cn"
    message["Subject"] = "RE: Minutes"
    message["Message-ID"] = "<photo@agency.example.cn>"
    message.set_content(b"\x89PNG\r\n\x1a\n", "image", "png", filename="whiteboard.png")
    with pytest.raises(UnreadableInput) as raised:
        reply_text(parse_message(message.as_bytes()))
    assert "photo@agency.example.cn" in str(raised.value)
    assert "no text" in raised.value.reason


FIVE_MB = 5 * 1024 * 1024


def test_a_five_megabyte_plain_reply_is_cut_at_the_limit_and_says_so() -> None:
    """Sample written by hand in the shape a plain-text client produces."""
    body = "Budget approved, more to follow on every line of this report.\n" * (FIVE_MB // 64)
    reply = read_reply(build(f"## Conclusions\n{body}"), limit=200_000)
    assert reply.truncated
    assert len(reply.text) <= 200_000
    assert reply.text.startswith("## Conclusions\nBudget approved")


def test_a_huge_reply_whose_bulk_is_the_quoted_original_is_not_reported_cut() -> None:
    """Sample written by hand in the shape Gmail (HTML only) produces."""
    original = divs("An earlier mail, quoted in full.\n" * (FIVE_MB // 40))
    markup = f'{divs(MINUTES_EN)}<div class="gmail_quote">{original}</div>'
    reply = read_reply(build(None, markup))
    assert not reply.truncated
    assert_english_minutes(parse_minutes(reply.text, today=TODAY))


@pytest.mark.parametrize(
    "markup",
    ["</" * (FIVE_MB // 2), "<?" * (FIVE_MB // 2), "<![x>" * (FIVE_MB // 5), "<" * FIVE_MB,
     "<!--" + "<a>" * (FIVE_MB // 3), "<a b='" + "x>" * (FIVE_MB // 2), "&#" * (FIVE_MB // 2)],
    ids=["end tags", "instructions", "marked sections", "brackets", "comment", "quote", "refs"],
)  # fmt: skip
def test_five_megabytes_of_hostile_html_are_read_without_an_error(markup: str) -> None:
    # Each of these makes a naive reading quadratic or makes html.parser raise; the result is
    # all the test checks.
    reply = read_reply(build(None, markup), limit=200_000)
    assert len(reply.text) <= 200_000
    parse_minutes(reply.text, today=TODAY)


def test_the_limit_applies_to_the_text_returned() -> None:
    text = reply_text(build(MINUTES_EN), limit=40)
    assert text == MINUTES_EN[:40].rstrip()
