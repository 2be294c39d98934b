"""The store: records by key, batches written once, the file never half-written nor overwritten
when it cannot be read, schema migrations, and the one-daemon lock (within one process here; across
processes in tests/reliability/test_store_crash.py).

The state files below are written by hand in the layout TinyDB writes (``{table: {id: doc}}``).
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from aeflow import storage_file, store_schema
from aeflow.store import Store, StoreCorruptError, StoreLockedError, StoreVersionError
from rules.errors import NaiveDateTimeError, StoreError, UserError


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "state" / "aeflow.json"


@pytest.fixture
def writes(monkeypatch: pytest.MonkeyPatch) -> list[dict[str, Any]]:
    """Every document the store commits to disk, in order."""
    committed: list[dict[str, Any]] = []
    original = storage_file.write_state_file

    def counting(target: Path, document: dict[str, Any]) -> None:
        committed.append(json.loads(json.dumps(document)))
        original(target, document)

    monkeypatch.setattr(storage_file, "write_state_file", counting)
    return committed


def on_disk(path: Path) -> dict[str, Any]:
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def outbox_on_disk(path: Path) -> dict[str, str]:
    return {doc["key"]: doc["status"] for doc in on_disk(path).get("outbox", {}).values()}


def write_json(path: Path, document: object) -> bytes:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = json.dumps(document).encode("utf-8")
    path.write_bytes(data)
    return data


# --- records ------------------------------------------------------------------------------------


def test_a_new_state_file_records_the_current_schema(path: Path) -> None:
    with Store.open(path) as store:
        assert store.meta_get("schema") == store_schema.current_version()
    assert on_disk(path)["_meta"] == {
        "1": {"key": "schema", "value": store_schema.current_version()}
    }


def test_a_record_comes_back_as_put_with_its_key(path: Path) -> None:
    meeting = {"uid": "m-1", "subject": "Q3 media plan", "attendees": [{"email": "a@b.example"}]}
    with Store.open(path) as store:
        store.upsert_meeting("m-1", meeting)
        assert store.get_meeting("m-1") == {"key": "m-1", **meeting}
        assert store.get_meeting("m-2") is None
    with Store.open(path) as store:
        assert store.meetings() == [{"key": "m-1", **meeting}]


def test_putting_a_key_again_replaces_the_whole_record(path: Path) -> None:
    with Store.open(path) as store:
        store.upsert_meeting("m-1", {"subject": "Kick-off", "location": "Room 3"})
        store.upsert_meeting("m-1", {"subject": "Kick-off (moved)"})
        assert store.meetings() == [{"key": "m-1", "subject": "Kick-off (moved)"}]
    assert len(on_disk(path)["meetings"]) == 1


def test_a_removed_meeting_is_gone_for_good(path: Path) -> None:
    with Store.open(path) as store:
        store.upsert_meeting("m-1", {"subject": "a"})
        store.upsert_meeting("m-2", {"subject": "b"})
        assert store.remove_meeting("m-1") is True
        assert store.remove_meeting("m-1") is False
        store.upsert_meeting("m-3", {"subject": "c"})
    with Store.open(path) as store:
        assert sorted(m["key"] for m in store.meetings()) == ["m-2", "m-3"]
        assert store.get_meeting("m-1") is None


def test_outbox_by_status_follows_each_status_change(path: Path) -> None:
    with Store.open(path) as store:
        store.outbox_put("confirm:m-1", {"status": "sending"})
        store.outbox_put("confirm:m-2", {"status": "sending"})
        assert {r["key"] for r in store.outbox_by_status("sending")} == {
            "confirm:m-1",
            "confirm:m-2",
        }
        store.outbox_put("confirm:m-1", {"status": "sent", "message_id": "<x@agency.example>"})
        store.outbox_put("weekly:2025-W10", {"status": "skipped", "reason": "expired"})
        assert [r["key"] for r in store.outbox_by_status("sending")] == ["confirm:m-2"]
        assert store.outbox_by_status("sent") == [
            {"key": "confirm:m-1", "status": "sent", "message_id": "<x@agency.example>"}
        ]
        assert store.outbox_get("weekly:2025-W10") == {
            "key": "weekly:2025-W10",
            "status": "skipped",
            "reason": "expired",
        }
        assert len(store.outbox_all()) == 3


def test_a_delivery_is_found_by_its_message_id_with_or_without_brackets(path: Path) -> None:
    with Store.open(path) as store:
        store.delivery_put("minutes:m-1", {"message_id": "<a1@agency.example>", "recipients": []})
        store.delivery_put("minutes:m-2", {"message_id": "a2@agency.example", "recipients": []})
    with Store.open(path) as store:
        found = store.delivery_by_message_id("a1@agency.example")
        assert found is not None and found["key"] == "minutes:m-1"
        found = store.delivery_by_message_id(" <a2@agency.example> ")
        assert found is not None and found["key"] == "minutes:m-2"
        assert store.delivery_by_message_id("<unknown@agency.example>") is None
        assert store.delivery_by_message_id("") is None


def test_a_resent_delivery_is_found_by_its_new_message_id_only(path: Path) -> None:
    with Store.open(path) as store:
        store.delivery_put("minutes:m-1", {"message_id": "<old@agency.example>"})
        store.delivery_put("minutes:m-1", {"message_id": "<new@agency.example>"})
        assert store.delivery_by_message_id("<old@agency.example>") is None
        found = store.delivery_by_message_id("<new@agency.example>")
        assert found is not None and found["key"] == "minutes:m-1"
        assert store.delivery_get("minutes:m-1") == found
        assert len(store.deliveries()) == 1


def test_a_signal_is_stored_once_however_often_it_is_synced(path: Path) -> None:
    receipt = {"kind": "read-receipt", "message_id": "<mdn-1@client.example>"}
    with Store.open(path) as store:
        assert store.signal_seen("<mdn-1@client.example>") is False
        assert store.signal_add(receipt) is True
        assert store.signal_add(receipt) is False
        assert store.signal_add({**receipt, "message_id": "mdn-1@client.example"}) is False
    with Store.open(path) as store:
        assert store.signal_seen("mdn-1@client.example") is True
        assert store.signal_add(receipt) is False
        assert len(store.signals()) == 1


def test_signals_of_one_message_for_several_recipients_are_kept_apart(path: Path) -> None:
    # One DSN reports on several recipients; aeflow.records gives each signal its own id.
    dsn = {"kind": "bounce", "message_id": "<dsn-7@mx.example>"}
    with Store.open(path) as store:
        assert store.signal_add(
            {**dsn, "id": "dsn-7|bounce|a@c.example", "recipient": "a@c.example"}
        )
        assert store.signal_add(
            {**dsn, "id": "dsn-7|bounce|b@c.example", "recipient": "b@c.example"}
        )
        assert not store.signal_add({**dsn, "id": "dsn-7|bounce|a@c.example"})
        assert store.signal_seen("<dsn-7@mx.example>")
        assert store.signal_seen("dsn-7|bounce|b@c.example")
        assert len(store.signals()) == 2


def test_a_signal_without_message_id_is_still_stored_once(path: Path) -> None:
    reply = {"kind": "reply", "sender": "x@client.example", "at": "2025-03-03T09:00:00+00:00"}
    with Store.open(path) as store:
        assert store.signal_add(reply) is True
        assert store.signal_add(dict(reversed(list(reply.items())))) is False
        assert store.signal_add({**reply, "at": "2025-03-03T10:00:00+00:00"}) is True


def test_sync_states_and_small_facts_survive_a_restart(path: Path) -> None:
    installed = datetime(2025, 3, 3, 17, 0, tzinfo=timezone(timedelta(hours=8)))
    with Store.open(path) as store:
        assert store.get_sync_state("calendar") is None
        store.set_sync_state("calendar", "ctag-41")
        store.set_sync_state("calendar", "ctag-42")
        store.meta_set("installed_at", installed)
        store.meta_set("ae", {"email": "ae@agency.example"})
    with Store.open(path) as store:
        assert store.get_sync_state("calendar") == "ctag-42"
        assert store.meta_get("installed_at") == "2025-03-03T09:00:00+00:00"
        assert store.meta_get("ae") == {"email": "ae@agency.example"}
        assert store.meta_get("nothing") is None


def test_aware_times_are_stored_in_utc_and_naive_ones_are_refused(path: Path) -> None:
    beijing = timezone(timedelta(hours=8))
    with Store.open(path) as store:
        store.outbox_put(
            "k", {"status": "sent", "sent_at": datetime(2025, 3, 3, 9, tzinfo=beijing)}
        )
        assert store.outbox_get("k") == {
            "key": "k",
            "status": "sent",
            "sent_at": "2025-03-03T01:00:00+00:00",
        }
        with pytest.raises(NaiveDateTimeError):
            store.outbox_put("k", {"status": "sent", "sent_at": datetime(2025, 3, 3, 9)})
        assert store.outbox_get("k") == {
            "key": "k",
            "status": "sent",
            "sent_at": "2025-03-03T01:00:00+00:00",
        }


def test_records_that_are_not_plain_json_are_refused_with_a_typed_error(path: Path) -> None:
    with Store.open(path) as store:
        with pytest.raises(TypeError, match="JSON values only"):
            store.upsert_meeting("m", {"subject": object()})
        with pytest.raises(ValueError, match="JSON values only"):
            store.upsert_meeting("m", {"weight": float("nan")})
        with pytest.raises(ValueError, match="JSON values only"):
            store.upsert_meeting("m", {"subject": "broken \udce9 header"})
        with pytest.raises(ValueError, match="no status"):
            store.outbox_put("k", {"kind": "confirm"})
        with pytest.raises(ValueError, match="put under"):
            store.outbox_put("k", {"key": "other", "status": "sent"})
        with pytest.raises(ValueError, match="non-empty string"):
            store.upsert_meeting("", {"subject": "x"})
        with pytest.raises(ValueError, match="schema version"):
            store.meta_set("schema", 7)
        assert store.meetings() == [] and store.outbox_all() == []


def test_records_handed_out_are_copies(path: Path) -> None:
    with Store.open(path) as store:
        store.delivery_put("d", {"message_id": "<d@x>", "recipients": [{"status": "sent"}]})
        record = store.delivery_get("d")
        assert record is not None
        record["recipients"][0]["status"] = "confirmed"
        assert store.delivery_get("d") == {
            "key": "d",
            "message_id": "<d@x>",
            "recipients": [{"status": "sent"}],
        }


def test_a_closed_store_refuses_to_be_used(path: Path) -> None:
    store = Store.open(path)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.outbox_put("k", {"status": "sent"})


def test_the_in_memory_store_behaves_alike_and_writes_no_file(tmp_path: Path) -> None:
    store = Store.memory()
    with store.batch():
        store.outbox_put("k", {"status": "sending"})
    store.delivery_put("d", {"message_id": "<d@x>"})
    assert store.outbox_by_status("sending")[0]["key"] == "k"
    assert store.delivery_by_message_id("d@x") is not None
    assert store.path is None
    store.close()
    assert list(tmp_path.iterdir()) == []


# --- writing ------------------------------------------------------------------------------------


def test_outside_a_batch_each_write_reaches_the_file_at_once(
    path: Path, writes: list[dict[str, Any]]
) -> None:
    with Store.open(path) as store:
        writes.clear()
        store.outbox_put("a", {"status": "sending"})
        assert outbox_on_disk(path) == {"a": "sending"}
        store.outbox_put("a", {"status": "sent"})
        assert outbox_on_disk(path) == {"a": "sent"}
        assert len(writes) == 2


def test_a_batch_writes_the_file_once_when_it_ends(
    path: Path, writes: list[dict[str, Any]]
) -> None:
    with Store.open(path) as store:
        writes.clear()
        with store.batch():
            for n in range(50):
                store.outbox_put(f"k{n}", {"status": "sending"})
            with store.batch():
                store.set_sync_state("mail", "s1")
                store.delivery_put("d", {"message_id": "<d@x>"})
            assert writes == []
            assert outbox_on_disk(path) == {}
        assert len(writes) == 1
        assert len(on_disk(path)["outbox"]) == 50
        assert store.get_sync_state("mail") == "s1"


def test_a_batch_that_raises_still_writes_what_it_recorded(
    path: Path, writes: list[dict[str, Any]]
) -> None:
    with Store.open(path) as store:
        writes.clear()
        with pytest.raises(RuntimeError, match="backend went away"), store.batch():
            store.outbox_put("confirm:m-1", {"status": "sent"})
            store.outbox_put("confirm:m-2", {"status": "sending"})
            raise RuntimeError("backend went away")
        assert len(writes) == 1
    assert outbox_on_disk(path) == {"confirm:m-1": "sent", "confirm:m-2": "sending"}


def test_every_write_keeps_the_previous_file_as_the_backup(path: Path) -> None:
    backup = path.with_name(path.name + ".bak")
    with Store.open(path) as store:
        store.outbox_put("a", {"status": "sending"})
        before = path.read_bytes()
        store.outbox_put("a", {"status": "sent"})
        assert backup.read_bytes() == before
        assert outbox_on_disk(backup) == {"a": "sending"}
        assert outbox_on_disk(path) == {"a": "sent"}


def test_where_hard_links_are_not_allowed_the_backup_is_a_copy(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    def no_links(source: Any, target: Any) -> None:
        raise PermissionError(1, "Operation not permitted")

    monkeypatch.setattr(os, "link", no_links)
    backup = path.with_name(path.name + ".bak")
    with Store.open(path) as store:
        store.outbox_put("a", {"status": "sending"})
        before = path.read_bytes()
        store.outbox_put("a", {"status": "sent"})
    assert backup.read_bytes() == before
    assert outbox_on_disk(path) == {"a": "sent"}
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


def test_a_failed_write_leaves_the_file_intact_and_is_retried_with_the_next(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Store.open(path) as store:
        store.outbox_put("a", {"status": "sending"})
        before = path.read_bytes()
        real_replace = os.replace

        def disk_full(source: Any, target: Any) -> None:
            if Path(target) == path:
                raise OSError(28, "No space left on device")
            real_replace(source, target)

        monkeypatch.setattr(os, "replace", disk_full)
        with pytest.raises(StoreError, match="No space left on device") as raised:
            store.outbox_put("a", {"status": "sent"})
        assert str(path) in str(raised.value)
        assert path.read_bytes() == before
        assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
        monkeypatch.setattr(os, "replace", real_replace)
        store.outbox_put("b", {"status": "sending"})
    assert outbox_on_disk(path) == {"a": "sent", "b": "sending"}


def test_temporary_files_left_by_a_killed_writer_are_cleared_at_open(path: Path) -> None:
    Store.open(path).close()
    stale = path.with_name(f".{path.name}.0123456789ab.tmp")
    stale.write_bytes(b'{"half": ')
    stale_backup = path.with_name(f".{path.name}.bak.0123456789ab.tmp")
    stale_backup.write_bytes(b"{}")
    # A neighbouring state file whose name starts with ours may be writing right now.
    neighbour = path.with_name(f".{path.name}.old.0123456789ab.tmp")
    neighbour.write_bytes(b"keep")
    Store.open(path).close()
    assert not stale.exists() and not stale_backup.exists()
    assert neighbour.exists()


# --- a file aeflow cannot use -------------------------------------------------------------------

CORRUPT = {
    "cut short": (b'{"_meta":{"1":{"key":"schema","value":1}},"outbox":{"1":{"key":"a",', "line 1"),
    "not UTF-8": (b'{"_meta": "\xff\xfe"}', "not UTF-8"),
    "empty": (b"", "empty"),
    "a list at the top": (b"[1, 2, 3]", "array"),
    "a table that is a string": (b'{"outbox": "full"}', "table 'outbox'"),
    "a document id that is a word": (b'{"outbox": {"first": {"key": "a"}}}', "not a number"),
    "a document without key": (b'{"outbox": {"1": {"status": "sent"}}}', "has no key"),
    "one key twice": (
        b'{"outbox": {"1": {"key": "a", "status": "sent"}, "2": {"key": "a", "status": "sent"}}}',
        "repeats the key",
    ),
    "a schema that is a word": (b'{"_meta": {"1": {"key": "schema", "value": "one"}}}', "'one'"),
    "NaN": (b'{"_meta": {"1": {"key": "schema", "value": NaN}}}', "NaN"),
}


@pytest.mark.parametrize("content, problem", CORRUPT.values(), ids=CORRUPT.keys())
def test_a_corrupt_file_is_refused_and_left_exactly_as_it_was(
    path: Path, content: bytes, problem: str
) -> None:
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    for _ in range(2):  # a second try meets the same file: nothing was reset, nothing stays locked
        with pytest.raises(StoreCorruptError) as raised:
            Store.open(path)
        assert path.read_bytes() == content
    message = str(raised.value)
    assert str(path) in message
    assert problem in message
    assert f"there is no backup (no {path}.bak)" in message
    assert "will not overwrite it" in message and "Sent Items" in message
    assert isinstance(raised.value, StoreError) and isinstance(raised.value, UserError)
    assert raised.value.backup is None
    assert sorted(p.name for p in path.parent.iterdir()) == [path.name, path.name + ".lock"]


def test_a_corrupt_file_error_points_to_the_last_good_backup(path: Path) -> None:
    with Store.open(path) as store:
        store.outbox_put("a", {"status": "sending"})
        store.outbox_put("a", {"status": "sent"})
    backup = path.with_name(path.name + ".bak")
    good_backup = backup.read_bytes()
    path.write_bytes(path.read_bytes()[:-7])
    damaged = path.read_bytes()
    with pytest.raises(StoreCorruptError) as raised:
        Store.open(path)
    assert f"restore the last good backup {backup}" in str(raised.value)
    assert raised.value.backup == backup
    assert path.read_bytes() == damaged
    assert backup.read_bytes() == good_backup
    backup.replace(path)  # what the message tells the user to do
    with Store.open(path) as store:
        assert store.outbox_get("a") == {"key": "a", "status": "sending"}


# --- schema versions ----------------------------------------------------------------------------


def test_a_file_without_a_schema_is_upgraded_and_its_original_kept(path: Path) -> None:
    # Version 0: what a bare TinyDB writes, with no _meta table.
    original = write_json(path, {"outbox": {"1": {"key": "a", "status": "sent"}}})
    with Store.open(path) as store:
        assert store.meta_get("schema") == store_schema.current_version()
        assert store.outbox_get("a") == {"key": "a", "status": "sent"}
    assert on_disk(path)["_meta"]["1"] == {
        "key": "schema",
        "value": store_schema.current_version(),
    }
    assert path.with_name(path.name + ".schema-0.bak").read_bytes() == original


def _rename_state_to_status(document: dict[str, Any]) -> None:
    for entry in document.get("outbox", {}).values():
        entry["status"] = entry.pop("state")


def test_an_older_shape_is_migrated_step_by_step(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A made-up history: schema 1 called the outbox status "state"; schema 2 calls it "status".
    steps: list[str] = []
    real_first = store_schema.MIGRATIONS[0]

    def first(document: dict[str, Any]) -> None:
        steps.append("0->1")
        real_first(document)

    def second(document: dict[str, Any]) -> None:
        steps.append("1->2")
        _rename_state_to_status(document)

    monkeypatch.setattr(store_schema, "MIGRATIONS", [first, second])
    original = write_json(path, {"outbox": {"1": {"key": "a", "state": "sending"}}})
    with Store.open(path) as store:
        assert steps == ["0->1", "1->2"]
        assert store.meta_get("schema") == 2
        assert store.outbox_by_status("sending") == [{"key": "a", "status": "sending"}]
    assert path.with_name(path.name + ".schema-0.bak").read_bytes() == original

    steps.clear()
    write_json(
        path,
        {
            "_meta": {"1": {"key": "schema", "value": 1}},
            "outbox": {"1": {"key": "b", "state": "sent"}},
        },
    )
    with Store.open(path) as store:
        assert steps == ["1->2"]
        assert store.outbox_all() == [{"key": "b", "status": "sent"}]
    with Store.open(path) as store:
        assert steps == ["1->2"]  # a current file is not migrated again


def test_a_migration_that_fails_leaves_the_file_untouched(
    path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(
        store_schema, "MIGRATIONS", [*store_schema.MIGRATIONS, _rename_state_to_status]
    )
    original = write_json(
        path,
        {"_meta": {"1": {"key": "schema", "value": 1}}, "outbox": {"1": {"key": "a"}}},
    )
    with pytest.raises(StoreCorruptError, match="cannot be upgraded from state schema 1"):
        Store.open(path)
    assert path.read_bytes() == original
    assert not path.with_name(path.name + ".schema-1.bak").exists()


def test_a_file_from_a_newer_aeflow_is_refused_and_left_alone(path: Path) -> None:
    original = write_json(
        path,
        {"_meta": {"1": {"key": "schema", "value": 99}}, "future": {"1": {"key": "x"}}},
    )
    with pytest.raises(StoreVersionError) as raised:
        Store.open(path)
    assert "upgrade aeflow" in str(raised.value)
    assert str(path) in str(raised.value)
    assert (raised.value.found, raised.value.supported) == (99, store_schema.current_version())
    assert path.read_bytes() == original


# --- the lock -----------------------------------------------------------------------------------


def test_a_second_open_of_the_same_file_is_refused_until_the_first_closes(path: Path) -> None:
    first = Store.open(path)
    with pytest.raises(StoreLockedError) as raised:
        Store.open(path)
    assert str(raised.value).startswith(f"another aeflow is already using {path}")
    assert raised.value.pid == os.getpid()
    assert f"(pid {os.getpid()})" in str(raised.value)
    first.outbox_put("a", {"status": "sent"})  # the refused open changed nothing
    first.close()
    with Store.open(path) as second:
        assert second.outbox_get("a") == {"key": "a", "status": "sent"}


def test_times_in_records_are_utc_instants_readable_back(path: Path) -> None:
    moment = datetime(2025, 3, 3, 9, 30, tzinfo=UTC)
    with Store.open(path) as store:
        store.delivery_put("d", {"sent_at": moment, "message_id": "<d@x>"})
        record = store.delivery_get("d")
    assert record is not None
    assert datetime.fromisoformat(record["sent_at"]) == moment
