"""Running the installed ``datever`` script in a subprocess, and the histories it runs on."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT / "changes"
DATEVER = str(Path(sys.executable).parent / "datever")
TODAY = "2026-11-22"
ENV = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
COMMANDS = ("resolve", "inspect", "diff", "changelog", "new", "check", "migrate", "schema",
            "openapi")

#: a second, small history: two breaking changes, a retroactive one and a beta one
SMALL = {
    "2020_01_01_amount_renamed.py": '''
        """A charge's `amount_cents` is renamed `amount`.

        Every amount in the API is called `amount`; older versions still see and
        send `amount_cents`.
        """

        from datever import Change, rename

        change = Change(
            released="2020-01-01",
            resources={
                "charge": [rename("amount_cents", "amount")],
                "charge.create": [rename("amount_cents", "amount")],
            },
        )
    ''',
    "2021_03_01_status_succeeded.py": '''
        """A successful charge has status `succeeded` instead of `paid`."""

        from datever import Change, map_values

        change = Change(released="2021-03-01",
                        resources={"charge": [map_values("status", {"paid": "succeeded"})]})
    ''',
    "2022_06_01_charge_currency.py": '''
        """Charges carry their `currency`."""

        from datever import Change, add

        change = Change(released="2022-06-01", resources={"charge": [add("currency", "usd")]})
    ''',
    "beta_charge_captured_removed.py": '''
        """A charge no longer carries `captured` (beta)."""

        from datever import Change, remove

        change = Change(stage="beta", beta_since="2026-10-01",
                        resources={"charge": [remove("captured", True)]})
    ''',
}

#: a module defining LIFECYCLE; fill in with lifecycle(deprecated, sunset)
LIFECYCLE = '''
    import datetime as dt

    from datever import ReleaseLifecycle
    from datever.lifecycle import Lifecycle

    LIFECYCLE = Lifecycle(
        {"v1": ReleaseLifecycle(successor_announced=dt.date(2020, 1, 1),
                                deprecated=dt.date(DEPRECATED), sunset=dt.date(SUNSET))},
        changelog_url="https://api.example.com/changelog",
    )
'''


def lifecycle(deprecated: str, sunset: str) -> str:
    """The source of a module whose LIFECYCLE deprecates and sunsets v1 on those days."""
    return LIFECYCLE.replace("DEPRECATED", deprecated).replace("SUNSET", sunset)


def write(directory: Path, files: dict[str, str]) -> Path:
    """Write ``files`` (dedented) into ``directory``, created as needed; returns it."""
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in files.items():
        (directory / name).write_text(textwrap.dedent(text).lstrip())
    return directory


def run(*args: str, cwd: Path | None = None, stdin: str | None = None,
        env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``datever --today TODAY ARGS...`` in a subprocess, without colour, 100 columns."""
    return subprocess.run([DATEVER, "--today", TODAY, *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd, env=env or ENV, timeout=120, check=False)


def reference(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    """``datever`` on the reference API in ``changes/``."""
    return run("--changes", str(REFERENCE), *args, stdin=stdin)


def on(directory: Path, *args: str, stdin: str | None = None,
       cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    """``datever`` on the changes in ``directory``."""
    return run("--changes", str(directory), *args, stdin=stdin, cwd=cwd)
