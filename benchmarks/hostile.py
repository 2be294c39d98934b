"""What one ``aeflow tick`` costs on the worst inputs known: wall time and peak resident memory.

Each case is a fresh workspace (the demo's configuration, an empty calendar and Maildirs), a
client meeting tomorrow so that the tick has real work besides, and one hostile item: a
calendar file or an inbox message. Each tick runs as its own process; its peak memory is read
from the kernel's accounting of that process (``wait4``). Prints one line per case and, with
``--json``, the figures as JSON. Nothing leaves the machine: the local backend has no relay.

Run ``.venv/bin/python benchmarks/hostile.py [--only NAME]... [--json]``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from aeflow.demo_week import write_config  # noqa: E402

MB = 1024 * 1024


def _event(uid: str, start: datetime, *, rule: str = "", **fields: str) -> bytes:
    lines = [
        "BEGIN:VCALENDAR",
        "VERSION:2.0",
        "PRODID:-//bench//hostile//EN",
        "BEGIN:VEVENT",
        f"UID:{uid}",
        "DTSTAMP:20260101T000000Z",
        f"DTSTART:{start:%Y%m%dT%H%M%SZ}",
        f"DTEND:{start + timedelta(hours=1):%Y%m%dT%H%M%SZ}",
        "ORGANIZER:mailto:xiaoming.wang@agency.example",
        "ATTENDEE;CN=Jane Doe:mailto:jane.doe@acme-bev.example",
        "CATEGORIES:Client: Acme",
    ]
    if rule:
        lines.append(f"RRULE:{rule}")
    lines += [f"{name}:{value}" for name, value in fields.items()]
    lines += ["END:VEVENT", "END:VCALENDAR", ""]
    return "\r\n".join(lines).encode("utf-8")


def _folded(text: str) -> str:
    return "\r\n ".join(text[i : i + 74] for i in range(0, len(text), 74))


def _nested(depth: int) -> bytes:
    head = "From: jane.doe@acme-bev.example\r\nTo: xiaoming.wang@agency.example\r\n"
    head += "Subject: nested\r\nMessage-ID: <nested@acme-bev.example>\r\nMIME-Version: 1.0\r\n"
    body = "hello\r\n"
    for level in range(depth):
        boundary = f"b{level}"
        body = (
            f"Content-Type: multipart/mixed; boundary={boundary}\r\n\r\n"
            f"--{boundary}\r\n{body}\r\n--{boundary}--\r\n"
        )
    return (head + body).encode()


def _parts(count: int) -> bytes:
    message = EmailMessage()
    message["From"] = "jane.doe@acme-bev.example"
    message["To"] = "xiaoming.wang@agency.example"
    message["Subject"] = "many parts"
    message["Message-ID"] = "<parts@acme-bev.example>"
    message.set_content("hello")
    for index in range(count):
        message.add_attachment(f"part {index}", filename=f"p{index}.txt")
    return message.as_bytes()


def _big_mail(size: int) -> bytes:
    head = (
        "From: jane.doe@acme-bev.example\r\nTo: xiaoming.wang@agency.example\r\n"
        "Subject: big\r\nMessage-ID: <big@acme-bev.example>\r\n\r\n"
    )
    line = "x" * 76 + "\r\n"
    return head.encode() + (line * (size // len(line))).encode()


def cases(now: datetime) -> dict[str, tuple[str, Callable[[], bytes]]]:
    """name -> (where it goes: 'calendar' or 'inbox', how to make it)."""
    soon = now + timedelta(days=1)
    return {
        "secondly": ("calendar", lambda: _event("s@x", soon, rule="FREQ=SECONDLY", SUMMARY="s")),
        "count-1e9": (
            "calendar",
            lambda: _event("c@x", soon, rule="FREQ=SECONDLY;COUNT=1000000000", SUMMARY="c"),
        ),
        "minutely-1900": (
            "calendar",
            lambda: _event("m@x", datetime(1900, 1, 1, tzinfo=UTC), rule="FREQ=MINUTELY"),
        ),
        "summary-20mb": ("calendar", lambda: _event("big@x", soon, SUMMARY="A" * (20 * MB))),
        "description-9mb-folded": (
            "calendar",
            lambda: _event("fold@x", soon, SUMMARY="f", DESCRIPTION=_folded("D" * (9 * MB))),
        ),
        "mime-1000-levels": ("inbox", lambda: _nested(1000)),
        "mime-10000-parts": ("inbox", lambda: _parts(10_000)),
        "mail-50mb": ("inbox", lambda: _big_mail(50 * MB)),
    }


def _workspace(folder: Path, now: datetime) -> Path:
    config = write_config(folder)
    (folder / "calendar").mkdir()
    for box in ("inbox", "sent"):
        for sub in ("cur", "new", "tmp"):
            (folder / "mail" / box / sub).mkdir(parents=True)
    # An ordinary client meeting tomorrow, so the tick has its usual work besides the attack.
    (folder / "calendar" / "brief.ics").write_bytes(
        _event("brief@agency.example", now + timedelta(days=1), SUMMARY="Brief")
    )
    return config


def _tick(config: Path, now: datetime) -> tuple[float, int, int, str]:
    command = [sys.executable, "-m", "aeflow", "tick", "-c", str(config), "--now", now.isoformat()]
    started = time.perf_counter()
    process = subprocess.Popen(
        command, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    assert process.stdout is not None
    output = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    elapsed = time.perf_counter() - started
    code = os.waitstatus_to_exitcode(status)
    last = output.strip().splitlines()[-1] if output.strip() else ""
    return elapsed, usage.ru_maxrss // 1024, code, last


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", action="append", default=[], help="run only this case")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON too")
    parser.add_argument("--make", nargs=2, metavar=("NAME", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    now = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)  # Monday 10:00 in Shanghai
    if args.make:
        name, path = args.make
        Path(path).write_bytes(cases(now)[name][1]())
        return
    results = []
    print(f"{'case':26} {'input':>9} {'wall s':>7} {'peak MB':>8} {'exit':>4}  last line")
    for name, (where, _) in cases(now).items():
        if args.only and name not in args.only:
            continue
        with tempfile.TemporaryDirectory(prefix="aeflow-hostile-") as tmp:
            folder = Path(tmp)
            config = _workspace(folder, now)
            target = (
                folder / "calendar" / "hostile.ics"
                if where == "calendar"
                else folder / "mail" / "inbox" / "new" / "1.hostile"
            )
            # Made by a process of its own: a child's peak memory counts what its parent held
            # when it started, and this one must hold nothing large.
            subprocess.run(
                [sys.executable, __file__, "--make", name, str(target)], check=True, cwd=ROOT
            )
            elapsed, peak, code, last = _tick(config, now)
            size = target.stat().st_size
        results.append(
            {
                "case": name,
                "bytes": size,
                "seconds": round(elapsed, 2),
                "peak_mb": peak,
                "exit": code,
            }
        )
        print(f"{name:26} {size / MB:8.1f}M {elapsed:7.2f} {peak:8d} {code:4d}  {last[:60]}")
    if args.json:
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
