"""Taking the minutes out of replies written in Chinese: classic Outlook, Gmail, iPhone Mail.

As in ``test_minutes_text_replies``, the corpus holds no replies to an aeflow prompt, so each
sample is written by hand in the shape the named client produces, built as MIME with the stdlib
``email`` package and parsed back from bytes.
"""

from __future__ import annotations

from datetime import date

import pytest

from tests.unit.test_minutes_text_replies import (
    MINUTES_ZH,
    PROMPT_ZH,
    assert_chinese_minutes,
    assert_no_prompt,
    build,
    divs,
    html_only,
    quoted,
    taken_in,
)

# Outlook desktop in Chinese (classic Outlook, Word's HTML): MsoNormal paragraphs, Word lists in
# conditional sections, source lines broken inside tags, and the header block in a bordered div
# with "发件人: ... 发送时间: ...".
OUTLOOK_WORD_HTML_ZH = """<html xmlns:o="urn:schemas-microsoft-com:office:office">
<head><meta http-equiv=Content-Type content="text/html; charset=utf-8">
<!--[if gte mso 9]><xml><o:OfficeDocumentSettings><o:AllowPNG/></o:OfficeDocumentSettings></xml>
<![endif]-->
<style><!--
p.MsoNormal {margin:0cm; font-size:10.5pt; font-family:DengXian;}
--></style></head>
<body lang=ZH-CN link="#0563C1" style='word-wrap:break-word'>
<div class=WordSection1>
<p class=MsoNormal><b><span lang=ZH-CN>结论</span></b><span lang=EN-US><o:p></o:p></span></p>
<p class=MsoListParagraph style='mso-list:l0 level1 lfo1'><![if !supportLists]><span lang=EN-US>-
<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span><![endif]>
<span lang=ZH-CN>客户确认预算</span><span lang=EN-US>120</span><span lang=ZH-CN>万</span></p>
<p class=MsoListParagraph style='mso-list:l0 level1 lfo1'><![if !supportLists]><span lang=EN-US>-
<span style='font:7.0pt "Times New Roman"'>&nbsp;&nbsp;&nbsp; </span></span><![endif]>
<span lang=ZH-CN>上线时间改为</span><span lang=EN-US>3</span><span lang=ZH-CN>月</span><span
lang=EN-US>15</span><span lang=ZH-CN>日</span></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal><b><span lang=ZH-CN>下一步（事项 - 负责人 - 截止日期）</span></b></p>
<p class=MsoNormal><span lang=ZH-CN>- 修改主视觉 - 赵婷 - 12月5日</span></p>
<p class=MsoNormal><span lang=ZH-CN>- 报价单，负责人：刘总，截止：2026-12-08</span></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal><b><span lang=ZH-CN>待定问题</span></b></p>
<p class=MsoNormal><span lang=ZH-CN>- 媒介计划由谁签字？</span></p>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<div style='border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0cm 0cm 0cm'>
<p class=MsoNormal><b><span lang=ZH-CN>发件人</span><span lang=EN-US>:</span></b><span lang=EN-US>
aeflow &lt;ae@agency.example.cn&gt; <br></span><b><span lang=ZH-CN>发送时间</span>
<span lang=EN-US>:</span></b><span lang=EN-US> 2026</span><span lang=ZH-CN>年</span>
<span lang=EN-US>11</span><span lang=ZH-CN>月</span><span lang=EN-US>30</span>
<span lang=ZH-CN>日 星期一</span><span lang=EN-US> 11:40<br></span><b><span lang=ZH-CN>收件人</span>
<span lang=EN-US>:</span></b><span lang=EN-US> </span><span lang=ZH-CN>赵婷</span><br>
<b><span lang=ZH-CN>主题</span><span lang=EN-US>:</span></b><span
lang=ZH-CN> 会议记录：Acme 夏季活动简报</span><o:p></o:p></p></div>
<p class=MsoNormal><o:p>&nbsp;</o:p></p>
<p class=MsoNormal>会议记录：Acme 夏季活动简报，2026-11-30 10:00-11:30</p>
<p class=MsoNormal>## 结论 / Conclusions</p><p class=MsoNormal>-</p>
</div></body></html>"""

OUTLOOK_PLAIN_ZH = f"""{MINUTES_ZH}

发件人： aeflow <ae@agency.example.cn>
发送时间： 2026年11月30日 11:40
收件人： 赵婷 <zhao.ting@agency.example.cn>
主题： 会议记录：Acme 夏季活动简报，2026-11-30 10:00-11:30

{PROMPT_ZH}"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_an_outlook_desktop_reply_in_chinese_gives_the_minutes_without_the_prompt(
    parts: str,
) -> None:
    """Sample written by hand in the shape classic Outlook produces in Chinese."""
    message = build(OUTLOOK_PLAIN_ZH, OUTLOOK_WORD_HTML_ZH)
    if parts == "html only":
        message = html_only(message)
    assert_chinese_minutes(taken_in(message))


def test_an_outlook_header_block_with_ascii_colons_and_original_message_line_is_cut() -> None:
    """Sample written by hand in the shape Outlook's and Foxmail's text/plain have."""
    for marker in ("-----Original Message-----", "-----原始邮件-----"):
        header = "发件人: aeflow\n发送时间: 2026年11月30日 11:40"
        plain = f"{MINUTES_ZH}\n\n{marker}\n{header}\n\n{PROMPT_ZH}"
        assert_chinese_minutes(taken_in(build(plain)))


@pytest.mark.parametrize(
    "attribution",
    [
        "在 2026年11月30日周一 11:40，aeflow <ae@agency.example.cn> 写道：",
        "aeflow <ae@agency.example.cn> 于2026年11月30日周一 11:40写道：",
        "在 2026年11月30日周一 11:40，aeflow <\nae@agency.example.cn> 写道：",
    ],
)
def test_a_gmail_reply_in_chinese_drops_its_attribution_and_quote(attribution: str) -> None:
    """Sample written by hand in the shape Gmail in Chinese produces."""
    plain = f"{MINUTES_ZH}\n\n{attribution}\n\n{quoted(PROMPT_ZH)}\n"
    assert_chinese_minutes(taken_in(build(plain)))


# iPhone Mail in Chinese: the minutes typed on the phone with headings and colons, the footer
# "发自我的iPhone", then the quoted prompt ("> " in text, blockquote type=cite in HTML).
IPHONE_MINUTES = """结论：客户确认预算120万
下一步：修改主视觉 - 赵婷 - 12月5日
待定问题：媒介计划由谁签字？"""

IPHONE_PLAIN = f"""{IPHONE_MINUTES}

发自我的iPhone

> 在 2026年11月30日，11:40，aeflow <ae@agency.example.cn> 写道：
>
{quoted(PROMPT_ZH)}
"""

IPHONE_HTML = f"""<html><head><meta http-equiv="content-type" content="text/html; charset=utf-8">
</head><body dir="auto">{divs(IPHONE_MINUTES, ' dir="ltr"')}<div dir="ltr"><br></div>
<div dir="ltr">发自我的iPhone</div><div dir="ltr"><br><blockquote type="cite">在 2026年11月30日，
11:40，aeflow &lt;ae@agency.example.cn&gt; 写道：<br><br></blockquote></div>
<blockquote type="cite"><div dir="ltr">{divs(PROMPT_ZH)}</div></blockquote></body></html>"""


@pytest.mark.parametrize("parts", ["text and html", "html only"])
def test_an_iphone_reply_drops_the_footer_and_the_quoted_prompt(parts: str) -> None:
    """Sample written by hand in the shape iPhone Mail in Chinese produces."""
    message = build(IPHONE_PLAIN, IPHONE_HTML)
    if parts == "html only":
        message = html_only(message)
    minutes = taken_in(message)
    assert minutes.conclusions == ("客户确认预算120万",)
    assert [(s.what, s.owner, s.due) for s in minutes.next_steps] == [
        ("修改主视觉", "赵婷", date(2026, 12, 5))
    ]
    assert minutes.questions == ("媒介计划由谁签字？",)
    assert "iPhone" not in minutes.text
    assert_no_prompt(minutes.text)
