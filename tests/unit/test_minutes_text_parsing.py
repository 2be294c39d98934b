"""Reading minutes as the AE writes them: headings, items, next steps with owners and due dates.

The samples are written by hand in the shapes an AE types into the reply form or into a file
for ``aeflow minutes submit``, in English and in Chinese.
"""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mailer.html_text import html_to_text
from mailer.minutes_text import NextStep, is_empty_minutes, parse_minutes
from mailer.quotes import strip_quoted

TODAY = date(2026, 11, 30)


def step(line: str, today: date | None = TODAY) -> NextStep:
    (only,) = parse_minutes(f"Next steps:\n- {line}", today=today).next_steps
    return only


@pytest.mark.parametrize(
    ("line", "what", "owner", "due"),
    [
        ("Revise the key visual - Mei - 2026-12-05", "Revise the key visual", "Mei",
         date(2026, 12, 5)),
        ("Revise the key visual (owner: Mei, due Dec 5)", "Revise the key visual", "Mei",
         date(2026, 12, 5)),
        ("Send the quotation — Tom — by Friday 4 Dec", "Send the quotation", "Tom",
         date(2026, 12, 4)),
        ("修改主视觉 - 赵婷 - 12月5日", "修改主视觉", "赵婷", date(2026, 12, 5)),
        ("修改主视觉，负责人：赵婷，截止：2026-12-05", "修改主视觉", "赵婷", date(2026, 12, 5)),
        ("报价单 / 刘总 / 12/5", "报价单", "刘总", date(2026, 12, 5)),
        ("Book the studio - Tom - December 5, 2026", "Book the studio", "Tom", date(2026, 12, 5)),
        ("Book the studio - Tom - 5 Dec", "Book the studio", "Tom", date(2026, 12, 5)),
        ("出样稿 - 赵婷 - 2027年1月8日", "出样稿", "赵婷", date(2027, 1, 8)),
        ("Collect logos, fonts and photos - Mei - Dec 5", "Collect logos, fonts and photos",
         "Mei", date(2026, 12, 5)),
        ("Send the deck - mei.zhao@agency.example.cn - Dec 5", "Send the deck",
         "mei.zhao@agency.example.cn", date(2026, 12, 5)),
        ("2026-12-05 - Mei - revise the key visual", "revise the key visual", "Mei",
         date(2026, 12, 5)),
        ("Print posters (A3 and A2) - Tom - 12/5", "Print posters (A3 and A2)", "Tom",
         date(2026, 12, 5)),
        ("Send the quotation by Dec 5", "Send the quotation", "", date(2026, 12, 5)),
        ("修改主视觉，12月5日前", "修改主视觉", "", date(2026, 12, 5)),
        ("赵婷负责修改主视觉，12月5日前", "赵婷负责修改主视觉", "赵婷", date(2026, 12, 5)),
        ("Prepare the Dec 10 proposal - Mei - Dec 5", "Prepare the Dec 10 proposal", "Mei",
         date(2026, 12, 5)),
        ("Revise the key visual (PIC: Mei, 12/5)", "Revise the key visual", "Mei",
         date(2026, 12, 5)),
        ("Revise the key visual - owner Mei - Deadline: Dec 5", "Revise the key visual", "Mei",
         date(2026, 12, 5)),
        ("修改主视觉，负责人 赵婷、李明，2026年12月5日前", "修改主视觉", "赵婷、李明",
         date(2026, 12, 5)),
        ("Revise the key visual - Mei - ASAP", "Revise the key visual - ASAP", "Mei", None),
    ],
)  # fmt: skip
def test_a_next_step_line_gives_what_owner_and_due_in_any_order_the_ae_writes_them(
    line: str, what: str, owner: str, due: date | None
) -> None:
    found = step(line)
    assert (found.what, found.owner, found.due) == (what, owner, due)
    assert found.line == line


def test_a_date_without_a_year_is_the_next_one_on_or_after_today() -> None:
    assert step("Call the printer - Tom - Nov 30").due == date(2026, 11, 30)
    assert step("Call the printer - Tom - Nov 29").due == date(2027, 11, 29)
    assert step("Call the printer - Tom - 1月8日").due == date(2027, 1, 8)
    assert step("Call the printer - Tom - 2/29").due == date(2028, 2, 29)


def test_a_date_without_a_year_has_no_due_date_when_today_is_not_given() -> None:
    found = step("Revise the key visual - Mei - Dec 5", today=None)
    assert (found.what, found.owner, found.due) == ("Revise the key visual", "Mei", None)
    assert step("Revise the key visual - Mei - 2026-12-05", today=None).due == date(2026, 12, 5)


def test_a_slash_date_is_month_then_day_unless_the_first_number_cannot_be_a_month() -> None:
    assert step("Send it - Tom - 5/12").due == date(2027, 5, 12)
    assert step("Send it - Tom - 25/12").due == date(2026, 12, 25)
    assert step("Send it - Tom - 12/5/2027").due == date(2027, 12, 5)


def test_an_impossible_date_is_not_a_due_date() -> None:
    found = step("Send it - Tom - 13/13")
    assert (found.owner, found.due) == ("Tom", None)
    assert "13/13" in found.what


def test_a_line_with_no_owner_or_date_is_still_a_next_step() -> None:
    found = step("Call the printer about paper stock")
    assert found == NextStep("Call the printer about paper stock", "", None, found.line)


def test_a_parenthesis_that_is_not_an_owner_stays_in_what() -> None:
    found = step("Book the venue (the big room)")
    assert (found.what, found.owner) == ("Book the venue (the big room)", "")


@pytest.mark.parametrize(
    "heading",
    ["## Conclusions / 结论", "Conclusions:", "**Decisions**", "结论", "## 会议结论：",
     "1. Conclusions", "一、结论", "【会议结论】", "DECISIONS", "### Conclusions ###"],
)  # fmt: skip
def test_conclusion_headings_are_read_in_every_form(heading: str) -> None:
    minutes = parse_minutes(f"{heading}\n- Budget approved")
    assert minutes.structured
    assert minutes.conclusions == ("Budget approved",)


@pytest.mark.parametrize(
    "heading",
    ["Next steps / 下一步 (what - owner - due date)", "Action items", "Actions:", "下一步",
     "后续行动", "行动项：", "下一步（事项 - 负责人 - 截止日期）"],
)  # fmt: skip
def test_next_step_headings_are_read_in_every_form(heading: str) -> None:
    minutes = parse_minutes(f"{heading}\n- Revise the key visual - Mei - 2026-12-05")
    assert [s.owner for s in minutes.next_steps] == ["Mei"]


@pytest.mark.parametrize(
    "heading", ["Open questions / 待定问题", "Questions:", "待定问题", "## 遗留问题"]
)
def test_question_headings_are_read_in_every_form(heading: str) -> None:
    assert parse_minutes(f"{heading}\n- Who signs?").questions == ("Who signs?",)


def test_bullets_and_numbers_are_stripped_and_empty_bullets_ignored() -> None:
    minutes = parse_minutes(
        "Conclusions\n- one\n* two\n• three\n1. four\n2、five\n（3）six\n-\n- [x] seven\n"
        "1.5 million is the budget\n---\n"
    )
    assert minutes.conclusions == (
        "one", "two", "three", "four", "five", "six", "seven", "1.5 million is the budget",
    )  # fmt: skip


def test_text_on_the_heading_line_and_wrapped_items_are_kept() -> None:
    minutes = parse_minutes(
        "Conclusions: budget approved\n"
        "- the launch moves to March, pending the\n  client's board\n"
        "Questions: who signs?"
    )
    assert minutes.conclusions == (
        "budget approved",
        "the launch moves to March, pending the client's board",
    )
    assert minutes.questions == ("who signs?",)


def test_text_before_the_first_heading_is_kept_but_not_an_item() -> None:
    text = "Short meeting today.\n\n## Conclusions\n- Budget approved"
    minutes = parse_minutes(text)
    assert minutes.text == text
    assert minutes.conclusions == ("Budget approved",)


def test_minutes_without_any_heading_are_unstructured_and_kept_whole() -> None:
    text = "We agreed the budget.\nMei revises the key visual by Dec 5."
    minutes = parse_minutes(text, today=TODAY)
    assert not minutes.structured
    assert minutes.text == text
    assert (minutes.conclusions, minutes.next_steps, minutes.questions) == ((), (), ())


def test_the_form_sent_back_unfilled_is_empty_minutes() -> None:
    for form in (
        "Minutes: Acme summer campaign brief, 2026-11-30 10:00-11:30\n"
        "Write under each heading and reply to this mail; keep the headings.\n\n"
        "## Conclusions / 结论\n-\n\n## Next steps / 下一步 (what - owner - due date)\n-\n\n"
        "## Open questions / 待定问题\n-\n",
        "会议记录：Acme 夏季活动简报，2026-11-30 10:00-11:30\n"
        "请在各标题下填写并回复本邮件；请保留标题。\n"
        "## 结论\n- \n## 下一步\n•\n## 待定问题\n1.\n",
        "",
        "\n  \n",
    ):
        assert is_empty_minutes(parse_minutes(form))


def test_anything_written_makes_minutes_not_empty() -> None:
    assert not is_empty_minutes(parse_minutes("## Conclusions\n-\n## Next steps\n- Call Tom"))
    assert not is_empty_minutes(parse_minutes("Minutes: budget approved"))
    assert not is_empty_minutes(parse_minutes("Budget approved.\n## Conclusions\n-"))


def test_a_very_long_next_step_is_kept_as_written() -> None:
    line = "Revise " + "the key visual " * 200 + "- Mei - Dec 5"
    (found,) = parse_minutes(f"Next steps\n- {line}", today=TODAY).next_steps
    assert (found.what, found.owner, found.due) == (line, "", None)


def test_quoted_text_helpers_work_on_text_from_a_file() -> None:
    # ``aeflow minutes submit`` may be given a saved reply; the same helpers clean it.
    assert strip_quoted("Conclusions\n- ok\n\n> quoted\n-- \nsig") == "Conclusions\n- ok"
    assert html_to_text('<p>a<br>b</p><blockquote type="cite">c</blockquote>') == "a\nb\n> c"


def test_a_blockquote_that_only_indents_is_text_not_a_quote() -> None:
    # OWA's "increase indent" writes a bare <blockquote>; a quoted original is marked as cited.
    markup = "<div>Conclusions</div><blockquote style='margin:0 0 0 40px'>- ok</blockquote>"
    assert html_to_text(markup) == "Conclusions\n- ok"
    assert parse_minutes(html_to_text(markup)).conclusions == ("ok",)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("-*•1.、:：/()（）—|,，# \n\tab月日年Dec5结论下一步")),
               max_size=300))  # fmt: skip
def test_parsing_never_fails_and_always_keeps_the_text(text: str) -> None:
    minutes = parse_minutes(text, today=TODAY)
    assert minutes.text == text.replace("\r\n", "\n").strip()
    is_empty_minutes(minutes)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=400))
def test_any_text_parses_and_any_markup_reads(text: str) -> None:
    parse_minutes(text, today=TODAY)
    strip_quoted(text)
    html_to_text(text)
