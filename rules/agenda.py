"""Agenda topics with their time, read from a meeting's body, and laid out on the clock.

Lines an AE writes in an appointment's body, in either language:
``1. Creative review - 30 min``, ``2) Budget (15 minutes)``, ``- Next steps: 10m``,
``议题：创意提案 30分钟``, ``二、预算讨论 15 分钟``. Lines without a duration are not topics.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

_NUMBERING = (
    r"(?:\d{1,2}[.)、:：]|[一二三四五六七八九十]+[、.:：]|[-*•·]"
    r"|议题\s*\d*\s*[:：]|议程\s*\d*\s*[:：])"
)
_TOPIC = re.compile(
    rf"^\s*(?:{_NUMBERING}\s*)?(?P<title>.+?)\s*[-–—:：(（,，]?\s*"
    r"(?P<minutes>\d{1,3})\s*(?:min(?:ute)?s?|m|分钟|分)\s*[)）]?\s*$",
    re.IGNORECASE,
)
MAX_TOPICS = 30
# A topic or "Bring:" line is short; a longer line is not one (and is not matched at all, so no
# line costs the patterns more than a bounded time).
MAX_LINE = 300
_SPACES = re.compile(r"\s+")


def _lines(body: str) -> list[str]:
    """The body's lines that could be topics, each with its runs of white space made one space:
    the patterns' optional spaces then have nothing to backtrack over."""
    out = []
    for line in body.splitlines():
        line = _SPACES.sub(" ", line).strip()
        if line and len(line) <= MAX_LINE:
            out.append(line)
    return out


@dataclass(frozen=True)
class Topic:
    title: str
    minutes: int


@dataclass(frozen=True)
class ScheduledTopic:
    title: str
    minutes: int
    start: datetime
    end: datetime


def parse_agenda(body: str) -> tuple[Topic, ...]:
    """The topics with a duration found in ``body``, in order (at most ``MAX_TOPICS``)."""
    topics: list[Topic] = []
    for line in _lines(body):
        match = _TOPIC.match(line)
        if not match or _BRING.match(line):
            continue
        title = match["title"].strip(" \t-–—:：(（,，")
        minutes = int(match["minutes"])
        if title and 0 < minutes <= 600:
            topics.append(Topic(title[:200], minutes))
        if len(topics) == MAX_TOPICS:
            break
    return tuple(topics)


def schedule(topics: tuple[Topic, ...], start: datetime) -> tuple[ScheduledTopic, ...]:
    """The topics laid end to end from ``start``."""
    out: list[ScheduledTopic] = []
    at = start
    for topic in topics:
        end = at + timedelta(minutes=topic.minutes)
        out.append(ScheduledTopic(topic.title, topic.minutes, at, end))
        at = end
    return tuple(out)


def overrun(topics: tuple[Topic, ...], length: timedelta) -> timedelta:
    """How much longer the topics take than the meeting has (zero when they fit)."""
    total = timedelta(minutes=sum(t.minutes for t in topics))
    return max(total - length, timedelta(0))


_BRING = re.compile(
    r"^\s*(?:[-*•·]\s*)?(?:please\s+)?(?:what\s+to\s+bring|bring|请携带|需携带|携带|需准备|请准备)"
    r"\s*[:：]\s*(?P<items>.+?)\s*$",
    re.IGNORECASE,
)
_ITEM_SPLIT = re.compile(r"\s*[,，;；、]\s*")
MAX_BRING = 10


def parse_bring(body: str) -> tuple[str, ...]:
    """What the attendees are asked to bring, from ``Bring: a, b`` or ``请携带：甲、乙`` lines."""
    items: list[str] = []
    for line in _lines(body):
        match = _BRING.match(line)
        if not match:
            continue
        for item in _ITEM_SPLIT.split(match["items"]):
            item = item.strip(" \t.。")
            if item and item not in items:
                items.append(item[:200])
    return tuple(items[:MAX_BRING])
