"""Where options may go, what ``--json`` prints, and how usage errors read."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from datever.cli_parser import parse
from tests.cli_runs import DATEVER, ENV, SMALL, TODAY, on, run, write

#: per command: its positional arguments, and its options (each kept whole)
ARGUMENTS: dict[str, tuple[list[str], list[list[str]]]] = {
    "resolve": (["X"], [["--json"], ["--lifecycle", "m:L"]]),
    "inspect": (["v1", "charge"], [["--json"], ["--source"], ["--lifecycle", "m:L"]]),
    "diff": (["v1", "X"], [["--json"]]),
    "changelog": ([], [["--since", "v1"], ["--json"]]),
    "new": (["Refunds carry a reason"], [["--stage", "beta"], ["--json"]]),
    "check": ([], [["--json"], ["--strict"], ["--routes", "m:R"], ["--lifecycle", "m:L"]]),
    "migrate": (["2021-06-07", "a.json", "b.json"],
                [["--up"], ["--resource", "charge.create"], ["--strict"], ["--progress"]]),
}
GLOBAL = [["--changes", "api/changes"], ["--today", "2024-01-01"], ["--no-color"]]


@st.composite
def command_lines(draw: st.DrawFn) -> tuple[list[str], list[str]]:
    """A command line in its plain order, and the same one with every option moved:
    a global one before or after the command, any option between any positionals."""
    command = draw(st.sampled_from(sorted(ARGUMENTS)))
    positionals, options = ARGUMENTS[command]
    plain = [token for group in GLOBAL for token in group] + [command, *positionals]
    plain += [token for group in options for token in group]
    before: list[str] = []
    slots: list[list[str]] = [[] for _ in range(len(positionals) + 1)]
    for group in draw(st.permutations([*GLOBAL, *options])):
        if group in GLOBAL and draw(st.booleans()):
            before += group
        else:
            slots[draw(st.integers(0, len(positionals)))] += group
    moved = [*before, command, *slots[0]]
    for positional, slot in zip(positionals, slots[1:], strict=True):
        moved += [positional, *slot]
    return plain, moved


@given(command_lines())
def test_options_may_go_anywhere(lines: tuple[list[str], list[str]]) -> None:
    """Moving options before, between or after positionals, and global options after the
    command, parses to the same options."""
    plain, moved = lines
    assert vars(parse(moved)[0]) == vars(parse(plain)[0])


def test_a_global_options_value_is_never_the_command() -> None:
    """A directory named like a command, given to --changes, is not taken for the command."""
    args, command = parse(["--changes", "check", "resolve", "X"])
    assert (args.changes, args.command, command.prog) == ("check", "resolve", "datever resolve")


def test_global_option_with_equals_before_the_command() -> None:
    """--changes=DIR before the command is the same as --changes DIR after it."""
    assert vars(parse(["--changes=api", "resolve", "X"])[0]) == vars(
        parse(["resolve", "X", "--changes", "api"])[0])


# -- in real processes ------------------------------------------------------------


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small history's changes directory."""
    return write(tmp_path / "changes", SMALL)


def test_migrate_up_with_options_between_positionals(small: Path, tmp_path: Path) -> None:
    """migrate VERSION --up --resource R FILE: options before the file are accepted."""
    body = tmp_path / "body.json"
    body.write_text('{"amount_cents": 5}')
    result = on(small, "migrate", "v1", "--up", "--resource", "charge.create", str(body))
    assert (result.returncode, result.stdout) == (0, '{"amount":5}\n')


def test_global_options_after_the_command(small: Path, tmp_path: Path) -> None:
    """--changes and --timeline work after the command and its arguments."""
    write(tmp_path, {"api_timeline.py": f'''
        from datever.changes import load_changes
        from datever.versions import Timeline

        TIMELINE = Timeline(load_changes({str(small)!r}))
    '''})
    by_dir = run("check", "--changes", str(small))
    by_timeline = run("resolve", "2021-06-07", "--timeline", "api_timeline:TIMELINE",
                      cwd=tmp_path)
    assert (by_dir.returncode, by_dir.stdout) == (0, "no problems\n")
    assert "name       2021-03-01" in by_timeline.stdout.splitlines()


def test_unknown_option_prints_the_command_usage(small: Path) -> None:
    """A mistake after the command shows that command's usage, not the top level's: exit 2."""
    result = on(small, "diff", "v1", "X", "--jsn")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: datever diff ")
    assert result.stderr.endswith("datever diff: error: unrecognized arguments: --jsn\n")


def test_changes_and_timeline_exclude_each_other_across_the_command(small: Path) -> None:
    """--changes before the command and --timeline after it are refused together."""
    result = on(small, "resolve", "X", "--timeline", "api:TIMELINE")
    assert result.returncode == 2
    assert result.stderr.endswith(
        "datever resolve: error: --changes and --timeline exclude each other\n")


@pytest.mark.parametrize("where", ["before", "after"])
def test_new_refuses_a_timeline(where: str, tmp_path: Path) -> None:
    """new writes files, so --timeline (before or after it) is a usage error that says so."""
    args = ["new", "Refunds carry a reason"]
    args = ["--timeline", "api:TIMELINE", *args] if where == "before" else [
        *args, "--timeline", "api:TIMELINE"]
    result = run(*args, cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.endswith(
        "datever new: error: new writes a module into the changes directory (--changes "
        "DIR); it cannot add one to a --timeline object\n")
    assert list(tmp_path.iterdir()) == []


def test_new_help_does_not_offer_a_timeline() -> None:
    """new --help lists --changes but not --timeline."""
    text = run("new", "--help").stdout
    assert "--changes DIR" in text
    assert "--timeline" not in text


def test_no_command_lists_the_commands() -> None:
    """datever alone is a usage error naming the commands."""
    result = subprocess.run([DATEVER], capture_output=True, text=True, env=ENV, timeout=120,
                            check=False)
    assert result.returncode == 2
    assert result.stderr.endswith("datever: error: give a COMMAND: resolve, inspect, diff, "
                                  "changelog, new, check, migrate, schema, openapi\n")


def test_changelog_json_and_format_exclude_each_other(small: Path) -> None:
    """changelog --json with --format markdown is a usage error."""
    result = on(small, "changelog", "--json", "--format", "markdown")
    assert result.returncode == 2
    assert result.stderr.startswith("usage: datever changelog ")


# -- JSON ---------------------------------------------------------------------------


def test_changelog_json_is_format_json(small: Path) -> None:
    """changelog --json prints what --format json prints."""
    assert on(small, "changelog", "--json").stdout == on(small, "changelog", "--format",
                                                         "json").stdout


def test_inspect_json_shape(small: Path) -> None:
    """inspect --json: the resolution (as resolve --json), then per resource and direction
    the changes in the order they apply, with their operations, and the generated source."""
    data = json.loads(on(small, "inspect", "2020-06-01", "charge", "--json").stdout)
    assert data["name"] == "2020-01-01"
    assert data["pending_changes"] == ["2021_03_01_status_succeeded",
                                       "beta_charge_captured_removed"]
    assert list(data["resources"]) == ["charge"]
    down, up = data["resources"]["charge"]["down"], data["resources"]["charge"]["up"]
    assert down["changes"] == [
        {"id": "beta_charge_captured_removed", "release": "beta",
         "operations": ["remove 'captured' (older versions get True)"]},
        {"id": "2021_03_01_status_succeeded", "release": "2021-03-01",
         "operations": ["map values of 'status': 'paid' -> 'succeeded'"]}]
    assert [change["id"] for change in up["changes"]] == [
        "2021_03_01_status_succeeded", "beta_charge_captured_removed"]
    assert down["source"].startswith("def down_charge(d):\n")
    assert up["source"].startswith("def up_charge(d):\n")


def test_inspect_json_of_the_head_has_no_resources(small: Path) -> None:
    """At X nothing migrates: no resources."""
    data = json.loads(on(small, "inspect", "X", "--json").stdout)
    assert (data["name"], data["resources"]) == ("X", {})


def test_new_json(tmp_path: Path) -> None:
    """new --json prints the path, id and release of the module it wrote."""
    result = run("new", "--json", "Refunds carry a reason", "--changes", str(tmp_path))
    path = tmp_path / "2026_11_22_refunds_carry_a_reason.py"
    assert json.loads(result.stdout) == {"path": str(path), "id": path.stem, "release": TODAY}
    assert path.is_file()
