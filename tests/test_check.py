"""``datever check``: every error at once, unedited scaffolds, and names nothing else uses."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from datever.changes import load_changes, load_each
from datever.check import Problem, collect_problems
from datever.errors import ChangeError
from tests.cli_runs import SMALL, on, write

#: seeded head-shaped charges and v1 charge.create bodies for the small history
SAMPLES = '''
    import random

    __all__ = ["REQUEST_RESOURCES", "charge", "request_body", "refund_list"]

    REQUEST_RESOURCES = ("charge.create",)


    def charge(rng: random.Random) -> dict:
        """A head-shaped charge."""
        return {"object": "charge", "id": f"ch_{rng.randint(1, 99)}", "amount": 100,
                "status": "succeeded", "currency": "usd", "description": None}


    def refund_list() -> dict:
        """A list of one refund, which no change touches."""
        return {"object": "list", "data": [{"object": "refund", "id": "re_1", "reason": None}]}


    def request_body(resource: str, rng: random.Random) -> dict:
        """A charge.create body as v1 sends it."""
        return {"amount_cents": rng.randint(1, 99), "currency": "usd"}
'''


def change(released: str, resources: str) -> str:
    """A change module released then, declaring ``resources`` (Python source)."""
    return f'''
        """A change."""
        from datever import Change, add, convert, map_values, remove, rename
        change = Change(released="{released}", resources={resources})
    '''


@pytest.fixture
def sampled(tmp_path: Path) -> Path:
    """The small history with its ``_samples.py``."""
    return write(tmp_path / "changes", {**SMALL, "_samples.py": SAMPLES})


@pytest.fixture
def small_dir(tmp_path: Path) -> Path:
    """The small history, without samples."""
    return write(tmp_path / "changes", SMALL)


def warnings(directory: Path, routes: tuple[str, ...] = ()) -> list[Problem]:
    """The warnings check gives for ``directory``; there must be no error."""
    found = collect_problems(directory, routes=routes)
    assert [p for p in found if p.level == "error"] == []
    return found


# -- the loader is datever.changes' --------------------------------------------------


def test_load_each_gives_each_modules_change_or_error(tmp_path: Path) -> None:
    """load_each loads every module on its own, in file order, errors in place of changes."""
    directory = write(tmp_path / "changes", {
        **SMALL, "2020_06_01_broken.py": '"""Broken."""\nraise ValueError("nope")\n'})
    loaded = load_each(directory)
    assert [type(item).__name__ for item in loaded] == [
        "Change", "ChangeError", "Change", "Change", "Change"]
    assert str(loaded[1]).endswith("2020_06_01_broken.py: importing it raised ValueError: nope")


def test_a_module_exiting_does_not_end_the_check(tmp_path: Path) -> None:
    """A module that calls sys.exit() is one problem; the other modules are still checked."""
    directory = write(tmp_path / "changes", {
        **SMALL, "2020_06_01_exits.py": '"""Exits."""\nraise SystemExit(3)\n'})
    [problem] = collect_problems(directory)
    assert str(problem) == (f"{directory / '2020_06_01_exits.py'}: importing it raised "
                            "SystemExit: 3")


def test_check_reports_what_load_changes_raises(tmp_path: Path) -> None:
    """check's message for a module is load_changes' own, file included."""
    directory = write(tmp_path / "changes", {"2020_01_01_x.py": change("2020-01-02", "{}")})
    with pytest.raises(ChangeError) as raised:
        load_changes(directory)
    [problem] = collect_problems(directory)
    assert (problem.kind, str(problem)) == ("load", str(raised.value))


# -- resource names -------------------------------------------------------------------


def test_misspelt_resource_is_warned_with_the_closest_name(sampled: Path) -> None:
    """A resource only one change uses, in no sample or route: file, change, resource, the
    closest known name."""
    write(sampled, {"2022_07_01_typo.py": change("2022-07-01",
                                                 '{"charges": [add("receipt", None)]}')})
    [problem] = warnings(sampled)
    assert problem == Problem(
        "warning", "resource", "resource 'charges' is used by no other change, sample or "
        "route; did you mean 'charge'?", str(sampled / "2022_07_01_typo.py"),
        "2022_07_01_typo", "charges")


def test_misspelt_resource_is_warned_without_samples_or_routes(small_dir: Path) -> None:
    """With nothing but the changes to go on, a name close to another change's is warned."""
    write(small_dir, {"2022_07_01_typo.py": change("2022-07-01",
                                                   '{"chrage": [add("receipt", None)]}')})
    [problem] = warnings(small_dir)
    assert problem.message == ("resource 'chrage' is used by no other change (and there are "
                               "no samples or --routes to confirm it); did you mean 'charge'?")


def test_new_resource_without_samples_or_routes_is_not_warned(small_dir: Path) -> None:
    """A resource unlike any other is taken as new when nothing can say otherwise."""
    write(small_dir, {"2022_07_01_refunds.py": change("2022-07-01",
                                                      '{"refund": [add("reason", None)]}')})
    assert warnings(small_dir) == []


def test_resource_in_the_samples_is_not_warned(sampled: Path) -> None:
    """One change is enough for a resource the samples hold (refund, inside a list)."""
    write(sampled, {"2022_07_01_refunds.py": change("2022-07-01",
                                                    '{"refund": [add("reason", None)]}')})
    assert warnings(sampled) == []


def test_routes_vouch_for_request_resources(small_dir: Path) -> None:
    """A request resource one change uses is known when a route names it."""
    write(small_dir, {"2022_07_01_refunds.py": change(
        "2022-07-01", '{"refund.create": [rename("amount_cents", "amount")]}')})
    assert warnings(small_dir, routes=("charge.create", "refund.create")) == []
    [problem] = warnings(small_dir, routes=("charge.create",))
    assert problem.message == ("resource 'refund.create' is used by no other change, sample "
                               "or route; did you mean 'charge.create'?")


# -- property names -------------------------------------------------------------------


def test_misspelt_property_is_warned_with_the_closest_name(sampled: Path) -> None:
    """A property no sample has at any version and no other change names is warned."""
    write(sampled, {"2022_07_01_typo.py": change(
        "2022-07-01", '{"charge": [map_values("descripton", {"": None})]}')})
    [problem] = warnings(sampled)
    assert (problem.kind, problem.resource, problem.change) == (
        "property", "charge", "2022_07_01_typo")
    assert problem.message == ("property 'descripton' of 'charge': no sample has it at any "
                               "version and no other change names it; did you mean "
                               "'description'?")


def test_property_of_an_old_version_is_known(sampled: Path) -> None:
    """A removed property appears in the samples migrated down: not warned."""
    write(sampled, {"2022_07_01_gone.py": change("2022-07-01",
                                                 '{"charge": [remove("paid", False)]}')})
    assert warnings(sampled) == []


def test_property_of_a_request_body_is_known_at_every_version(sampled: Path) -> None:
    """Request samples are migrated up from v1, then down: every version's names count."""
    write(sampled, {"2022_07_01_currency.py": change(
        "2022-07-01", '{"charge.create": [rename("currency", "currency_code")]}')})
    assert warnings(sampled) == []


def test_property_no_sample_has_is_not_warned_when_another_change_names_it(
        sampled: Path) -> None:
    """Two changes naming one property vouch for each other."""
    write(sampled, {
        "2022_07_01_a.py": change("2022-07-01", '{"charge": [add("fee", 0)]}'),
        "2022_08_01_b.py": change("2022-08-01", '{"charge": [map_values("fee", {0: None})]}'),
    })
    assert warnings(sampled) == []


def test_properties_of_resources_without_samples_are_not_checked(small_dir: Path) -> None:
    """Without samples of a resource, its property names cannot be held against anything."""
    write(small_dir, {"2022_07_01_typo.py": change(
        "2022-07-01", '{"charge": [map_values("descripton", {"": None})]}')})
    assert warnings(small_dir) == []


def test_samples_that_do_not_run_are_a_warning(sampled: Path) -> None:
    """A _samples.py that raises is reported, and the name checks go on without it."""
    (sampled / "_samples.py").write_text("raise RuntimeError('no database here')\n")
    [problem] = warnings(sampled)
    assert (problem.kind, problem.file) == ("samples", str(sampled / "_samples.py"))
    assert problem.message == ("the samples are not used for the name checks: RuntimeError: "
                               "no database here")


def test_sample_a_change_cannot_migrate_is_a_warning_naming_the_change(
        sampled: Path) -> None:
    """A sample whose migration fails is reported with the change that fails on it."""
    write(sampled, {"2022_07_01_status.py": change(
        "2022-07-01", '{"charge": [convert("id", down=int, up=str)]}')})
    (sampled / "_samples.py").write_text(
        "def charge(rng):\n    return {'object': 'charge', 'id': 'ch_1'}\n")
    [problem] = [p for p in warnings(sampled) if p.kind == "samples"]
    assert (problem.kind, problem.change) == ("samples", "2022_07_01_status")
    assert problem.message.startswith(
        "charge(rng) fails to migrate, so its names are not used: ValueError: invalid "
        "literal for int() with base 10: 'ch_1'")


# -- through the command line ---------------------------------------------------------


def test_warnings_exit_0_and_strict_makes_them_fail(sampled: Path) -> None:
    """Warnings print and exit 0; --strict makes them exit 1."""
    write(sampled, {"2022_07_01_typo.py": change("2022-07-01",
                                                 '{"charges": [add("receipt", None)]}')})
    relaxed, strict = on(sampled, "check"), on(sampled, "check", "--strict")
    assert (relaxed.returncode, strict.returncode) == (0, 1)
    assert relaxed.stdout.splitlines()[-1] == "no problems, 1 warning"
    assert strict.stdout.splitlines()[-1] == "no problems, 1 warning (--strict: warnings fail)"
    assert relaxed.stdout.splitlines()[0] == (
        f"warning: resource: {sampled / '2022_07_01_typo.py'}: resource 'charges' is used "
        "by no other change, sample or route; did you mean 'charge'?")


def test_check_json_shape(sampled: Path) -> None:
    """check --json: ok, counts, and each problem's level, kind, file, change, resource,
    message."""
    write(sampled, {"2022_07_01_typo.py": change("2022-07-01",
                                                 '{"charges": [add("receipt", None)]}')})
    data = json.loads(on(sampled, "check", "--json").stdout)
    assert data == {"ok": True, "errors": 0, "warnings": 1, "problems": [{
        "level": "warning", "kind": "resource", "file": str(sampled / "2022_07_01_typo.py"),
        "change": "2022_07_01_typo", "resource": "charges",
        "message": "resource 'charges' is used by no other change, sample or route; did you "
                   "mean 'charge'?"}]}


def test_check_json_strict_is_not_ok_with_warnings(sampled: Path) -> None:
    """With --strict, --json says ok: false for a warning, and check exits 1."""
    write(sampled, {"2022_07_01_typo.py": change("2022-07-01",
                                                 '{"charges": [add("receipt", None)]}')})
    result = on(sampled, "check", "--json", "--strict")
    assert result.returncode == 1
    assert json.loads(result.stdout)["ok"] is False


def test_check_routes_option_takes_a_routes_object(small_dir: Path) -> None:
    """--routes MODULE:ATTR names a datever.Routes whose resources vouch for names."""
    write(small_dir, {"2022_07_01_refunds.py": change(
        "2022-07-01", '{"refund.create": [rename("amount_cents", "amount")]}')})
    write(small_dir.parent, {"api_routes.py": '''
        from datever.web.routing import Routes

        ROUTES = Routes()
        ROUTES.add("POST", "/charges", "charge.create")
    '''})
    result = on(small_dir, "check", "--routes", "api_routes:ROUTES", cwd=small_dir.parent)
    assert result.stdout.splitlines()[0].endswith(
        "resource 'refund.create' is used by no other change, sample or route; did you mean "
        "'charge.create'?")


def test_check_routes_option_takes_a_mapping(small_dir: Path) -> None:
    """--routes may name a mapping of "METHOD /path" to resource."""
    write(small_dir, {"2022_07_01_refunds.py": change(
        "2022-07-01", '{"refund.create": [rename("amount_cents", "amount")]}')})
    write(small_dir.parent, {"api_routes.py": '''
        ROUTES = {"POST /charges": "charge.create", "POST /refunds": "refund.create"}
    '''})
    result = on(small_dir, "check", "--routes", "api_routes:ROUTES", cwd=small_dir.parent)
    assert (result.returncode, result.stdout) == (0, "no problems\n")


def test_check_routes_option_refuses_other_objects(small_dir: Path) -> None:
    """--routes naming something else is a usage error saying what it must be."""
    write(small_dir.parent, {"api_routes.py": "ROUTES = ['POST /refunds']\n"})
    result = on(small_dir, "check", "--routes", "api_routes:ROUTES", cwd=small_dir.parent)
    assert result.returncode == 2
    assert result.stderr.splitlines()[-1] == (
        "datever check: error: --routes api_routes:ROUTES: got list, not a "
        'datever.web.routing.Routes, a mapping of "METHOD /path" to resource, or an object '
        "with such .routes")


def test_check_routes_option_takes_a_service_with_routes(small_dir: Path) -> None:
    """--routes may name the service's Versioning: its .routes vouch for names."""
    write(small_dir, {"2022_07_01_refunds.py": change(
        "2022-07-01", '{"refund.create": [rename("amount_cents", "amount")]}')})
    write(small_dir.parent, {"api_service.py": f'''
        from datever.engine import Engine
        from datever.web.routing import Routes
        from datever.web.versioning import Versioning

        ROUTES = Routes()
        ROUTES.add("POST", "/charges", "charge.create")
        ROUTES.add("POST", "/refunds", "refund.create")
        SERVICE = Versioning(Engine.from_directory({str(small_dir)!r}), routes=ROUTES)
    '''})
    result = on(small_dir, "check", "--routes", "api_service:SERVICE", cwd=small_dir.parent)
    assert (result.returncode, result.stdout) == (0, "no problems\n")
