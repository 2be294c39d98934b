"""A sample workspace for ``aeflow demo``: a config, a vdir calendar and Maildirs, dated around
``now``.

Everything here is invented: two clients at example domains, their meetings, and the mail that came
back after aeflow had written to them (a read receipt, a meeting acceptance, a bounce, an automatic
reply, an ordinary reply).
"""

from __future__ import annotations

import mailbox
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from email.utils import format_datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from mailer.port import KEY_HEADER

ZONE = ZoneInfo("Asia/Shanghai")
AE = "xiaoming.wang@agency.example"

CONFIG = """\
# The demo's configuration: see config.example.toml and docs/CONFIG.md for every key.
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


def _stamp(moment: datetime) -> str:
    return moment.strftime("%Y%m%dT%H%M%S")


def _ics(*lines: str) -> str:
    return "\r\n".join(lines) + "\r\n"


def calendar_files(first_day: date, now: datetime) -> dict[str, str]:
    """The vdir's files, named as a vdir names them (one event or series per file)."""
    day = first_day.strftime("%Y%m%d")
    created = now.strftime("%Y%m%dT%H%M%SZ")
    weekly_start = first_day + timedelta(days=1)
    wday = weekly_start.strftime("%Y%m%d")
    moved = weekly_start + timedelta(days=7)
    skipped = weekly_start + timedelta(days=14)
    return {
        "acme-brief.ics": _ics(
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//aeflow//demo//EN",
            "BEGIN:VEVENT",
            "UID:acme-brief-demo@agency.example",
            f"DTSTAMP:{created}",
            f"DTSTART;TZID=Asia/Shanghai:{day}T100000",
            f"DTEND;TZID=Asia/Shanghai:{day}T113000",
            "SUMMARY:Acme summer campaign brief",
            "LOCATION:Acme HQ\\, meeting room 3",
            "DESCRIPTION:Agenda:\\n1. The brief and its goals - 30 min\\n"
            "2. Creative directions - 45 min\\n3. Next steps - 15 min",
            "CATEGORIES:Client: Acme",
            f"ORGANIZER;CN=王小明:mailto:{AE}",
            "ATTENDEE;CN=Jane Doe;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:"
            "mailto:jane.doe@acme-bev.example",
            "ATTENDEE;CN=Tom Lee;ROLE=REQ-PARTICIPANT;PARTSTAT=NEEDS-ACTION;RSVP=TRUE:"
            "mailto:tom.lee@acme-bev.example",
            "ATTENDEE;CN=Mei Zhang;ROLE=OPT-PARTICIPANT;PARTSTAT=ACCEPTED:"
            "mailto:mei.zhang@agency.example",
            "SEQUENCE:0",
            "END:VEVENT",
            "END:VCALENDAR",
        ),
        # Outlook writes Windows zone names; this series also has a moved and a cancelled week.
        "huadong-weekly.ics": _ics(
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:Microsoft Exchange Server 2010",
            "METHOD:PUBLISH",
            "BEGIN:VTIMEZONE",
            "TZID:China Standard Time",
            "BEGIN:STANDARD",
            "DTSTART:16010101T000000",
            "TZOFFSETFROM:+0800",
            "TZOFFSETTO:+0800",
            "END:STANDARD",
            "END:VTIMEZONE",
            "BEGIN:VEVENT",
            "UID:huadong-weekly-demo@agency.example",
            f"DTSTAMP:{created}",
            f"DTSTART;TZID=China Standard Time:{wday}T140000",
            f"DTEND;TZID=China Standard Time:{wday}T150000",
            "RRULE:FREQ=WEEKLY;COUNT=6",
            f"EXDATE;TZID=China Standard Time:{skipped.strftime('%Y%m%d')}T140000",
            "SUMMARY:华东食品 周例会",
            "LOCATION:华东食品 3楼会议室",
            "CATEGORIES:客户：华东食品",
            f"ORGANIZER;CN=王小明:mailto:{AE}",
            "ATTENDEE;CN=刘总;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:liu@huadong-food.example",
            "ATTENDEE;CN=赵婷;ROLE=REQ-PARTICIPANT;PARTSTAT=ACCEPTED:mailto:ting.zhao@agency.example",
            "END:VEVENT",
            "BEGIN:VEVENT",
            "UID:huadong-weekly-demo@agency.example",
            f"DTSTAMP:{created}",
            f"RECURRENCE-ID;TZID=China Standard Time:{moved.strftime('%Y%m%d')}T140000",
            f"DTSTART;TZID=China Standard Time:{moved.strftime('%Y%m%d')}T160000",
            f"DTEND;TZID=China Standard Time:{moved.strftime('%Y%m%d')}T170000",
            "SUMMARY:华东食品 周例会（改期）",
            "LOCATION:华东食品 3楼会议室",
            "CATEGORIES:客户：华东食品",
            f"ORGANIZER;CN=王小明:mailto:{AE}",
            "ATTENDEE;CN=刘总;ROLE=REQ-PARTICIPANT;PARTSTAT=TENTATIVE:mailto:liu@huadong-food.example",
            "SEQUENCE:1",
            "END:VEVENT",
            "END:VCALENDAR",
        ),
        # Tagged with a client's category but without its people: an invitation to be.
        "acme-review-tagged.ics": _ics(
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//aeflow//demo//EN",
            "BEGIN:VEVENT",
            "UID:acme-review-demo@agency.example",
            f"DTSTAMP:{created}",
            f"DTSTART;TZID=Asia/Shanghai:{(first_day + timedelta(days=3)).strftime('%Y%m%d')}"
            "T150000",
            f"DTEND;TZID=Asia/Shanghai:{(first_day + timedelta(days=3)).strftime('%Y%m%d')}T160000",
            "SUMMARY:Acme creative review",
            "CATEGORIES:Client: Acme",
            "END:VEVENT",
            "END:VCALENDAR",
        ),
        "team-offsite.ics": _ics(
            "BEGIN:VCALENDAR",
            "VERSION:2.0",
            "PRODID:-//aeflow//demo//EN",
            "BEGIN:VEVENT",
            "UID:team-offsite-demo@agency.example",
            f"DTSTAMP:{created}",
            f"DTSTART;VALUE=DATE:{(first_day + timedelta(days=2)).strftime('%Y%m%d')}",
            f"DTEND;VALUE=DATE:{(first_day + timedelta(days=3)).strftime('%Y%m%d')}",
            "SUMMARY:Team offsite",
            "END:VEVENT",
            "END:VCALENDAR",
        ),
        "broken.ics": "BEGIN:VCALENDAR\r\nBEGIN:VEVENT\r\nSUMMARY:half a file\r\n",
    }


def _mail(sender: str, to: str, subject: str, sent: datetime, message_id: str) -> EmailMessage:
    message = EmailMessage()
    message["From"] = sender
    message["To"] = to
    message["Subject"] = subject
    message["Date"] = format_datetime(sent)
    message["Message-ID"] = message_id
    return message


def sent_messages(now: datetime) -> list[EmailMessage]:
    """What aeflow had sent before the demo starts, each stamped with its action key."""
    earlier = now - timedelta(hours=6)
    confirm = _mail(
        AE,
        "jane.doe@acme-bev.example, tom.lee@acme-bev.example",
        "Confirmation: Acme summer campaign brief",
        earlier,
        "<confirm-1@agency.example>",
    )
    confirm[KEY_HEADER] = "confirm:acme-brief-demo@agency.example:demo"
    confirm["Disposition-Notification-To"] = AE
    confirm.set_content("Please confirm you received this notice.")
    weekly = _mail(
        AE, "liu@huadong-food.example", "下周工作安排", earlier, "<weekly-1@agency.example>"
    )
    weekly[KEY_HEADER] = "weekly:华东食品:demo"
    weekly["Disposition-Notification-To"] = AE
    weekly.set_content("下周工作安排见附件。")
    return [confirm, weekly]


def inbox_messages(now: datetime) -> dict[str, bytes]:
    """What came back, as the sending software writes it: one of each kind aeflow tells apart."""
    date = format_datetime(now - timedelta(hours=2))
    stamp = _stamp(now - timedelta(hours=2))
    texts = {
        "read-receipt.eml": f"""\
From: Jane Doe <jane.doe@acme-bev.example>
To: xiaoming.wang@agency.example
Subject: Read: Confirmation: Acme summer campaign brief
Date: {date}
Message-ID: <mdn-1@acme-bev.example>
MIME-Version: 1.0
Content-Type: multipart/report; report-type=disposition-notification; boundary="b1"

--b1
Content-Type: text/plain; charset=utf-8

Your message was read on {date}.
--b1
Content-Type: message/disposition-notification

Reporting-UA: mail.acme-bev.example
Final-Recipient: rfc822;jane.doe@acme-bev.example
Original-Message-ID: <confirm-1@agency.example>
Disposition: manual-action/MDN-sent-manually; displayed

--b1--
""",
        "bounce.eml": f"""\
From: MAILER-DAEMON@mx.acme-bev.example (Mail Delivery System)
To: xiaoming.wang@agency.example
Subject: Undelivered Mail Returned to Sender
Date: {date}
Message-ID: <dsn-1@mx.acme-bev.example>
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8

I'm sorry to have to inform you that your message could not be delivered.

<tom.lee@acme-bev.example>: mailbox unknown
--b2
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.acme-bev.example

Final-Recipient: rfc822; tom.lee@acme-bev.example
Action: failed
Status: 5.1.1
Diagnostic-Code: smtp; 550 5.1.1 <tom.lee@acme-bev.example>: mailbox unknown

--b2
Content-Type: text/rfc822-headers

From: xiaoming.wang@agency.example
To: tom.lee@acme-bev.example
Subject: Confirmation: Acme summer campaign brief
Message-ID: <confirm-1@agency.example>

--b2--
""",
        "auto-reply.eml": f"""\
From: =?utf-8?b?5YiY5oC7?= <liu@huadong-food.example>
To: xiaoming.wang@agency.example
Subject: =?utf-8?b?6Ieq5Yqo562U5aSNOiDkuIvlkajlt6XkvZzlronmjpI=?=
Date: {date}
Message-ID: <oof-1@huadong-food.example>
In-Reply-To: <weekly-1@agency.example>
Auto-Submitted: auto-replied
X-Auto-Response-Suppress: All
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

我正在休假，下周一回来。
""",
        "reply.eml": f"""\
From: =?utf-8?b?5YiY5oC7?= <liu@huadong-food.example>
To: xiaoming.wang@agency.example
Subject: =?utf-8?b?UmU6IOS4i+WRqOW3peS9nOWuieaOkg==?=
Date: {date}
Message-ID: <reply-1@huadong-food.example>
In-Reply-To: <weekly-1@agency.example>
References: <weekly-1@agency.example>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: 8bit

收到，谢谢。
""",
        "meeting-accepted.eml": f"""\
From: Tom Lee <tom.lee@acme-bev.example>
To: xiaoming.wang@agency.example
Subject: Accepted: Acme summer campaign brief
Date: {date}
Message-ID: <itip-1@acme-bev.example>
MIME-Version: 1.0
Content-Type: text/calendar; charset=utf-8; method=REPLY

BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Acme//Mail//EN
METHOD:REPLY
BEGIN:VEVENT
UID:acme-brief-demo@agency.example
DTSTAMP:{stamp}Z
ATTENDEE;PARTSTAT=ACCEPTED;CN=Tom Lee:mailto:tom.lee@acme-bev.example
ORGANIZER:mailto:{AE}
END:VEVENT
END:VCALENDAR
""",
    }
    out = {name: text.replace("\n", "\r\n").encode("utf-8") for name, text in texts.items()}
    out["garbage.eml"] = b"\x00\x01 this is not a mail"
    return out


def write_workspace(folder: Path, now: datetime, first_day: date) -> Path:
    """Write the sample workspace into ``folder``; return the path of its config."""
    folder.mkdir(parents=True, exist_ok=True)
    config = folder / "aeflow.toml"
    config.write_text(CONFIG, encoding="utf-8")
    calendar = folder / "calendar"
    calendar.mkdir(exist_ok=True)
    for name, text in calendar_files(first_day, now).items():
        (calendar / name).write_text(text, encoding="utf-8", newline="")
    (folder / "mail").mkdir(exist_ok=True)
    sent = mailbox.Maildir(folder / "mail" / "sent", create=True)
    for message in sent_messages(now):
        entry = mailbox.MaildirMessage(message)
        entry.set_subdir("cur")
        entry.set_flags("S")
        sent.add(entry)
    inbox = folder / "mail" / "inbox"
    mailbox.Maildir(inbox, create=True)
    for name, raw in inbox_messages(now).items():
        (inbox / "new" / f"demo-{name}").write_bytes(raw)
    return config
