"""The compiler: generated source, linecache registration, fusion and passes."""

from __future__ import annotations

import gc
import inspect
import linecache
import re
import traceback
from typing import Any

import msgspec
import pytest

from datever import (
    Change,
    Engine,
    MigrationError,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.compiler import CompiledFunction
from datever.operations import Operation
from datever.planner import Rebuild
from datever.versions import Timeline


def cents_to_units(value: int) -> float:
    return value / 100


def units_to_cents(value: float) -> int:
    return round(value * 100)


def history(*ops: list[Operation] | dict[str, list[Operation]]) -> Timeline:
    """One change per argument, released a year apart from 2021, ids ``c1``, ``c2``, ...

    Every change is kept versioned (``retroactive=False``) so that compatible
    operations such as ``add`` compile too.
    """
    return Timeline([
        Change(released=f"{2020 + index}-01-01", id=f"c{index}", description=f"Change {index}.",
               resources=spec if isinstance(spec, dict) else {"charge": spec},
               retroactive=False)
        for index, spec in enumerate(ops, 1)
    ])


def only_function(engine: Engine, version: str = "v1", direction: str = "down",
                  resource: str = "charge") -> CompiledFunction:
    """The single compiled function of ``resource`` in a one-pass pipeline."""
    pipeline = engine.pipeline(version, direction)  # type: ignore[arg-type]
    assert len(pipeline.passes) == 1
    return pipeline.passes[0][resource]


def assert_down_matches_reference(engine: Engine, payloads: list[Any]) -> None:
    """Compiled down equals reference_down at every version of the timeline."""
    versions = ["v1", *(d.isoformat() for d in engine.timeline.releases), "X"]
    for version in versions:
        resolved = engine.resolve(version)
        for payload in payloads:
            assert engine.down(payload, version) == reference_down(payload, resolved), (
                version, payload)


def assert_up_matches_reference(engine: Engine, payloads: list[Any], resource: str) -> None:
    """Compiled up equals reference_up at every version of the timeline."""
    versions = ["v1", *(d.isoformat() for d in engine.timeline.releases), "X"]
    for version in versions:
        resolved = engine.resolve(version)
        for payload in payloads:
            assert engine.up(payload, version, resource=resource) == reference_up(
                payload, resolved, resource=resource), (version, payload)


# -- the generated source, pinned ----------------------------------------------------


@pytest.fixture
def small() -> Engine:
    """A rename, a convert and a map_values on charges, in three releases."""
    return Engine(history(
        [rename("amount_cents", "amount")],
        [convert("fee", down=cents_to_units, up=units_to_cents)],
        [map_values("status", {"paid": "succeeded"})],
    ))


def test_generated_down_source_is_pinned(small: Engine) -> None:
    """The down source of a rename + convert + map_values pipeline is exactly this."""
    assert small.pipeline("v1", "down").source == """\
def down_charge(d):
    # c1
    if 'amount' in d:
        d['amount_cents'] = d.pop('amount')
    # c3
    if 'status' in d:
        _v = d['status']
        if _v.__class__ is str:
            d['status'] = _table2.get(_v, _v)
    # c2
    if 'fee' in d:
        d['fee'] = _convert3(d['fee'])
    return d
"""


def test_generated_up_source_is_pinned(small: Engine) -> None:
    """The up source of the same pipeline applies the changes oldest first."""
    assert small.pipeline("v1", "up").source == """\
def up_charge(d):
    # c1
    if 'amount_cents' in d:
        d['amount'] = d.pop('amount_cents')
    # c2
    if 'fee' in d:
        d['fee'] = _convert2(d['fee'])
    # c3
    if 'status' in d:
        _v = d['status']
        if _v.__class__ is str:
            d['status'] = _table3.get(_v, _v)
    return d
"""


def test_generated_source_of_fused_steps_is_pinned() -> None:
    """Chained renames, a drop and a fill of an absent property: one rebuild, then a set."""
    engine = Engine(history([rename("a", "b"), rename("c", "a"), remove("y", 1)],
                            [add("x", 0), add("y", 2)]))
    assert engine.pipeline("v1", "down").source == """\
def down_charge(d):
    # c1, c2 (2 renames and 2 drops in one dict rebuild)
    if not _keys2.isdisjoint(d):
        d = {_names3.get(k, k): v for k, v in d.items() if k not in _drops4}
    # c1 (absent here: set without a check)
    d['y'] = 1
    return d
"""


# -- linecache and tracebacks ---------------------------------------------------------


def test_getsource_shows_the_generated_source(small: Engine) -> None:
    """inspect.getsource of a compiled function returns its generated source (linecache)."""
    compiled = only_function(small)
    assert inspect.getsource(compiled.function) == compiled.source
    assert compiled.filename.startswith("<datever ")
    assert linecache.getline(compiled.filename, 1) == "def down_charge(d):\n"


def explode(obj: dict[str, Any]) -> None:
    """A custom transform that fails on purpose."""
    raise RuntimeError("boom")


def test_traceback_of_a_failing_custom_transform_shows_the_generated_line() -> None:
    """A failing custom transform's traceback goes through the named generated function."""
    engine = Engine(history([custom(down=explode)]))
    with pytest.raises(MigrationError) as raised:
        engine.down({"object": "charge"}, "v1")
    cause = raised.value.__cause__
    assert isinstance(cause, RuntimeError)
    text = "".join(traceback.format_exception(cause))
    assert re.search(r'File "<datever default v1 down charge #\d+>", line \d+, in down_charge',
                     text)
    assert "d = _custom" in text  # the generated line itself is shown
    assert raised.value.change == "c1"


def test_compiled_source_is_released_with_its_pipeline() -> None:
    """The linecache entry of a generated function goes away with the function."""
    engine = Engine(history([rename("a", "b")]))
    filename = only_function(engine).filename
    assert filename in linecache.cache
    del engine
    gc.collect()
    assert filename not in linecache.cache


# -- fusion ------------------------------------------------------------------------------


@pytest.fixture
def chain() -> Engine:
    """A rename chain over three changes: a -> b, b -> c, c -> d."""
    return Engine(history([rename("a", "b")], [rename("b", "c")], [rename("c", "d")]))


def test_rename_chain_fuses_into_one_step(chain: Engine) -> None:
    """Three renames of one property compile to one step standing for all three changes."""
    compiled = only_function(chain)
    [fused] = compiled.steps
    assert [change.id for change in fused.origins] == ["c3", "c2", "c1"]
    assert fused.how == "merged"
    assert isinstance(fused.step, Rebuild)
    assert (fused.step.renames, fused.step.form) == ({"d": "a"}, "statements")
    assert fused.step.apply({"d": 1, "z": 2}) == {"a": 1, "z": 2}
    assert compiled.cancelled == []


def test_rename_chain_up_runs_each_rename_as_declared(chain: Engine) -> None:
    """Up (client bodies, maybe not well-formed), the chain keeps its three renames in order."""
    compiled = only_function(chain, direction="up")
    assert [len(fused.origins) for fused in compiled.steps] == [1, 1, 1]
    assert compiled.function({"a": 1, "z": 2}) == {"d": 1, "z": 2}


def test_partial_rename_chain_fuses_only_pending(chain: Engine) -> None:
    """At the first release only c3 and c2 are pending: d -> b, in one step."""
    [fused] = only_function(chain, version="2021-01-01").steps
    assert [change.id for change in fused.origins] == ["c3", "c2"]
    assert fused.step.apply({"d": 1}) == {"b": 1}


def test_rename_chain_compiles_to_a_single_move(chain: Engine) -> None:
    """The fused chain is one ``d['a'] = d.pop('d')``: no dict rebuild, no extra pops."""
    source = only_function(chain).source
    assert "isdisjoint" not in source
    assert source.count("d.pop(") == 1


def test_rename_chain_matches_reference(chain: Engine) -> None:
    """The fused rename chain gives the reference interpreter's result at every version."""
    assert_down_matches_reference(chain, [{"object": "charge", "d": 1, "z": 2},
                                          {"object": "charge", "z": 2}])
    assert_up_matches_reference(chain, [{"a": 1}, {"z": 1}], "charge")


def test_rename_there_and_back_renames_nothing() -> None:
    """a -> b then b -> a fuses away: the generated code moves no value."""
    engine = Engine(history([rename("a", "b")], [rename("b", "a")]))
    source = only_function(engine).source
    assert "d['a'] =" not in source
    assert "d['b'] =" not in source
    assert_down_matches_reference(engine, [{"object": "charge", "a": 1}])


@pytest.fixture
def add_then_remove() -> Engine:
    """``x`` added in one change and removed in the next."""
    return Engine(history([add("x", 0)], [remove("x", 1)]))


def test_add_then_remove_cancels(add_then_remove: Engine) -> None:
    """Down, the fill (undo remove) and the drop (undo add) of ``x`` cancel."""
    compiled = only_function(add_then_remove)
    [cancelled] = compiled.cancelled
    assert cancelled.key == "x"
    assert [change.id for change in cancelled.set_by] == ["c2"]
    assert cancelled.dropped_by.id == "c1"
    assert "d['x'] =" not in compiled.source


def test_add_then_remove_matches_reference(add_then_remove: Engine) -> None:
    """The cancelled pipeline gives the reference result on head-shaped payloads."""
    assert_down_matches_reference(add_then_remove, [{"object": "charge", "y": 1}])
    assert_up_matches_reference(add_then_remove, [{"y": 1}], "charge")


@pytest.fixture
def two_maps() -> Engine:
    """Two value maps on ``status``: a -> b, then b -> c (and x -> y)."""
    return Engine(history([map_values("status", {"a": "b"})],
                          [map_values("status", {"b": "c", "x": "y"})]))


def test_two_map_values_compose(two_maps: Engine) -> None:
    """Two map_values on one property compose into one table, both ways."""
    [fused] = only_function(two_maps).steps
    assert fused.step.table == {"c": "a", "b": "a", "y": "x"}  # type: ignore[attr-defined]
    assert fused.how == "composed"
    assert [change.id for change in fused.origins] == ["c2", "c1"]
    up = only_function(two_maps, direction="up")
    assert len(up.steps) == 2  # up runs each change as declared


def test_two_map_values_match_reference(two_maps: Engine) -> None:
    """The composed table gives the reference result for every value."""
    payloads = [{"object": "charge", "status": value} for value in "abcxyz"]
    assert_down_matches_reference(two_maps, payloads)
    assert_up_matches_reference(two_maps, [{"status": value} for value in "abcxyz"], "charge")


@pytest.fixture
def rebuild() -> Engine:
    """Renames that feed each other (a -> b and c -> a in one change) and an added x."""
    return Engine(history([rename("a", "b"), rename("c", "a")], [add("x", 0)]))


def test_chained_renames_become_one_dict_rebuild(rebuild: Engine) -> None:
    """Renames whose names feed each other compile to one guarded dict rebuild."""
    compiled = only_function(rebuild)
    assert compiled.source.count("isdisjoint") == 1
    assert "d.pop(" not in compiled.source
    [fused] = compiled.steps
    assert sorted(change.id for change in fused.origins) == ["c1", "c2"]


def test_independent_renames_and_few_drops_are_statements() -> None:
    """A handful of independent renames and drops compile to plain pops, no rebuild."""
    engine = Engine(history([rename("a", "b")], [add("x", 0)], [rename("c", "d")]))
    source = only_function(engine).source
    assert "isdisjoint" not in source
    assert source.count("d.pop(") == 3


def test_many_drops_become_one_filter() -> None:
    """Past a dozen drops, one guarded filter replaces the pops."""
    engine = Engine(history([add(f"p{i}", 0) for i in range(20)]))
    compiled = only_function(engine)
    assert compiled.source.count("isdisjoint") == 1
    assert "d.pop(" not in compiled.source
    payload = {"object": "charge", "keep": 1, **{f"p{i}": i for i in range(20)}}
    assert engine.down(payload, "v1") == {"object": "charge", "keep": 1}
    assert_down_matches_reference(engine, [payload, {"object": "charge", "keep": 1}])


def test_lone_rename_is_not_a_rebuild() -> None:
    """A single rename stays plain statements: no dict rebuild."""
    compiled = only_function(Engine(history([rename("a", "b")])))
    assert "isdisjoint" not in compiled.source


def test_dict_rebuild_matches_reference(rebuild: Engine) -> None:
    """The dict rebuild gives the reference result, with and without the touched keys."""
    payloads = [
        {"object": "charge", "b": 1, "x": 2, "a": 3, "z": 4},
        {"object": "charge", "b": 1},
        {"object": "charge", "z": 4},
        {"object": "list", "data": [{"object": "charge", "d": [1], "x": None}]},
    ]
    assert_down_matches_reference(rebuild, payloads)


def test_dict_rebuild_of_many_renames_in_one_change() -> None:
    """Twenty renames of one change rebuild the dict once and agree with the reference."""
    ops = [rename(f"old{i}", f"new{i}") for i in range(20)]
    engine = Engine(history(ops))
    compiled = only_function(engine)
    assert compiled.source.count("isdisjoint") == 1
    payload = {"object": "charge", **{f"new{i}": i for i in range(20)}, "keep": True}
    assert engine.down(payload, "v1") == {"object": "charge", "keep": True,
                                          **{f"old{i}": i for i in range(20)}}
    assert_down_matches_reference(engine, [payload])


def test_lone_rename_up_keeps_head_name_sent_by_old_client() -> None:
    """Up, a v1 body that sends ``amount`` (not ``amount_cents``) is kept, as reference_up does."""
    engine = Engine(history({"charge.create": [rename("amount_cents", "amount")]}))
    body = {"amount": 5}
    expected = reference_up(body, engine.resolve("v1"), resource="charge.create")
    assert expected == {"amount": 5}
    assert engine.up(body, "v1", resource="charge.create") == expected


# -- barriers and passes ------------------------------------------------------------------


def copy_customer_name(obj: dict[str, Any]) -> None:
    """A custom down transform on charges that reads the nested customer."""
    obj["customer_name"] = obj["customer"].get("name")


@pytest.fixture
def barrier() -> Engine:
    """customer rename (c1), a barrier custom on charges (c2), a charge rename (c3)."""
    return Engine(history(
        {"customer": [rename("full_name", "name")]},
        {"charge": [custom(down=copy_customer_name, reaches_nested=True)]},
        {"charge": [rename("amount_cents", "amount")]},
    ))


def test_barrier_splits_pipeline_into_passes(barrier: Engine) -> None:
    """A change with reaches_nested=True gets a pass of its own: three passes down."""
    pipeline = barrier.pipeline("v1", "down")
    assert len(pipeline.passes) == 3
    assert [sorted(table) for table in pipeline.passes] == [["charge"], ["charge"],
                                                            ["customer"]]


def test_without_barrier_one_pass() -> None:
    """The same history with a plain custom transform compiles to one pass."""
    engine = Engine(history(
        {"customer": [rename("full_name", "name")]},
        {"charge": [custom(down=copy_customer_name)]},
        {"charge": [rename("amount_cents", "amount")]},
    ))
    assert len(engine.pipeline("v1", "down").passes) == 1


def test_barrier_transform_sees_nested_resource_of_its_time(barrier: Engine) -> None:
    """The barrier transform runs before the older customer rename is undone, as written."""
    payload = {"object": "charge", "amount": 5,
               "customer": {"object": "customer", "name": "Ann"}}
    assert barrier.down(payload, "v1") == {
        "object": "charge", "amount_cents": 5, "customer_name": "Ann",
        "customer": {"object": "customer", "full_name": "Ann"},
    }


def test_barrier_pipeline_matches_reference(barrier: Engine) -> None:
    """The multi-pass pipeline equals the reference interpreter."""
    payloads = [
        {"object": "charge", "amount": 5, "customer": {"object": "customer", "name": "Ann"}},
        {"object": "list", "data": [
            {"object": "charge", "amount": i, "customer": {"object": "customer", "name": str(i)}}
            for i in range(3)]},
    ]
    assert_down_matches_reference(barrier, payloads)


def test_collapse_up_is_a_barrier_pass() -> None:
    """collapse's up step (expand) creates a nested object, so up gets a pass of its own."""
    engine = Engine(history(
        [rename("a", "b")],
        [collapse("customer")],
        [rename("c", "d")],
    ))
    assert len(engine.pipeline("v1", "up").passes) == 3
    assert_up_matches_reference(engine, [{"a": 1, "c": 2, "customer": "cus_1"}], "charge")


# -- nested moves --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("op", "payloads"),
    [
        (move("city", "address.city"),
         [{"object": "charge", "address": {"city": "P", "line1": "l"}},
          {"object": "charge", "address": {"city": "P"}},
          {"object": "charge"}]),
        (move("address.city", "city"),
         [{"object": "charge", "address": {"line1": "l"}, "city": "P"},
          {"object": "charge", "city": "P"},
          {"object": "charge", "address": None}]),
        (move("a.b", "x.y.z"),
         [{"object": "charge", "x": {"y": {"z": 1}}}, {"object": "charge", "x": {"y": {}}}]),
    ],
    ids=["into", "out-of", "deep"],
)
def test_nested_moves_match_reference(op: Operation, payloads: list[Any]) -> None:
    """Moves into, out of and between nested objects compile to the reference result."""
    engine = Engine(history([op]))
    assert_down_matches_reference(engine, payloads)


def test_nested_move_through_non_object_is_migration_error() -> None:
    """A move through a property that is not an object fails with a located MigrationError."""
    engine = Engine(history([move("city", "address.city")]))
    with pytest.raises(MigrationError) as info:
        engine.down({"object": "list", "data": [{"object": "charge", "address": "x"}]}, "v1")
    assert info.value.json_path == "$.data[0]"
    assert info.value.change == "c1"
    with pytest.raises(MigrationError):
        reference_down({"object": "charge", "address": "x"}, engine.resolve("v1"))


# -- compiled equals reference on a mixed history --------------------------------------------


def test_mixed_history_matches_reference_down_and_up() -> None:
    """A history mixing every declarative operation agrees with the reference both ways."""
    engine = Engine(history(
        {"charge": [rename("amount_cents", "amount"), add("currency", "usd")],
         "customer": [rename("full_name", "name")]},
        {"charge": [map_values("status", {"paid": "succeeded"}), remove("legacy", False)]},
        {"charge": [convert("fee", down=cents_to_units, up=units_to_cents),
                    move("city", "address.city")]},
        {"charge": [rename("currency", "currency_code"), add("note", compute=len)]},
    ))
    payload = {"object": "list", "data": [
        {"object": "charge", "amount": 1, "currency_code": "eur", "status": "succeeded",
         "fee": 250, "address": {"city": "P"}, "note": "n",
         "customer": {"object": "customer", "name": "Ann"}},
        {"object": "charge"},
    ]}
    assert_down_matches_reference(engine, [payload])
    old_body = {"amount_cents": 1, "status": "paid", "legacy": True, "fee": 2.5, "city": "P"}
    assert_up_matches_reference(engine, [old_body], "charge")
    data = msgspec.json.encode(payload)
    assert msgspec.json.decode(engine.down_json(data, "v1")) == reference_down(
        payload, engine.resolve("v1"))


def test_resource_name_that_is_no_identifier_compiles() -> None:
    """A resource named with non-ASCII alphanumerics (``charge²``) still gets a function."""
    engine = Engine(Timeline([Change(released="2021-01-01", id="c1", description="c",
                                     resources={"charge²": [rename("amount_cents", "amount")]})]))
    function = only_function(engine, resource="charge²")
    assert function.source.startswith("def down_charge_(d):")
    assert engine.down({"object": "charge²", "amount": 1}, "v1") == {
        "object": "charge²", "amount_cents": 1}


# -- objects replaced, errors in nested lists, re-added properties, typed tables ------------


def widen(obj: dict[str, Any]) -> dict[str, Any]:
    """A custom transform that returns a new object rather than editing its argument."""
    return {**obj, "widened": True}


@pytest.mark.parametrize("ops", [[custom(down=widen)], [rename("a", "b"), rename("c", "a")]],
                         ids=["custom-returns-new", "dict-rebuild"])
def test_nested_resource_replaced_by_its_function_is_stored_in_its_parent(
        ops: list[Operation]) -> None:
    """A nested resource whose compiled function returns a new dict replaces the old one
    in the parent object, as the reference interpreter does."""
    engine = Engine(history({"customer": ops}))
    payload = {"object": "charge", "customer": {"object": "customer", "b": 1, "a": 2}}
    migrated = engine.down(payload, "v1")
    assert migrated == reference_down(payload, engine.resolve("v1"))
    assert migrated["customer"] != payload["customer"]


@pytest.mark.parametrize(("payload", "path"), [
    ([[{"object": "customer"}, {"object": "customer", "fail": 1}]], "$[0][1]"),
    ({"object": "list", "data": [[{"object": "customer", "fail": 1}]]}, "$.data[0][0]"),
], ids=["list-in-list-at-root", "list-in-list-in-object"])
def test_error_in_a_list_inside_a_list_names_every_index(payload: Any, path: str) -> None:
    """A transform failing on a resource in a list inside a list reports each index of its
    path, as the reference interpreter does."""
    engine = Engine(history({"customer": [custom(down=fail_when_marked)]}))
    with pytest.raises(MigrationError) as compiled:
        engine.down(payload, "v1")
    with pytest.raises(MigrationError) as reference:
        reference_down(payload, engine.resolve("v1"))
    assert compiled.value.json_path == reference.value.json_path == path


def fail_when_marked(obj: dict[str, Any]) -> None:
    """A custom transform that fails on objects carrying ``fail``."""
    if "fail" in obj:
        raise ValueError("marked to fail")


@pytest.mark.parametrize(("changes", "head", "old"), [
    (([remove("x", 0)], [add("x", 1)]), {"object": "charge", "x": 5}, {"object": "charge", "x": 0}),
    (([remove("x", 0)], [add("x", 1)], [rename("x", "y")]), {"object": "charge", "y": 5},
     {"object": "charge", "x": 0}),
], ids=["re-added", "re-added-then-renamed"])
def test_property_removed_and_added_again_gets_its_old_default(
        changes: tuple[list[Operation], ...], head: dict[str, Any],
        old: dict[str, Any]) -> None:
    """Down to before its removal, a property added again later has the old default, not
    the head's value of the new property of the same name."""
    engine = Engine(history(*changes))
    assert engine.down(head, "v1") == old
    assert_down_matches_reference(engine, [head, {"object": "charge"}])
    assert_up_matches_reference(engine, [{"x": 3}, {}], "charge")


def test_value_table_with_non_string_keys_tells_true_from_one() -> None:
    """A table keyed by 1 maps the JSON number 1 only: true and 1.0 are other values."""
    engine = Engine(history([map_values("code", {"one": 1})]))
    values = [engine.down({"object": "charge", "code": value}, "v1")["code"]
              for value in (1, True, 1.0, "one")]
    assert values == ["one", True, 1.0, "one"]
    assert [type(value) for value in values] == [str, bool, float, str]


def test_value_tables_with_non_string_keys_agree_when_stacked() -> None:
    """Two stacked tables keyed by non-strings (true -> 1, then 1 -> 'a') give the
    reference result for true, 1 and 1.0: a dict cannot hold true and 1 as two keys."""
    engine = Engine(history([map_values("v", {"a": 1})], [map_values("v", {1: True})]))
    payloads = [{"object": "charge", "v": value} for value in (True, 1, 1.0, "a")]
    assert [engine.down(p, "v1")["v"] for p in payloads] == ["a", "a", 1.0, "a"]
    assert_down_matches_reference(engine, payloads)
    assert_up_matches_reference(engine, [{"v": value} for value in ("a", 1, True, 1.0)],
                                "charge")


def test_inverse_table_keeps_one_and_true_apart() -> None:
    """map_values({"a": 1, "b": True}) goes down 1 -> "a" and true -> "b": the inverse
    table keeps keys Python holds equal apart, compiled and reference alike."""
    engine = Engine(history([map_values("v", {"a": 1, "b": True})]))
    heads = [{"object": "charge", "v": value} for value in (1, True, 1.0, "a")]
    assert [engine.down(head, "v1")["v"] for head in heads] == ["a", "b", 1.0, "a"]
    assert_down_matches_reference(engine, heads)
    assert engine.up({"v": "b"}, "v1", resource="charge") == {"v": True}
