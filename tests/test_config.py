"""[tool.datever] in pyproject.toml: the command line finds a project's history, head
schemas and routes from any folder of the project."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import pytest

from datever.config import KEYS, Config, ConfigError, find_config, read_config
from tests.cli_runs import ROOT, SMALL, run, write

ROUTES = '''
    ROUTES = {"GET /charges/{id}": (None, "charge"), "POST /charges": ("charge.create", "charge")}
'''


def project(tmp_path: Path, table: str) -> Path:
    """A project folder: the SMALL history in api/changes, routes in api/routes.py,
    and a pyproject.toml holding ``table``."""
    write(tmp_path / "api" / "changes", SMALL)
    write(tmp_path / "api", {"__init__.py": "", "routes.py": ROUTES})
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "api"\n\n' + textwrap.dedent(table).lstrip())
    (tmp_path / "api" / "deep" / "er").mkdir(parents=True)
    return tmp_path


def test_this_repository_checks_its_reference_api_with_the_example_routes() -> None:
    """At this repository's root, `datever check` and `datever openapi` need no option:
    the reference API in changes/ with the example service's routes."""
    checked = run("check", "--json", cwd=ROOT)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["ok"] is True
    document = run("openapi", "v1", cwd=ROOT)
    assert document.returncode == 0, document.stderr
    spec = json.loads(document.stdout)
    assert spec["info"]["title"] == "Payments API"
    assert "/charges/{id}" in spec["paths"]
    assert spec["info"]["x-datever-version"]["name"] == "v1"


def test_the_table_is_found_from_a_subfolder(tmp_path: Path) -> None:
    """Paths in the table are relative to the pyproject.toml, whatever the current folder;
    its folder comes first on the import path for MODULE:ATTR values."""
    root = project(tmp_path, '''
        [tool.datever]
        changes = "api/changes"
        routes = "api.routes:ROUTES"
        title = "Small"
    ''')
    result = run("openapi", "2021-03-01", cwd=root / "api" / "deep" / "er")
    assert result.returncode == 0, result.stderr
    spec = json.loads(result.stdout)
    assert spec["info"]["title"] == "Small"
    assert set(spec["paths"]) == {"/charges", "/charges/{id}"}


def test_an_option_on_the_command_line_wins(tmp_path: Path) -> None:
    """--title on the command line overrides the table's title."""
    root = project(tmp_path, '''
        [tool.datever]
        changes = "api/changes"
        routes = "api.routes:ROUTES"
        title = "Small"
    ''')
    result = run("openapi", "X", "--title", "Other", cwd=root)
    assert json.loads(result.stdout)["info"]["title"] == "Other"


def test_changes_on_the_command_line_names_another_history(tmp_path: Path) -> None:
    """--changes names another history: the table (its routes too) is not used."""
    root = project(tmp_path, '''
        [tool.datever]
        changes = "api/changes"
        routes = "api.missing:ROUTES"
    ''')
    result = run("--changes", "api/changes", "resolve", "v1", "--json", cwd=root)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["name"] == "v1"


def test_the_tables_routes_are_held_against_the_history(tmp_path: Path) -> None:
    """`datever check` uses the table's routes: a route naming a resource no change
    knows is reported with the closest name."""
    root = project(tmp_path, '''
        [tool.datever]
        changes = "api/changes"
        routes = "api.routes:ROUTES"
    ''')
    (root / "api" / "routes.py").write_text(
        'ROUTES = {"POST /charges": ("charge.craete", "charge")}\n')
    result = run("check", "--json", cwd=root)
    problems = json.loads(result.stdout)["problems"]
    assert any("charge.craete" in problem["message"] for problem in problems), problems


def test_an_unknown_key_is_refused_with_the_closest_one(tmp_path: Path) -> None:
    """A misspelt key exits 2 naming the file, the key and the closest key."""
    root = project(tmp_path, '''
        [tool.datever]
        chnages = "api/changes"
    ''')
    result = run("resolve", "v1", cwd=root)
    assert result.returncode == 2
    assert "pyproject.toml" in result.stderr
    assert "'chnages'" in result.stderr
    assert "did you mean 'changes'?" in result.stderr


@pytest.mark.parametrize(("table", "says"), [
    ('[tool.datever]\nchanges = 3\n', "changes must be a non-empty string"),
    ('[tool.datever]\nchanges = "a"\ntimeline = "m:t"\n', "exclude each other"),
    ('[tool]\ndatever = "changes"\n', "must be a table"),
    ('[tool.datever\n', "cannot read it"),
])
def test_a_bad_table_says_what_is_wrong(tmp_path: Path, table: str, says: str) -> None:
    """Every malformed table is a ConfigError naming the file."""
    path = tmp_path / "pyproject.toml"
    path.write_text(table)
    with pytest.raises(ConfigError, match=says) as caught:
        read_config(path)
    assert str(path) in str(caught.value)


def test_a_pyproject_without_the_table_is_passed_over(tmp_path: Path) -> None:
    """The nearest pyproject.toml *with* a [tool.datever] table counts: an inner one
    without it does not hide the outer one."""
    (tmp_path / "pyproject.toml").write_text('[tool.datever]\nchanges = "history"\n')
    inner = tmp_path / "inner"
    inner.mkdir()
    (inner / "pyproject.toml").write_text('[project]\nname = "inner"\n')
    found = find_config(inner)
    assert found == Config(root=tmp_path.resolve(), changes="history")
    assert found.path("history") == tmp_path.resolve() / "history"


def test_no_table_anywhere_is_none(tmp_path: Path) -> None:
    """Without any table, find_config is None and the commands keep their defaults."""
    assert find_config(tmp_path) is None
    result = run("resolve", "v1", cwd=tmp_path)
    assert result.returncode == 2
    assert "no changes directory at 'changes'" in result.stderr


def test_every_key_is_documented() -> None:
    """The module docstring shows every key the table may hold."""
    import datever.config

    for key in KEYS:
        assert f"{key} = " in (datever.config.__doc__ or ""), key


def test_the_table_may_name_a_timeline_object(tmp_path: Path) -> None:
    """``timeline = "MODULE:ATTR"`` stands for the changes directory: an Engine built in
    the project's own code."""
    root = project(tmp_path, '''
        [tool.datever]
        timeline = "api.versions:ENGINE"
    ''')
    (root / "api" / "versions.py").write_text(
        "from pathlib import Path\n\nfrom datever import Engine\n\n"
        "ENGINE = Engine.from_directory(Path(__file__).parent / 'changes')\n")
    result = run("resolve", "2021-06-07", "--json", cwd=root / "api" / "deep")
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["release"] == "2021-03-01"


def test_a_missing_dependency_of_the_routes_module_is_named(tmp_path: Path) -> None:
    """A routes module that imports a package not installed is a usage error naming it,
    not a traceback."""
    root = project(tmp_path, '''
        [tool.datever]
        changes = "api/changes"
        routes = "api.routes:ROUTES"
    ''')
    (root / "api" / "routes.py").write_text("import no_such_framework\n\nROUTES = {}\n")
    result = run("check", cwd=root)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert ("pyproject.toml [tool.datever] routes 'api.routes:ROUTES': importing api.routes "
            "needs 'no_such_framework', which is not installed") in result.stderr
