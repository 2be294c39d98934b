"""How ``plan()`` and one tick scale with a year of a busy AE's history; how much memory the idle
daemon holds; how fast the command line answers. Prints figures only.

.venv/bin/python benchmarks/plan_scale.py [--quick] [--scale N]... [--runs 5]

One year at scale 1 is 2,000 meetings with ten clients, 20,000 deliveries and 60,000 signals;
scale N multiplies that history by N. The live part is the same at every scale (the ~280 meetings
of the sync window, 300 open deliveries), so whatever grows between scales is the cost of history.
The history goes straight into the store; the vdir holds the window's meetings only.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import timeit
from collections.abc import Callable
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aeflow.bootstrap import bootstrap
from aeflow.clock import FixedClock
from aeflow.config import WorkdaysConfig, load_config, working_calendar
from aeflow.demo_week import AGENDA, CONFIG, demo_week, write_calendar, write_config
from aeflow.demo_world import ZONE, World, event_ics, people
from aeflow.engine import DONE_STATUSES, INSTALLED_AT, Engine
from aeflow.records import delivery_to_record, iso, meeting_to_record, signal_to_record
from aeflow.state import build_state, close_old_deliveries, done_keys
from aeflow.store import Store
from aeflow.sync import CALENDAR, INBOX, LOOK_BACK, sync_once
from rules import model
from rules.confirmation import confirmation_key
from rules.planner import plan
from rules.planning import key_part

ROOT = Path(__file__).resolve().parent.parent
NOW = datetime(2026, 9, 15, 10, 30, tzinfo=ZONE)  # a working Tuesday
CLIENTS, WINDOW_PER_WEEK, OPEN = 10, 40, 300
HORIZON = timedelta(days=35)  # the config's default [backend] horizon
KINDS = (model.SignalKind.DELIVERY_RECEIPT, model.SignalKind.READ_RECEIPT, model.SignalKind.REPLY)


def config_text() -> str:
    """The demo's AE and backend, with ten clients of three contacts each."""
    client = (
        '\n[[clients]]\nname = "Client {c}"\ndomains = ["client{c}.example"]\n'
        'category = "Client {c}"\nlanguage = "{lang}"\n'
        '[[clients.contacts]]\nname = "Boss {c}"\nemail = "boss@client{c}.example"\n'
        "decision_maker = true\n"
        '[[clients.contacts]]\nname = "PM {c}"\nemail = "pm@client{c}.example"\n'
        '[[clients.contacts]]\nname = "Buyer {c}"\nemail = "buyer@client{c}.example"\n'
        '[[clients.team]]\nname = "Team {c}"\nemail = "team{c}@agency.example"\n'
    )
    head = CONFIG.split("[[clients]]", 1)[0]
    return head + "".join(client.format(c=c, lang=["zh-CN", "en"][c % 2]) for c in range(CLIENTS))


def slots(first: datetime, last: datetime, count: int) -> list[datetime]:
    """``count`` starts on the hours 09-16 of weekdays (AE's zone), evenly from first to last."""
    hours: list[datetime] = []
    day = first.astimezone(ZONE).date()
    while day <= last.astimezone(ZONE).date():
        if day.weekday() < 5:
            hours += [datetime(day.year, day.month, day.day, h, tzinfo=ZONE) for h in range(9, 17)]
        day += timedelta(days=1)
    return [hours[i * len(hours) // count] for i in range(count)]


def people_of(c: int) -> list[tuple[str, str]]:
    boss, pm = (f"Boss {c}", f"boss@client{c}.example"), (f"PM {c}", f"pm@client{c}.example")
    return [boss, pm, (f"Team {c}", f"team{c}@agency.example")]


def meeting(index: int, start: datetime) -> model.Meeting:
    c = index % CLIENTS
    answer = model.Response.ACCEPTED if start < NOW else model.Response.NEEDS_ACTION
    attendees = (model.Attendee(model.Person(e, n), response=answer) for n, e in people_of(c))
    return model.Meeting(
        uid=f"m{index:07d}@agency.example",
        subject=f"Client {c} review {index}",
        start=start,
        end=start + timedelta(hours=1),
        attendees=tuple(attendees),
        categories=(f"Client {c}",),
        body=AGENDA,
    )


def delivery(key: str, sent: datetime, c: int, open_: bool, about: str = "") -> model.Delivery:
    status = model.DeliveryStatus.DELIVERED if open_ else model.DeliveryStatus.CONFIRMED
    return model.Delivery(
        key=key,
        kind=key.split(":")[0],
        message_id=f"<{key_part(key)}@agency.example>",
        sent_at=sent,
        recipients=tuple(
            model.RecipientStatus(e, status, sent + timedelta(hours=1), "" if open_ else "reply")
            for _, e in people_of(c)[:2]
        ),
        client=f"Client {c}",
        subject=f"About your account, Client {c}",
        meeting=about,
    )


def history(scale: int) -> tuple[list[model.Meeting], list[model.Delivery]]:
    """A year of meetings (most past), their confirmations, minutes mail, a few hundred open."""
    since, window = NOW - timedelta(days=365), NOW - LOOK_BACK
    live = WINDOW_PER_WEEK * (LOOK_BACK + HORIZON).days // 7
    starts = slots(since, window - timedelta(days=1), 2000 * scale - live)
    starts += slots(window, NOW + HORIZON - timedelta(days=1), live)
    meetings = [meeting(i, s) for i, s in enumerate(starts)]
    deliveries = [
        delivery(confirmation_key(m), m.start - timedelta(days=1), i % CLIENTS, False, m.key)
        for i, m in enumerate(meetings)
        if m.start < NOW
    ]
    count = 20_000 * scale - len(deliveries) - OPEN
    span = window - since
    for i in range(count):
        deliveries.append(
            delivery(f"minutes:{i:07d}", since + span * i / count, i % CLIENTS, False)
        )
    for i in range(OPEN):
        sent = NOW - timedelta(hours=1 + 240 * i / OPEN)
        deliveries.append(delivery(f"quotation:{i:05d}", sent, i % CLIENTS, True))
    return meetings, deliveries


def fill(store: Store, meetings: list[model.Meeting], deliveries: list[model.Delivery]) -> int:
    """Meetings, deliveries and the outbox records of what was sent; the outbox count."""
    store.meta_set(INSTALLED_AT, iso(NOW - timedelta(days=400)))
    for m in meetings:
        store.upsert_meeting(m.key, meeting_to_record(m))
    outbox = 0
    for index, d in enumerate(deliveries):
        store.delivery_put(d.key, delivery_to_record(d, d.meeting))
        emails = [r.email for r in d.recipients]
        record = {"status": "sent", "kind": d.kind, "sent_at": d.sent_at, "recipients": emails}
        store.outbox_put(d.key, {**record, "message_id": d.message_id})
        # The chase that already went: every tenth mail of the past, and the open ones' so far.
        chase = {"remind": 1, "call": 1, "escalate": 3} if d.open else {"remind": 0, "call": 0}
        for prefix, days in chase.items() if d.open or index % 10 == 0 else ():
            for email in emails if NOW - d.sent_at > timedelta(days=days) else ():
                key = f"{prefix}:{key_part(d.key)}:{key_part(email)}"
                store.outbox_put(key, {**record, "kind": prefix})
                outbox += 1
    return outbox + len(deliveries)


def add_signals(store: Store, deliveries: list[model.Delivery], count: int) -> int:
    """Three signals per closed delivery; a confirmation's reply is a meeting acceptance."""
    closed, responses = [d for d in deliveries if not d.open], 0
    for j in range(count):
        d = closed[(j // 3) % len(closed)]
        uid = d.meeting if KINDS[j % 3] is model.SignalKind.REPLY else ""
        who = d.recipients[j % 2].email
        sig = model.Signal(
            kind=model.SignalKind.MEETING_RESPONSE if uid else KINDS[j % 3],
            at=d.sent_at + timedelta(hours=1),
            message_id=f"<s{j}@{who.split('@')[1]}>",
            sender=who,
            recipient=who,
            answers=(d.message_id,),
            response=model.Response.ACCEPTED if uid else None,
            uid=uid,
        )
        store.signal_add(signal_to_record(sig))
        if uid:
            answer = {"uid": uid, "occurrence_id": "", "email": who, "response": "accepted"}
            store.response_put(f"{uid}||{who}", {**answer, "at": sig.at})
            responses += 1
    return responses


def write_vdir(folder: Path, meetings: list[model.Meeting]) -> int:
    (folder / "calendar").mkdir()
    live = [m for m in meetings if m.end >= NOW - LOOK_BACK]
    for m in live:
        attendees = people(
            *((a.person.name, a.person.email) for a in m.attendees),
            partstat="ACCEPTED" if m.start < NOW else "NEEDS-ACTION",
        )
        start, end = (t.astimezone(ZONE).strftime("%Y%m%dT%H%M%S") for t in (m.start, m.end))
        text = event_ics(
            m.uid, start, end, m.subject, m.location, attendees, m.body, m.categories[0]
        )
        (folder / "calendar" / f"{m.uid}.ics").write_text(text, encoding="utf-8", newline="")
    return len(live)


def median_ms(action: Callable[[], object], runs: int) -> float:
    return statistics.median(timeit.repeat(action, number=1, repeat=runs)) * 1000


def row(label: str, value: str) -> None:
    print(f"  {label:<60} {value:>12}")


def build(folder: Path, scale: int) -> Path:
    began = time.perf_counter()
    config = folder / "aeflow.toml"
    config.write_text(config_text(), encoding="utf-8")
    meetings, deliveries = history(scale)
    with Store.open(load_config(config).backend.state) as store, store.batch():
        outbox = fill(store, meetings, deliveries)
        responses = add_signals(store, deliveries, 60_000 * scale)
    files = write_vdir(folder, meetings)
    built = time.perf_counter() - began
    print(
        f"  stored: {len(meetings):,} meetings ({files} in the vdir), {len(deliveries):,} "
        f"deliveries ({OPEN} open), {outbox:,} outbox records,\n          {60_000 * scale:,} "
        f"signals, {responses:,} meeting responses"
    )
    row("build: one store.batch() and the vdir", f"{built:,.1f} s")
    if built > 180:
        print(f"  note: building scale {scale} took more than three minutes")
    return config


def file_figures(path: Path, runs: int) -> None:
    row("state file on disk", f"{path.stat().st_size / 2**20:,.1f} MiB")
    tables = json.loads(path.read_bytes())
    shares = {name: len(json.dumps(t, ensure_ascii=False)) for name, t in tables.items()}
    total = sum(shares.values())
    top = sorted(shares.items(), key=lambda kv: -kv[1])[:5]
    print("    by table: " + ", ".join(f"{n} {s * 100 / total:.0f}%" for n, s in top))
    row(
        "Store.open (read, check, index), median",
        f"{median_ms(lambda: Store.open(path).close(), runs):,.0f} ms",
    )


BOSS = "boss@client1.example"


def send_writes(store: Store, runs: int) -> float:
    """The state writes of one send, as the engine makes them: the intent, then in one batch
    the outcome and its delivery (the file is rewritten twice)."""
    counter = iter(range(10**9))

    def one() -> None:
        key = f"bench:{next(counter):09d}"
        intent = {
            "status": "sending",
            "kind": "confirmation",
            "recipients": ["boss@client1.example"],
        }
        store.outbox_put(key, intent)
        with store.batch():
            store.outbox_put(key, {**intent, "status": "sent", "sent_at": iso(NOW)})
            sent = delivery(key, NOW, 1, False)
            store.delivery_put(key, delivery_to_record(sent, ""))

    return median_ms(one, runs)


def tick_figures(config_path: Path, runs: int) -> dict[str, float]:
    app = bootstrap(load_config(config_path), FixedClock(NOW))
    try:
        engine, store, policies = Engine(app), app.store, app.config.policies
        lookback = policies.receipts.lookback
        began = time.perf_counter()
        first = engine.tick()
        first_ms = (time.perf_counter() - began) * 1000
        label = f"first tick (reads the vdir; {len(first.sent)} sent, {len(first.skipped)} skipped)"
        row(label, f"{first_ms:,.0f} ms")
        quiet = engine.tick()
        quiet_ms = median_ms(engine.tick, runs)
        per_send_ms = send_writes(store, runs)
        row("the state writes of one send (intent, then outcome), median", f"{per_send_ms:,.1f} ms")
        row(f"Engine.tick(), nothing new ({len(quiet.sent)} sent), median", f"{quiet_ms:,.0f} ms")
        if first.sent:
            each = (first_ms - quiet_ms) / len(first.sent)
            row("  so each mail the first tick sent cost about", f"{each:,.0f} ms")
        done = done_keys(store, DONE_STATUSES)
        state = build_state(app, done, None, NOW)
        planned = plan(NOW, state, policies)
        label = f"plan(): {len(state.meetings):,} meetings, {len(done):,} done keys, median"
        plan_ms = median_ms(lambda: plan(NOW, state, policies), runs)
        row(label, f"{plan_ms:,.1f} ms")
        print(f"    ({len(planned.due)} due, {len(planned.upcoming)} upcoming)")
        recent = replace(
            state, meetings=tuple(m for m in state.meetings if m.end >= NOW - LOOK_BACK)
        )
        label = f"plan(): only the {len(recent.meetings)} meetings ending after now - 14 days"
        row(label, f"{median_ms(lambda: plan(NOW, recent, policies), runs):,.1f} ms")
        inbox, seen = store.get_sync_state(INBOX) or "", store.get_sync_state(CALENDAR)
        later = NOW + timedelta(minutes=1)  # a real clock moves the sync window at every tick

        def moved() -> None:
            app.calendar.sync(seen, later - LOOK_BACK, later + app.config.backend.horizon)

        def rewrite() -> None:
            with store.batch():
                store.set_sync_state(INBOX, inbox)

        print(
            "  where a quiet tick's time goes (medians; the vdir line is what a moving clock adds):"
        )
        parts: list[tuple[str, Callable[[], object]]] = [
            ("sync_once, nothing new", lambda: sync_once(app)),
            ("  of which: the state file rewritten", rewrite),
            ("vdir sync alone, window a minute later (every .ics read)", moved),
            ("close_old_deliveries", lambda: close_old_deliveries(store, NOW, lookback)),
            ("done_keys (every outbox record, copied)", lambda: done_keys(store, DONE_STATUSES)),
            ("build_state", lambda: build_state(app, done, None)),
            ("  of which: store.meetings()", store.meetings),
            ("  of which: store.responses()", store.responses),
            ("  of which: store.open_deliveries()", store.open_deliveries),
        ]
        for label, action in parts:
            row("  " + label, f"{median_ms(action, runs):,.1f} ms")
    finally:
        app.close()
    return {"per_send_ms": per_send_ms, "plan_ms": plan_ms, "quiet_tick_ms": quiet_ms}


def measure_scale(scale: int, runs: int) -> dict[str, float]:
    print(f"\n== scale {scale}: a year of {2000 * scale:,} meetings, {20_000 * scale:,} deliveries")
    with tempfile.TemporaryDirectory(prefix="aeflow-scale-") as temp:
        config = build(Path(temp), scale)
        state = load_config(config).backend.state
        file_figures(state, runs)
        figures = tick_figures(config, runs)  # the first tick moves the history to the archive
        row("live state file after the first tick", f"{state.stat().st_size / 2**20:,.1f} MiB")
        archived = sum(p.stat().st_size for p in (state.parent / "archive").glob("*.json"))
        row("monthly archive files", f"{archived / 2**20:,.1f} MiB")
        began = time.perf_counter()
        status = aeflow("status", "-c", str(config), "--now", NOW.isoformat())
        status_ms = (time.perf_counter() - began) * 1000
        label = f"aeflow status on this state (exit {status.returncode}), one run"
        row(label, f"{status_ms:,.0f} ms")
        return {
            **{name: round(value, 1) for name, value in figures.items()},
            "status_ms": round(status_ms, 1),
            "state_bytes": state.stat().st_size,
            "archive_bytes": archived,
        }


def aeflow(*args: str, flags: tuple[str, ...] = ()) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, *flags, "-m", "aeflow", *args]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, check=False)


def daemon_memory(config: Path, folder: Path) -> None:
    log = folder / "daemon.log"
    with log.open("wb") as stderr:
        began = time.perf_counter()
        command = [sys.executable, "-m", "aeflow", "run", "-c", str(config)]
        daemon = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=stderr)
    try:
        while "tick done" not in log.read_text(errors="replace"):
            if daemon.poll() is not None or time.perf_counter() - began > 120:
                print("  the daemon did not tick:\n" + log.read_text(errors="replace")[-2000:])
                return
            time.sleep(0.05)
        row(
            "daemon start to its first 'tick done'",
            f"{(time.perf_counter() - began) * 1000:,.0f} ms",
        )
        status = Path(f"/proc/{daemon.pid}/status")
        lines = status.read_text().splitlines() if status.exists() else []
        fields = dict(line.split(":", 1) for line in lines if ":" in line)
        for name in ("VmRSS", "VmHWM"):
            kib = fields.get(name, "").split()
            row(f"daemon idle {name}", f"{int(kib[0]) / 1024:,.1f} MiB" if kib else "n/a")
    finally:
        daemon.send_signal(signal.SIGTERM)
        try:
            row("daemon exit status after SIGTERM", str(daemon.wait(timeout=30)))
        except subprocess.TimeoutExpired:
            daemon.kill()
            daemon.wait()
            print("  the daemon did not stop within 30 s of SIGTERM; killed")


def command_line(config: Path) -> None:
    for args in (("--help",), ("status", "-c", str(config))):
        times = []
        for _ in range(5):
            began = time.perf_counter()
            done = aeflow(*args)
            times.append(time.perf_counter() - began)
        row(f"aeflow {args[0]} (exit {done.returncode}), best of 5", f"{min(times) * 1000:,.0f} ms")
        report = aeflow(*args, flags=("-X", "importtime")).stderr
        row(
            f"  exchangelib imported by aeflow {args[0]}",
            "yes" if "exchangelib" in report else "no",
        )
        cells = [line.split("|") for line in report.splitlines() if line.startswith("import time:")]
        top = sorted(
            (int(c[1]), c[2].strip()) for c in cells if c[1].strip().isdigit() and c[2][1] != " "
        )[-3:]
        print("    slowest imports: " + ", ".join(f"{n} {us / 1000:.0f} ms" for us, n in top[::-1]))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="scale 1 only (skip the 10x history)")
    parser.add_argument("--scale", type=int, action="append", help="history scale (repeatable)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per median (default 5)")
    options = parser.parse_args()
    scales = options.scale or ([1] if options.quick else [1, 10])
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs; now = {NOW.isoformat()}")
    summary: dict[str, dict[str, float]] = {}
    for scale in scales:
        if scale >= 5:
            print(f"\n(scale {scale}: {scale}x the history; building and ticking take minutes)")
        summary[str(scale)] = measure_scale(scale, options.runs)
    with tempfile.TemporaryDirectory(prefix="aeflow-daemon-") as temp:
        folder = Path(temp)
        workdays = working_calendar(WorkdaysConfig(), "Asia/Shanghai", warn=lambda _: None)
        write_calendar(World(folder), demo_week(workdays, date.today()))
        config = write_config(folder)
        print("\n== the daemon on the demo workspace (6 calendar files, empty Maildirs) ==")
        daemon_memory(config, folder)
        print("\n== the command line (python -m aeflow, on the demo workspace) ==")
        command_line(config)
    print(json.dumps({"scales": summary}))


if __name__ == "__main__":
    main()
