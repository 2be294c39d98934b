"""Rendering: hostile text stays text, missing fields and broken templates are clear errors,
overrides replace single files, and languages fall back to English."""

from __future__ import annotations

import copy
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from mailer.render import SUBJECT_LIMIT, Renderer, TemplateError, builtin_templates
from rules.errors import AeflowError
from tests.conftest import REPO
from tests.unit.test_render_golden import KINDS, LANGUAGES, sample_context

SCRIPT = "<script>alert('x')</script>"


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


def meeting_of(context: dict[str, object]) -> dict[str, object]:
    meeting = context["meeting"]
    assert isinstance(meeting, dict)
    return meeting


def test_the_built_in_templates_are_the_top_level_folder_of_a_checkout() -> None:
    assert builtin_templates() == REPO / "templates"


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_script_in_a_meeting_subject_is_escaped_in_html_and_literal_in_text(
    renderer: Renderer, language: str
) -> None:
    context = sample_context("confirmation", language)
    meeting_of(context)["subject"] = f"Launch {SCRIPT}"

    mail = renderer.render("confirmation", language, context)

    assert "<script" not in mail.html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in mail.html
    assert f"Launch {SCRIPT}" in mail.text
    assert f"Launch {SCRIPT}" in mail.subject


@pytest.mark.parametrize("language", LANGUAGES)
def test_line_breaks_in_a_meeting_subject_leave_the_subject_one_line(
    renderer: Renderer, language: str
) -> None:
    context = sample_context("confirmation", language)
    meeting_of(context)["subject"] = "Launch\r\nBcc: evil@example.com\n\tX-Evil: 1"

    subject = renderer.render("confirmation", language, context).subject

    assert "\r" not in subject and "\n" not in subject and "\t" not in subject
    assert "Launch Bcc: evil@example.com X-Evil: 1" in subject


def test_the_subject_is_collapsed_and_bounded(renderer: Renderer) -> None:
    context = sample_context("confirmation", "en")
    meeting_of(context)["subject"] = "  word \u2028 \x00 " * 100

    subject = renderer.render("confirmation", "en", context).subject

    assert len(subject) <= SUBJECT_LIMIT
    assert subject == subject.strip()
    assert "  " not in subject and "\x00" not in subject and "\u2028" not in subject
    assert subject.endswith("…")


class _Markup(HTMLParser):
    """Collects the tags and attributes of a document, and the text between them."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: set[str] = set()
        self.attributes: list[tuple[str, str, str | None]] = []
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    def handle_data(self, data: str) -> None:
        self.text.append(data)


def _poison(value: object) -> object:
    """Every free text of a context made hostile; the codes templates branch on are kept."""
    if isinstance(value, dict):
        return {
            k: v if k in {"side", "reason", "kind", "status"} else _poison(v)
            for k, v in value.items()
        }
    if isinstance(value, list):
        return [_poison(v) for v in value]
    if isinstance(value, str):
        return f'{value}<img src="http://x/t.png" onerror=alert(1)>"&\'</td>'
    return value


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_hostile_text_adds_no_markup_to_any_mail(
    renderer: Renderer, kind: str, language: str
) -> None:
    context = _poison(sample_context(kind, language))
    assert isinstance(context, dict)

    mail = renderer.render(kind, language, context)
    markup = _Markup()
    markup.feed(mail.html)
    markup.close()

    frame = {"html", "head", "meta", "title", "body", "div", "p", "h2", "table", "tr", "th", "td"}
    assert markup.tags <= frame | {"strong", "br", "a"}
    assert {name for _, name, _ in markup.attributes} <= {
        "lang",
        "charset",
        "name",
        "content",
        "style",
        "href",
    }
    assert all(v.startswith("mailto:") for _, name, v in markup.attributes if name == "href" and v)
    assert '<img src="http://x/t.png"' in "".join(markup.text)
    assert '<img src="http://x/t.png"' in mail.text


def test_a_missing_context_field_is_an_error_naming_the_template_and_line(
    renderer: Renderer,
) -> None:
    context = sample_context("confirmation", "zh-CN")
    del meeting_of(context)["location"]

    with pytest.raises(TemplateError) as raised:
        renderer.render("confirmation", "zh-CN", context)

    message = str(raised.value)
    # The place is written by the meeting block that the confirmation includes.
    assert "_meeting.txt.j2, line " in message
    assert "location" in message
    assert isinstance(raised.value, AeflowError)


def test_an_absent_top_level_field_is_an_error_not_an_empty_string(renderer: Renderer) -> None:
    context = sample_context("call_note", "en")
    del context["waiting"]

    with pytest.raises(TemplateError, match="waiting"):
        renderer.render("call_note", "en", context)


def test_an_unknown_kind_is_an_error_naming_the_kind_and_the_folders(renderer: Renderer) -> None:
    with pytest.raises(TemplateError) as raised:
        renderer.render("quotation", "zh-CN", sample_context("confirmation", "zh-CN"))

    message = str(raised.value)
    assert "'quotation'" in message
    assert str(REPO / "templates" / "zh-CN") in message
    assert str(REPO / "templates" / "en") in message


@pytest.mark.parametrize("kind", ["../confirmation", "confirmation/../x", "", "Confirmation"])
def test_a_kind_that_is_not_a_plain_name_is_refused(renderer: Renderer, kind: str) -> None:
    with pytest.raises(TemplateError, match="not a kind of mail"):
        renderer.render(kind, "en", sample_context("confirmation", "en"))


def test_an_unknown_language_falls_back_to_english(renderer: Renderer) -> None:
    context = sample_context("confirmation", "en")

    assert renderer.render("confirmation", "fr-FR", context) == renderer.render(
        "confirmation", "en", context
    )


@pytest.mark.parametrize("tag", ["zh-CN", "zh_CN", "ZH-cn", "zh", "zh-Hans"])
def test_a_chinese_language_tag_finds_the_chinese_templates(renderer: Renderer, tag: str) -> None:
    context = sample_context("confirmation", "zh-CN")

    assert renderer.render("confirmation", tag, context).subject.startswith("会议确认：")


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_meeting_without_an_agenda_has_no_agenda_section(
    renderer: Renderer, language: str
) -> None:
    context = sample_context("confirmation", language)
    meeting_of(context)["agenda"] = []

    mail = renderer.render("confirmation", language, context)

    heading = {"en": "Agenda", "zh-CN": "议程"}[language]
    assert heading not in mail.text and heading not in mail.html
    assert "10:00" in mail.text  # the meeting's own time is still there


def test_a_bounce_without_status_or_reason_leaves_those_lines_out(renderer: Renderer) -> None:
    context = {**sample_context("bounce_alert", "en"), "status": "", "reason": ""}

    text = renderer.render("bounce_alert", "en", context).text

    assert "Status:" not in text and "Reason:" not in text


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_person_without_a_name_is_shown_by_address_once(
    renderer: Renderer, language: str
) -> None:
    context = sample_context("call_note", language)
    address = "buyer@client.example.com"
    context["recipient"] = {"name": address, "email": address}

    text = renderer.render("call_note", language, context).text

    assert address in text
    assert f"<{address}>" not in text and f"（{address}）" not in text


# --- overrides --------------------------------------------------------------------------------


def _override(root: Path, language: str, name: str, content: str) -> Path:
    path = root / language / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content, encoding="utf-8")
    return path


def test_an_override_replaces_one_file_and_the_others_stay_built_in(tmp_path: Path) -> None:
    _override(tmp_path, "zh-CN", "confirmation.txt.j2", "请查收：{{ meeting.subject }}\n")
    context = sample_context("confirmation", "zh-CN")

    built_in = Renderer().render("confirmation", "zh-CN", context)
    overridden = Renderer(tmp_path).render("confirmation", "zh-CN", context)

    assert overridden.text == "请查收：2027春季新品上市传播方案提案\n"
    assert overridden.subject == built_in.subject
    assert overridden.html == built_in.html


def test_an_overridden_partial_is_used_by_the_built_in_templates(tmp_path: Path) -> None:
    _override(tmp_path, "en", "_signature.txt.j2", "Cheers,\n{{ ae.name }} (Account Director)\n")
    context = sample_context("receipt_reminder", "en")

    text = Renderer(tmp_path).render("receipt_reminder", "en", context).text

    assert text.endswith("Cheers,\nFang Wang (Account Director)\n")


def test_a_syntax_error_in_an_override_names_the_file_and_line(tmp_path: Path) -> None:
    broken = _override(
        tmp_path, "zh-CN", "confirmation.html.j2", "<p>\n{{ meeting.subject }}\n{% if %}\n</p>\n"
    )

    with pytest.raises(TemplateError) as raised:
        Renderer(tmp_path).render("confirmation", "zh-CN", sample_context("confirmation", "zh-CN"))

    assert f"{broken}, line 3" in str(raised.value)


def test_an_override_that_includes_a_missing_file_names_it(tmp_path: Path) -> None:
    _override(tmp_path, "en", "call_note.txt.j2", 'Hello\n{% include "_footer.txt.j2" %}\n')

    with pytest.raises(TemplateError, match=re.escape("'_footer.txt.j2' is missing")):
        Renderer(tmp_path).render("call_note", "en", sample_context("call_note", "en"))


def test_a_kind_only_in_english_is_sent_whole_in_english(tmp_path: Path) -> None:
    for part, body in (
        ("subject", "Quote {{ n }}"),
        ("txt", "Text {{ n }}"),
        ("html", "<p>{{ n }}</p>"),
    ):
        _override(tmp_path, "en", f"quotation.{part}.j2", body)

    mail = Renderer(tmp_path).render("quotation", "zh-CN", {"n": 7})

    assert (mail.subject, mail.text, mail.html) == ("Quote 7", "Text 7\n", "<p>7</p>\n")
    assert "quotation" in Renderer(tmp_path).kinds()


def test_a_kind_with_a_missing_part_is_reported_by_the_missing_file(tmp_path: Path) -> None:
    _override(tmp_path, "zh-CN", "quotation.subject.j2", "报价单")

    with pytest.raises(
        TemplateError, match=re.escape("quotation.html.j2, quotation.txt.j2 missing")
    ):
        Renderer(tmp_path).render("quotation", "zh-CN", {})


def test_an_override_folder_that_does_not_exist_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(TemplateError, match="does not exist"):
        Renderer(tmp_path / "nowhere")


def test_a_renderer_lists_the_languages_of_its_override(tmp_path: Path) -> None:
    _override(tmp_path, "fr", "confirmation.subject.j2", "Confirmation")

    assert Renderer(tmp_path).languages() == ["en", "fr", "zh-CN"]


def test_rendering_does_not_change_the_context(renderer: Renderer) -> None:
    context = sample_context("confirmation", "zh-CN")
    before = copy.deepcopy(context)

    renderer.render("confirmation", "zh-CN", context)

    assert context == before
