"""Every kind of mail in every language, rendered from a fixed context, matches its golden files.

The golden files under ``tests/golden/<language>/`` are what a client, an AE or a manager reads;
they are reviewed as text. After a deliberate change to a template, regenerate them with
``AEFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden.py`` and read the difference.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mailer.render import RenderedMail, Renderer
from tests.conftest import REPO

GOLDEN = REPO / "tests" / "golden"
KINDS = (
    "confirmation",
    "decision_alert",
    "receipt_reminder",
    "call_note",
    "escalation",
    "bounce_alert",
    "minutes_prompt",
    "minutes_reminder",
    "minutes",
    "minutes_problem",
    "followup_reminder",
    "invitation",
    "invitation_cancel",
    "agenda_problem",
    "joint_meeting",
    "address_problem",
)
# Further cases of a kind, each with golden files of its own: their name -> the kind.
VARIANTS = {
    "escalation_with_late_minutes": "escalation",
    "escalation_late_minutes_only": "escalation",
    "minutes_corrected": "minutes",
    "minutes_free_text": "minutes",
    "minutes_problem_empty": "minutes_problem",
    "minutes_problem_cancelled": "minutes_problem",
    "minutes_problem_already_sent": "minutes_problem",
    "minutes_problem_unknown_meeting": "minutes_problem",
    "invitation_update": "invitation",
}
LANGUAGES = ("en", "zh-CN")
# A second client, for the mail that names two.
_OTHER_CLIENT = {"zh-CN": "华东饮料集团", "en": "Contoso Beverages"}

# One Chinese client and one English-speaking client; each language's mail is about the client
# that would be written to in it, and the manager's digest holds both.
_PEOPLE = {
    "zh-CN": {
        "ae": {"name": "王芳", "email": "wang.fang@agency.example.cn", "phone": "021-5555 0134"},
        "client": {"name": "上海云杉食品有限公司"},
        "decider": {"name": "李伟", "email": "li.wei@yunshan-foods.example.cn"},
        "buyer": {"name": "张敏", "email": "zhang.min@yunshan-foods.example.cn"},
        "creative": {"name": "陈磊", "email": "chen.lei@agency.example.cn"},
    },
    "en": {
        "ae": {
            "name": "Fang Wang",
            "email": "wang.fang@agency.example.cn",
            "phone": "+86 21 5555 0134",
        },
        "client": {"name": "Northwind Outdoor Ltd."},
        "decider": {"name": "Emma Clarke", "email": "emma.clarke@northwind.example.com"},
        "buyer": {"name": "Tom Baker", "email": "tom.baker@northwind.example.com"},
        "creative": {"name": "Lei Chen", "email": "chen.lei@agency.example.cn"},
    },
}
_MEETING = {
    "zh-CN": {
        "subject": "2027春季新品上市传播方案提案",
        "weekday": "星期一",
        "location": "上海市徐汇区虹桥路100号 云杉大厦12楼 第一会议室",
        "agenda": ("品牌现状与上季度回顾", "新品上市传播创意提案", "讨论、下一步工作与分工"),
    },
    "en": {
        "subject": "Spring 2027 launch campaign: creative proposal",
        "weekday": "Monday",
        "location": "Northwind Shanghai office, Room 1, 12th floor, 100 Hongqiao Road",
        "agenda": (
            "Brand review and last quarter's results",
            "Creative proposal for the spring launch",
            "Discussion, next steps and owners",
        ),
    },
}
# What the AE wrote in the minutes of the meeting above: three conclusions, three next steps (the
# client's one without a date yet) and one open question.
_MINUTES = {
    "zh-CN": {
        "conclusions": [
            "客户选定B方案（“自然好味道”）作为春季新品上市的主创意方向。",
            "上市日期维持2027年3月15日不变，传播期为3月1日起的六周。",
            "媒介预算上限为120万元，含制作费。",
        ],
        "next_steps": [
            {"what": "根据新产品照片修改B方案主视觉", "owner": "陈磊", "due": "2026-12-04"},
            {"what": "提交制作与媒介的更新报价单", "owner": "王芳", "due": "2026-12-02"},
            {"what": "确认首批上市的零售渠道合作伙伴", "owner": "李伟", "due": ""},
        ],
        "questions": ["华南地区是否同步上市，待客户区域市场部确认。"],
        "text": "李总确认采用B方案，上市日期维持2027年3月15日。\n"
        "媒介预算上限120万元，含制作费。\n\n"
        "我方12月4日前提交修改后的主视觉，12月2日前提交更新报价单；零售渠道由李总确认。\n\n"
        "待定：华南地区是否同步上市。",
    },
    "en": {
        "conclusions": [
            'Northwind chose creative route B ("Find your trail") for the spring launch.',
            "The launch date stays 15 March 2027; the campaign runs for six weeks from 1 March.",
            "The media budget is capped at CNY 1.2 million, production included.",
        ],
        "next_steps": [
            {
                "what": "Revise the route B key visual with the new product photos",
                "owner": "Lei Chen",
                "due": "2026-12-04",
            },
            {
                "what": "Send the updated quotation for production and media",
                "owner": "Fang Wang",
                "due": "2026-12-02",
            },
            {
                "what": "Confirm the retail partners for the in-store launch",
                "owner": "Emma Clarke",
                "due": "",
            },
        ],
        "questions": [
            "Whether Hong Kong launches at the same time; Northwind's regional team decides."
        ],
        "text": "Emma confirmed route B. The launch date stays 15 March 2027.\n"
        "Media budget capped at CNY 1.2 million, production included.\n\n"
        "We send the revised key visual by 4 December and the updated quotation by "
        "2 December; Emma confirms the retail partners.\n\n"
        "Still open: whether Hong Kong launches at the same time.",
    },
}
# The invitation's answers, in the order of the attendees: decider, buyer, AE, creative.
_RESPONSES = ("accepted", "declined", "accepted", "needs-action")
_MEETING_KEY = "3b8f2c1e-6a4d-4f0b-9c2e-71d5a0e9b6f4"
_GUEST = {"name": "Anna Schmidt", "email": "anna@filmhouse.example", "side": "guest"}
_BRING = {
    "zh-CN": ["上季度销售数据", "新品样品"],
    "en": ["Last quarter's sales figures", "Product samples"],
}
_WAITING = {
    "zh-CN": {"hours": "4个工作小时", "day": "1个工作日", "days": "2个工作日"},
    "en": {"hours": "4 working hours", "day": "1 working day", "days": "2 working days"},
}


def sample_context(kind: str, language: str) -> dict[str, object]:
    """A realistic context for ``kind``, with names and wording in ``language``."""
    people = _PEOPLE[language]
    words = _MEETING[language]
    ae, client = people["ae"], people["client"]
    meeting = {
        "subject": words["subject"],
        "date": "2026-11-30",
        "weekday": words["weekday"],
        "start": "10:00",
        "end": "11:30",
        "timezone": "Asia/Shanghai",
        "location": words["location"],
        "attendees": [
            {**people["decider"], "side": "client"},
            {**people["buyer"], "side": "client"},
            {**ae, "side": "agency"},
            {**people["creative"], "side": "agency"},
        ],
        "agenda": [
            {"title": title, "minutes": minutes, "start": start, "end": end}
            for title, minutes, start, end in zip(
                words["agenda"],
                (30, 40, 20),
                ("10:00", "10:30", "11:10"),
                ("10:30", "11:10", "11:30"),
                strict=True,
            )
        ],
    }
    confirmation = {"subject": _confirmation_subject(language), "kind": "confirmation"}
    original = {**confirmation, "sent": "2026-11-27 10:00"}
    answered = {
        **meeting,
        "attendees": [
            {**attendee, "response": response}
            for attendee, response in zip(meeting["attendees"], _RESPONSES, strict=True)
        ],
    }
    written = _MINUTES[language]
    common: dict[str, object] = {"ae": ae, "now_local": "2026-11-27 16:00"}
    per_kind: dict[str, dict[str, object]] = {
        "confirmation": {"meeting": meeting, "client": client},
        "decision_alert": {
            "meeting": meeting,
            "client": client,
            "people": [
                {**people["decider"], "reason": "declined"},
                {**people["buyer"], "reason": "not-confirmed"},
            ],
        },
        "receipt_reminder": {"original": original, "recipient": people["buyer"], "client": client},
        "call_note": {
            "original": original,
            "recipient": people["buyer"],
            "client": client,
            "waiting": _WAITING[language]["hours"],
        },
        "escalation": {"items": _escalation_items(language), "late_minutes": []},
        "bounce_alert": {
            "original": original,
            "recipient": people["buyer"],
            "client": client,
            "status": "5.1.1",
            "reason": f"550 5.1.1 <{people['buyer']['email']}>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
        },
        "minutes_prompt": {
            "meeting": answered,
            "client": client,
            "deadline": "2026-12-01 11:30",
            "now_local": "2026-11-30 11:40",
        },
        "minutes_reminder": {
            "meeting": answered,
            "client": client,
            "deadline": "2026-12-01 11:30",
            "prompt_subject": _prompt_subject(language),
            "now_local": "2026-12-01 07:30",
        },
        "minutes": {
            "meeting": answered,
            "client": client,
            "conclusions": written["conclusions"],
            "next_steps": written["next_steps"],
            "questions": written["questions"],
            "text": written["text"],
            "structured": True,
            "corrected": False,
            "version": 1,
            "late": False,
            "now_local": "2026-11-30 16:45",
        },
        "minutes_problem": {
            "reason": "too-long",
            "meeting_subject": words["subject"],
            "reply_subject": _reply_prefix(language) + _prompt_subject(language),
            "limit_kb": 200,
            "command": f"aeflow minutes submit {_MEETING_KEY} --file minutes.md",
            "now_local": "2026-11-30 15:05",
        },
        "invitation": {
            "meeting": {
                **meeting,
                "bring": _BRING[language],
                "attendees": [*meeting["attendees"], _GUEST],
            },
            "client": client,
            "update": False,
            "now_local": "2026-11-25 15:20",
        },
        "invitation_cancel": {"meeting": meeting, "client": client, "update": False},
        "agenda_problem": {
            # The three topics take 90 minutes; the meeting has 60.
            "meeting": {**meeting, "end": "11:00"},
            "client": client,
            "topics_minutes": 90,
            "meeting_minutes": 60,
            "over_minutes": 30,
        },
        "address_problem": {
            "meeting": meeting,
            "client": client,
            "addresses": ["tom baker@northwind.example.com", "a@b@northwind.example.com"],
        },
        "joint_meeting": {
            "meeting": meeting,
            "clients": [client["name"], _OTHER_CLIENT[language]],
        },
        "followup_reminder": {
            "step": written["next_steps"][0],
            "meeting": answered,
            "client": client,
            "now_local": "2026-12-03 10:00",
        },
    }
    return {**common, **per_kind[kind]}


def variant_context(name: str, language: str) -> dict[str, object]:
    """The context of the kind ``VARIANTS[name]``, changed to show that case."""
    context = sample_context(VARIANTS[name], language)
    late = _late_minutes()
    changes: dict[str, dict[str, object]] = {
        "escalation_with_late_minutes": {"late_minutes": late[:1]},
        "escalation_late_minutes_only": {
            "items": [],
            "late_minutes": late,
            "now_local": "2026-11-27 15:30",
        },
        # A correction sent after the deadline: the client sees the correction, not the lateness.
        "minutes_corrected": {
            "corrected": True,
            "version": 2,
            "late": True,
            "now_local": "2026-12-01 12:10",
        },
        # Minutes without the form's headings go as the AE wrote them.
        "minutes_free_text": {
            "structured": False,
            "conclusions": [],
            "next_steps": [],
            "questions": [],
        },
        "minutes_problem_empty": {"reason": "empty"},
        "invitation_update": {"update": True, "now_local": "2026-11-26 09:05"},
        "minutes_problem_cancelled": {"reason": "cancelled"},
        "minutes_problem_already_sent": {
            "reason": "already-sent",
            "command": f"aeflow minutes submit {_MEETING_KEY} --file minutes.md --correction",
            "now_local": "2026-12-01 09:15",
        },
        # The meeting is gone from the store, so there is neither its subject nor a command.
        "minutes_problem_unknown_meeting": {
            "reason": "unknown-meeting",
            "meeting_subject": "",
            "command": "",
        },
    }
    return {**context, **changes[name]}


def _prompt_subject(language: str) -> str:
    meeting, client = _MEETING[language], _PEOPLE[language]["client"]
    if language == "zh-CN":
        return f"请填写会议纪要：{meeting['subject']}（{client['name']}，2026-11-30）"
    return f"Please write the minutes: {meeting['subject']} ({client['name']}, 2026-11-30)"


def _reply_prefix(language: str) -> str:
    return "回复：" if language == "zh-CN" else "Re: "


def _confirmation_subject(language: str) -> str:
    meeting = _MEETING[language]
    if language == "zh-CN":
        return f"会议确认：{meeting['subject']}（2026-11-30 {meeting['weekday']} 10:00）"
    return f"Meeting confirmation: {meeting['subject']}, {meeting['weekday']} 2026-11-30 10:00"


def _escalation_items(language: str) -> list[dict[str, object]]:
    waiting = _WAITING[language]
    return [
        {
            "client": _PEOPLE["zh-CN"]["client"]["name"],
            "subject": "会议记录：2027春季新品上市传播方案提案",
            "recipient": _PEOPLE["zh-CN"]["decider"],
            "sent": "2026-11-25 17:40",
            "waiting": waiting["days"],
        },
        {
            "client": _PEOPLE["en"]["client"]["name"],
            "subject": "Next week's schedule, 30 November to 4 December",
            "recipient": _PEOPLE["en"]["decider"],
            "sent": "2026-11-26 17:55",
            "waiting": waiting["day"],
        },
    ]


def _late_minutes() -> list[dict[str, object]]:
    return [
        {
            "client": _PEOPLE["zh-CN"]["client"]["name"],
            "subject": "2027春季新品上市客户简报会",
            "date": "2026-11-26",
            "deadline": "2026-11-27 15:30",
        },
        {
            "client": _PEOPLE["en"]["client"]["name"],
            "subject": "Q1 2027 media plan review",
            "date": "2026-11-26",
            "deadline": "2026-11-27 11:00",
        },
    ]


def assert_matches_golden(mail: RenderedMail, language: str, kind: str) -> None:
    """Compare with the golden files; rewrite them first when AEFLOW_UPDATE_GOLDEN=1."""
    produced = {"subject": mail.subject + "\n", "txt": mail.text, "html": mail.html}
    folder = GOLDEN / language
    if os.environ.get("AEFLOW_UPDATE_GOLDEN") == "1":
        folder.mkdir(parents=True, exist_ok=True)
        for suffix, content in produced.items():
            _write(folder / f"{kind}.{suffix}", content)
    for suffix, content in produced.items():
        path = folder / f"{kind}.{suffix}"
        assert path.is_file(), f"{path} is missing: run with AEFLOW_UPDATE_GOLDEN=1"
        assert content == path.read_text(encoding="utf-8"), f"{path} differs"


def _write(path: Path, content: str) -> None:
    with path.open("w", encoding="utf-8", newline="\n") as handle:
        handle.write(content)


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("kind", KINDS)
def test_each_mail_reads_as_its_golden_files(renderer: Renderer, kind: str, language: str) -> None:
    mail = renderer.render(kind, language, sample_context(kind, language))
    assert_matches_golden(mail, language, kind)


@pytest.mark.parametrize("language", LANGUAGES)
@pytest.mark.parametrize("name", VARIANTS)
def test_each_further_case_reads_as_its_golden_files(
    renderer: Renderer, name: str, language: str
) -> None:
    mail = renderer.render(VARIANTS[name], language, variant_context(name, language))
    assert_matches_golden(mail, language, name)


def test_every_kind_the_planner_sends_has_built_in_templates(renderer: Renderer) -> None:
    assert set(KINDS) <= set(renderer.kinds())
    assert set(LANGUAGES) <= set(renderer.languages())
