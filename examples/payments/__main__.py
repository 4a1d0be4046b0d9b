"""``python -m examples.payments [--host H] [--port P] [--pins P] [--workers N] [--demo]``:
serve the payments API."""

from __future__ import annotations

import argparse
import os
import re
import sys

import uvicorn

from examples.payments.app import PaymentsApp, create_app
from examples.payments.demo import create_demo_app


def main(argv: list[str] | None = None) -> int:
    """Parse the options, print the URL and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.payments",
        description="The reference payments API of changes/, served at every version. "
                    "Storage: $PAYMENTS_DB (default payments.sqlite3), version pins: "
                    "$PAYMENTS_PINS (default pins.sqlite3).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=int(os.environ.get("PAYMENTS_PORT", 8000)),
                        help="port to listen on ($PAYMENTS_PORT, else 8000)")
    parser.add_argument("--pins", default=os.environ.get("PAYMENTS_PINS", "pins.sqlite3"),
                        help="version pins: a SQLite file, or a postgresql:// URL shared by "
                             "every worker and host ($PAYMENTS_PINS, else pins.sqlite3)")
    parser.add_argument("--workers", type=int, default=1,
                        help="worker processes (1); more share the storage and the pins")
    parser.add_argument("--demo", action="store_true",
                        help="a fresh in-memory demo that answers the same every run: sample "
                             "data, seeded ids and a clock fixed at 2026-11-22 05:11:22 UTC")
    args = parser.parse_args(argv)
    app: PaymentsApp
    if args.workers > 1 and not args.demo:
        return _fleet(args.host, args.port, args.pins, args.workers)
    if args.demo:
        app, where = create_demo_app(), "demo: in memory, clock fixed at 2026-11-22T05:11:22Z"
    else:
        db = os.environ.get("PAYMENTS_DB", "payments.sqlite3")
        app, where = create_app(db, args.pins), f"storage {db}, pins {_shown(args.pins)}"
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"payments API on http://{host}:{args.port}  ({where}; Ctrl-C stops it)", flush=True)
    # the demo sends its own Date header, from its fixed clock
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning",
                date_header=not args.demo)
    return 0


def _shown(pins: str) -> str:
    """``pins`` fit to print: a URL without its password."""
    return re.sub(r"(://[^:/@]*):[^@]*@", r"\1:***@", pins)


def _fleet(host: str, port: int, pins: str, workers: int) -> int:
    """Serve with ``workers`` uvicorn processes, each building the app from the environment."""
    os.environ["PAYMENTS_PINS"] = pins  # the workers are new processes: they read it there
    db = os.environ.get("PAYMENTS_DB", "payments.sqlite3")
    shown = f"[{host}]" if ":" in host else host
    print(f"payments API on http://{shown}:{port}  ({workers} workers; storage {db}, pins "
          f"{_shown(pins)}; Ctrl-C stops it)", flush=True)
    uvicorn.run("examples.payments:create_app", factory=True, workers=workers, host=host,
                port=port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
