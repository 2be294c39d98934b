"""The state file survives a daemon killed while writing, and one state file serves one daemon.

Each test starts real child Python processes that open the store, and kills them with SIGKILL, which
no code can catch: what is on disk afterwards is all the next daemon gets.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from aeflow.store import Store, StoreLockedError

REPO = Path(__file__).resolve().parents[2]
RECORDS = 300

pytestmark = pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL")

# Writes generation after generation: every outbox record and the meta fact "generation" carry the
# same number, so a file mixing two writes is told from a complete one. The padding makes each write
# long enough for a random kill to land inside it often.
WRITER = """
import os, signal, sys
from aeflow.store import Store

path, count, trap = sys.argv[1], int(sys.argv[2]), sys.argv[3]
pad = "x" * 1000


def arm(trap):
    # "<call number>:<before|after>": die at that call of os.link/os.replace/os.fsync.
    number, when = trap.split(":")
    calls = [0]
    for name in ("link", "replace", "fsync"):
        real = getattr(os, name)

        def wrapped(*args, _real=real, **kwargs):
            calls[0] += 1
            if calls[0] == int(number) and when == "before":
                os.kill(os.getpid(), signal.SIGKILL)
            result = _real(*args, **kwargs)
            if calls[0] == int(number) and when == "after":
                os.kill(os.getpid(), signal.SIGKILL)
            return result

        setattr(os, name, wrapped)


with Store.open(path) as store:
    generation = store.meta_get("generation") or 0
    while True:
        generation += 1
        with store.batch():
            for n in range(count):
                record = {"status": "sent", "generation": generation, "pad": pad}
                store.outbox_put(f"action-{n:04d}", record)
            store.meta_set("generation", generation)
        print(generation, flush=True)
        if trap != "none":
            arm(trap)
            trap = "none"
"""

HOLDER = """
import sys, time
from aeflow.store import Store

with Store.open(sys.argv[1]) as store:
    store.meta_set("holder", "child")
    print("open", flush=True)
    time.sleep(600)
"""


@contextmanager
def child(script: str, *args: str) -> Iterator[subprocess.Popen[str]]:
    process = subprocess.Popen(
        [sys.executable, "-c", script, *args],
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(REPO)},
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
        process.wait()
        assert process.stdout is not None
        process.stdout.close()


def first_line(process: subprocess.Popen[str]) -> str:
    assert process.stdout is not None
    line = process.stdout.readline()
    assert line, f"the child process ended (status {process.wait()}) before it wrote"
    return line.strip()


def generation_of(document: dict[str, Any]) -> int:
    """The one generation a state document holds, failing on a mix or an incomplete write."""
    meta = {entry["key"]: entry["value"] for entry in document["_meta"].values()}
    outbox = list(document.get("outbox", {}).values())
    if "generation" not in meta:
        assert outbox == [], "records without the generation that wrote them"
        return 0
    generations = {record["generation"] for record in outbox}
    assert generations == {meta["generation"]}, f"a mix of generations: {sorted(generations)}"
    assert len(outbox) == RECORDS, f"{len(outbox)} records instead of {RECORDS}"
    return int(meta["generation"])


def check_after_kill(path: Path) -> int:
    """The file and its backup each hold one complete generation, and the store opens on it."""
    on_disk = generation_of(json.loads(path.read_bytes()))
    backup = path.with_name(path.name + ".bak")
    if backup.exists():
        assert generation_of(json.loads(backup.read_bytes())) <= on_disk
    with Store.open(path) as store:
        records = store.outbox_all()
        assert {r["generation"] for r in records} == ({on_disk} if on_disk else set())
        assert store.meta_get("generation") == (on_disk or None)
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]
    return on_disk


def test_a_writer_killed_at_random_moments_leaves_one_complete_generation(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    chance = random.Random(20250303)  # fixed, so a failing run can be replayed
    last = 0
    torn_writes = 0
    for _ in range(50):
        with child(WRITER, str(path), str(RECORDS), "none") as writer:
            first_line(writer)  # one generation written: the next kill lands at a random point
            time.sleep(chance.uniform(0, 0.02))
            writer.send_signal(signal.SIGKILL)
            writer.wait()
        torn_writes += any(p.name.endswith(".tmp") for p in tmp_path.iterdir())
        generation = check_after_kill(path)
        assert generation > last
        last = generation
    print(f"50 kills, {torn_writes} of them in the middle of writing the file, {last} generations")


@pytest.mark.parametrize("when", ["before", "after"])
@pytest.mark.parametrize("call", range(1, 7))
def test_a_writer_killed_at_each_step_of_a_write_leaves_one_complete_generation(
    tmp_path: Path, call: int, when: str
) -> None:
    # Steps of one write: link the backup, rename it, sync the new file, rename it over the state
    # file, sync the folder; call 6 belongs to the write after, so the kill covers the whole cycle.
    path = tmp_path / "state.json"
    with child(WRITER, str(path), str(RECORDS), f"{call}:{when}") as writer:
        assert first_line(writer) == "1"
        writer.wait()
        assert writer.returncode == -signal.SIGKILL
    assert check_after_kill(path) in {1, 2}


def test_a_second_daemon_on_the_same_state_file_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "state.json"
    with child(HOLDER, str(path)) as holder:
        assert first_line(holder) == "open"
        with pytest.raises(StoreLockedError) as raised:
            Store.open(path)
        assert f"another aeflow is already using {path}" in str(raised.value)
        assert raised.value.pid == holder.pid
        assert f"(pid {holder.pid})" in str(raised.value)
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    with Store.open(path) as store:
        assert store.meta_get("holder") == "child"
