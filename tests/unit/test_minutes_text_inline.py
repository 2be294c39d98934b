"""Minutes written into the quoted prompt instead of above it.

Outlook quotes the original without marks and lets one type into it, so an AE told to "write
under each heading" often fills in the quoted form itself; in a plain-text client some answer
between the quoted lines. Each sample is written by hand in the shape the named client produces
(the prompt in the shape aeflow's own prompt template has: the form last, then one footer line),
built as MIME with the stdlib ``email`` package and parsed back from bytes.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mailer.minutes_text import is_empty_minutes, parse_minutes, read_reply, reply_text
from tests.unit.test_minutes_text_replies import (
    OUTLOOK_HEADERS_EN,
    TODAY,
    assert_english_minutes,
    build,
    html_only,
    quoted,
)

GOLDEN = Path(__file__).resolve().parent.parent / "golden"

PROMPT = """Hello Mei Zhao,

Your meeting with Acme Ltd. has ended. Please write the minutes: the conclusions, the next steps (who does what by when) and any open questions.

Client: Acme Ltd.
Meeting: Summer campaign brief
Time: Monday, 2026-11-30, 10:00–11:30 (Asia/Shanghai)

Reply to this mail before 2026-12-01 11:30 with the sections below filled in, keeping their headings, one item per line starting with "-". aeflow then sends the minutes to every attendee.

## Conclusions / 结论
-

## Next steps / 下一步 (what - owner - due date)
-

## Open questions / 待定问题
-

Sent automatically by aeflow at 2026-11-30 11:40."""  # noqa: E501

ITEMS = (
    ("## Conclusions / 结论", "- The client approved the budget of 1.2 million\n"
                             "- The launch moves to 15 March"),
    ("## Next steps / 下一步 (what - owner - due date)",
     "- Revise the key visual - Mei - 2026-12-05\n- Send the quotation — Tom — by Friday 4 Dec"),
    ("## Open questions / 待定问题", "- Who signs off the media plan?"),
)  # fmt: skip


def filled(prompt: str) -> str:
    """The prompt text with the AE's items typed under each heading, the empty bullet kept."""
    for heading, items in ITEMS:
        prompt = prompt.replace(f"{heading}\n-\n", f"{heading}\n-\n{items}\n", 1)
    return prompt


def filled_html(body: str) -> str:
    """The prompt's HTML with the AE's items typed as paragraphs after each empty bullet."""
    empty = re.compile(r"<p [^>]*>-</p>")
    rest = empty.split(body)
    out = rest[0]
    for bullet, after, (_, items) in zip(empty.findall(body), rest[1:], ITEMS, strict=True):
        out += bullet + "".join(f"<p>{line}</p>" for line in items.split("\n")) + after
    return out


def outlook_plain(prompt: str) -> str:
    return f"\n\n________________________________\n{OUTLOOK_HEADERS_EN}\n\n{prompt}"


def outlook_html(prompt_html: str) -> str:
    return (
        '<html><body dir="ltr"><div class="elementToProof"><br></div>'
        '<div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg" dir="ltr"><b>From:</b> aeflow &lt;ae@agency.example.cn&gt;<br>'
        "<b>Sent:</b> Monday, November 30, 2026 11:40 AM<br><b>To:</b> Mei Zhao<br>"
        f"<b>Subject:</b> Minutes</div><div>{prompt_html}</div></body></html>"
    )


def test_an_outlook_reply_typed_into_the_quoted_form_gives_that_form() -> None:
    """Sample written by hand in the shape Outlook's text/plain has."""
    text = reply_text(build(outlook_plain(filled(PROMPT))))
    assert text.startswith("## Conclusions / 结论")
    assert "Hello" not in text
    assert "Sent automatically" not in text
    assert_english_minutes(parse_minutes(text, today=TODAY))


def test_an_outlook_html_reply_typed_into_the_quoted_form_gives_that_form() -> None:
    """Sample written by hand in the shape the current Outlook for Windows produces."""
    paragraphs = "".join(f"<p>{line}</p>" for line in filled(PROMPT).split("\n"))
    minutes = parse_minutes(reply_text(build(None, outlook_html(paragraphs))), today=TODAY)
    assert_english_minutes(minutes)


def test_answers_between_the_quoted_lines_are_read_under_the_quoted_headings() -> None:
    """Sample written by hand in the shape a plain-text client (mutt) produces, bottom-posting."""
    lines = []
    for line in quoted(PROMPT).split("\n"):
        lines.append(line)
        for heading, items in ITEMS:
            if line == f"> {heading}":
                lines.append(items)
    plain = "On Mon, 30 Nov 2026 at 11:40, aeflow <ae@agency.example.cn> wrote:\n" + "\n".join(
        lines
    )
    assert_english_minutes(parse_minutes(reply_text(build(plain)), today=TODAY))


def test_text_written_above_the_quote_wins_over_the_quoted_form() -> None:
    """Sample written by hand in the shape Outlook's text/plain has."""
    plain = "## Conclusions\n- Budget approved" + outlook_plain(filled(PROMPT))
    minutes = parse_minutes(reply_text(build(plain)))
    assert minutes.conclusions == ("Budget approved",)
    assert minutes.next_steps == ()


def test_an_unfilled_quoted_form_leaves_a_headingless_reply_as_written() -> None:
    """Sample written by hand in the shape Outlook's text/plain has."""
    reply = read_reply(build("We agreed the budget." + outlook_plain(PROMPT)))
    assert reply.text == "We agreed the budget."
    assert "## Conclusions / 结论" in reply.quoted
    assert not reply.truncated


def golden_prompt(language: str, suffix: str) -> str:
    path = GOLDEN / language / f"minutes_prompt.{suffix}"
    assert path.is_file(), f"{path} (the rendered prompt, a golden file) is missing"
    return path.read_text(encoding="utf-8")


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_aeflows_own_prompt_quoted_back_unfilled_is_empty_minutes(
    language: str, parts: str
) -> None:
    """aeflow's rendered prompt (the golden file), quoted as Outlook quotes it."""
    body = re.sub(r"(?s).*<body[^>]*>|</body>.*", "", golden_prompt(language, "html"))
    message = build(outlook_plain(golden_prompt(language, "txt")), outlook_html(body))
    if parts == "html only":
        message = html_only(message)
    minutes = parse_minutes(reply_text(message), today=TODAY)
    assert is_empty_minutes(minutes)


@pytest.mark.parametrize("language", ["en", "zh-CN"])
@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_aeflows_own_prompt_filled_in_where_it_is_quoted_gives_the_minutes(
    language: str, parts: str
) -> None:
    """aeflow's rendered prompt (the golden file), quoted as Outlook quotes it, filled in."""
    html_body = re.sub(r"(?s).*<body[^>]*>|</body>.*", "", golden_prompt(language, "html"))
    message = build(
        outlook_plain(filled(golden_prompt(language, "txt"))), outlook_html(filled_html(html_body))
    )
    if parts == "html only":
        message = html_only(message)
    assert_english_minutes(parse_minutes(reply_text(message), today=TODAY))
