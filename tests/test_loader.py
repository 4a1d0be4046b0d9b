"""Loading and validating a ``changes/`` directory (datever.load_changes)."""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from pathlib import Path

import pendulum
import pytest

from datever import Change, ChangeError, add, rename
from datever.changes import load_changes, load_resources
from datever.check import collect_problems
from datever.versions import Timeline

HEADER = "from datever import Change, add, convert, custom, rename\n\n"


def write(directory: Path, name: str, body: str, *, header: bool = True) -> Path:
    """Write one change module ``name`` into ``directory`` and return its path."""
    path = directory / name
    path.write_text((HEADER if header else "") + textwrap.dedent(body))
    return path


def load_error(directory: Path) -> ChangeError:
    """The ChangeError that loading ``directory`` raises."""
    with pytest.raises(ChangeError) as info:
        load_changes(directory)
    return info.value


def test_valid_directory_loads_sorted(tmp_path: Path) -> None:
    """A valid directory loads every change, oldest first, unreleased last, ids from stems."""
    write(tmp_path, "2022_03_01_rename_b.py", '''
        change = Change(released="2022-03-01", description="Rename b.",
                        resources={"charge": [rename("b", "c")]})
    ''')
    write(tmp_path, "2021_06_07_rename_a.py", '''
        change = Change(released="2021-06-07", description="Rename a.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    write(tmp_path, "new_field.py", '''
        change = Change(stage="beta", description="Add d.",
                        resources={"charge": [add("d", 0)]})
    ''')
    changes = load_changes(tmp_path)
    assert [c.id for c in changes] == ["2021_06_07_rename_a", "2022_03_01_rename_b",
                                       "new_field"]
    assert [c.released for c in changes] == [pendulum.date(2021, 6, 7),
                                             pendulum.date(2022, 3, 1), None]
    assert changes[2].stage == "beta"
    assert changes[0].file == str(tmp_path / "2021_06_07_rename_a.py")
    assert all(isinstance(c, Change) for c in changes)


def test_load_changes_accepts_str_path(tmp_path: Path) -> None:
    """The directory may be given as a string."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    assert [c.id for c in load_changes(str(tmp_path))] == ["2021_06_07_a"]


def test_empty_directory_loads_nothing(tmp_path: Path) -> None:
    """An empty directory is a valid, empty history."""
    assert load_changes(tmp_path) == []


def test_explicit_id_is_kept(tmp_path: Path) -> None:
    """A Change(id=...) keeps its own id instead of the file stem."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.", id="custom-id",
                        resources={"charge": [rename("a", "b")]})
    ''')
    assert load_changes(tmp_path)[0].id == "custom-id"


def test_underscore_files_are_skipped(tmp_path: Path) -> None:
    """Files whose names start with ``_`` are not loaded, even when they would fail."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    write(tmp_path, "__init__.py", "", header=False)
    write(tmp_path, "_helpers.py", "raise RuntimeError('must not be imported')\n")
    assert [c.id for c in load_changes(tmp_path)] == ["2021_06_07_a"]


def test_non_python_files_are_ignored(tmp_path: Path) -> None:
    """Files that are not ``.py`` (notes, data) are not loaded."""
    (tmp_path / "README.md").write_text("not a change")
    assert load_changes(tmp_path) == []


def test_description_falls_back_to_module_docstring(tmp_path: Path) -> None:
    """With no description=, the module docstring (stripped) is the description."""
    path = tmp_path / "2021_06_07_a.py"
    path.write_text('"""\n  Amounts are now in cents.\n"""\n' + HEADER + textwrap.dedent('''
        change = Change(released="2021-06-07", resources={"charge": [rename("a", "b")]})
    '''))
    assert load_changes(tmp_path)[0].description == "Amounts are now in cents."


def test_explicit_description_wins_over_docstring(tmp_path: Path) -> None:
    """description= is used even when the module also has a docstring."""
    path = tmp_path / "2021_06_07_a.py"
    path.write_text('"""Docstring."""\n' + HEADER + textwrap.dedent('''
        change = Change(released="2021-06-07", description="Explicit.",
                        resources={"charge": [rename("a", "b")]})
    '''))
    assert load_changes(tmp_path)[0].description == "Explicit."


# -- errors, each naming the file ---------------------------------------------


def test_missing_description(tmp_path: Path) -> None:
    """A change with no docstring and no description= is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "description" in str(error)
    assert error.file == str(tmp_path / "2021_06_07_a.py")


def test_release_month_out_of_range(tmp_path: Path) -> None:
    """``released="2021-13-01"`` is not a calendar date; the error names the file."""
    write(tmp_path, "2021_13_01_a.py", '''
        change = Change(released="2021-13-01", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_13_01_a.py" in str(error)
    assert "2021-13-01" in str(error)


def test_release_not_iso_date(tmp_path: Path) -> None:
    """``released="June 7"`` is refused with a hint to write YYYY-MM-DD, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="June 7", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "YYYY-MM-DD" in str(error)


def test_release_with_trailing_newline(tmp_path: Path) -> None:
    """``released="2021-06-07\\n"`` is not a strict YYYY-MM-DD date and is refused."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07\\n", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    assert "2021_06_07_a.py" in str(load_error(tmp_path))


def test_file_date_disagrees_with_release(tmp_path: Path) -> None:
    """A file named for one date holding a change released on another is refused."""
    write(tmp_path, "2021_06_08_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_08_a.py" in str(error)
    assert "disagrees" in str(error)


def test_released_change_without_date_in_file_name(tmp_path: Path) -> None:
    """A released change in a file with no date prefix is told the name to use."""
    write(tmp_path, "rename_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "rename_a.py" in str(error)
    assert "2021_06_07_" in str(error)


def test_beta_change_with_date_in_file_name(tmp_path: Path) -> None:
    """An unreleased change in a dated file is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(stage="beta", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "beta" in str(error)


def test_same_property_twice_in_one_release(tmp_path: Path) -> None:
    """Two changes of one release rewriting one property collide; the message names both."""
    write(tmp_path, "2021_06_07_first.py", '''
        change = Change(released="2021-06-07", description="First.",
                        resources={"charge": [rename("amount", "amount_cents")]})
    ''')
    write(tmp_path, "2021_06_07_second.py", '''
        change = Change(released="2021-06-07", description="Second.",
                        resources={"charge": [add("amount", 0)]})
    ''')
    error = load_error(tmp_path)
    message = str(error)
    assert "2021_06_07_first" in message
    assert "2021_06_07_second" in message
    assert "charge.amount" in message
    assert error.file is not None
    assert error.file.endswith(".py")


def test_same_property_in_different_releases_is_fine(tmp_path: Path) -> None:
    """One property rewritten by changes of different releases does not collide."""
    write(tmp_path, "2021_06_07_first.py", '''
        change = Change(released="2021-06-07", description="First.",
                        resources={"charge": [rename("amount", "amount_cents")]})
    ''')
    write(tmp_path, "2021_06_08_second.py", '''
        change = Change(released="2021-06-08", description="Second.",
                        resources={"charge": [add("amount", 0)]})
    ''')
    assert len(load_changes(tmp_path)) == 2


def test_same_property_of_different_resources_is_fine(tmp_path: Path) -> None:
    """Two changes of one release may touch the same property name on different resources."""
    write(tmp_path, "2021_06_07_first.py", '''
        change = Change(released="2021-06-07", description="First.",
                        resources={"charge": [rename("amount", "amount_cents")]})
    ''')
    write(tmp_path, "2021_06_07_second.py", '''
        change = Change(released="2021-06-07", description="Second.",
                        resources={"refund": [rename("amount", "amount_cents")]})
    ''')
    assert len(load_changes(tmp_path)) == 2


@pytest.mark.parametrize("operation", ['"rename"', '{"rename": ["a", "b"]}', "42"])
def test_unknown_operation_in_resources(tmp_path: Path, operation: str) -> None:
    """Something that is not an operation in a resource's list is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", f'''
        change = Change(released="2021-06-07", description="A.",
                        resources={{"charge": [{operation}]}})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "unknown operation" in str(error)
    assert "rename" in str(error)


def test_transform_not_callable(tmp_path: Path) -> None:
    """``convert("a", down=5, up=str)`` is refused: down must be callable."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [convert("a", down=5, up=str)]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "callable" in str(error)


def test_module_raising_on_import(tmp_path: Path) -> None:
    """A module that raises while imported is reported with the file and the exception."""
    write(tmp_path, "2021_06_07_a.py", '''
        raise RuntimeError("boom")
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "RuntimeError" in str(error)
    assert "boom" in str(error)
    assert isinstance(error.__cause__, RuntimeError)


def test_module_with_syntax_error(tmp_path: Path) -> None:
    """A module that does not parse is reported with the file name."""
    write(tmp_path, "2021_06_07_a.py", "change = Change(\n")
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "SyntaxError" in str(error)


def test_module_without_change(tmp_path: Path) -> None:
    """A module defining no Change is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        """A change that forgot its Change."""
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "found 0" in str(error)


def test_module_with_two_changes(tmp_path: Path) -> None:
    """A module defining two Changes is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        one = Change(released="2021-06-07", description="One.",
                     resources={"charge": [rename("a", "b")]})
        two = Change(released="2021-06-07", description="Two.",
                     resources={"charge": [rename("c", "d")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "found 2" in str(error)


def test_directory_that_does_not_exist(tmp_path: Path) -> None:
    """A missing directory is a ChangeError naming the path."""
    missing = tmp_path / "nowhere"
    error = load_error(missing)
    assert str(missing) in str(error)


def test_path_that_is_a_file(tmp_path: Path) -> None:
    """A path to a file instead of a directory is a ChangeError naming the path."""
    path = write(tmp_path, "2021_06_07_a.py", "")
    assert str(path) in str(load_error(path))


def test_unknown_stage(tmp_path: Path) -> None:
    """``stage="alpha"`` is refused with the stages to use, naming the file."""
    write(tmp_path, "a.py", '''
        change = Change(stage="alpha", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "a.py" in str(error)
    assert "'alpha'" in str(error)
    assert "beta" in str(error)


def test_both_released_and_stage(tmp_path: Path) -> None:
    """A change giving both released= and stage= is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", stage="beta", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "exactly one" in str(error)


def test_neither_released_nor_stage(tmp_path: Path) -> None:
    """A change giving neither released= nor stage= is refused, naming the file."""
    write(tmp_path, "a.py", '''
        change = Change(description="A.", resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert "a.py" in str(error)
    assert "exactly one" in str(error)


def test_change_without_resources_or_side_effects(tmp_path: Path) -> None:
    """A change that touches nothing and has no side effects is refused, naming the file."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.")
    ''')
    error = load_error(tmp_path)
    assert "2021_06_07_a.py" in str(error)
    assert "side_effects" in str(error)


def test_side_effect_change_loads(tmp_path: Path) -> None:
    """A change with only side effects loads and says so."""
    (tmp_path / "2021_06_07_fx.py").write_text(
        '"""Refunds now notify the customer."""\nfrom datever import Change\n'
        'change = Change(released="2021-06-07", side_effects=True)\n')
    [change] = load_changes(tmp_path)
    assert change.side_effects
    assert change.resources == {}
    assert change.description == "Refunds now notify the customer."


def test_error_in_second_file_names_that_file(tmp_path: Path) -> None:
    """When one of several files is wrong, the error names that file and not another."""
    write(tmp_path, "2021_06_07_good.py", '''
        change = Change(released="2021-06-07", description="Good.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    write(tmp_path, "2021_06_08_bad.py", '''
        change = Change(released="2021-06-08", resources={"charge": [rename("c", "d")]})
    ''')
    message = str(load_error(tmp_path))
    assert "2021_06_08_bad.py" in message
    assert "2021_06_07_good.py" not in message


# -- resources.py ------------------------------------------------------------------

RESOURCES = '''
    from datever import Resource
    charge = Resource("charge", requests=("charge.create",), opaque=("metadata",))
'''


def write_resources(directory: Path, body: str = RESOURCES) -> Path:
    """Write ``resources.py`` into ``directory`` and return its path."""
    path = directory / "resources.py"
    path.write_text(textwrap.dedent(body))
    return path


def test_resources_file_is_not_a_change_module(tmp_path: Path) -> None:
    """resources.py declares resources; the changes are bound to them."""
    write_resources(tmp_path)
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    [change] = load_changes(tmp_path)
    assert [declared.name for declared in change.declarations] == ["charge"]
    assert set(change.operations) == {"charge", "charge.create"}


def test_load_resources_reads_every_declaration(tmp_path: Path) -> None:
    """Module-level Resources and lists of them are read; no file means no declarations."""
    assert not load_resources(tmp_path)
    write_resources(tmp_path, '''
        from datever import Resource
        charge = Resource("charge")
        OTHERS = [Resource("refund"), Resource("checkout.session")]
    ''')
    declared = load_resources(tmp_path)
    assert declared.names == {"charge", "refund", "checkout.session"}
    assert declared.file == str(tmp_path / "resources.py")


def test_undeclared_resource_is_refused_with_the_closest_name(tmp_path: Path) -> None:
    """A typo in a resource name is caught: file, change, resource and a suggestion."""
    write_resources(tmp_path)
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charges": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "2021_06_07_a.py")
    assert "2021_06_07_a names the resource 'charges'" in str(error)
    assert str(tmp_path / "resources.py") in str(error)
    assert "did you mean 'charge'?" in str(error)


def test_change_in_resources_file_is_refused(tmp_path: Path) -> None:
    """A Change declared in resources.py is refused, naming resources.py."""
    write_resources(tmp_path, RESOURCES + '''
    from datever import Change, rename
    change = Change(released="2021-06-07", description="A.",
                    resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "resources.py")
    assert "not changes" in str(error)


def test_resource_in_change_module_is_refused(tmp_path: Path) -> None:
    """A Resource declared in a change module is refused, naming the module."""
    write_resources(tmp_path)
    write(tmp_path, "2021_06_07_a.py", '''
        from datever import Resource
        refund = Resource("refund")
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "2021_06_07_a.py")
    assert "resources.py" in str(error)


def test_resources_file_without_declarations_is_refused(tmp_path: Path) -> None:
    """A resources.py that declares nothing is an error, not a silent "no declarations"."""
    write_resources(tmp_path, '"""Nothing here."""\n')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "resources.py")
    assert "declares no Resource" in str(error)


def test_resources_file_with_a_bad_declaration_names_it(tmp_path: Path) -> None:
    """A Resource that fails its own checks is reported in resources.py."""
    write_resources(tmp_path, '''
        from datever import Resource
        charge = Resource("charge", requests="charge.create")
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "resources.py")
    assert "requests=" in str(error)


# -- errors of the history as a whole ---------------------------------------------


def test_dated_and_named_files_cannot_mix(tmp_path: Path) -> None:
    """Dated and named changes in one directory are a ChangeError naming both files."""
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    write(tmp_path, "v2_b.py", '''
        change = Change(released="v2", description="B.", resources={"charge": [add("c")]})
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "v2_b.py")
    assert "mixes dated changes" in str(error)
    assert str(tmp_path / "2021_06_07_a.py") in str(error)


def test_two_changes_with_one_id_name_both_files(tmp_path: Path) -> None:
    """Two changes declaring one id= are a ChangeError naming both files."""
    for name in ("2021_06_07_a.py", "2021_06_08_b.py"):
        write(tmp_path, name, f'''
            change = Change(released="{name[:10].replace("_", "-")}", description="A.",
                            id="same", resources={{"charge": [rename("x", "{name[11]}")]}})
        ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "2021_06_08_b.py")
    assert "'same' is also used by" in str(error)
    assert str(tmp_path / "2021_06_07_a.py") in str(error)


def test_timeline_gives_the_loader_errors_for_mixed_schemes() -> None:
    """A Timeline built from mixed changes raises the loader's ChangeError."""
    dated = Change(released="2021-06-07", description="A.", id="a",
                   resources={"charge": [rename("a", "b")]})
    named = Change(released="v2", description="B.", id="b", resources={"charge": [add("c")]})
    with pytest.raises(ChangeError, match="the history mixes dated changes"):
        Timeline([dated, named])


def test_timeline_gives_the_loader_errors_for_repeated_ids() -> None:
    """A Timeline built from changes sharing an id raises the loader's ChangeError."""
    first, second = (Change(released=released, description="A.", id="same",
                            resources={"charge": [rename("a", "b")]})
                     for released in ("2021-06-07", "2021-06-08"))
    with pytest.raises(ChangeError, match="'same' is also used by"):
        Timeline([first, second])


def test_system_exit_in_a_module_is_a_change_error(tmp_path: Path) -> None:
    """A module calling sys.exit() while imported is reported, not obeyed."""
    write(tmp_path, "2021_06_07_a.py", "import sys\nsys.exit(3)\n")
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "2021_06_07_a.py")
    assert "SystemExit" in str(error)


def test_keyboard_interrupt_in_a_module_escapes(tmp_path: Path) -> None:
    """Ctrl-C while loading still stops the program."""
    write(tmp_path, "2021_06_07_a.py", "raise KeyboardInterrupt\n")
    with pytest.raises(KeyboardInterrupt):
        load_changes(tmp_path)


def test_released_datetime_is_refused(tmp_path: Path) -> None:
    """released=datetime(...) is refused, naming the file and the date to write."""
    write(tmp_path, "2021_06_07_a.py", '''
        import datetime
        change = Change(released=datetime.datetime(2021, 6, 7, 12), description="A.",
                        resources={"charge": [rename("a", "b")]})
    ''')
    error = load_error(tmp_path)
    assert error.file == str(tmp_path / "2021_06_07_a.py")
    assert "released='2021-06-07'" in str(error)


def test_beta_since_datetime_is_refused() -> None:
    """beta_since=datetime(...) is refused like released=."""
    with pytest.raises(ChangeError, match="beta_since='2021-06-07'"):
        Change(stage="beta", beta_since=dt.datetime(2021, 6, 7, 12), description="A.",
               resources={"charge": [rename("a", "b")]})


@pytest.mark.parametrize("body", [
    "raise RuntimeError('boom')\n",
    '"""No change here."""\n',
    'change = Change(released="2021-06-07", resources={"charge": [rename("a", "b")]})\n',
])
def test_failed_loads_leave_nothing_in_sys_modules(tmp_path: Path, body: str) -> None:
    """After a failed load, none of the directory's modules stays in sys.modules."""
    write(tmp_path, "2021_06_06_good.py", '''
        change = Change(released="2021-06-06", description="Good.",
                        resources={"charge": [rename("x", "y")]})
    ''')
    write_resources(tmp_path)
    write(tmp_path, "2021_06_07_bad.py", body)
    before = set(sys.modules)
    load_error(tmp_path)
    assert set(sys.modules) - before == set()


def test_check_reports_an_undeclared_resource(tmp_path: Path) -> None:
    """datever check reads resources.py too: a typo is a problem naming the module."""
    write_resources(tmp_path)
    write(tmp_path, "2021_06_07_a.py", '''
        change = Change(released="2021-06-07", description="A.",
                        resources={"charges": [rename("a", "b")]})
    ''')
    problems = collect_problems(tmp_path)
    assert [(p.kind, p.file) for p in problems] == [("resources",
                                                    str(tmp_path / "2021_06_07_a.py"))]
    assert "did you mean 'charge'?" in problems[0].message
