"""Helper for tests/test_pin_contract.py: one process doing pin_first on a shared database.

Usage: python tests/pins_worker.py TARGET VERSION GO_FILE, where TARGET is a
SQLite file or a ``postgresql://`` URL. Opens the store, prints ``ready``,
waits for GO_FILE to appear, pins account ``acct`` to VERSION and prints the
pin in force, the number of pinned accounts and of history entries as JSON.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time
from typing import Any


def open_store(target: str) -> Any:
    """The PostgreSQL store for a URL, else the SQLite store of a file."""
    if target.startswith("postgresql://"):
        from datever.pins_pg import PostgresPinStore

        return PostgresPinStore(target, min_size=1, max_size=1)
    from datever.pins_sql import SQLitePinStore

    return SQLitePinStore(target)


def main(target: str, version: str, go_file: str) -> None:
    """Open the store, signal readiness, wait for the go file, pin and report."""
    with open_store(target) as store:
        store.get("warm-up")  # connect before the race, not during it
        print("ready", flush=True)
        go = pathlib.Path(go_file)
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("the go file never appeared")
            time.sleep(0.001)
        pin = store.pin_first("acct", version)
        print(json.dumps({"version": pin.version, "pinned_at": pin.pinned_at.isoformat(),
                          "pins": len(store), "history": len(store.history("acct"))}),
              flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
