"""Only regular files are read from the calendar folder and the inbox, without blocking and up to
a size cap. A FIFO (which blocked ``aeflow tick`` for ever), a symlink to /dev/zero (read until
memory ran out), a directory or a dangling symlink named ``*.ics``, and a file over the cap are
each reported once, and everything else is read as usual.

Whatever could block runs in a thread or a child process with a time limit, so a regression
fails the test instead of hanging it.
"""

from __future__ import annotations

import contextlib
import inspect
import os
import subprocess
import sys
import threading
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar
from zoneinfo import ZoneInfo

import pytest

import calendar_sync.files as calendar_files
import mailer.files as mailer_files
from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import config_from_dict
from aeflow.store import Store
from calendar_sync.vdir import VdirCalendar
from mailer.maildir import MaildirMailbox
from rules.errors import ConfigError, UnreadableInput
from tests.conftest import REPO

T = TypeVar("T")
SHANGHAI = ZoneInfo("Asia/Shanghai")
WINDOW = (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 31, tzinfo=UTC))
READERS = {"calendar_sync": calendar_files.read_regular, "mailer": mailer_files.read_regular}
MB = 1024 * 1024
MINIMAL: dict[str, object] = {
    "ae": {"name": "AE", "email": "ae@agency.example", "manager": "boss@agency.example"},
    "clients": [{"name": "Acme", "domains": ["acme.example"]}],
}

needs_dev_zero = pytest.mark.skipif(not os.path.exists("/dev/zero"), reason="no /dev/zero")
needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs here")


def finishes(call: Callable[[], T], fifos: Iterable[Path] = (), seconds: float = 30) -> T:
    """``call()``, failing (not hanging) when it has not returned within ``seconds``."""
    outcome: list[T] = []
    failure: list[BaseException] = []

    def run() -> None:
        try:
            outcome.append(call())
        except BaseException as error:
            failure.append(error)

    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    worker.join(seconds)
    if worker.is_alive():
        for fifo in fifos:  # a writer lets a reader blocked in open() go, and the thread end
            with contextlib.suppress(OSError):
                os.close(os.open(fifo, os.O_WRONLY | os.O_NONBLOCK))
        pytest.fail(f"still running after {seconds} s: blocked on a special file")
    if failure:
        raise failure[0]
    return outcome[0]


def event(uid: str, start: datetime, description: str = "") -> bytes:
    stamp = start.strftime("%Y%m%dT%H%M%SZ")
    end = (start + timedelta(hours=1)).strftime("%Y%m%dT%H%M%SZ")
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//aeflow tests//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20261201T000000Z",
        f"DTSTART:{stamp}",
        f"DTEND:{end}",
        "SUMMARY:Brief",
        *([f"DESCRIPTION:{description}"] if description else []),
        "END:VEVENT",
        "END:VCALENDAR",
        "",
    ]
    return "\r\n".join(lines).encode()


def message(number: int, size: int = 0) -> bytes:
    """A client's reply, padded to ``size`` bytes when given."""
    raw = (
        "From: Jane Doe <jane@acme.example>\r\n"
        "To: ae@agency.example\r\n"
        f"Subject: Re: brief {number}\r\n"
        f"Message-ID: <m{number}@acme.example>\r\n"
        "Date: Mon, 14 Dec 2026 10:00:00 +0800\r\n"
        "\r\n"
        "Thanks, see you then.\r\n"
    ).encode()
    return raw + b"x" * max(0, size - len(raw))


# --- the reader, in both packages -----------------------------------------------------------------


def test_the_two_readers_are_twins() -> None:
    # Neither package may import the other, so each has its own copy: they must not drift apart.
    for name in ("read_regular", "_kind", "_link", "_what", "_size", "_too_large"):
        mine = inspect.getsource(getattr(calendar_files, name))
        assert mine == inspect.getsource(getattr(mailer_files, name)), name
    assert calendar_files._FLAGS == mailer_files._FLAGS
    assert issubclass(calendar_files.RefusedFile, UnreadableInput)
    assert issubclass(mailer_files.RefusedFile, UnreadableInput)


@pytest.fixture(params=sorted(READERS))
def read(request: pytest.FixtureRequest) -> Callable[[Path, int, str], bytes]:
    return READERS[request.param]


def test_a_regular_file_and_a_symlink_to_one_are_read(
    tmp_path: Path, read: Callable[[Path, int, str], bytes]
) -> None:
    (tmp_path / "a.ics").write_bytes(b"hello")
    (tmp_path / "b.ics").symlink_to(tmp_path / "a.ics")
    assert read(tmp_path / "a.ics", 100, "[backend] max_ics_bytes") == b"hello"
    assert read(tmp_path / "b.ics", 100, "[backend] max_ics_bytes") == b"hello"


@needs_fifo
def test_a_fifo_is_refused_without_waiting_for_a_writer(
    tmp_path: Path, read: Callable[[Path, int, str], bytes]
) -> None:
    fifo = tmp_path / "x.ics"
    os.mkfifo(fifo)
    with pytest.raises(UnreadableInput) as caught:
        finishes(lambda: read(fifo, 100, "k"), [fifo])
    assert caught.value.reason == "it is a FIFO, not a regular file; remove it"


@needs_dev_zero
def test_a_symlink_to_dev_zero_is_refused_without_reading_it(
    tmp_path: Path, read: Callable[[Path, int, str], bytes]
) -> None:
    (tmp_path / "zero").symlink_to("/dev/zero")
    with pytest.raises(UnreadableInput) as caught:
        finishes(lambda: read(tmp_path / "zero", 10 * MB, "k"))
    assert "a symlink to '/dev/zero', a character device, not a regular file" in str(caught.value)


def test_a_directory_a_dangling_symlink_and_a_symlink_loop_are_refused(
    tmp_path: Path, read: Callable[[Path, int, str], bytes]
) -> None:
    (tmp_path / "dir.ics").mkdir()
    (tmp_path / "gone.ics").symlink_to(tmp_path / "nothing-here")
    (tmp_path / "loop.ics").symlink_to(tmp_path / "loop.ics")
    reasons = {}
    for name in ("dir.ics", "gone.ics", "loop.ics"):
        with pytest.raises(UnreadableInput) as caught:
            read(tmp_path / name, 100, "k")
        reasons[name] = caught.value.reason
    assert reasons["dir.ics"] == "it is a directory, not a regular file; remove it"
    assert "nothing-here" in reasons["gone.ics"] and "leads nowhere" in reasons["gone.ics"]
    assert "leads nowhere" in reasons["loop.ics"]


def test_a_file_over_the_cap_is_refused_naming_the_setting_and_one_at_the_cap_is_read(
    tmp_path: Path, read: Callable[[Path, int, str], bytes]
) -> None:
    (tmp_path / "at.eml").write_bytes(b"x" * 1000)
    (tmp_path / "big.eml").write_bytes(b"x" * (31 * MB))
    assert read(tmp_path / "at.eml", 1000, "k") == b"x" * 1000
    with pytest.raises(UnreadableInput) as caught:
        read(tmp_path / "big.eml", 25 * MB, "[backend] max_mail_bytes")
    assert caught.value.reason == (
        "it is 31 MB, over the 25 MB limit ([backend] max_mail_bytes); "
        "raise the limit or remove the file"
    )


@needs_fifo
def test_a_file_swapped_for_a_fifo_after_the_look_is_refused_by_its_open_descriptor(
    tmp_path: Path, read: Callable[[Path, int, str], bytes], monkeypatch: pytest.MonkeyPatch
) -> None:
    fifo, regular = tmp_path / "x.ics", tmp_path / "regular"
    os.mkfifo(fifo)
    regular.write_bytes(b"hello")
    real_stat = os.stat

    def stat_before_the_swap(path: object, *args: object, **kwargs: object) -> os.stat_result:
        return real_stat(regular if Path(str(path)) == fifo else path, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "stat", stat_before_the_swap)
    with pytest.raises(UnreadableInput) as caught:
        finishes(lambda: read(fifo, 100, "k"), [fifo])
    assert "a FIFO, not a regular file" in caught.value.reason


# --- the calendar folder --------------------------------------------------------------------------


@needs_fifo
@needs_dev_zero
def test_the_calendar_reports_each_special_file_once_and_reads_the_others(tmp_path: Path) -> None:
    (tmp_path / "good.ics").write_bytes(event("good@x", datetime(2026, 12, 10, 2, tzinfo=UTC)))
    os.mkfifo(tmp_path / "fifo.ics")
    (tmp_path / "zero.ics").symlink_to("/dev/zero")
    (tmp_path / "dir.ics").mkdir()
    (tmp_path / "gone.ics").symlink_to(tmp_path / "moved-away.ics")
    (tmp_path / "big.ics").write_bytes(b"x" * (11 * MB))  # over the 10 MB default
    calendar = VdirCalendar(tmp_path, SHANGHAI)
    fifos = [tmp_path / "fifo.ics"]

    first = finishes(lambda: calendar.sync(None, *WINDOW), fifos)
    assert [m.uid for m in first.upserted] == ["good@x"]
    said = {Path(p.where).name: p.message for p in first.problems}
    assert said == {
        "fifo.ics": "it is a FIFO, not a regular file; remove it",
        "zero.ics": "it is a symlink to '/dev/zero', a character device, not a regular file; "
        "remove it",
        "dir.ics": "it is a directory, not a regular file; remove it",
        "gone.ics": f"it is a symlink to {str(tmp_path / 'moved-away.ics')!r}, which leads "
        "nowhere; remove it",
        "big.ics": "it is 11 MB, over the 10 MB limit ([backend] max_ics_bytes); raise the "
        "limit or remove the file",
    }

    again = finishes(lambda: calendar.sync(first.state, *WINDOW), fifos)
    assert (again.upserted, again.removed, again.problems) == ((), (), ())
    # a new day moves the window: what was said is still not said again
    later = finishes(lambda: calendar.sync(again.state, WINDOW[0] + timedelta(days=1), WINDOW[1]))
    assert later.problems == ()


@needs_fifo
def test_a_calendar_file_swapped_for_a_fifo_keeps_its_meetings_and_says_so_once(
    tmp_path: Path,
) -> None:
    path = tmp_path / "brief.ics"
    path.write_bytes(event("brief@x", datetime(2026, 12, 10, 2, tzinfo=UTC)))
    calendar = VdirCalendar(tmp_path, SHANGHAI)
    first = calendar.sync(None, *WINDOW)
    path.unlink()
    os.mkfifo(path)
    swapped = finishes(lambda: calendar.sync(first.state, *WINDOW), [path])
    assert swapped.removed == () and swapped.upserted == ()
    (problem,) = swapped.problems
    assert problem.message == (
        "it is a FIFO, not a regular file; remove it (its meetings are kept as they were)"
    )
    quiet = finishes(lambda: calendar.sync(swapped.state, *WINDOW), [path])
    assert (quiet.removed, quiet.problems) == ((), ())
    path.unlink()
    path.write_bytes(event("brief@x", datetime(2026, 12, 11, 2, tzinfo=UTC)))
    mended = calendar.sync(quiet.state, *WINDOW)
    assert [m.start.day for m in mended.upserted] == [11] and mended.problems == ()


def test_a_file_refused_for_its_size_is_read_once_the_cap_is_raised(tmp_path: Path) -> None:
    (tmp_path / "long.ics").write_bytes(
        event("long@x", datetime(2026, 12, 10, 2, tzinfo=UTC), "notes " * 300)
    )
    small = VdirCalendar(tmp_path, SHANGHAI, max_bytes=1000)
    first = small.sync(None, *WINDOW)
    assert first.upserted == () and "over the 1,000 bytes limit" in first.problems[0].message
    assert small.sync(first.state, *WINDOW).problems == ()
    raised = VdirCalendar(tmp_path, SHANGHAI, max_bytes=10_000).sync(first.state, *WINDOW)
    assert [m.uid for m in raised.upserted] == ["long@x"] and raised.problems == ()


# --- the inbox ------------------------------------------------------------------------------------


@needs_fifo
@needs_dev_zero
def test_the_inbox_reports_each_special_message_once_and_reads_the_others(
    tmp_path: Path,
) -> None:
    inbox, sent = tmp_path / "inbox", tmp_path / "sent"
    box = MaildirMailbox(inbox, sent, "agency.example")
    (inbox / "new" / "1.good").write_bytes(message(1))
    os.mkfifo(inbox / "new" / "2.fifo")
    (inbox / "cur" / "3.zero:2,S").symlink_to("/dev/zero")
    (inbox / "new" / "4.big").write_bytes(message(4, size=31 * MB))  # over the 25 MB default
    (inbox / "new" / "5.gone").symlink_to(tmp_path / "nowhere")
    (inbox / "cur" / "6.good:2,S").write_bytes(message(6))
    fifos = [inbox / "new" / "2.fifo"]

    first = finishes(lambda: box.sync_inbox(None), fifos)
    assert sorted(s.message_id for s in first.signals) == ["<m1@acme.example>", "<m6@acme.example>"]
    said = {Path(p.where).name: p.message for p in first.problems}
    assert set(said) == {"2.fifo", "3.zero", "4.big", "5.gone"}
    assert said["2.fifo"] == (
        "it is a FIFO, not a regular file; remove it (the message is left unread)"
    )
    assert "a symlink to '/dev/zero', a character device" in said["3.zero"]
    assert said["4.big"] == (
        "it is 31 MB, over the 25 MB limit ([backend] max_mail_bytes); raise the limit or "
        "remove the file (the message is left unread)"
    )
    assert "leads nowhere" in said["5.gone"]

    again = finishes(lambda: box.sync_inbox(first.state), fifos)
    assert (again.signals, again.problems) == ((), ())
    # looking a message up by its Message-ID passes over the special files too
    assert finishes(lambda: box.fetch("<m6@acme.example>"), fifos) == message(6)
    assert finishes(lambda: box.fetch("<m4@acme.example>"), fifos) is None


def test_the_read_caps_default_to_10_and_25_mb_and_are_bounded() -> None:
    backend = config_from_dict(MINIMAL, Path("aeflow.toml")).backend
    assert (backend.max_ics_bytes, backend.max_mail_bytes) == (10 * 1024 * 1024, 25 * 1024 * 1024)
    raw = dict(MINIMAL)
    raw["backend"] = {"max_ics_bytes": 0, "max_mail_bytes": "25MB"}
    with pytest.raises(ConfigError) as caught:
        config_from_dict(raw, Path("aeflow.toml"))
    assert {p.where for p in caught.value.problems} == {
        "backend.max_ics_bytes",
        "backend.max_mail_bytes",
    }


def test_the_caps_in_the_config_reach_both_readers(tmp_path: Path) -> None:
    raw = {**MINIMAL, "backend": {"max_ics_bytes": 64 * 1024, "max_mail_bytes": 64 * 1024}}
    config = config_from_dict(raw, tmp_path / "aeflow.toml")
    app = bootstrap(config, FixedClock(WINDOW[0]), store=Store.memory())
    (tmp_path / "calendar" / "long.ics").parent.mkdir()
    (tmp_path / "calendar" / "long.ics").write_bytes(b"x" * (65 * 1024))
    (tmp_path / "mail" / "inbox" / "new" / "1.long").write_bytes(message(1, size=65 * 1024))
    calendar = app.calendar.sync(None, *WINDOW)
    inbox = app.mail.sync_inbox(None)
    assert "over the 65,536 bytes limit ([backend] max_ics_bytes)" in calendar.problems[0].message
    assert "over the 65,536 bytes limit ([backend] max_mail_bytes)" in inbox.problems[0].message
    app.close()


# --- the whole command ----------------------------------------------------------------------------


@needs_fifo
@needs_dev_zero
def test_sync_and_tick_finish_with_special_files_in_the_calendar_and_the_inbox(
    tmp_path: Path,
) -> None:
    (tmp_path / "aeflow.toml").write_text(
        '[ae]\nname = "AE"\nemail = "ae@agency.example"\nmanager = "boss@agency.example"\n'
        '[[clients]]\nname = "Acme"\ndomains = ["acme.example"]\n',
        encoding="utf-8",
    )
    calendar = tmp_path / "calendar"
    calendar.mkdir()
    soon = (datetime.now(UTC) + timedelta(days=2)).replace(minute=0, second=0, microsecond=0)
    (calendar / "good.ics").write_bytes(event("good@x", soon))
    os.mkfifo(calendar / "fifo.ics")
    (calendar / "big.ics").write_bytes(b"x" * (11 * MB))
    inbox = tmp_path / "mail" / "inbox"
    for sub in ("new", "cur", "tmp"):
        (inbox / sub).mkdir(parents=True)
    (inbox / "new" / "1.good").write_bytes(message(1))
    os.mkfifo(inbox / "new" / "2.fifo")
    (inbox / "new" / "3.zero").symlink_to("/dev/zero")
    (inbox / "new" / "4.big").write_bytes(message(4, size=31 * MB))

    def aeflow(*args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "aeflow", *args, "-c", str(tmp_path / "aeflow.toml")],
            capture_output=True,
            text=True,
            cwd=REPO,
            env={**os.environ, "PYTHONPATH": str(REPO)},
            timeout=120,
            check=False,
        )

    first = aeflow("sync")
    assert "Traceback" not in first.stderr, first.stderr
    assert first.returncode == 1, first.stdout + first.stderr
    problems = [line for line in first.stdout.splitlines() if line.startswith("problem")]
    assert len(problems) == 5, first.stdout
    for name in ("fifo.ics", "big.ics", "2.fifo", "3.zero", "4.big"):
        assert sum(name in line for line in problems) == 1, (name, first.stdout)
    assert "meeting  " in first.stdout and "signal   message from jane@acme.example" in first.stdout
    assert "1 meetings new or changed, 0 removed, 1 signals, 5 problems" in first.stdout

    tick = aeflow("tick", "--dry-run")
    assert "Traceback" not in tick.stderr, tick.stderr
    assert "problem" not in tick.stdout, tick.stdout  # said once, by the sync before
