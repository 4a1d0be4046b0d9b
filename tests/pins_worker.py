"""Helper for tests/test_pins.py: one process doing pin_first on a shared SQLite file.

Usage: python tests/pins_worker.py DB_PATH VERSION GO_FILE. Opens the store,
prints ``ready``, waits for GO_FILE to appear, pins account ``acct`` to
VERSION and prints the pin in force as JSON.
"""

from __future__ import annotations

import json
import pathlib
import sys
import time

from datever.pins import SQLitePinStore


def main(db_path: str, version: str, go_file: str) -> None:
    """Open the store, signal readiness, wait for the go file, pin and report."""
    with SQLitePinStore(db_path) as store:
        print("ready", flush=True)
        go = pathlib.Path(go_file)
        deadline = time.monotonic() + 60
        while not go.exists():
            if time.monotonic() > deadline:
                raise SystemExit("the go file never appeared")
            time.sleep(0.001)
        pin = store.pin_first("acct", version)
        print(json.dumps({"version": pin.version, "pinned_at": pin.pinned_at.isoformat()}),
              flush=True)


if __name__ == "__main__":
    main(*sys.argv[1:4])
