"""The weekly schedules, planned from a small world and rendered, match their golden files.

The context of each mail is what ``rules.weekly`` plans for the week of Monday 30 November 2026
(sent on Friday 27 November), with the AE and the manner of the shell's composer added. Regenerate
with ``AEFLOW_UPDATE_GOLDEN=1 pytest tests/unit/test_render_golden_weekly.py`` and read the result.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import cast
from zoneinfo import ZoneInfo

import pytest

from mailer.render import Renderer
from rules.confirmation import confirmation_key
from rules.minutes import FollowUp, MinutesRecord
from rules.model import (
    Action,
    Attendee,
    Client,
    Contact,
    Delivery,
    DeliveryStatus,
    Meeting,
    Person,
    RecipientStatus,
    Response,
)
from rules.planning import AEInfo, PlanState
from rules.policies import WeeklyPolicy
from rules.weekly import weekly_actions
from rules.workdays import WorkingCalendar
from tests.unit.test_render_golden import assert_matches_golden

SHANGHAI = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2026, 11, 27, 16, 30, tzinfo=SHANGHAI)
LANGUAGES = ("en", "zh-CN")

AE_NAMES = {"zh-CN": "王芳", "en": "Fang Wang"}
AE_EMAIL = "wang.fang@agency.example.cn"
PHONES = {"zh-CN": "021-5555 0134", "en": "+86 21 5555 0134"}
CREATIVE = Person("chen.lei@agency.example.cn", "陈磊")
LI, ZHANG = (
    Person("li.wei@yunshan-foods.example.cn", "李伟"),
    Person("zhang.min@yunshan-foods.example.cn", "张敏"),
)
EMMA = Person("emma.clarke@northwind.example.com", "Emma Clarke")
TOM = Person("tom.baker@northwind.example.com", "Tom Baker")
YUNSHAN = Client(
    "上海云杉食品有限公司",
    domains=("yunshan-foods.example.cn",),
    language="zh-CN",
    contacts=(Contact(LI, decision_maker=True, weekly=True), Contact(ZHANG, weekly=True)),
    team=(CREATIVE,),
)
NORTHWIND = Client(
    "Northwind Outdoor Ltd.",
    domains=("northwind.example.com",),
    language="en",
    contacts=(Contact(EMMA, decision_maker=True, weekly=True), Contact(TOM)),
    team=(Person("chen.lei@agency.example.cn", "Lei Chen"),),
)


def shanghai(day: int, hour: int, minute: int = 0) -> datetime:
    month = 11 if day > 20 else 12
    return datetime(2026, month, day, hour, minute, tzinfo=SHANGHAI)


def meeting(
    uid: str, subject: str, start: datetime, minutes: int, location: str, *people: Attendee
) -> Meeting:
    return Meeting(
        uid=uid,
        subject=subject,
        start=start,
        end=start + timedelta(minutes=minutes),
        location=location,
        attendees=people,
    )


def world(language: str, *, empty: bool = False) -> PlanState:
    """Two clients, each with two meetings next week and the minutes of one last week."""
    ae = Person(AE_EMAIL, AE_NAMES[language])
    me = Attendee(ae, response=Response.ACCEPTED)
    lei = Attendee(CREATIVE if language == "zh-CN" else NORTHWIND.team[0])
    meetings = (
        meeting(
            "ys-brief",
            "春季新品上市客户简报会",
            shanghai(24, 14),
            60,
            "云杉大厦12楼 第一会议室",
            Attendee(LI),
            me,
        ),
        meeting(
            "ys-proposal",
            "2027春季新品上市传播方案提案",
            shanghai(30, 10),
            90,
            "上海市徐汇区虹桥路100号 云杉大厦12楼 第一会议室",
            Attendee(LI, response=Response.ACCEPTED),
            Attendee(ZHANG),
            me,
            lei,
        ),
        meeting(
            "ys-media",
            "媒介排期沟通会",
            shanghai(2, 15),
            60,
            "腾讯会议",
            Attendee(ZHANG, response=Response.TENTATIVE),
            me,
        ),
        meeting(
            "nw-kickoff",
            "Spring 2027 launch: kick-off",
            shanghai(24, 10),
            60,
            "Northwind Shanghai office",
            Attendee(EMMA),
            me,
        ),
        meeting(
            "nw-proposal",
            "Spring 2027 launch campaign: creative proposal",
            shanghai(1, 15),
            90,
            "Northwind Shanghai office, Room 1, 12th floor, 100 Hongqiao Road",
            Attendee(EMMA, response=Response.ACCEPTED),
            Attendee(TOM, response=Response.DECLINED),
            me,
            lei,
        ),
        meeting(
            "nw-media",
            "Q1 2027 media plan review",
            shanghai(3, 10),
            60,
            "Agency office, Meeting room B",
            Attendee(EMMA),
            me,
        ),
    )
    minutes = (
        MinutesRecord(
            meeting="ys-brief",
            version=1,
            submitted_at=shanghai(24, 16),
            text="",
            next_steps=(
                FollowUp("提交制作与媒介的更新报价单", "王芳", date(2026, 12, 2)),
                FollowUp("确认首批上市的零售渠道合作伙伴", "李伟", None),
            ),
        ),
        MinutesRecord(
            meeting="nw-kickoff",
            version=1,
            submitted_at=shanghai(24, 12),
            text="",
            next_steps=(
                FollowUp(
                    "Send the updated quotation for production and media",
                    "Fang Wang",
                    date(2026, 12, 2),
                ),
                FollowUp(
                    "Confirm the retail partners for the in-store launch", "Emma Clarke", None
                ),
            ),
        ),
    )
    # The Monday meeting's confirmation went out on Friday morning; 张敏 has not answered it.
    proposal = meetings[1]
    asked = Delivery(
        key=confirmation_key(proposal),
        kind="confirmation",
        message_id="<confirm-ys@agency.example.cn>",
        sent_at=shanghai(27, 10),
        recipients=(
            RecipientStatus(LI.email, DeliveryStatus.CONFIRMED, detail="reply"),
            RecipientStatus(ZHANG.email, DeliveryStatus.DELIVERED),
            RecipientStatus(CREATIVE.email, DeliveryStatus.SENT),
        ),
        client=YUNSHAN.name,
        meeting=proposal.key,
    )
    return PlanState(
        ae=AEInfo(ae, "manager@agency.example.cn", phone=PHONES[language], language=language),
        clients=(YUNSHAN, NORTHWIND),
        meetings=() if empty else meetings,
        deliveries=() if empty else (asked,),
        done=frozenset({asked.key}),
        workdays=WorkingCalendar(SHANGHAI, country="CN"),
        minutes=() if empty else minutes,
    )


def planned(language: str, kind: str, *, empty: bool = False) -> Action:
    """This week's action of ``kind`` (for a client mail: the client writing in ``language``)."""
    policy = WeeklyPolicy(send_empty=empty)
    client = YUNSHAN if language == "zh-CN" else NORTHWIND
    actions = [
        a
        for a in weekly_actions(world(language, empty=empty), policy, SHANGHAI, FRIDAY)
        if a.kind == kind and a.due.date() == FRIDAY.date()
    ]
    if kind == "weekly":
        actions = [a for a in actions if a.client == client.name]
    (action,) = actions
    return action


def context(action: Action, language: str) -> dict[str, object]:
    """What the shell's composer gives the templates: the data, the AE, the local time."""
    return {
        **action.data,
        "ae": {"name": AE_NAMES[language], "email": AE_EMAIL, "phone": PHONES[language]},
        "now_local": "2026-11-27 16:30",
    }


@pytest.fixture(scope="module")
def renderer() -> Renderer:
    return Renderer()


@pytest.mark.parametrize("language", LANGUAGES)
def test_a_clients_schedule_reads_as_its_golden_files(renderer: Renderer, language: str) -> None:
    action = planned(language, "weekly")
    assert len(cast(list[object], action.data["meetings"])) == 2
    mail = renderer.render("weekly", language, context(action, language))
    assert_matches_golden(mail, language, "weekly")


@pytest.mark.parametrize("language", LANGUAGES)
def test_an_empty_schedule_reads_as_its_golden_files(renderer: Renderer, language: str) -> None:
    action = planned(language, "weekly", empty=True)
    assert action.data["empty"] is True
    mail = renderer.render("weekly", language, context(action, language))
    assert_matches_golden(mail, language, "weekly_empty")


@pytest.mark.parametrize("language", LANGUAGES)
def test_the_teams_schedule_reads_as_its_golden_files(renderer: Renderer, language: str) -> None:
    action = planned(language, "weekly_team")
    mail = renderer.render("weekly_team", language, context(action, language))
    assert_matches_golden(mail, language, "weekly_team")


def test_both_weekly_kinds_have_built_in_templates_in_both_languages(renderer: Renderer) -> None:
    assert {"weekly", "weekly_team"} <= set(renderer.kinds())
    for language in LANGUAGES:
        for kind in ("weekly", "weekly_team"):
            assert renderer.render(kind, language, context(planned(language, kind), language))


@pytest.mark.parametrize("kind", ["weekly", "weekly_team"])
def test_untrusted_text_is_escaped_in_html_and_kept_as_written_in_text(
    renderer: Renderer, kind: str
) -> None:
    hostile = '<b onclick="x()">A & B</b>'
    state = world("en")
    meetings = tuple(
        replace(m, subject=hostile, location=hostile) if m.uid == "nw-proposal" else m
        for m in state.meetings
    )
    action = next(
        a
        for a in weekly_actions(replace(state, meetings=meetings), WeeklyPolicy(), SHANGHAI, FRIDAY)
        if a.kind == kind and a.client in ("", NORTHWIND.name) and a.due.date() == FRIDAY.date()
    )
    mail = renderer.render(kind, "en", context(action, "en"))
    assert hostile in mail.text
    assert hostile not in mail.html
    assert "&lt;b onclick=&#34;x()&#34;&gt;A &amp; B&lt;/b&gt;" in mail.html
