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
)
LANGUAGES = ("en", "zh-CN")

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
        "escalation": {"items": _escalation_items(language)},
        "bounce_alert": {
            "original": original,
            "recipient": people["buyer"],
            "client": client,
            "status": "5.1.1",
            "reason": f"550 5.1.1 <{people['buyer']['email']}>: Recipient address rejected: "
            "User unknown in virtual mailbox table",
        },
    }
    return {**common, **per_kind[kind]}


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


def test_every_kind_the_planner_sends_has_built_in_templates(renderer: Renderer) -> None:
    assert set(KINDS) <= set(renderer.kinds())
    assert set(LANGUAGES) <= set(renderer.languages())
