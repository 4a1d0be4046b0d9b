"""The ``datever`` command, run as the installed script in real subprocesses."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import datever.changes
from tests.cli_runs import (
    COMMANDS,
    DATEVER,
    ENV,
    REFERENCE,
    SMALL,
    TODAY,
    lifecycle,
    on,
    reference,
    run,
    write,
)


@pytest.fixture
def small(tmp_path: Path) -> Path:
    """The small history's changes directory."""
    return write(tmp_path / "changes", SMALL)


# -- help ---------------------------------------------------------------------------


def test_python_m_datever_help_lists_every_command() -> None:
    """``python -m datever --help`` names every command and shows examples."""
    result = subprocess.run([sys.executable, "-m", "datever", "--help"], capture_output=True,
                            text=True, env=ENV, timeout=120, check=False)
    assert result.returncode == 0
    assert result.stdout.startswith("usage: datever")
    assert all(f"    {command} " in result.stdout for command in COMMANDS)
    assert "examples:\n  datever resolve 2021-06-07" in result.stdout


@pytest.mark.parametrize("command", COMMANDS)
def test_every_command_help_has_examples(command: str) -> None:
    """Each command's --help has an examples section that uses the command."""
    result = run(command, "--help")
    assert result.returncode == 0
    examples = result.stdout.split("examples:\n", 1)[1]
    assert f"datever {command}" in examples


# -- resolve ------------------------------------------------------------------------


def test_resolve_dated_version() -> None:
    """A date resolves to the newest release on or before it, with its pending count."""
    result = reference("resolve", "2021-06-07")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "requested  2021-06-07",
        "name       2021-05-10",
        "channel    stable",
        "release    2021-05-10",
        "unstable   no",
        "warning    none",
        "pending    21 changes to undo for this version",
    ]


def test_resolve_x_is_the_unstable_head() -> None:
    """X is the experimental head: nothing pending, unstable, with its warning."""
    lines = reference("resolve", "X").stdout.splitlines()
    assert "channel    experimental" in lines
    assert "unstable   yes" in lines
    assert "warning    X is experimental and may change at any time" in lines
    assert "pending    0 changes to undo for this version" in lines


def test_resolve_beta(small: Path) -> None:
    """beta is the newest release plus the beta changes."""
    lines = on(small, "resolve", "beta").stdout.splitlines()
    assert lines[1:5] == ["name       beta", "channel    beta", "release    2022-06-01",
                          "unstable   yes"]
    assert lines[6] == "pending    0 changes to undo for this version"


def test_resolve_malformed_version_exits_2_listing_accepted_forms() -> None:
    """A malformed version is an error on stderr that lists the accepted forms."""
    result = reference("resolve", "2021-6-7")
    assert result.returncode == 2
    assert result.stdout == ""
    assert result.stderr.splitlines() == [
        "datever: error: '2021-6-7' is not a version",
        "accepted forms: a UTC date YYYY-MM-DD (2021-06-07), the same with a leading v "
        "(v2021-06-07), X for the experimental head, or v1 / 1 for the initial version, or "
        "beta for the newest release with the beta changes",
    ]


def test_resolve_future_version_exits_2() -> None:
    """A date after tomorrow is refused, naming today."""
    result = reference("resolve", "2026-11-24")
    assert result.returncode == 2
    assert "'2026-11-24' is in the future (today is 2026-11-22 UTC)" in result.stderr


def test_resolve_tomorrow_is_served_with_a_warning() -> None:
    """--today pins the date: tomorrow resolves to the newest release, with a warning."""
    lines = reference("resolve", "2026-11-23").stdout.splitlines()
    assert "name       2025-09-29" in lines
    assert ("warning    2026-11-23 is tomorrow in UTC; it is served as today's newest release"
            in lines)


def test_resolve_json(small: Path) -> None:
    """--json prints the resolution as one JSON object."""
    result = on(small, "resolve", "2021-06-07", "--json")
    assert result.returncode == 0
    assert json.loads(result.stdout) == {
        "requested": "2021-06-07", "name": "2021-03-01", "channel": "stable",
        "release": "2021-03-01", "unstable": False, "warning": None, "pending": 1,
        "pending_changes": ["beta_charge_captured_removed"]}


def test_resolve_with_lifecycle_shows_status_and_headers(small: Path, tmp_path: Path) -> None:
    """--lifecycle adds the version's state and the headers signals() would send."""
    write(tmp_path, {"api_lifecycle.py": lifecycle("2024, 1, 1", "2026, 12, 31")})
    result = on(small, "resolve", "v1", "--lifecycle", "api_lifecycle:LIFECYCLE", cwd=tmp_path)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert "status     deprecated" in lines
    assert "http       200" in lines
    start = lines.index("headers    X-API-Version: v1")
    assert lines[start + 1:start + 4] == [
        "           Deprecation: @1704067200",
        "           Sunset: Thu, 31 Dec 2026 00:00:00 GMT",
        '           Link: <https://api.example.com/changelog>; rel="deprecation"; '
        'type="text/html"',
    ]
    assert lines[-1].startswith("           X-API-Warning: v1 is deprecated since 2024-01-01 "
                                "and will be removed on 2026-12-31 (39 days)")


def test_resolve_lifecycle_json_has_status_and_headers(small: Path, tmp_path: Path) -> None:
    """With --json, the lifecycle state, HTTP status and header pairs are in the object."""
    write(tmp_path, {"api_lifecycle.py": lifecycle("2024, 1, 1", "2026, 1, 1")})
    result = on(small, "resolve", "v1", "--json", "--lifecycle", "api_lifecycle:LIFECYCLE",
                cwd=tmp_path)
    data = json.loads(result.stdout)
    assert data["status"]["state"] == "removed"
    assert data["status"]["sunset"] == "2026-01-01"
    assert data["http_status"] == 410
    assert ["X-API-Version", "v1"] in data["headers"]
    assert data["body"]["error"]["type"] == "version_removed"


def test_lifecycle_that_is_not_a_lifecycle_exits_2(small: Path, tmp_path: Path) -> None:
    """--lifecycle must name a Lifecycle: a usage error of the command, naming the class."""
    write(tmp_path, {"not_lifecycle.py": "LIFECYCLE = 42\n"})
    result = on(small, "resolve", "v1", "--lifecycle", "not_lifecycle:LIFECYCLE", cwd=tmp_path)
    assert result.returncode == 2
    assert result.stderr.startswith("usage: datever resolve ")
    assert result.stderr.endswith("datever resolve: error: --lifecycle not_lifecycle:LIFECYCLE: "
                                  "got int, not a datever.lifecycle.Lifecycle\n")


def test_global_options_may_follow_the_command(small: Path) -> None:
    """--changes and --today work after the command name too."""
    result = subprocess.run([DATEVER, "resolve", "2026-11-23", "--changes", str(small),
                             "--today", "2026-11-23"], capture_output=True, text=True, env=ENV,
                            timeout=120, check=False)
    assert result.returncode == 0
    assert "name       2022-06-01" in result.stdout.splitlines()
    assert "warning    none" in result.stdout.splitlines()


def test_missing_changes_directory_exits_2(tmp_path: Path) -> None:
    """A --changes directory that does not exist is a usage error."""
    result = on(tmp_path / "nowhere", "resolve", "X")
    assert result.returncode == 2
    assert "no changes directory at" in result.stderr


def test_broken_changes_directory_exits_1_pointing_to_check(tmp_path: Path) -> None:
    """A directory that does not load is a problem found: exit 1, and a hint."""
    broken = write(tmp_path / "changes", {"2020_01_01_x.py": '"""X."""\nraise ValueError\n'})
    result = on(broken, "resolve", "X")
    assert result.returncode == 1
    assert "2020_01_01_x.py: importing it raised ValueError" in result.stderr
    assert "run `datever check` to list every problem" in result.stderr


def test_timeline_option_imports_a_timeline(tmp_path: Path) -> None:
    """--timeline MODULE:ATTR uses a Timeline defined in Python, found from the cwd."""
    write(tmp_path, {"api_timeline.py": '''
        from datever import Change, rename
        from datever.versions import Timeline

        TIMELINE = Timeline([Change(released="2021-01-01", id="c1", description="Rename a.",
                                    resources={"charge": [rename("a", "b")]})])
    '''})
    result = run("--timeline", "api_timeline:TIMELINE", "resolve", "2021-06-07", cwd=tmp_path)
    assert result.returncode == 0
    assert "name       2021-01-01" in result.stdout.splitlines()


# -- inspect ------------------------------------------------------------------------


def test_inspect_shows_resolution_and_operations() -> None:
    """inspect prints the resolved name and the operations of the pending changes."""
    result = reference("inspect", "2025-01-01", "customer")
    assert result.returncode == 0
    assert "2024-11-04" in result.stdout
    assert "rename 'phone' to 'phone_number'" in result.stdout


def test_inspect_falls_back_to_plain_text_without_the_printer() -> None:
    """Without datever.printer, inspect prints the resolution and each pipeline's source."""
    script = ("import sys; sys.modules['datever.printer'] = None; from datever.cli import main;"
              f" sys.exit(main(['--changes', {str(REFERENCE)!r}, '--today', '{TODAY}',"
              " 'inspect', '2025-01-01', 'customer']))")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=ENV, timeout=120, check=False)
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "'2025-01-01' resolves to 2024-11-04 (stable); 5 changes to undo"
    assert "customer down: def down_customer(d):" in lines
    assert "        d['phone'] = d.pop('phone_number')" in lines


# -- diff ---------------------------------------------------------------------------


def test_diff_lists_changes_per_resource(small: Path) -> None:
    """diff shows, per resource, each change only one side has, with its operations."""
    result = on(small, "diff", "v1", "2021-06-07")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        "A: v1 resolves to v1",
        "B: 2021-06-07 resolves to 2021-03-01",
        "2 changes: 2 only in B (+), 0 only in A (-)",
        "",
        "charge",
        "  + 2020-01-01  2020_01_01_amount_renamed: A charge's `amount_cents` is renamed "
        "`amount`.",
        "      rename 'amount_cents' to 'amount'",
        "  + 2021-03-01  2021_03_01_status_succeeded: A successful charge has status "
        "`succeeded` instead of `paid`.",
        "      map values of 'status': 'paid' -> 'succeeded'",
        "",
        "charge.create",
        "  + 2020-01-01  2020_01_01_amount_renamed: A charge's `amount_cents` is renamed "
        "`amount`.",
        "      rename 'amount_cents' to 'amount'",
    ]


def test_diff_newer_first_marks_changes_only_in_a(small: Path) -> None:
    """Going from a newer version to an older one, the changes are only in A (-)."""
    lines = on(small, "diff", "X", "2021-06-07").stdout.splitlines()
    assert "1 change: 0 only in B (+), 1 only in A (-)" in lines
    assert ("  - beta  beta_charge_captured_removed: A charge no longer carries `captured` "
            "(beta).") in lines


def test_diff_json() -> None:
    """diff --json lists the changes between two versions with their operations."""
    result = reference("diff", "2025-01-01", "2025-09-29", "--json")
    assert result.returncode == 0
    data = json.loads(result.stdout)
    assert data["a"] == {"requested": "2025-01-01", "name": "2024-11-04"}
    assert [(c["id"], c["only_in"]) for c in data["changes"]] == [
        ("2025_02_17_refund_reason_names", "b"), ("2025_09_29_customer_phone_number", "b"),
        ("2025_09_29_event_request_context", "b")]
    assert data["changes"][1]["operations"] == {
        "customer": ["rename 'phone' to 'phone_number'"]}


def test_diff_of_one_release_has_no_changes() -> None:
    """Two requests that resolve to one release differ in nothing."""
    result = reference("diff", "2021-06-07", "2021-05-10")
    assert result.returncode == 0
    assert result.stdout.splitlines()[-1] == "no changes between them"


# -- changelog ----------------------------------------------------------------------


def test_changelog_rich_newest_first_with_tags(small: Path) -> None:
    """The default changelog: unreleased first, then releases newest first, each tagged."""
    result = on(small, "changelog")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Changelog"
    rules = [line.strip("─ ") for line in lines if line.startswith("─")]
    assert rules == ["unreleased", "2022-06-01", "2021-03-01", "2020-01-01"]
    assert "[breaking] beta_charge_captured_removed (beta)" in lines
    assert "[retroactive] 2022_06_01_charge_currency" in lines
    assert "  Every amount in the API is called `amount`; older versions still see and" in lines


def test_changelog_tags_side_effects() -> None:
    """A change with side effects says so in the changelog."""
    lines = reference("changelog").stdout.splitlines()
    assert "[breaking] [side effects] 2022_05_16_asynchronous_refunds" in lines


def test_changelog_markdown(small: Path) -> None:
    """--format markdown: a heading per release, the summary as a heading, tags, the body."""
    result = on(small, "changelog", "--format", "markdown")
    assert result.returncode == 0
    assert result.stdout == textwrap.dedent("""\
        # Changelog

        ## Unreleased

        ### A charge no longer carries `captured` (beta).

        **breaking** · beta · `beta_charge_captured_removed`

        ## 2022-06-01

        ### Charges carry their `currency`.

        **retroactive** · `2022_06_01_charge_currency`

        ## 2021-03-01

        ### A successful charge has status `succeeded` instead of `paid`.

        **breaking** · `2021_03_01_status_succeeded`

        ## 2020-01-01

        ### A charge's `amount_cents` is renamed `amount`.

        **breaking** · `2020_01_01_amount_renamed`

        Every amount in the API is called `amount`; older versions still see and
        send `amount_cents`.
    """)


def test_changelog_json(small: Path) -> None:
    """--format json: releases newest first, each change with its tags."""
    data = json.loads(on(small, "changelog", "--format", "json").stdout)
    assert data["since"] is None
    assert [release["release"] for release in data["releases"]] == [
        "unreleased", "2022-06-01", "2021-03-01", "2020-01-01"]
    currency = data["releases"][1]["changes"][0]
    assert (currency["id"], currency["tags"], currency["retroactive"]) == (
        "2022_06_01_charge_currency", ["retroactive"], True)
    assert data["releases"][0]["changes"][0]["stage"] == "beta"


def test_changelog_since_gives_upgrade_notes_oldest_first(small: Path) -> None:
    """--since: only the changes newer than that version, oldest first, with operations."""
    result = on(small, "changelog", "--since", "2020-06-01")
    assert result.returncode == 0
    lines = result.stdout.splitlines()
    assert lines[0] == "Upgrading from 2020-06-01 (2020-01-01): 2 changes, oldest first"
    assert [line.strip("─ ") for line in lines if line.startswith("─")] == [
        "2021-03-01", "unreleased"]
    assert "  charge: map values of 'status': 'paid' -> 'succeeded'" in lines
    assert "  charge: remove 'captured' (older versions get True)" in lines
    assert "2020_01_01_amount_renamed" not in result.stdout


def test_changelog_since_markdown_lists_operations_per_resource() -> None:
    """Upgrade notes in markdown spell out each resource's operations."""
    text = reference("changelog", "--since", "2025-01-01", "--format", "markdown").stdout
    assert text.startswith("# Upgrading from 2025-01-01 (2024-11-04): 5 changes, oldest first")
    assert "- `customer`: rename 'phone' to 'phone_number'\n" in text
    assert text.index("## 2025-02-17") < text.index("## 2025-09-29") < text.index(
        "## Unreleased")


# -- new ----------------------------------------------------------------------------


def test_new_creates_a_dated_module_that_loads(tmp_path: Path) -> None:
    """new writes changes/YYYY_MM_DD_<slug>.py for today, and it loads as is."""
    result = run("new", "Refunds carry a reason", cwd=tmp_path)
    assert result.returncode == 0
    path = tmp_path / "changes" / "2026_11_22_refunds_carry_a_reason.py"
    assert result.stdout.splitlines()[0] == f"created {Path('changes') / path.name}"
    [change] = datever.changes.load_changes(tmp_path / "changes")
    assert change.description.splitlines()[0] == "Refunds carry a reason"
    assert change.label == "2026-11-22"


def test_new_module_loads_beside_an_existing_history(small: Path) -> None:
    """A scaffold added to a history leaves it loadable: the other commands still work."""
    assert on(small, "new", "Charges carry a receipt").returncode == 0
    assert len(datever.changes.load_changes(small)) == 5
    assert on(small, "resolve", "v1").returncode == 0


def test_check_refuses_an_unedited_scaffold(small: Path) -> None:
    """check fails on a module just written by new, naming it and what is left to do."""
    on(small, "new", "Charges carry a receipt")
    result = on(small, "check")
    assert result.returncode == 1
    path = small / "2026_11_22_charges_carry_a_receipt.py"
    assert result.stdout.splitlines() == [
        f"error: scaffold: {path}: an unedited `datever new` scaffold: it still has its TODO "
        "lines and its example 'example_charges_carry_a_receipt' (rename 'old_name' to "
        "'new_name'); describe the change and give its real resources and operations",
        "1 problem, 0 warnings",
    ]


def test_check_accepts_the_scaffold_once_edited(small: Path) -> None:
    """Once its docstring and operation are written, the new module passes check."""
    on(small, "new", "Charges carry a receipt")
    path = small / "2026_11_22_charges_carry_a_receipt.py"
    text = path.read_text()
    text = text[:text.index("TODO")] + text[text.index('"""', 3):]
    text = text.replace('        # TODO: replace this example with the real resource and '
                        'operations.\n', "")
    text = text.replace('"example_charges_carry_a_receipt": [rename("old_name", "new_name")]',
                        '"charge": [rename("receipt", "receipt_url")]')
    path.write_text(text)
    result = on(small, "check")
    assert (result.returncode, result.stdout) == (0, "no problems\n")


def test_check_refuses_a_scaffold_with_only_its_todos_left(small: Path) -> None:
    """Real operations under the scaffold's TODO docstring are still an unedited scaffold."""
    on(small, "new", "Charges carry a receipt")
    path = small / "2026_11_22_charges_carry_a_receipt.py"
    path.write_text(path.read_text().replace(
        '"example_charges_carry_a_receipt": [rename("old_name", "new_name")]',
        '"charge": [rename("receipt", "receipt_url")]'))
    lines = on(small, "check").stdout.splitlines()
    assert lines[0].startswith(f"error: scaffold: {path}: an unedited `datever new` scaffold: "
                               "it still has its TODO lines; ")


def test_new_refuses_to_overwrite(tmp_path: Path) -> None:
    """new never overwrites a module: exit 1 with a message, the file untouched."""
    path = write(tmp_path / "changes", {"2026_11_22_charges_move.py": "# mine\n"})
    result = on(path, "new", "Charges move!")
    assert result.returncode == 1
    assert "2026_11_22_charges_move.py already exists" in result.stderr
    assert (path / "2026_11_22_charges_move.py").read_text() == "# mine\n"


def test_new_stage_beta(tmp_path: Path) -> None:
    """--stage beta writes beta_<slug>.py, a beta change dated by beta_since."""
    result = on(tmp_path, "new", "Declined charges", "--stage", "beta")
    assert result.returncode == 0
    [change] = datever.changes.load_changes(tmp_path)
    assert (tmp_path / "beta_declined_charges.py").is_file()
    assert (change.stage, str(change.beta_since)) == ("beta", TODAY)


def test_new_without_a_slug_exits_2(tmp_path: Path) -> None:
    """A summary without letters or digits cannot name a file."""
    result = on(tmp_path, "new", "!!!")
    assert result.returncode == 2
    assert list(tmp_path.iterdir()) == []


# -- check --------------------------------------------------------------------------


def test_check_clean_directory(small: Path) -> None:
    """A valid history: exit 0 and 'no problems'."""
    result = on(small, "check")
    assert (result.returncode, result.stdout) == (0, "no problems\n")


def test_check_reference_api_is_clean() -> None:
    """The reference API has no problems."""
    assert reference("check").stdout == "no problems\n"


def broken(tmp_path: Path) -> Path:
    """Two modules that do not load and two changes that collide."""
    return write(tmp_path / "changes", {
        **SMALL,
        "2022_01_01_typo.py": '"""Typo."""\nfrom datever import Change\nchange = Chnage()\n',
        "2022_02_01_no_resources.py": '''
            """Declares nothing."""
            from datever import Change
            change = Change(released="2022-02-01")
        ''',
        "2021_03_01_status_declined.py": '''
            """A declined charge has status `declined`."""
            from datever import Change, map_values
            change = Change(released="2021-03-01",
                            resources={"charge": [map_values("status", {"no": "declined"})]})
        ''',
    })


def test_check_lists_every_problem(tmp_path: Path) -> None:
    """Two broken modules and a collision: all three are listed, exit 1."""
    directory = broken(tmp_path)
    result = on(directory, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"error: load: {directory / '2022_01_01_typo.py'}: importing it raised NameError: "
        "name 'Chnage' is not defined",
        f"error: load: {directory / '2022_02_01_no_resources.py'}: a change declares "
        "resources={...} or side_effects=True",
        f"error: collision: {directory / '2021_03_01_status_succeeded.py'}: "
        "2021_03_01_status_succeeded and 2021_03_01_status_declined both rewrite "
        "charge.status in release 2021-03-01; merge them or move one to another release",
        "3 problems, 0 warnings",
    ]


def test_check_reports_unreachable_change_files(small: Path) -> None:
    """A skipped _module.py declaring a Change and a change-like non-.py file are listed."""
    (small / "_2022_05_05_hidden.py").write_text(
        '"""Hidden."""\nfrom datever import Change, rename\n'
        'change = Change(released="2022-05-05", resources={"charge": [rename("a", "b")]})\n')
    (small / "2022_06_06_backup.py.bak").write_text("")
    result = on(small, "check")
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        f"error: unreachable: {small / '2022_06_06_backup.py.bak'}: named like a change "
        "module but is never loaded: only *.py files are read",
        f"error: unreachable: {small / '_2022_05_05_hidden.py'}: declares a Change but is "
        "never loaded: files starting with _ are skipped; rename it",
        "2 problems, 0 warnings",
    ]


def test_check_json(tmp_path: Path) -> None:
    """check --json gives each problem's level, kind, file and message."""
    result = on(broken(tmp_path), "check", "--json")
    assert result.returncode == 1
    data = json.loads(result.stdout)
    assert (data["errors"], data["warnings"]) == (3, 0)
    assert [p["kind"] for p in data["problems"]] == ["load", "load", "collision"]
    assert data["problems"][0]["file"].endswith("2022_01_01_typo.py")


def test_check_reports_why_each_module_does_not_load(tmp_path: Path) -> None:
    """Each module that does not load is listed with the reason, file by file."""
    directory = write(tmp_path / "changes", {
        "2020_01_01_x.py": '''
            from datever import Change, rename
            change = Change(released="2020-01-01", resources={"charge": [rename("a", "b")]})
        ''',
        "2020_02_01_y.py": '''
            """Y."""
            from datever import Change, rename
            change = Change(released="2020-02-02", resources={"charge": [rename("c", "d")]})
        ''',
    })
    lines = on(directory, "check").stdout.splitlines()
    assert lines == [
        f"error: load: {directory / '2020_01_01_x.py'}: missing description: give the module "
        "a docstring or Change(description=...)",
        f"error: load: {directory / '2020_02_01_y.py'}: the file name's date disagrees with "
        "released='2020-02-02'",
        "2 problems, 0 warnings",
    ]


def test_check_reports_repeated_ids_and_mixed_schemes(tmp_path: Path) -> None:
    """Two changes with one id, and dated mixed with named versions, are ordering problems."""
    directory = write(tmp_path / "changes", {
        "2020_01_01_a.py": '''
            """A."""
            from datever import Change, rename
            change = Change(released="2020-01-01", id="same",
                            resources={"charge": [rename("a", "b")]})
        ''',
        "2021_01_01_b.py": '''
            """B."""
            from datever import Change, rename
            change = Change(released="2021-01-01", id="same",
                            resources={"refund": [rename("a", "b")]})
        ''',
        "v2_c.py": '''
            """C."""
            from datever import Change, rename
            change = Change(released="v2", resources={"customer": [rename("a", "b")]})
        ''',
    })
    result = on(directory, "check")
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert lines[0].startswith(f"error: order: {directory / '2021_01_01_b.py'}: the change id "
                               "'same' is also used by")
    assert lines[1].startswith(f"error: order: {directory / 'v2_c.py'}: the history mixes "
                               "dated changes (same, released 2020-01-01, in ")


def test_check_warns_about_beta_without_beta_since(tmp_path: Path) -> None:
    """A beta change without beta_since is a warning, not a problem: exit 0."""
    directory = write(tmp_path / "changes", {"beta_x.py": '''
        """X."""
        from datever import Change, remove
        change = Change(stage="beta", resources={"charge": [remove("x")]})
    '''})
    result = on(directory, "check")
    assert result.returncode == 0
    assert result.stdout.splitlines() == [
        f"warning: beta_since: {directory / 'beta_x.py'}: a beta change without beta_since=: "
        "the promotion policy (released within about 3 months) cannot be checked",
        "no problems, 1 warning",
    ]


def test_check_lifecycle_policies(small: Path, tmp_path: Path) -> None:
    """--lifecycle checks the support policies: a GA sunset too soon is a problem."""
    write(tmp_path, {"api_lifecycle.py": lifecycle("2020, 6, 1", "2020, 9, 1")})
    result = on(small, "check", "--lifecycle", "api_lifecycle:LIFECYCLE", cwd=tmp_path)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [
        "error: policy: ga_support: v1: v1 is removed on 2020-09-01, less than 12 months after "
        "its successor was announced on 2020-01-01; move the sunset to 2021-01-01 or later",
        "1 problem, 0 warnings",
    ]


def test_no_color_option_removes_colours_a_terminal_would_get(tmp_path: Path) -> None:
    """Forced colour shows the red 'error:'; --no-color drops the colour, not the word."""
    env = {key: value for key, value in ENV.items() if key != "NO_COLOR"}
    directory = broken(tmp_path)
    colour = re.compile(r"\x1b\[[0-9;]*3[0-9]m")
    coloured = run("--changes", str(directory), "check", env={**env, "FORCE_COLOR": "1"})
    plain = run("--changes", str(directory), "check", "--no-color",
                env={**env, "FORCE_COLOR": "1"})
    assert colour.search(coloured.stdout)
    assert not colour.search(plain.stdout)
    assert plain.stdout.count("error") == 3


# -- migrate ------------------------------------------------------------------------

HEAD_CHARGE = {"object": "charge", "id": "ch_1", "amount": 100, "status": "succeeded",
               "currency": "eur"}
V1_CHARGE = {"object": "charge", "id": "ch_1", "amount_cents": 100, "status": "paid",
             "currency": "eur", "captured": True}


def test_migrate_json_document(small: Path, tmp_path: Path) -> None:
    """A JSON document over several lines is migrated down as one, to one line."""
    path = tmp_path / "charge.json"
    path.write_text(json.dumps(HEAD_CHARGE, indent=2))
    result = on(small, "migrate", "v1", str(path))
    assert result.returncode == 0
    assert [json.loads(line) for line in result.stdout.splitlines()] == [V1_CHARGE]
    assert result.stderr.startswith("down to v1: 1 line, 1 migrated, 0 failed, ")


def test_migrate_ndjson_reports_a_bad_line_and_goes_on(small: Path) -> None:
    """NDJSON from stdin: a bad line is reported with its number, the others migrated."""
    lines = [json.dumps(HEAD_CHARGE), "{not json", json.dumps({**HEAD_CHARGE, "id": "ch_2"})]
    result = on(small, "migrate", "2020-06-01", stdin="\n".join(lines) + "\n")
    assert result.returncode == 1
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == ["ch_1", "ch_2"]
    assert json.loads(result.stdout.splitlines()[0])["status"] == "paid"
    errors = result.stderr.splitlines()
    assert errors[0].startswith("datever: error: <stdin>:2: invalid JSON: ")
    assert errors[1].startswith("down to 2020-01-01: 3 lines, 2 migrated, 1 failed, ")


def test_migrate_error_names_the_change_and_the_path(small: Path) -> None:
    """A transform that fails is reported with its change, release and JSON path."""
    write(small, {"2021_06_01_fee_sign.py": '''
        """A charge's `fee` changes sign."""

        from datever import Change, convert


        def negate(value: int) -> int:
            return -value


        change = Change(released="2021-06-01",
                        resources={"charge": [convert("fee", down=negate, up=negate)]})
    '''})
    bad = {"object": "list", "data": [{"object": "charge", "fee": "ten"}]}
    result = on(small, "migrate", "v1", stdin=json.dumps(bad) + "\n")
    assert result.returncode == 1
    assert result.stdout == ""
    assert result.stderr.splitlines()[0] == (
        "datever: error: <stdin>:1: TypeError: bad operand type for unary -: 'str' (down to "
        "v1, at $.data[0], resource 'charge', change 2021_06_01_fee_sign, release 2021-06-01, "
        "reason transform)")


def test_migrate_strict_stops_at_the_bad_line(small: Path) -> None:
    """--strict stops at the first failure; the lines before it are written."""
    lines = [json.dumps(HEAD_CHARGE), "{not json", json.dumps(HEAD_CHARGE)]
    result = on(small, "migrate", "v1", "--strict", stdin="\n".join(lines))
    assert result.returncode == 1
    assert [json.loads(line) for line in result.stdout.splitlines()] == [V1_CHARGE]
    assert result.stderr.splitlines()[-1].endswith("; stopped at the first failure (--strict)")
    assert "2 lines, 1 migrated, 1 failed" in result.stderr


def test_migrate_up_a_request_body(small: Path) -> None:
    """--up --resource migrates a request body from an old version to the head."""
    result = on(small, "migrate", "v1", "--up", "--resource", "charge.create",
                stdin='{"amount_cents": 5}\n')
    assert (result.returncode, result.stdout) == (0, '{"amount":5}\n')
    assert result.stderr.startswith("up from v1: 1 line, 1 migrated")


def test_migrate_up_needs_a_resource(small: Path) -> None:
    """--up without --resource is a usage error."""
    result = on(small, "migrate", "v1", "--up", stdin="{}")
    assert result.returncode == 2
    assert "--up needs --resource" in result.stderr


def test_migrate_missing_file_exits_2(small: Path, tmp_path: Path) -> None:
    """A FILE that does not exist is a usage error, before anything is migrated."""
    result = on(small, "migrate", "v1", str(tmp_path / "nope.json"))
    assert result.returncode == 2
    assert result.stdout == ""


def big_ndjson(tmp_path: Path) -> Path:
    """An NDJSON file over 1 MB."""
    path = tmp_path / "big.ndjson"
    line = json.dumps({**HEAD_CHARGE, "description": "x" * 200}) + "\n"
    path.write_text(line * (1_100_000 // len(line) + 1))
    return path


def test_migrate_progress_bar_for_large_input(small: Path, tmp_path: Path) -> None:
    """--progress shows a progress bar on stderr for an input over 1 MB."""
    result = on(small, "migrate", "v1", str(big_ndjson(tmp_path)), "--progress")
    assert result.returncode == 0
    assert re.search(r"migrating .* 1\.\d/1\.\d MB", result.stderr)


def test_migrate_no_progress_bar_when_stderr_is_not_a_terminal(small: Path,
                                                                tmp_path: Path) -> None:
    """Without --progress and a terminal, stderr only gets the summary."""
    result = on(small, "migrate", "v1", str(big_ndjson(tmp_path)))
    assert result.returncode == 0
    assert result.stderr.startswith("down to v1: ")
    assert len(result.stderr.splitlines()) == 1
