"""How fast the state file opens and writes, and how large it grows. Prints figures only.

.venv/bin/python benchmarks/bench_store.py [--deliveries 10000]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aeflow.store import Store

START = datetime(2025, 3, 3, 9, 0, tzinfo=UTC)


def outbox_record(index: int) -> dict[str, Any]:
    return {
        "status": "sent",
        "kind": "confirm",
        "due": START + timedelta(minutes=index),
        "sent_at": START + timedelta(minutes=index, seconds=3),
        "message_id": f"<aeflow.{index}@agency.example>",
        "recipients": ["li.wei@client.example", "ae@agency.example"],
    }


def delivery_record(index: int) -> dict[str, Any]:
    sent = START + timedelta(hours=index)
    return {
        "kind": "minutes",
        "message_id": f"<aeflow.delivery.{index}@agency.example>",
        "sent_at": sent,
        "client": f"client-{index % 40}",
        "subject": f"Minutes: campaign review {index}",
        "recipients": [
            {
                "email": f"contact{n}@client{index % 40}.example",
                "status": "confirmed",
                "since": sent,
            }
            for n in range(3)
        ],
    }


def timed(label: str, action: Callable[[], object]) -> None:
    began = time.perf_counter()
    action()
    print(f"{label:<52} {(time.perf_counter() - began) * 1000:9.1f} ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--deliveries", type=int, default=10_000)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "state.json"
        timed("open a new state file", lambda: Store.open(path).close())

        with Store.open(path) as store:

            def outbox_batch() -> None:
                with store.batch():
                    for index in range(1000):
                        store.outbox_put(f"confirm:{index}", outbox_record(index))

            def single_writes() -> None:
                for index in range(100):
                    store.set_sync_state("mail", f"state-{index}")

            timed("write 1 000 outbox records in one batch", outbox_batch)
            timed("write 100 single records outside a batch", single_writes)

            def deliveries() -> None:
                with store.batch():
                    for index in range(options.deliveries):
                        store.delivery_put(f"minutes:{index}", delivery_record(index))

            timed(f"write {options.deliveries:,} deliveries in one batch", deliveries)
            last = f"<aeflow.delivery.{options.deliveries - 1}@agency.example>"
            timed(
                "find 1 000 deliveries by Message-ID",
                lambda: [store.delivery_by_message_id(last) for _ in range(1000)],
            )
            timed(
                "update one delivery outside a batch",
                lambda: store.delivery_put("minutes:0", delivery_record(0)),
            )
        timed("open the full state file", lambda: Store.open(path).close())
        size = path.stat().st_size
        print(
            f"{'file size with ' + format(options.deliveries, ',') + ' deliveries':<52} "
            f"{size / 1024:9.1f} KiB"
        )


if __name__ == "__main__":
    main()
