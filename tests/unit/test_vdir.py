"""The vdir adapter: change detection over a folder of real .ics files.

Real corpus files are copied into a temporary folder at test time (the repository holds none) and
edited the way a client would rewrite them.
"""

from __future__ import annotations

import os
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from calendar_sync.ics import expand, parse_calendar
from calendar_sync.port import CalendarChanges
from calendar_sync.vdir import VdirCalendar
from rules.errors import NaiveDateTimeError, UnreadableInput
from tests.conftest import require_corpus

UTC = ZoneInfo("UTC")
BERLIN = ZoneInfo("Europe/Berlin")
YEAR_2024 = (datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC))
GXL = "exchange2010-request-gxl475.ics"  # six monthly occurrences, Jan-Jun 2024
GXL_UID = (
    "040000008200E00074C5B7101A82E0080000000000628DD5412CDA01000000000000000"
    "010000000364A1A3FF3EE024AAF97479096254D81"
)
EASTERN = "exchange2010-eastern-standard-time.ics"  # one event, 28 Oct 2024 21:00 UTC
EASTERN_UID = "minimal-demo-event-est-20241028@example.com"


def save(path: Path, data: bytes) -> None:
    """Write as an editor would; the stamp moves on even within one tick of a coarse clock."""
    before = path.stat().st_mtime_ns if path.exists() else 0
    path.write_bytes(data)
    stamp = max(path.stat().st_mtime_ns, before + 1_000_000)
    os.utime(path, ns=(stamp, stamp))


def corpus(name: str) -> bytes:
    return (require_corpus("ics") / name).read_bytes()


def sync(folder: Path, state: str | None = None, zone: ZoneInfo = BERLIN) -> CalendarChanges:
    return VdirCalendar(folder, zone).sync(state, *YEAR_2024)


def test_a_new_file_is_reported_with_all_its_occurrences(tmp_path: Path) -> None:
    first = sync(tmp_path)
    assert first.upserted == () and first.problems == ()
    save(tmp_path / "gxl.ics", corpus(GXL))
    changes = sync(tmp_path, first.state)
    assert len(changes.upserted) == 6
    assert {m.uid for m in changes.upserted} == {GXL_UID}
    assert changes.upserted[0].start == datetime(2024, 1, 8, 12, tzinfo=UTC)


def test_an_edited_file_reports_only_its_changes(tmp_path: Path) -> None:
    save(tmp_path / "gxl.ics", corpus(GXL))
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    first = sync(tmp_path)
    edited = corpus(EASTERN).replace(b"SUMMARY:Anonymous Test Event", b"SUMMARY:Client review")
    save(tmp_path / "eastern.ics", edited)
    changes = sync(tmp_path, first.state)
    assert [(m.key, m.subject) for m in changes.upserted] == [
        (EASTERN_UID, "Client review for TZID")
    ]
    assert changes.removed == ()


def test_a_deleted_file_removes_every_occurrence_it_gave(tmp_path: Path) -> None:
    save(tmp_path / "gxl.ics", corpus(GXL))
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    first = sync(tmp_path)
    (tmp_path / "gxl.ics").unlink()
    changes = sync(tmp_path, first.state)
    assert changes.upserted == ()
    assert len(changes.removed) == 6
    assert all(key.startswith(GXL_UID + "/") for key in changes.removed)


def test_an_exdate_added_to_a_series_removes_only_that_occurrence(tmp_path: Path) -> None:
    save(tmp_path / "gxl.ics", corpus(GXL))
    first = sync(tmp_path)
    # 11 March 2024 13:00 CET is the third occurrence, 12:00 UTC.
    excluded = corpus(GXL).replace(
        b"RRULE:", b"EXDATE;TZID=W. Europe Standard Time:20240311T130000\nRRULE:"
    )
    save(tmp_path / "gxl.ics", excluded)
    changes = sync(tmp_path, first.state)
    assert changes.removed == (f"{GXL_UID}/2024-03-11T12:00:00+00:00",)
    assert changes.upserted == ()


def test_a_moved_meeting_is_an_upsert_with_the_same_key_and_the_new_start(
    tmp_path: Path,
) -> None:
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    first = sync(tmp_path)
    moved = corpus(EASTERN).replace(b"20241028T170000", b"20241029T090000")
    moved = moved.replace(b"20241028T180000", b"20241029T100000")
    save(tmp_path / "eastern.ics", moved)
    changes = sync(tmp_path, first.state)
    (meeting,) = changes.upserted
    # 29 Oct 2024 09:00 in New York, still on EDT (UTC-4).
    assert (meeting.key, meeting.start) == (EASTERN_UID, datetime(2024, 10, 29, 13, tzinfo=UTC))
    assert changes.removed == ()


def test_a_corrupt_file_is_a_problem_while_the_others_go_on_and_its_meetings_stay(
    tmp_path: Path,
) -> None:
    save(tmp_path / "gxl.ics", corpus(GXL))
    first = sync(tmp_path)
    save(tmp_path / "gxl.ics", corpus(GXL)[:300])  # cut off mid-VTIMEZONE
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    changes = sync(tmp_path, first.state)
    assert [m.key for m in changes.upserted] == [EASTERN_UID]
    assert changes.removed == ()
    (problem,) = changes.problems
    assert problem.where == str(tmp_path / "gxl.ics")
    assert "fix or remove the file" in problem.message
    # Once mended, nothing is reported again: its meetings never went away.
    save(tmp_path / "gxl.ics", corpus(GXL))
    mended = sync(tmp_path, changes.state)
    assert (mended.upserted, mended.removed, mended.problems) == ((), (), ())


def test_a_file_whose_events_are_all_unreadable_keeps_its_meetings(tmp_path: Path) -> None:
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    first = sync(tmp_path)
    broken = corpus(EASTERN).replace(b"DTSTART;TZID=Eastern Standard Time:", b"DTSTART:soon")
    save(tmp_path / "eastern.ics", broken)
    changes = sync(tmp_path, first.state)
    assert changes.removed == () and changes.upserted == ()
    assert changes.problems and "DTSTART" in changes.problems[0].message


def test_a_file_with_a_utf8_bom_is_read(tmp_path: Path) -> None:
    save(tmp_path / "bom.ics", b"\xef\xbb\xbf" + corpus(EASTERN))
    changes = sync(tmp_path)
    assert [m.key for m in changes.upserted] == [EASTERN_UID]
    assert changes.problems == ()


def test_dotfiles_and_other_files_are_ignored_and_a_folder_named_ics_is_reported_once(
    tmp_path: Path,
) -> None:
    save(tmp_path / ".hidden.ics", corpus(EASTERN))
    save(tmp_path / "notes.txt", corpus(EASTERN))
    (tmp_path / "folder.ics").mkdir()
    save(tmp_path / "gxl.ICS", corpus(GXL))
    changes = sync(tmp_path)
    assert {m.uid for m in changes.upserted} == {GXL_UID}
    assert [(Path(p.where).name, p.message) for p in changes.problems] == [
        ("folder.ics", "it is a directory, not a regular file; remove it")
    ]
    assert sync(tmp_path, changes.state).problems == ()


def test_a_file_whose_stamp_did_not_change_is_not_read_again(tmp_path: Path) -> None:
    path = tmp_path / "eastern.ics"
    save(path, corpus(EASTERN))
    first = sync(tmp_path)
    stamp = path.stat().st_mtime_ns
    # Same size, same time, different (broken) content: only a re-read would notice.
    path.write_bytes(b"x" * len(corpus(EASTERN)))
    os.utime(path, ns=(stamp, stamp))
    quiet = sync(tmp_path, first.state)
    assert (quiet.upserted, quiet.removed, quiet.problems) == ((), (), ())
    os.utime(path, ns=(stamp + 1_000_000, stamp + 1_000_000))
    assert sync(tmp_path, first.state).problems


def test_a_new_window_expands_the_files_again(tmp_path: Path) -> None:
    save(tmp_path / "gxl.ics", corpus(GXL))
    vdir = VdirCalendar(tmp_path, BERLIN)
    first = vdir.sync(None, datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 4, 1, tzinfo=UTC))
    assert len(first.upserted) == 3
    later = vdir.sync(
        first.state, datetime(2024, 3, 1, tzinfo=UTC), datetime(2024, 6, 1, tzinfo=UTC)
    )
    # January and February leave the window, March stays (not reported), April and May enter.
    assert [m.start.month for m in later.upserted] == [4, 5]
    assert later.removed == (
        f"{GXL_UID}/2024-01-08T12:00:00+00:00",
        f"{GXL_UID}/2024-02-12T12:00:00+00:00",
    )


def test_a_new_user_zone_moves_all_day_events(tmp_path: Path) -> None:
    save(tmp_path / "allday.ics", corpus("google-export-allday.ics"))
    window = (datetime(2020, 8, 1, tzinfo=UTC), datetime(2020, 9, 1, tzinfo=UTC))
    berlin = VdirCalendar(tmp_path, BERLIN).sync(None, *window)
    shanghai = VdirCalendar(tmp_path, ZoneInfo("Asia/Shanghai")).sync(berlin.state, *window)
    (moved,) = shanghai.upserted
    assert moved.key == berlin.upserted[0].key
    assert moved.start - berlin.upserted[0].start == timedelta(hours=-6)


def test_a_missing_folder_is_a_problem_and_removes_nothing(tmp_path: Path) -> None:
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    first = sync(tmp_path)
    moved_away = tmp_path.parent / (tmp_path.name + "-elsewhere")
    tmp_path.rename(moved_away)
    try:
        changes = sync(tmp_path, first.state)
        assert changes.removed == () and changes.upserted == ()
        assert "cannot be read" in changes.problems[0].message
        assert changes.state == first.state
    finally:
        moved_away.rename(tmp_path)


def test_the_same_event_in_two_files_is_a_problem(tmp_path: Path) -> None:
    save(tmp_path / "a.ics", corpus(EASTERN))
    save(tmp_path / "b.ics", corpus(EASTERN))
    changes = sync(tmp_path)
    assert [m.key for m in changes.upserted] == [EASTERN_UID]
    assert any("a.ics" in p.message and p.where.endswith("b.ics") for p in changes.problems)


def test_an_unreadable_state_starts_afresh_with_a_problem(tmp_path: Path) -> None:
    save(tmp_path / "eastern.ics", corpus(EASTERN))
    changes = sync(tmp_path, "{not json")
    assert [m.key for m in changes.upserted] == [EASTERN_UID]
    assert "state" in changes.problems[0].message


def test_a_naive_window_is_refused(tmp_path: Path) -> None:
    with pytest.raises(NaiveDateTimeError):
        VdirCalendar(tmp_path, BERLIN).sync(None, datetime(2024, 1, 1), YEAR_2024[1])


def test_the_whole_corpus_as_a_vdir(tmp_path: Path) -> None:
    folder = require_corpus("ics")
    expected: dict[str, int] = {}
    for path in sorted(folder.glob("*.ics")):
        shutil.copyfile(path, tmp_path / path.name)
        try:
            parsed = parse_calendar(path.read_bytes(), path.name, BERLIN)
        except UnreadableInput:
            continue
        expected[path.name] = len(expand(parsed, *YEAR_2024)) if parsed.events else 0
    changes = sync(tmp_path)
    unreadable = [p for p in changes.problems if "fix or remove" in p.message]
    assert [Path(p.where).name for p in unreadable] == ["outlook11-invalid-boeing.ics"]
    # The Google and iCloud requests share their UIDs with their cancellations, which give no
    # meeting; so every occurrence of every readable file is reported exactly once.
    assert len({m.key for m in changes.upserted}) == len(changes.upserted)
    assert len(changes.upserted) == sum(expected.values())
    again = sync(tmp_path, changes.state)
    assert (again.upserted, again.removed) == ((), ())
