"""Every example in the ``datever`` help texts runs as written, and succeeds.

The examples are read from the help itself, so a new one is tested without
touching this file. Each runs in a shell (some pipe or redirect) in a fresh
project holding the reference API and the files the examples name.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import random
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from datever.cli import main
from tests.cli_runs import COMMANDS, DATEVER, ENV, REFERENCE, TODAY, write
from tests.reference import load_samples

#: a command, then (after two spaces or more) what it does
_EXAMPLE = re.compile(r"  (?P<command>\S.*?)(?: {2,}.*)?")


def help_text(*command: str) -> str:
    """What ``datever [COMMAND] --help`` prints."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as exited:
        main([*command, "--help"])
    assert exited.value.code == 0
    return out.getvalue()


def examples(text: str) -> list[str]:
    """The commands of the help's ``examples:`` block (up to its first blank line)."""
    block = text.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0]
    found = []
    for line in block.splitlines():
        match = _EXAMPLE.fullmatch(line)
        assert match, f"not an example line: {line!r}"
        found.append(match["command"])
    return found


EXAMPLES = sorted({example for command in ((), *((name,) for name in COMMANDS))
                   for example in examples(help_text(*command))})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A service's checkout: the reference API's changes (also under path/to/), a
    lifecycle, routes and head schemas in ``myapi``, and the JSON files the examples
    migrate."""
    shutil.copytree(REFERENCE, tmp_path / "changes")
    shutil.copytree(REFERENCE, tmp_path / "path" / "to" / "changes")
    write(tmp_path / "myapi", {
        "__init__.py": "",
        "lifecycle.py": '''
            import datetime as dt

            from datever import ReleaseLifecycle
            from datever.lifecycle import Lifecycle

            LIFECYCLE = Lifecycle(
                {"v1": ReleaseLifecycle(successor_announced=dt.date(2019, 4, 15),
                                        deprecated=dt.date(2024, 1, 1),
                                        sunset=dt.date(2027, 6, 30))},
                changelog_url="https://api.example.com/changelog")
        ''',
        "routes.py": '''
            from datever.web.routing import Routes

            ROUTES = Routes()
            for resource in ("charge", "customer", "refund", "payment_method"):
                ROUTES.add("POST", f"/{resource}s", f"{resource}.create")
        ''',
        "schemas.py": '''
            from datever.changes import load_schemas

            SCHEMAS = load_schemas("changes")  # the reference API's head Structs
        ''',
    })
    samples = load_samples()
    rng = random.Random(7)
    (tmp_path / "charge.json").write_text(json.dumps(samples.charge(rng), indent=2))
    (tmp_path / "events.ndjson").write_text(
        "".join(json.dumps(samples.event(rng)) + "\n" for _ in range(5)))
    (tmp_path / "body.json").write_text(json.dumps(
        {"amount": 1000, "currency": "usd", "customer": "cus_1", "payment_method": "pm_1"}))
    return tmp_path


@pytest.mark.parametrize("example", EXAMPLES)
def test_help_example_runs(example: str, project: Path) -> None:
    """The example exits 0 and reports no error (today pinned, options after the command)."""
    pinned = re.sub(r"\bdatever (\S+)", rf"datever \1 --today {TODAY}", example)
    env = {**ENV, "PATH": f"{Path(DATEVER).parent}{os.pathsep}{ENV['PATH']}"}
    result = subprocess.run(["bash", "-o", "pipefail", "-c", pinned], cwd=project, env=env,
                            capture_output=True, text=True, timeout=120, check=False)
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr


def test_examples_are_found() -> None:
    """Every command's help has examples, and the top-level help one per command."""
    assert len(EXAMPLES) > 2 * len(COMMANDS)
    top = examples(help_text())
    assert {example.split()[1] for example in top} == set(COMMANDS)
