"""Taking the minutes out of the AE's reply to the minutes prompt, from every kind of mail client.

The corpus holds no replies to an aeflow prompt, so every sample here is written by hand in the
shape the named client produces (its markup, its quote markers, its header block), then built as
MIME with the stdlib ``email`` package, turned into bytes and parsed back, so that the code meets
real MIME: transfer encodings, charsets, multipart/alternative.
"""

from __future__ import annotations

from datetime import date
from email.message import EmailMessage
from html import escape

import pytest

from mailer.minutes_text import Minutes, parse_minutes, reply_text
from mailer.signals import parse_message

TODAY = date(2026, 11, 30)

PROMPT_EN = """Minutes: Acme summer campaign brief, 2026-11-30 10:00-11:30
Write under each heading and reply to this mail; keep the headings.

## Conclusions / 结论
-

## Next steps / 下一步 (what - owner - due date)
-

## Open questions / 待定问题
-
"""

PROMPT_ZH = """会议记录：Acme 夏季活动简报，2026-11-30 10:00-11:30
请在各标题下填写并回复本邮件；请保留标题。

## 结论 / Conclusions
-

## 下一步 / Next steps（事项 - 负责人 - 截止日期）
-

## 待定问题 / Open questions
-
"""

MINUTES_EN = """## Conclusions / 结论
- The client approved the budget of 1.2 million
- The launch moves to 15 March

## Next steps / 下一步 (what - owner - due date)
- Revise the key visual - Mei - 2026-12-05
- Send the quotation — Tom — by Friday 4 Dec

## Open questions / 待定问题
- Who signs off the media plan?"""

MINUTES_ZH = """## 结论
- 客户确认预算120万
- 上线时间改为3月15日

## 下一步（事项 - 负责人 - 截止日期）
- 修改主视觉 - 赵婷 - 12月5日
- 报价单，负责人：刘总，截止：2026-12-08

## 待定问题
- 媒介计划由谁签字？"""

OUTLOOK_HEADERS_EN = """From: aeflow <ae@agency.example.cn>
Sent: Monday, November 30, 2026 11:40 AM
To: Mei Zhao <mei.zhao@agency.example.cn>
Subject: Minutes: Acme summer campaign brief, 2026-11-30 10:00-11:30"""


def build(plain: str | None, html: str | None = None, *, flowed: bool = False) -> EmailMessage:
    """The reply as a client sends it, through bytes and back."""
    msg = EmailMessage()
    msg["From"] = "Mei Zhao <mei.zhao@agency.example.cn>"
    msg["To"] = "aeflow <ae@agency.example.cn>"
    msg["Subject"] = "RE: Minutes: Acme summer campaign brief, 2026-11-30 10:00-11:30"
    msg["Date"] = "Mon, 30 Nov 2026 12:05:00 +0800"
    msg["Message-ID"] = "<reply-1@agency.example.cn>"
    msg["In-Reply-To"] = "<prompt-1@agency.example.cn>"
    if plain is not None:
        params = {"format": "flowed"} if flowed else {}
        msg.set_content(plain, cte="quoted-printable", params=params)
        if html is not None:
            msg.add_alternative(html, subtype="html", cte="base64")
    elif html is not None:
        msg.set_content(html, subtype="html", cte="quoted-printable")
    return parse_message(msg.as_bytes())


def html_only(message: EmailMessage) -> EmailMessage:
    """The same reply with its text/plain alternative left out, so the HTML is what is read."""
    html = message.get_body(preferencelist=("html",))
    assert html is not None
    return build(None, html.get_content())


def divs(text: str, attrs: str = "") -> str:
    """Lines as the web clients write them: one <div> each, an empty line as <div><br></div>."""
    return "\n".join(
        f"<div{attrs}>{escape(line)}</div>" if line.strip() else f"<div{attrs}><br></div>"
        for line in text.split("\n")
    )


def quoted(text: str) -> str:
    return "\n".join(f"> {line}".rstrip() for line in text.rstrip("\n").split("\n"))


def taken_in(message: EmailMessage) -> Minutes:
    return parse_minutes(reply_text(message), today=TODAY)


def assert_english_minutes(minutes: Minutes) -> None:
    assert minutes.structured
    assert minutes.conclusions == (
        "The client approved the budget of 1.2 million",
        "The launch moves to 15 March",
    )
    assert [(s.what, s.owner, s.due) for s in minutes.next_steps] == [
        ("Revise the key visual", "Mei", date(2026, 12, 5)),
        ("Send the quotation", "Tom", date(2026, 12, 4)),
    ]
    assert minutes.questions == ("Who signs off the media plan?",)
    assert_no_prompt(minutes.text)


def assert_chinese_minutes(minutes: Minutes) -> None:
    assert minutes.structured
    assert minutes.conclusions == ("客户确认预算120万", "上线时间改为3月15日")
    assert [(s.what, s.owner, s.due) for s in minutes.next_steps] == [
        ("修改主视觉", "赵婷", date(2026, 12, 5)),
        ("报价单", "刘总", date(2026, 12, 8)),
    ]
    assert minutes.questions == ("媒介计划由谁签字？",)
    assert_no_prompt(minutes.text)


def assert_no_prompt(text: str) -> None:
    leftovers = ("Minutes:", "会议记录", "Write under", "请在", "From:", "发件人", "wrote", "写道")
    assert [word for word in leftovers if word in text] == []


# Outlook desktop (the current Outlook for Windows, HTML): the reply in "elementToProof" divs, an
# empty appendonsend marker, a rule, then the divRplyFwdMsg header block and the original.
OUTLOOK_HTML_EN = f"""<html><head>
<meta http-equiv="Content-Type" content="text/html; charset=utf-8">
<style type="text/css" style="display:none;"> P {{margin-top:0;margin-bottom:0;}} </style>
</head>
<body dir="ltr">
{divs(MINUTES_EN, ' class="elementToProof" style="font-family: Aptos; font-size: 12pt"')}
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">
<b>From:</b> aeflow &lt;ae@agency.example.cn&gt;<br>
<b>Sent:</b> Monday, November 30, 2026 11:40 AM<br>
<b>To:</b> Mei Zhao &lt;mei.zhao@agency.example.cn&gt;<br>
<b>Subject:</b> Minutes: Acme summer campaign brief, 2026-11-30 10:00-11:30</font>
<div>&nbsp;</div></div>
<div>{divs(PROMPT_EN)}</div>
</body></html>"""

OUTLOOK_PLAIN_EN = f"""{MINUTES_EN}

________________________________
{OUTLOOK_HEADERS_EN}

{PROMPT_EN}"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_an_outlook_desktop_reply_gives_the_minutes_without_the_quoted_prompt(parts: str) -> None:
    """Sample written by hand in the shape the current Outlook for Windows produces."""
    message = build(OUTLOOK_PLAIN_EN, OUTLOOK_HTML_EN)
    if parts == "html only":
        message = html_only(message)
    assert_english_minutes(taken_in(message))


# OWA (Outlook on the web): headings the AE typed with colons and synonyms, a signature block,
# then appendonsend, a rule and divRplyFwdMsg; its text/plain has the underscore rule instead.
OWA_MINUTES = """Decisions:
The client approved the budget of 1.2 million
The launch moves to 15 March

Action items:
Revise the key visual (owner: Mei, due Dec 5)
Send the quotation — Tom — by Friday 4 Dec

Questions:
Who signs off the media plan?"""

OWA_HTML = f"""<html><head>
<style type="text/css" style="display:none;"> P {{margin-top:0;margin-bottom:0;}} </style>
</head><body dir="ltr">
{divs(OWA_MINUTES, ' style="font-family: Calibri, Arial, Helvetica, sans-serif; font-size: 12pt"')}
<div><br></div>
<div id="Signature"><div>Best regards,</div><div>Mei Zhao | Account Executive</div></div>
<div id="appendonsend"></div>
<hr style="display:inline-block;width:98%" tabindex="-1">
<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri, sans-serif" style="font-size:11pt">
<b>From:</b> aeflow &lt;ae@agency.example.cn&gt;<br><b>Sent:</b> Monday, November 30, 2026 11:40
<br><b>To:</b> Mei Zhao<br><b>Subject:</b> Minutes: Acme summer campaign brief</font></div>
<div>{divs(PROMPT_EN)}</div></body></html>"""

OWA_PLAIN = f"""{OWA_MINUTES}

Best regards,
Mei Zhao | Account Executive
________________________________
{OUTLOOK_HEADERS_EN}

{PROMPT_EN}"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_an_owa_reply_with_a_signature_gives_the_minutes_alone(parts: str) -> None:
    """Sample written by hand in the shape OWA (Outlook on the web) produces."""
    message = build(OWA_PLAIN, OWA_HTML)
    if parts == "html only":
        message = html_only(message)
    minutes = taken_in(message)
    assert_english_minutes(minutes)
    assert "Best regards" not in minutes.text
    assert "Account Executive" not in minutes.text


# Gmail: bold headings and bulleted lists in HTML, the original in div.gmail_quote; in text, the
# attribution wrapped over two lines and the original quoted with "> ".
GMAIL_HTML = """<div dir="ltr"><div><b>Conclusions / 结论</b></div><ul>
<li>The client approved the budget of 1.2 million</li><li>The launch moves to 15 March</li></ul>
<div><b>Next steps / 下一步:</b></div><ul><li>Revise the key visual - Mei - 2026-12-05</li>
<li>Send the quotation — Tom — by Friday 4 Dec</li></ul><div><b>Open questions / 待定问题</b></div>
<ul><li>Who signs off the media plan?</li></ul></div><br>
<div class="gmail_quote gmail_quote_container"><div dir="ltr" class="gmail_attr">On Mon, 30 Nov
2026 at 11:40, aeflow &lt;<a href="mailto:ae@agency.example.cn">ae@agency.example.cn</a>&gt;
wrote:<br></div><blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;
border-left:1px solid rgb(204,204,204);padding-left:1ex"><div dir="ltr">Minutes: Acme summer
campaign brief<br>## Conclusions / 结论<br>-<br></div></blockquote></div>"""

GMAIL_PLAIN = f"""{MINUTES_EN}

On Mon, 30 Nov 2026 at 11:40, aeflow <ae@agency.example.cn>
wrote:

{quoted(PROMPT_EN)}
"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_a_gmail_reply_gives_the_minutes_without_the_quoted_prompt(parts: str) -> None:
    """Sample written by hand in the shape Gmail produces."""
    message = build(GMAIL_PLAIN, GMAIL_HTML)
    if parts == "html only":
        message = html_only(message)
    assert_english_minutes(taken_in(message))


# Apple Mail: the reply in divs, the original in <blockquote type="cite"> that starts with
# "On 30 Nov 2026, at 11:40, ... wrote:"; in text, that attribution and "> " lines.
APPLE_HTML = f"""<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">
</head><body style="overflow-wrap: break-word; -webkit-nbsp-mode: space;">{divs(MINUTES_EN)}
<div><br><blockquote type="cite"><div>On 30 Nov 2026, at 11:40, aeflow
&lt;ae@agency.example.cn&gt; wrote:</div><br class="Apple-interchange-newline"><div><div>
{divs(PROMPT_EN)}</div></div></blockquote></div><br></body></html>"""

APPLE_PLAIN = f"""{MINUTES_EN}

> On 30 Nov 2026, at 11:40, aeflow <ae@agency.example.cn> wrote:
>
{quoted(PROMPT_EN)}
"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_an_apple_mail_reply_gives_the_minutes_without_the_cited_prompt(parts: str) -> None:
    """Sample written by hand in the shape Apple Mail produces."""
    message = build(APPLE_PLAIN, APPLE_HTML)
    if parts == "html only":
        message = html_only(message)
    assert_english_minutes(taken_in(message))


def test_an_unquoted_apple_attribution_line_is_dropped_too() -> None:
    """Sample written by hand in the shape Apple Mail's text/plain produces."""
    plain = f"{MINUTES_EN}\n\nOn 30 Nov 2026, at 11:40, aeflow <ae@agency.example.cn> wrote:\n\n"
    plain += quoted(PROMPT_EN)
    assert_english_minutes(taken_in(build(plain)))


# A plain-text client (mutt, Thunderbird in text mode): top-posted, then the RFC 3676 signature
# separator and the "> " quoted original.
def test_a_plain_text_reply_drops_the_signature_and_the_quoted_lines() -> None:
    """Sample written by hand in the shape a plain-text client (mutt) produces."""
    plain = (
        f"{MINUTES_EN}\n\n-- \nMei Zhao\nAccount Executive, Agency\n+86 10 5555 0100\n\n"
        f"On Mon, Nov 30, 2026 at 11:40:02AM +0800, aeflow wrote:\n{quoted(PROMPT_EN)}\n"
    )
    minutes = taken_in(build(plain))
    assert_english_minutes(minutes)
    assert "Mei Zhao" not in minutes.text


def test_a_bottom_posted_flowed_reply_keeps_what_is_written_between_the_quotes() -> None:
    """Sample written by hand in the shape Thunderbird in plain-text mode produces."""
    # Thunderbird's format=flowed (RFC 3676): a line ending in a space continues on the next.
    plain = (
        "On 30/11/2026 11:40, aeflow wrote:\n"
        f"{quoted(PROMPT_EN)}\n\n"
        "## Conclusions / 结论\n"
        "- The client approved the budget of 1.2 million, to be split between \n"
        "print and online\n\n"
        "## Next steps / 下一步\n"
        "- Revise the key visual - Mei - 2026-12-05\n\n"
        "-- \nMei\n"
    )
    minutes = taken_in(build(plain, flowed=True))
    assert minutes.conclusions == (
        "The client approved the budget of 1.2 million, to be split between print and online",
    )
    assert [s.owner for s in minutes.next_steps] == ["Mei"]
    assert_no_prompt(minutes.text)
