"""History leaves the live state once a day for monthly archives, and nothing the policies can
still act on goes with it: the plan is the same before and after, a kill between the two writes
loses and duplicates nothing, and an upgraded file is archived at its first tick."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

from aeflow import archive
from aeflow import store_schema as schema
from aeflow.bootstrap import bootstrap
from aeflow.cli import main
from aeflow.clock import FixedClock
from aeflow.config import load_config
from aeflow.engine import Engine
from aeflow.state import planning_horizon
from aeflow.store import Store
from benchmarks.plan_scale import (
    LOOK_BACK,
    NOW,
    ZONE,
    add_signals,
    config_text,
    delivery,
    fill,
    meeting,
    slots,
    write_vdir,
)
from rules.confirmation import confirmation_key


def year_of_history(folder: Path) -> Path:
    """A small year: 300 meetings (40 of them in the live window), their confirmations, 500 other
    mails (20 still open), 1,500 signals; written as a state file of schema 1."""
    config = folder / "aeflow.toml"
    config.write_text(config_text(), encoding="utf-8")
    since, window = NOW - timedelta(days=365), NOW - LOOK_BACK
    starts = slots(since, window - timedelta(days=1), 260)
    starts += slots(window, NOW + timedelta(days=20), 40)
    meetings = [meeting(i, s) for i, s in enumerate(starts)]
    deliveries = [
        delivery(confirmation_key(m), m.start - timedelta(days=1), i % 10, False, m.key)
        for i, m in enumerate(meetings)
        if m.start < NOW
    ]
    deliveries += [
        delivery(f"minutes:{i:05d}", since + (window - since) * i / 480, i % 10, False)
        for i in range(480)
    ]
    deliveries += [
        delivery(f"quotation:{i:03d}", NOW - timedelta(hours=1 + 10 * i), i % 10, True)
        for i in range(20)
    ]
    state = load_config(config).backend.state
    with Store.open(state) as store, store.batch():
        fill(store, meetings, deliveries)
        add_signals(store, deliveries, 1500)
    write_vdir(folder, meetings)
    document = json.loads(state.read_text(encoding="utf-8"))
    schema.set_value(document, schema.META, schema.SCHEMA, 1)  # as the previous aeflow wrote it
    state.write_text(json.dumps(document), encoding="utf-8")
    return config


def plan_of(engine: Engine) -> tuple[list[str], list[str], object]:
    planned = engine.plan_now(NOW)
    return (
        sorted(a.key for a in planned.due),
        sorted(a.key for a in planned.upcoming),
        planned.next_wake,
    )


def archived_keys(folder: Path) -> Counter[str]:
    found: Counter[str] = Counter()
    for path in archive.month_files(folder / "state" / "archive"):
        with Store.open(path) as segment:
            for table in schema.RECORD_TABLES:
                found.update(f"{table}:{r['key']}" for r in segment.records(table))
    return found


def test_a_year_of_history_moves_out_and_the_plan_is_the_same(tmp_path: Path) -> None:
    config = year_of_history(tmp_path)
    app = bootstrap(load_config(config), FixedClock(NOW))
    try:
        engine = Engine(app)
        before = plan_of(engine)
        assert archive.due(app.store, NOW, ZONE)  # upgraded from schema 1: at once
        sizes = {t: len(app.store.records(t)) for t in schema.RECORD_TABLES}
        moved = archive.move_closed(app.store, NOW, planning_horizon(app.config, NOW), app.zone)
        assert moved.total > 0.7 * sum(sizes.values())
        assert plan_of(engine) == before
        assert not archive.due(app.store, NOW, ZONE)
        assert len(app.store.open_deliveries()) == 20
        # What is still about a live meeting stays, whatever its age.
        live = {m["key"] for m in app.store.meetings()}
        kept = {r["meeting"] for r in app.store.records(schema.OUTBOX) if r.get("meeting")}
        assert kept <= live
    finally:
        app.close()
    months = [p.stem for p in archive.month_files(tmp_path / "state" / "archive")]
    assert months[0] == f"{NOW - timedelta(days=366):%Y-%m}" or len(months) >= 11
    assert sum(archived_keys(tmp_path).values()) == moved.total
    live_bytes = (tmp_path / "state" / "aeflow.json").stat().st_size
    archive_bytes = sum(p.stat().st_size for p in (tmp_path / "state" / "archive").iterdir())
    assert live_bytes < archive_bytes / 3


def test_a_kill_between_the_archive_and_the_cut_loses_and_doubles_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = year_of_history(tmp_path)
    app = bootstrap(load_config(config), FixedClock(NOW))
    horizon = planning_horizon(app.config, NOW)
    every = {t: {r["key"] for r in app.store.records(t)} for t in schema.RECORD_TABLES}

    def killed(*args: object) -> int:
        raise KeyboardInterrupt  # the process dies after the archive was written

    try:
        with monkeypatch.context() as patch:
            patch.setattr(Store, "remove_records", killed)
            with pytest.raises(KeyboardInterrupt):
                archive.move_closed(app.store, NOW, horizon, app.zone)
    finally:
        app.close()
    first = archived_keys(tmp_path)
    assert first and set(first.values()) == {1}
    app = bootstrap(load_config(config), FixedClock(NOW))
    try:
        # The live state is as it was: the cut never happened.
        assert {t: {r["key"] for r in app.store.records(t)} for t in schema.RECORD_TABLES} == every
        archive.move_closed(app.store, NOW, horizon, app.zone)
        live = {t: {r["key"] for r in app.store.records(t)} for t in schema.RECORD_TABLES}
    finally:
        app.close()
    again = archived_keys(tmp_path)
    assert again == first  # each record once in the archive
    for table, keys in every.items():
        moved = {k.split(":", 1)[1] for k in again if k.startswith(f"{table}:")}
        assert moved | live[table] == keys and not moved & live[table]


def test_the_first_tick_archives_and_a_second_one_the_same_day_does_not(tmp_path: Path) -> None:
    config = year_of_history(tmp_path)
    app = bootstrap(load_config(config), FixedClock(NOW))
    try:
        Engine(app).tick()
        assert app.store.meta_get(archive.ARCHIVED_ON) == NOW.astimezone(ZONE).date().isoformat()
    finally:
        app.close()
    files = {p: p.stat().st_mtime_ns for p in archive.month_files(tmp_path / "state" / "archive")}
    assert files
    app = bootstrap(load_config(config), FixedClock(NOW + timedelta(hours=1)))
    try:
        Engine(app).tick()
    finally:
        app.close()
    assert {p: p.stat().st_mtime_ns for p in files} == files


def test_history_reads_the_archive_and_the_live_state_beside_a_running_daemon(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = year_of_history(tmp_path)
    app = bootstrap(load_config(config), FixedClock(NOW))  # holds the lock, as a daemon does
    try:
        total = len(app.store.records(schema.DELIVERIES))
        archive.move_closed(app.store, NOW, planning_horizon(app.config, NOW), app.zone)
        assert main(["history", "-c", str(config), "--json"]) == 0
        every = json.loads(capsys.readouterr().out)
        assert (
            main(["history", "-c", str(config), "--client", "Client 3", "--since", "2026-06-01"])
            == 0
        )
        lines = capsys.readouterr().out.splitlines()
    finally:
        app.close()
    assert len(every) == len({row["key"] for row in every}) == total > 700
    assert {row["key"] for row in every if row["open"]} == {f"quotation:{i:03d}" for i in range(20)}
    first = min(every, key=lambda row: row["sent_at"])
    assert first["sent_at"] < f"{NOW - timedelta(days=300):%Y-%m-%d}"
    assert (
        first["recipients"][0]["status"] == "confirmed" and first["recipients"][0]["by"] == "reply"
    )
    mails = [line for line in lines if not line.startswith(" ")]
    assert mails and all("  Client 3  " in line for line in mails)
    assert all(line[:10] >= "2026-06-01" for line in mails)
    assert main(["history", "-c", str(config), "--since", "June"]) == 2
