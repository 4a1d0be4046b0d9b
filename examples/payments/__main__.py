"""``python -m examples.payments [--host H] [--port P]``: serve the payments API with uvicorn."""

from __future__ import annotations

import argparse
import os
import sys

import uvicorn

from examples.payments.app import create_app


def main(argv: list[str] | None = None) -> int:
    """Parse the options, print the URL and serve until interrupted."""
    parser = argparse.ArgumentParser(
        prog="python -m examples.payments",
        description="The reference payments API of changes/, served at every version. "
                    "Storage: $PAYMENTS_DB (default payments.sqlite3), version pins: "
                    "$PAYMENTS_PINS (default pins.sqlite3).")
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port to listen on (8000)")
    args = parser.parse_args(argv)
    db = os.environ.get("PAYMENTS_DB", "payments.sqlite3")
    pins = os.environ.get("PAYMENTS_PINS", "pins.sqlite3")
    app = create_app(db, pins)
    host = f"[{args.host}]" if ":" in args.host else args.host
    print(f"payments API on http://{host}:{args.port}  (storage {db}, pins {pins}; "
          "Ctrl-C stops it)", flush=True)
    uvicorn.run(app, host=args.host, port=args.port, log_level="warning")
    return 0


if __name__ == "__main__":
    sys.exit(main())
