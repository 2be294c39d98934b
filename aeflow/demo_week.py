"""The demo's week: its configuration, its calendar, and what the world does when.

The week is the next full working week from ``today`` (so the demo always runs in the near future
and never across a public holiday); the simulation starts on the working day before it.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path

from aeflow.demo_world import (
    JANE,
    LIU,
    MEI,
    TING,
    TOM,
    TYPO,
    Event,
    World,
    ics_time,
    local,
    people,
)
from rules.workdays import WorkingCalendar

CONFIG = """\
# The demo's configuration: every key is described in docs/CONFIG.md.
[ae]
name = "王小明"
email = "xiaoming.wang@agency.example"
phone = "+86 21 5555 0100"
manager = "lihua.chen@agency.example"
timezone = "Asia/Shanghai"
language = "zh-CN"

[backend]
kind = "local"
calendar = "calendar"
inbox = "mail/inbox"
sent = "mail/sent"
state = "state/aeflow.json"

[workdays]
country = "CN"

[[clients]]
name = "Acme Beverages"
domains = ["acme-bev.example"]
category = "Client: Acme"
language = "en"

  [[clients.contacts]]
  name = "Jane Doe"
  email = "jane.doe@acme-bev.example"
  decision_maker = true
  weekly = true

  [[clients.contacts]]
  name = "Tom Lee"
  email = "tom.lee@acme-bev.example"

  [[clients.team]]
  name = "Mei Zhang"
  email = "mei.zhang@agency.example"

[[clients]]
name = "华东食品"
domains = ["huadong-food.example"]
category = "客户：华东食品"
language = "zh-CN"

  [[clients.contacts]]
  name = "刘总"
  email = "liu@huadong-food.example"
  decision_maker = true
  weekly = true

  [[clients.team]]
  name = "赵婷"
  email = "ting.zhao@agency.example"
"""

BRIEF = "brief.demo@agency.example"
WEEKLY = "weekly.demo@agency.example"
REVIEW = "review.demo@agency.example"
PACKAGING = "packaging.demo@agency.example"
MEDIA = "media.demo@agency.example"
PITCH = "pitch.demo@agency.example"
PITCH_NOTES = (
    "1. Recap of the brief - 15 min\n2. Creative concepts - 45 min\n"
    "3. Media ideas - 20 min\n4. Questions and next steps - 10 min\n"
    "Bring: the summer sales figures, product samples"
)
BRIEF_MINUTES = """## Conclusions / 结论
- Summer campaign targets young families in tier-2 cities.
- Two creative directions go forward: "Cool Down Together" and "Summer Stories".

## Next steps / 下一步 (what - owner - due date)
- Revise the key visual for both directions - Mei Zhang - {due}
- Send the media budget split - Tom Lee - {due}

## Open questions / 待定问题
- Does the budget include outdoor media?
"""
WEEKLY_MINUTES = """## Conclusions / 结论
- 新品包装沿用绿色主色调。

## Next steps / 下一步 (what - owner - due date)
- 提交包装设计二稿 - 赵婷 - {due}

## Open questions / 待定问题
- 无
"""
AGENDA = (
    "Agenda:\n1. The brief and its goals - 30 min\n2. Creative directions - 45 min\n"
    "3. Next steps - 15 min"
)


def demo_week(workdays: WorkingCalendar, today: date) -> list[date]:
    """The five days of the next week after ``today`` whose Monday to Friday all work."""
    monday = today + timedelta(days=7 - today.weekday())
    for _ in range(52):
        days = [monday + timedelta(days=n) for n in range(5)]
        before = workdays.previous_working_day(monday)
        if all(workdays.is_working_day(d) for d in days) and (monday - before).days <= 3:
            return days
        monday += timedelta(days=7)
    raise RuntimeError("no ordinary working week found in the next year")


def write_calendar(world: World, week: list[date]) -> None:
    mon, tue, wed, thu, fri = week
    world.calendar.mkdir(parents=True, exist_ok=True)
    world.write_event(
        "brief.ics",
        uid=BRIEF,
        start=ics_time(mon, "10:00"),
        end=ics_time(mon, "11:30"),
        summary="Acme summer campaign brief",
        location="Acme HQ, meeting room 3",
        attendees=people(JANE, TOM, MEI),
        description=AGENDA,
        category="Client: Acme",
    )
    world.write_event(
        "weekly.ics",
        uid=WEEKLY,
        start=ics_time(tue, "14:00"),
        end=ics_time(tue, "15:00"),
        summary="华东食品 周例会",
        location="华东食品 3楼会议室",
        attendees=people(LIU, TING),
        description="议题：上周进展 20分钟\n议题：新品包装 40分钟",
    )
    world.write_event(
        "review.ics",
        uid=REVIEW,
        start=ics_time(wed, "15:00"),
        end=ics_time(wed, "16:00"),
        summary="Acme creative review",
        location="Agency studio",
        attendees=people(JANE, TYPO, MEI),
    )
    world.write_event(
        "packaging.ics",
        uid=PACKAGING,
        start=ics_time(thu, "10:00"),
        end=ics_time(thu, "11:00"),
        summary="包装设计确认",
        location="华东食品 3楼会议室",
        attendees=people(LIU, TING),
    )
    world.write_event(
        "media.ics",
        uid=MEDIA,
        start=ics_time(fri, "16:00"),
        end=ics_time(fri, "17:00"),
        summary="Acme media plan",
        attendees=people(JANE, TOM),
    )
    (world.calendar / "offsite.ics").write_text(
        "BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//aeflow//demo//EN\r\nBEGIN:VEVENT\r\n"
        f"UID:offsite.demo@agency.example\r\nDTSTAMP:20260101T000000Z\r\n"
        f"DTSTART;VALUE=DATE:{thu.strftime('%Y%m%d')}\r\n"
        f"DTEND;VALUE=DATE:{fri.strftime('%Y%m%d')}\r\nSUMMARY:Team offsite\r\n"
        "END:VEVENT\r\nEND:VCALENDAR\r\n",
        encoding="utf-8",
        newline="",
    )


def events(week: list[date], eve: date) -> list[Event]:
    """What the world does, in order."""
    mon, tue, wed, thu, fri = week

    def move_packaging(w: World) -> None:
        w.write_event(
            "packaging.ics",
            uid=PACKAGING,
            start=ics_time(fri, "10:00"),
            end=ics_time(fri, "11:00"),
            summary="包装设计确认",
            location="华东食品 3楼会议室",
            attendees=people(LIU, TING),
            sequence="1",
        )

    def cancel_media(w: World) -> None:
        w.write_event(
            "media.ics",
            uid=MEDIA,
            start=ics_time(fri, "16:00"),
            end=ics_time(fri, "17:00"),
            summary="Acme media plan",
            attendees=people(JANE, TOM),
            status="CANCELLED",
            sequence="1",
        )

    def book_pitch(w: World) -> None:
        # A plain appointment, as the AE puts it in their calendar: a category, notes, nobody
        # invited. aeflow turns it into a meeting request to Acme's contacts and team.
        w.write_event(
            "pitch.ics",
            uid=PITCH,
            start=ics_time(thu, "14:00"),
            end=ics_time(thu, "15:30"),
            summary="Acme summer campaign: creative pitch",
            location="Agency studio, 8F",
            description=PITCH_NOTES,
            category="Client: Acme",
            organizer=False,
        )

    def move_pitch(w: World) -> None:
        # Edited in place, as a calendar program does: the attendees aeflow noted stay.
        w.edit_event("pitch.ics", ics_time(thu, "14:00"), ics_time(thu, "16:00"))
        w.edit_event("pitch.ics", ics_time(thu, "15:30"), ics_time(thu, "17:30"))

    found = [
        Event(
            local(eve, "09:00"),
            "the AE books Thursday's pitch with Acme: a tagged appointment, agenda in its notes",
            book_pitch,
        ),
        Event(
            local(mon, "10:30"),
            "Jane accepts the pitch's meeting request in her calendar (iTIP REPLY)",
            lambda w: w.respond(JANE, PITCH, "ACCEPTED", "Accepted"),
        ),
        Event(
            local(mon, "10:40"),
            "Tom's mail client sends a read receipt for the meeting request",
            lambda w: w.read_receipt(TOM, "invite:", "pitch"),
        ),
        Event(
            local(tue, "16:00"),
            "the AE moves Thursday's pitch from 14:00 to 16:00 in the calendar",
            move_pitch,
        ),
        Event(
            local(tue, "16:30"),
            "Jane accepts the updated meeting request",
            lambda w: w.respond(JANE, PITCH, "ACCEPTED", "Accepted"),
        ),
        Event(
            local(tue, "16:40"),
            "Tom's mail client sends a read receipt for the update",
            lambda w: w.read_receipt(TOM, "invite:", "pitch"),
        ),
        Event(
            local(eve, "11:00"),
            "Jane replies to the brief's confirmation",
            lambda w: w.reply(JANE, "confirm:", "brief", "Thanks, see you on Monday."),
        ),
        Event(
            local(eve, "11:30"),
            "Tom's mail client sends a read receipt",
            lambda w: w.read_receipt(TOM, "confirm:", "brief"),
        ),
        Event(
            local(mon, "11:00"),
            "刘总 declines the weekly meeting (iTIP REPLY)",
            lambda w: w.respond(LIU, WEEKLY, "DECLINED", "Declined"),
        ),
        Event(
            local(mon, "11:30"),
            "赵婷 accepts the weekly meeting",
            lambda w: w.respond(TING, WEEKLY, "ACCEPTED", "Accepted"),
        ),
        Event(
            local(tue, "10:05"),
            "t.lee@acme-bev.example does not exist: the server bounces",
            lambda w: w.bounce(TYPO, "confirm:", "review"),
        ),
        Event(
            local(wed, "12:00"),
            "the AE cancels Friday's media plan meeting in the calendar",
            cancel_media,
        ),
        Event(
            local(wed, "14:00"), "the AE moves 包装设计确认 from Thursday to Friday", move_packaging
        ),
        Event(
            local(mon, "14:00"),
            "the AE replies to the minutes prompt of the brief",
            lambda w: w.ae_reply("brief", BRIEF_MINUTES.format(due=wed.isoformat())),
        ),
        Event(
            local(wed, "16:00"),
            "the AE replies, late, with the weekly meeting's minutes",
            lambda w: w.ae_reply("weekly", WEEKLY_MINUTES.format(due=fri.isoformat())),
        ),
        Event(
            local(wed, "17:00"),
            "the AE replies to the review's prompt without writing anything",
            lambda w: w.ae_reply("review", ""),
        ),
        Event(
            local(thu, "11:00"),
            "刘总's mail client sends a read receipt",
            lambda w: w.read_receipt(LIU, "confirm:", "packaging"),
        ),
        Event(
            local(thu, "15:00"),
            "刘总 replies: he will be there",
            lambda w: w.reply(LIU, "confirm:", "packaging", "收到，周五准时参加。"),
        ),
    ]
    return sorted(found, key=lambda e: e.at)


def ticks(eve: date, friday: date, step: timedelta, extra: list[datetime]) -> list[datetime]:
    """Every ``step`` from 08:00 on the eve to 18:00 on the Friday (the AE's zone), and a tick
    right after each moment in ``extra`` (the world's events: a daemon syncs every few minutes)."""
    moment, end = local(eve, "08:00"), local(friday, "18:00")
    out = set()
    while moment <= end:
        out.add(moment)
        moment += step
    out.update(m + timedelta(minutes=5) for m in extra)
    return sorted(out)


def write_config(folder: Path) -> Path:
    path = folder / "aeflow.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path
