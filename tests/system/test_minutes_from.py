"""A reply to a minutes prompt is the AE's only when its From names the AE alone: anyone can put
the AE's address beside their own. Such a reply is refused with a note to the AE, never taken in
and never dropped without a word."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from aeflow.demo_week import BRIEF_MINUTES
from aeflow.demo_world import AE
from tests.system.test_minutes import MON, TUE, Week

MALLORY = "Mallory <mallory@evil.example>"


@pytest.fixture
def week(tmp_path: Path) -> Iterator[Week]:
    running = Week(tmp_path)
    running.at(MON, "12:00")  # the brief is over; its prompt goes to the AE
    assert len(running.sent("minutes-prompt:")) == 1
    try:
        yield running
    finally:
        running.app.close()


def reply(week: Week, from_lines: list[str]) -> None:
    """A reply to the brief's prompt holding proper minutes, with these From lines."""
    original, subject = week.world.sent("minutes-prompt:", "brief")  # type: ignore[misc]
    headers = "".join(f"From: {line}\n" for line in from_lines)
    week.world.deliver(
        f"{headers}To: {AE}\nSubject: Re: {subject}\n"
        f"Date: Mon, 30 Nov 2026 05:00:00 +0000\nMessage-ID: <from-test@agency.example>\n"
        f"In-Reply-To: {original}\nReferences: {original}\n"
        "Content-Type: text/plain; charset=utf-8\n\n" + BRIEF_MINUTES.format(due=TUE.isoformat())
    )


@pytest.mark.parametrize(
    "from_lines",
    [
        [f"王小明 <{AE}>, {MALLORY}"],
        [f"{MALLORY}, 王小明 <{AE}>"],
        [f"王小明 <{AE}>", MALLORY],
        [f"王小明 <{AE}>, undisclosed-recipients"],
    ],
    ids=["the AE first", "the AE second", "two From lines", "the AE and a non-address"],
)
def test_a_reply_from_the_ae_and_someone_else_is_refused_with_a_note_to_the_ae(
    week: Week, from_lines: list[str]
) -> None:
    reply(week, from_lines)
    assert week.at(MON, "13:05") == ["minutes_problem"]
    assert week.sent("minutes:") == []  # nothing went to the client
    (note,) = week.sent("minutes-note:")
    assert [a.addr_spec for a in note["To"].addresses] == [AE]
    text = note.get_body(("plain",)).get_content()  # type: ignore[union-attr]
    assert "From line names 2 senders, not you alone" in text
    assert "aeflow minutes submit" in text  # the way to send them if they were the AE's
    assert week.app.store.minutes_all() == []


def test_a_reply_from_the_ae_alone_is_still_taken_in(week: Week) -> None:
    reply(week, [f"王小明 <{AE}>"])
    assert "minutes" in week.at(MON, "13:05")
    assert week.sent("minutes-note:") == []
    assert len(week.sent("minutes:")) == 1


def test_a_reply_from_someone_else_alone_is_still_ignored(week: Week) -> None:
    reply(week, [MALLORY])
    sent = week.at(MON, "13:05")
    assert "minutes" not in sent and "minutes_problem" not in sent
