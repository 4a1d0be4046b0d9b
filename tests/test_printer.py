"""The rich debug printer: exact text of a small history, and the reference API at v1."""

from __future__ import annotations

import datetime as dt
import io
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console, RenderableType

from datever import (
    Change,
    Engine,
    Operation,
    ReleaseLifecycle,
    add,
    custom,
    map_values,
    remove,
    rename,
)
from datever.lifecycle import Lifecycle
from datever.printer import print_version, render_timeline, render_version
from datever.versions import Timeline

TODAY = dt.date(2025, 1, 1)


def console() -> Console:
    """A recording console without colour, 100 columns wide."""
    return Console(color_system=None, width=100, record=True, file=io.StringIO())


def text(renderable: RenderableType) -> str:
    """The plain text of ``renderable``; trailing spaces (Syntax pads lines) are dropped."""
    recorder = console()
    recorder.print(renderable)
    return "\n".join(line.rstrip() for line in recorder.export_text().splitlines())


@pytest.fixture
def engine() -> Engine:
    """A rename chain (c1, c2), an add (c3) that c4 removes, a side effect, a retroactive add."""
    return Engine(Timeline([
        Change(released="2021-01-01", id="c1", description="Amounts are amount_cents.\nMore.",
               resources={"charge": [rename("amount", "amount_cents")]}),
        Change(released="2022-01-01", id="c2", description="amount_cents becomes total.",
               resources={"charge": [rename("amount_cents", "total")],
                          "charge.create": [add("confirm", True)]}),
        Change(released="2023-01-01", id="c3", description="Refunds have a note.",
               resources={"refund": [add("note", "")]}, retroactive=False),
        Change(released="2024-01-01", id="c4", description="The note is gone again.",
               resources={"refund": [remove("note", "")],
                          "customer": [map_values("status", {"ok": "active"})]},
               side_effects=True),
        Change(released="2024-01-01", id="c5", description="Customers have a phone.",
               resources={"customer": [add("phone")]}),
    ]))


def sections(engine: Engine, requested: str, resource: str | None = None) -> list[str]:
    """The header and each tree of ``requested``, as separate blocks of text."""
    version = engine.resolve(requested, today=TODAY)
    return text(render_version(engine, version, resource, today=TODAY)).split("\n\n")


def test_header_says_how_the_version_resolved(engine: Engine) -> None:
    """The header names the request, the release, the channel and what is pending."""
    assert sections(engine, "2022-06-01")[0] == """\
╭─ version 2022-01-01 ───────────────────────────────────────────╮
│ requested    '2022-06-01'                                      │
│ resolved     2022-01-01, released 2022-01-01                   │
│ channel      stable                                            │
│ unstable     no                                                │
│ pending      2 changes to migrate                              │
│ retroactive  1 change applies to every version, never migrated │
╰────────────────────────────────────────────────────────────────╯"""


def test_down_tree_lists_changes_newest_first(engine: Engine) -> None:
    """The down tree runs newest first, with tags, operations and what the compiler did."""
    assert sections(engine, "v1", "refund")[1] == """\
refund  down (responses), newest first
├── 2024-01-01  c4  [breaking, side effects]  The note is gone again.
│   └── remove 'note' (older versions get '')
├── 2023-01-01  c3  [compatible]  Refunds have a note.
│   └── add 'note' (older versions omit it; requests get '')
└── compiled: 1 step in 1 pass
    ├── statement (fused from c4, c3): drop 'note'
    └── cancelled: 'note' is set by c4 and dropped by c3, so its value is never computed"""


def test_up_tree_lists_changes_oldest_first(engine: Engine) -> None:
    """The up tree runs oldest first and says requests are not fused."""
    assert sections(engine, "v1", "refund")[2] == """\
refund  up (requests), oldest first
├── 2023-01-01  c3  [compatible]  Refunds have a note.
│   └── add 'note' (older versions omit it; requests get '')
├── 2024-01-01  c4  [breaking, side effects]  The note is gone again.
│   └── remove 'note' (older versions get '')
└── compiled: 2 steps in 1 pass
    ├── requests run their steps as declared, without fusion
    ├── statement (from c3): fill 'note' with '' where it is absent
    └── statement (from c4): drop 'note'"""


def test_fused_rename_chain_names_every_change(engine: Engine) -> None:
    """A rename chain over two releases is one rename from the newest name to the oldest."""
    assert sections(engine, "v1", "charge")[1] == """\
charge  down (responses), newest first
├── 2022-01-01  c2  [breaking]  amount_cents becomes total.
│   └── rename 'amount_cents' to 'total'
├── 2021-01-01  c1  [breaking]  Amounts are amount_cents.
│   └── rename 'amount' to 'amount_cents'
└── compiled: 1 step in 1 pass
    └── statement (fused from c2, c1): rename 'total' to 'amount'"""


def test_cancelled_pair_is_shown(engine: Engine) -> None:
    """An add undone by a later remove is reported as cancelled, naming both changes."""
    down = sections(engine, "2022-06-01", "refund")[1]
    assert down.splitlines()[-1] == ("    └── cancelled: 'note' is set by c4 and dropped by c3, "
                                     "so its value is never computed")


def compiled_lines(*changes: list[Operation]) -> list[str]:
    """The lines under ``compiled:`` of the charge down tree at v1, one change per argument."""
    engine = Engine(Timeline([
        Change(released=f"{2020 + index}-01-01", id=f"c{index}", description=f"Change {index}.",
               resources={"charge": ops}, retroactive=False)
        for index, ops in enumerate(changes, 1)]))
    down = sections(engine, "v1", "charge")[1].splitlines()
    return down[next(i for i, line in enumerate(down) if "compiled:" in line):]


def test_chained_renames_are_shown_as_one_dict_rebuild() -> None:
    """Renames that feed each other compile to one dict rebuild, and the printer says so."""
    assert compiled_lines([rename("a", "b"), rename("c", "a")], [add("x", 0)]) == [
        "└── compiled: 1 step in 1 pass",
        "    └── one dict rebuild (fused from c2, c1): rename 'a' to 'c', rename 'b' to 'a', "
        "drop 'x'",
    ]


def test_many_drops_are_shown_as_one_filter_comprehension() -> None:
    """Past a dozen drops the code filters them out in one comprehension, then renames."""
    assert compiled_lines([add(f"p{i}", 0) for i in range(13)], [rename("q", "r")]) == [
        "└── compiled: 1 step in 1 pass",
        "    └── one filter comprehension (fused from c2, c1): drop 13 properties ('p0', 'p1', "
        "'p10', 'p11',",
        "        'p12', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7', 'p8', 'p9'), then statements: rename "
        "'r' to 'q'",
    ]


def test_composed_value_maps_are_shown_as_one_table() -> None:
    """Two value maps of one property are one lookup in a composed table."""
    assert compiled_lines([map_values("status", {"a": "b"})],
                          [map_values("status", {"b": "c"})]) == [
        "└── compiled: 1 step in 1 pass",
        "    └── one composed table (fused from c2, c1): map values of 'status': 'b' -> 'a', "
        "'c' -> 'a'",
    ]


def test_fill_of_an_absent_property_is_shown_without_a_check() -> None:
    """A fill after a drop of the same property is an assignment with no presence check."""
    assert compiled_lines([remove("x", 1)], [add("x", 0)]) == [
        "└── compiled: 2 steps in 1 pass",
        "    ├── statement (from c2): drop 'x'",
        "    └── statement (from c1): set 'x' to 1 (absent here, so without a check)",
    ]


def test_custom_transform_is_shown_as_a_call() -> None:
    """A custom transform is called, not inlined, and an unfused step names its one change."""
    assert compiled_lines([custom(down=ignore)]) == [
        "└── compiled: 1 step in 1 pass",
        "    └── call (from c1): custom transform ignore",
    ]


def ignore(obj: dict[str, object]) -> None:
    """A custom transform that leaves the object as it is."""


def test_retroactive_changes_are_listed_as_not_migrated(engine: Engine) -> None:
    """A retroactive change on a shown resource is listed apart, tagged retroactive."""
    assert sections(engine, "v1", "customer")[1] == """\
customer  down (responses), newest first
├── 2024-01-01  c4  [breaking, side effects]  The note is gone again.
│   └── map values of 'status': 'ok' -> 'active'
├── not migrated: retroactive changes apply to every version
│   └── 2024-01-01  c5  [compatible, retroactive]  Customers have a phone.
└── compiled: 1 step in 1 pass
    └── statement (from c4): map values of 'status': 'active' -> 'ok'"""


def test_source_lists_the_generated_code(engine: Engine) -> None:
    """``source=True`` prints each compiled function after its tree."""
    version = engine.resolve("2021-06-01", today=TODAY)
    blocks = text(render_version(engine, version, "charge.create", source=True)).split("\n\n")
    assert blocks[1:] == ["""\
charge.create  down (responses), newest first
├── 2022-01-01  c2  [breaking]  amount_cents becomes total.
│   └── add 'confirm' (older versions omit it; requests get True)
└── compiled: 1 step in 1 pass
    └── statement (from c2): drop 'confirm'
generated source, down charge.create, pass 1:
def down_charge_create(d):
    # c2
    d.pop('confirm', None)
    return d""", """\
charge.create  up (requests), oldest first
├── 2022-01-01  c2  [breaking]  amount_cents becomes total.
│   └── add 'confirm' (older versions omit it; requests get True)
└── compiled: 1 step in 1 pass
    ├── requests run their steps as declared, without fusion
    └── statement (from c2): fill 'confirm' with True where it is absent
generated source, up charge.create, pass 1:
def up_charge_create(d):
    # c2
    if 'confirm' not in d:
        d['confirm'] = True
    return d"""]


def test_head_version_migrates_nothing(engine: Engine) -> None:
    """At X the printer says the version is the head and nothing is migrated."""
    assert text(render_version(engine, engine.resolve("X", today=TODAY))) == """\
╭─ version X ────────────────────────────────────────────────────╮
│ requested    'X'                                               │
│ resolved     X, the head (unreleased changes included)         │
│ channel      experimental                                      │
│ unstable     yes: it may change                                │
│ warning      X is experimental and may change at any time      │
│ pending      none                                              │
│ retroactive  1 change applies to every version, never migrated │
╰────────────────────────────────────────────────────────────────╯
X is the head: nothing is migrated, payloads pass through untouched."""


def test_lifecycle_state_and_days_until_sunset(engine: Engine) -> None:
    """With a Lifecycle the header gives the state on ``today`` and the days until sunset."""
    lifecycle = Lifecycle({"v1": ReleaseLifecycle(deprecated=dt.date(2024, 6, 1),
                                                  sunset=dt.date(2025, 3, 1))},
                          changelog_url="https://example.com/changelog",
                          order=engine.timeline.versions)
    version = engine.resolve("v1", today=TODAY)
    header = text(render_version(engine, version, "nothing", lifecycle=lifecycle, today=TODAY))
    assert header.splitlines()[5] == ("│ lifecycle    deprecated since 2024-06-01; sunset on "
                                      "2025-03-01, in 59 days │")


def test_lifecycle_removed_version_says_410(engine: Engine) -> None:
    """A version past its sunset is shown removed, with how long ago and what clients get."""
    lifecycle = Lifecycle({"v1": ReleaseLifecycle(deprecated=dt.date(2024, 1, 1),
                                                  sunset=dt.date(2024, 12, 31))},
                          changelog_url="https://example.com/changelog",
                          order=engine.timeline.versions)
    version = engine.resolve("v1", today=TODAY)
    header = text(render_version(engine, version, "nothing", lifecycle=lifecycle, today=TODAY))
    assert header.splitlines()[5] == ("│ lifecycle    removed since 2024-12-31 (1 day ago): "
                                      "requests for it get 410 Gone │")


def test_resource_filter_shows_only_that_resource(engine: Engine) -> None:
    """Naming a resource gives its two trees and no other resource's."""
    titles = [block.splitlines()[0] for block in sections(engine, "v1", "customer")[1:]]
    assert titles == ["customer  down (responses), newest first",
                      "customer  up (requests), oldest first"]


def test_resource_filter_on_an_untouched_resource(engine: Engine) -> None:
    """A resource no pending change touches is said to be served in the head shape."""
    version = engine.resolve("2023-06-01", today=TODAY)
    assert text(render_version(engine, version, "charge.create")).splitlines()[-1] == (
        "no change pending at 2023-01-01 touches 'charge.create': it is served in the head "
        "shape.")


def test_print_version_prints_the_rendering(engine: Engine) -> None:
    """print_version writes exactly what render_version renders."""
    version = engine.resolve("v1", today=TODAY)
    printed = console()
    print_version(printed, engine, version, "charge", source=True)
    assert "\n".join(line.rstrip() for line in printed.export_text().splitlines()) == text(
        render_version(engine, version, "charge", source=True))


def test_timeline_table(engine: Engine) -> None:
    """render_timeline gives one row per version with its change counts."""
    assert text(render_timeline(engine.timeline)) == """\
timeline 'default' (dated)
┏━━━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━┳━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━┓
┃ version      ┃ changes ┃ breaking ┃ retroactive ┃ resources             ┃
┡━━━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━╇━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━┩
│ v1 (initial) │       0 │        0 │           0 │ -                     │
│ 2021-01-01   │       1 │        1 │           0 │ charge                │
│ 2022-01-01   │       1 │        1 │           0 │ charge, charge.create │
│ 2023-01-01   │       1 │        0 │           0 │ refund                │
│ 2024-01-01   │       2 │        1 │           1 │ customer, refund      │
└──────────────┴─────────┴──────────┴─────────────┴───────────────────────┘"""


def test_reference_api_charge_at_v1() -> None:
    """The reference API at v1 shows every charge change, the fusion and the barrier passes."""
    engine = Engine.from_directory(Path(__file__).parent.parent / "changes")
    version = engine.resolve("v1", today=TODAY)
    output = text(render_version(engine, version, "charge")).splitlines()
    for line in [
        "│ requested  'v1'                                               │",
        "│ resolved   v1, the initial version (before the first release) │",
        "│ pending    35 changes to migrate                              │",
        "charge  down (responses), newest first",
        "├── 2019-11-11  2019_11_11_charge_source_is_payment_method  [breaking]  The charge's "
        "`source` is",
        "│   └── rename 'source' to 'payment_method'",
        "└── compiled: 17 steps in 1 pass",
        "    ├── statements (fused from 2022_12_05_statement_descriptor_suffix,",
        "    │   2022_05_16_charge_capture_method, 2021_05_10_charge_outcome_object): drop "
        "'capture_method',",
        "    │   drop 'outcome', rename 'statement_descriptor_suffix' to 'statement_descriptor'",
        "    ├── call (from 2020_02_03_charge_refunds_list): custom transform _list_to_array",
        "charge  up (requests), oldest first",
        "└── compiled: 19 steps in 5 of the pipeline's 6 passes",
        "    ├── pass 2: 1 step from 2020_08_24_charge_customer_expandable (a barrier: it reaches "
        "nested",
    ]:
        assert line in output


def test_import_datever_does_not_import_rich() -> None:
    """rich stays off the hot path: only datever.printer imports it."""
    check = ("import sys, datever; assert 'rich' not in sys.modules; "
             "import datever.printer; assert 'rich' in sys.modules")
    subprocess.run([sys.executable, "-W", "error", "-c", check], check=True)
