"""Coverage-guided fuzzing of the two readers of outside bytes, with atheris (libFuzzer).

``parse_calendar`` (then ``expand`` over 60 days from the file's first event) and
``classify_message`` are run on inputs that libFuzzer mutates towards new branches of aeflow,
icalendar, recurring-ical-events and the ``email`` package, starting from the real files of the
corpus (``$AEFLOW_CORPUS``, else ``../shared/corpus``; they are copied to a temporary folder,
never into the project). What counts as a finding, as in ``tests/reliability/test_fuzz_*``:

- crash: any exception but ``UnreadableInput``, or a result that breaks the contract (a naive
  or reversed meeting, no signal); libFuzzer stops and writes the input to ``--out``;
- hang: one input over ``--timeout`` seconds (libFuzzer's ``-timeout``), or memory over
  ``-rss_limit_mb``; written to ``--out`` the same way;
- last guard: ``UnreadableInput`` raised by the reader's last ``except Exception`` (a file or
  message lost for an exception nobody foresaw); not fatal, counted by exception and place, and
  the smallest input of each kind is written to ``--out`` and listed at the end.

atheris is not a dependency of aeflow: ``.venv/bin/pip install atheris`` first. Run

    .venv/bin/python benchmarks/fuzz_atheris.py --target ics --runs 20000
    .venv/bin/python benchmarks/fuzz_atheris.py --target mail --runs 20000

Extra arguments go to libFuzzer (``-max_len=200000``, ``-jobs=2``, ...). Prints, benchmarks-style,
what it ran and found; it asserts nothing on time.
"""

from __future__ import annotations

import argparse
import atexit
import logging
import os
import shutil
import sys
import tempfile
import time
import traceback
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import atheris

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
CORPUS = Path(os.environ.get("AEFLOW_CORPUS", ROOT.parent / "shared" / "corpus")).resolve()

with atheris.instrument_imports(
    include=["calendar_sync", "mailer", "rules", "icalendar", "recurring_ical_events", "email"]
):
    from calendar_sync.ics import expand, parse_calendar
    from mailer.signals import classify_message
    from rules.errors import UnreadableInput
    from rules.model import Meeting

SEEDS = {
    "ics": [("ics", (".ics",))],
    "mail": [
        ("mdn", (".eml",)),
        ("bounces", (".eml", ".msg", ".txt")),
        ("autoreplies", (".eml", ".msg", ".mbox")),
        ("ics", (".eml",)),
    ],
}
ZONE = ZoneInfo("Asia/Shanghai")
WINDOW = timedelta(days=60)
EARLIEST, LATEST = datetime(2, 1, 1, tzinfo=UTC), datetime(9999, 10, 1, tzinfo=UTC)


class Findings:
    """What the last guards caught: kind -> how often, and the smallest input of each kind."""

    def __init__(self, out: Path, runs: int) -> None:
        self.out = out
        self.limit = runs
        self.reported = False
        self.runs = 0
        self.refused = 0
        self.caught: Counter[str] = Counter()
        self.smallest: dict[str, tuple[int, Path]] = {}
        self.started = time.perf_counter()

    def guard(self, error: BaseException, data: bytes) -> None:
        frame = traceback.extract_tb(error.__traceback__)[-1]
        kind = f"{type(error).__name__} at {Path(frame.filename).name}:{frame.lineno}"
        self.caught[kind] += 1
        known = self.smallest.get(kind)
        if known is None or len(data) < known[0]:
            path = known[1] if known else self.out / f"guard-{len(self.smallest) + 1}"
            path.write_bytes(data)
            self.smallest[kind] = (len(data), path)
        if known is None:
            print(f"\nnew: the last guard caught {kind} (input in {path})", flush=True)

    def ran(self) -> None:
        self.runs += 1
        # libFuzzer ends the process from C when its runs are done; atexit may not run.
        if self.runs >= self.limit:
            self.report()

    def report(self) -> None:
        if self.reported:
            return
        self.reported = True
        elapsed = time.perf_counter() - self.started
        print(f"\n{self.runs} inputs in {elapsed:.0f} s; {self.refused} refused (UnreadableInput)")
        if not self.caught:
            print("the last guard caught nothing")
        for kind, times in self.caught.most_common():
            size, path = self.smallest[kind]
            print(f"last guard caught {kind}: {times} times; smallest input {size} B in {path}")


def check_meeting(meeting: Meeting, start: datetime, end: datetime) -> None:
    assert meeting.start.utcoffset() is not None and meeting.end.utcoffset() is not None
    assert meeting.end >= meeting.start
    assert meeting.start < end and (meeting.end > start or meeting.start == meeting.end)


def fuzz_calendar(data: bytes, findings: Findings) -> None:
    findings.ran()
    try:
        parsed = parse_calendar(data, "fuzz.ics", ZONE)
    except UnreadableInput as error:
        findings.refused += 1
        if error.__cause__ is not None:
            findings.guard(error.__cause__, data)
        return
    if parsed.events:
        first = min(e.meeting.start for e in parsed.events).astimezone(UTC)
        start = min(max(first - timedelta(days=1), EARLIEST), LATEST)
    else:
        start = datetime(2026, 12, 7, tzinfo=UTC)
    end = start + WINDOW
    for meeting in expand(parsed, start, end, []):
        check_meeting(meeting, start, end)


def fuzz_mail(data: bytes, findings: Findings) -> None:
    findings.ran()
    try:
        signals = classify_message(data, source="fuzz.eml", received_at=None, zone=ZONE)
    except UnreadableInput as error:
        findings.refused += 1
        if error.__cause__ is not None:
            findings.guard(error.__cause__, data)
        return
    assert signals, "no signal"
    for signal in signals:
        assert signal.at.utcoffset() is not None
        assert "\n" not in signal.reason and "\n" not in signal.subject


def seed_folder(target: str) -> Path:
    folder = Path(tempfile.mkdtemp(prefix=f"aeflow-atheris-{target}-"))
    for sub, suffixes in SEEDS[target]:
        for path in sorted((CORPUS / sub).iterdir()):
            if path.is_file() and path.name.endswith(suffixes):
                shutil.copyfile(path, folder / f"{sub}-{path.name}")
    return folder


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--target", choices=sorted(SEEDS), required=True)
    parser.add_argument("--runs", type=int, default=20_000, help="inputs to try (-runs)")
    parser.add_argument("--timeout", type=int, default=20, help="seconds one input may take")
    parser.add_argument("--out", type=Path, default=None, help="where findings are written")
    args, libfuzzer = parser.parse_known_args()
    if not CORPUS.is_dir():
        sys.exit(f"the corpus {CORPUS} is missing (set AEFLOW_CORPUS to its location)")
    out = args.out or Path(tempfile.mkdtemp(prefix=f"aeflow-atheris-{args.target}-out-"))
    out.mkdir(parents=True, exist_ok=True)
    logging.disable(logging.CRITICAL)  # the readers log each refusal; millions of lines here
    findings = Findings(out, args.runs)
    atexit.register(findings.report)
    seeds = seed_folder(args.target)
    print(f"fuzzing {args.target} from {len(list(seeds.iterdir()))} seeds in {seeds}; out: {out}")
    target = fuzz_calendar if args.target == "ics" else fuzz_mail
    argv = [
        sys.argv[0],
        f"-runs={args.runs}",
        f"-timeout={args.timeout}",
        "-rss_limit_mb=2048",
        "-max_len=262144",
        f"-artifact_prefix={out}/",
        *libfuzzer,
        str(seeds),
    ]
    atheris.Setup(argv, lambda data: target(data, findings))
    atheris.Fuzz()


if __name__ == "__main__":
    main()
