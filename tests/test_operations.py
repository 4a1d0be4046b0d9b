"""The declarative operations and their down and up steps (datever.operations)."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import Any

import pytest

from datever import (
    ChangeError,
    add,
    collapse,
    convert,
    custom,
    map_values,
    move,
    remove,
    rename,
)
from datever.operations import Operation


def apply(steps: Sequence[Any], obj: dict[str, Any]) -> dict[str, Any]:
    """Apply ``steps`` in order to a copy of ``obj`` with ``step.apply``."""
    result = copy.deepcopy(obj)
    for step in steps:
        result = step.apply(result)
    return result


def down(op: Operation, obj: dict[str, Any]) -> dict[str, Any]:
    return apply(op.down, obj)


def up(op: Operation, obj: dict[str, Any]) -> dict[str, Any]:
    return apply(op.up, obj)


# -- rename ----------------------------------------------------------------------


def test_rename_down_restores_old_name() -> None:
    """rename's down step moves the new name back to the old one, keeping the value."""
    op = rename("amount_cents", "amount")
    assert down(op, {"amount": 5, "id": "ch_1"}) == {"amount_cents": 5, "id": "ch_1"}


def test_rename_up_uses_new_name() -> None:
    """rename's up step moves the old name to the new one."""
    op = rename("amount_cents", "amount")
    assert up(op, {"amount_cents": 5, "id": "ch_1"}) == {"amount": 5, "id": "ch_1"}


def test_rename_is_lossless_and_round_trips() -> None:
    """rename is lossless: up(down(x)) == x."""
    op = rename("amount_cents", "amount")
    x = {"amount": {"nested": [1, 2]}, "id": "ch_1"}
    assert op.lossless
    assert up(op, down(op, x)) == x


def test_rename_moves_null_values() -> None:
    """A property holding null is renamed like any other value."""
    assert down(rename("a", "b"), {"b": None}) == {"a": None}


def test_rename_to_itself_is_refused() -> None:
    """rename("a", "a") is a ChangeError."""
    with pytest.raises(ChangeError, match="itself"):
        rename("a", "a")


@pytest.mark.parametrize(("old", "new"), [("", "b"), ("a", ""), (None, "b")])
def test_rename_requires_names(old: Any, new: Any) -> None:
    """rename refuses empty or non-string names."""
    with pytest.raises(ChangeError, match="non-empty property name"):
        rename(old, new)


@pytest.mark.parametrize("make", [lambda: rename("a.b", "c"), lambda: add("a.b"),
                                  lambda: remove("a.b"), lambda: map_values("a.b", {1: 2}),
                                  lambda: convert("a.b", down=str, up=int),
                                  lambda: collapse("a.b")],
                         ids=["rename", "add", "remove", "map_values", "convert", "collapse"])
def test_single_property_operations_reject_dotted_paths(make: Any) -> None:
    """Operations on one property refuse a dotted path and point to move()."""
    with pytest.raises(ChangeError, match="move"):
        make()


def test_rename_touches_both_names() -> None:
    """rename declares that it touches the old and the new name."""
    assert rename("a", "b").touches == frozenset({"a", "b"})


# -- move ------------------------------------------------------------------------


def test_move_into_nested_up() -> None:
    """move up puts a top-level value into a nested object, creating it."""
    op = move("address_city", "address.city")
    assert up(op, {"address_city": "Paris", "id": 1}) == {"address": {"city": "Paris"}, "id": 1}


def test_move_into_nested_up_keeps_siblings() -> None:
    """move up into an existing nested object keeps its other properties."""
    op = move("address_city", "address.city")
    result = up(op, {"address_city": "Paris", "address": {"line1": "1 rue"}})
    assert result == {"address": {"line1": "1 rue", "city": "Paris"}}


def test_move_into_nested_down() -> None:
    """move down takes the nested value back out to the top level."""
    op = move("address_city", "address.city")
    result = down(op, {"address": {"city": "Paris", "line1": "1 rue"}})
    assert result == {"address": {"line1": "1 rue"}, "address_city": "Paris"}


def test_move_out_of_nested_up() -> None:
    """move up takes a nested value out to the top level."""
    op = move("address.city", "city")
    result = up(op, {"address": {"city": "Paris", "line1": "1 rue"}})
    assert result == {"address": {"line1": "1 rue"}, "city": "Paris"}


def test_move_out_of_nested_down() -> None:
    """move down puts a top-level value back into the nested object."""
    op = move("address.city", "city")
    result = down(op, {"address": {"line1": "1 rue"}, "city": "Paris"})
    assert result == {"address": {"line1": "1 rue", "city": "Paris"}}


def test_move_between_depths_creates_every_level() -> None:
    """move creates every missing intermediate object of a deep path."""
    op = move("a.b", "x.y.z")
    assert up(op, {"a": {"b": 1, "c": 2}}) == {"a": {"c": 2}, "x": {"y": {"z": 1}}}


def test_move_prunes_objects_it_leaves_empty() -> None:
    """A nested object that a move leaves empty is removed, at every depth."""
    assert up(move("a.b", "x.y.z"), {"a": {"b": 1}}) == {"x": {"y": {"z": 1}}}
    assert down(move("x", "a.b.c"), {"a": {"b": {"c": 1}}, "k": 0}) == {"x": 1, "k": 0}


def test_move_prunes_only_the_emptied_levels() -> None:
    """Pruning stops at the first level that still holds other properties."""
    result = down(move("x", "a.b.c"), {"a": {"b": {"c": 1}, "keep": True}})
    assert result == {"a": {"keep": True}, "x": 1}


def test_move_keeps_empty_objects_it_did_not_empty() -> None:
    """An empty object the move does not touch stays."""
    assert up(move("a.b", "c"), {"a": {"b": 1}, "e": {}}) == {"c": 1, "e": {}}


@pytest.mark.parametrize(
    "x",
    [
        {"address": {"city": "Paris", "line1": "1 rue"}, "id": 1},
        {"address": {"city": None}},
        {"id": 1},
    ],
)
def test_move_into_nested_round_trips(x: dict[str, Any]) -> None:
    """move into a nested object is lossless: up(down(x)) == x."""
    op = move("address_city", "address.city")
    assert op.lossless
    assert up(op, down(op, x)) == x


@pytest.mark.parametrize(
    "x",
    [
        {"address": {"line1": "1 rue"}, "city": "Paris"},
        {"city": "Paris"},
        {"address": {"line1": "1 rue"}},
    ],
)
def test_move_out_of_nested_round_trips(x: dict[str, Any]) -> None:
    """move out of a nested object is lossless: up(down(x)) == x."""
    op = move("address.city", "city")
    assert op.lossless
    assert up(op, down(op, x)) == x


def test_move_missing_source_leaves_object_alone() -> None:
    """move of a missing path (or a missing parent) changes nothing."""
    op = move("address_city", "address.city")
    assert down(op, {"address": {"line1": "x"}}) == {"address": {"line1": "x"}}
    assert down(op, {"id": 1}) == {"id": 1}
    assert up(op, {"id": 1}) == {"id": 1}


def test_move_through_non_object_raises_type_error() -> None:
    """move through a property that is not an object raises TypeError naming it."""
    op = move("address.city", "city")
    with pytest.raises(TypeError, match="address"):
        up(op, {"address": "1 rue de Paris"})


@pytest.mark.parametrize(("old", "new"), [("a.b", "a"), ("a", "a.b"), ("a.b", "a.b"),
                                          ("a..b", "c")])
def test_move_refuses_overlapping_or_empty_paths(old: str, new: str) -> None:
    """move refuses paths that contain each other, are equal or have empty segments."""
    with pytest.raises(ChangeError):
        move(old, new)


def test_move_reaching_nested_is_a_barrier_with_same_effect() -> None:
    """move(reaches_nested=True) marks its steps as barriers and moves the same way."""
    op = move("customer_name", "customer.name", reaches_nested=True)
    assert all(step.barrier for step in op.down + op.up)
    assert up(op, {"customer_name": "Ann"}) == {"customer": {"name": "Ann"}}
    assert not any(step.barrier for step in move("a", "b.c").up)


# -- add -------------------------------------------------------------------------


def test_add_down_drops_property() -> None:
    """add's down step removes the new property."""
    op = add("currency", "usd")
    assert down(op, {"currency": "eur", "amount": 5}) == {"amount": 5}


def test_add_up_fills_default() -> None:
    """add's up step fills a missing property with the default."""
    op = add("currency", "usd")
    assert up(op, {"amount": 5}) == {"amount": 5, "currency": "usd"}


def test_add_up_keeps_present_value() -> None:
    """add's up step does not overwrite a value the request already has."""
    op = add("currency", "usd")
    assert up(op, {"currency": "eur"}) == {"currency": "eur"}


def test_add_up_default_is_copied_each_time() -> None:
    """A mutable default is deep-copied, so two payloads never share it."""
    op = add("tags", {"list": []})
    first = up(op, {})
    first["tags"]["list"].append("x")
    assert up(op, {}) == {"tags": {"list": []}}


def test_add_up_with_compute() -> None:
    """add(compute=...) fills the property from the rest of the object."""
    op = add("total", compute=lambda obj: obj["amount"] * 2)
    assert up(op, {"amount": 5}) == {"amount": 5, "total": 10}


def test_add_with_compute_down_drops_property() -> None:
    """add(compute=...) still drops the property on the way down."""
    op = add("total", compute=lambda obj: obj["amount"] * 2)
    assert down(op, {"amount": 5, "total": 10}) == {"amount": 5}


def test_add_is_lossy() -> None:
    """add is lossy: down throws the value away."""
    assert not add("currency", "usd").lossless
    assert not add("total", compute=len).lossless


def test_add_refuses_non_json_default() -> None:
    """add refuses a default that is not a JSON value."""
    with pytest.raises(ChangeError, match="JSON value"):
        add("when", object())


def test_add_refuses_non_callable_compute() -> None:
    """add refuses a compute that is not callable."""
    with pytest.raises(ChangeError, match="callable"):
        add("total", compute=5)  # type: ignore[arg-type]


def test_add_drop_of_missing_property_leaves_object_alone() -> None:
    """add's down step on an object without the property changes nothing."""
    assert down(add("currency", "usd"), {"amount": 5}) == {"amount": 5}


# -- remove ----------------------------------------------------------------------


def test_remove_down_fills_default() -> None:
    """remove's down step gives old clients the default."""
    op = remove("legacy", "none")
    assert down(op, {"amount": 5}) == {"amount": 5, "legacy": "none"}


def test_remove_down_with_compute() -> None:
    """remove(compute=...) gives old clients a value computed from the object."""
    op = remove("amount_str", compute=lambda obj: str(obj["amount"]))
    assert down(op, {"amount": 5}) == {"amount": 5, "amount_str": "5"}


def test_remove_up_drops_property() -> None:
    """remove's up step drops the property an old client still sends."""
    op = remove("legacy", "none")
    assert up(op, {"legacy": "x", "amount": 5}) == {"amount": 5}


def test_remove_with_compute_up_drops_property() -> None:
    """remove(compute=...) also drops the property on the way up."""
    op = remove("amount_str", compute=lambda obj: str(obj["amount"]))
    assert up(op, {"amount": 5, "amount_str": "5"}) == {"amount": 5}


@pytest.mark.parametrize("op", [remove("legacy", [1, {"a": None}]),
                                remove("legacy", compute=lambda obj: 1)])
def test_remove_is_lossless_and_round_trips(op: Operation) -> None:
    """remove is lossless: the head shape never has the property, so up(down(x)) == x."""
    x = {"amount": 5, "nested": {"legacy": "kept"}}
    assert op.lossless
    assert up(op, down(op, x)) == x


# -- map_values -------------------------------------------------------------------


def test_map_values_up_maps_old_to_new() -> None:
    """map_values up replaces old enum values by new ones."""
    op = map_values("status", {"paid": "succeeded", "failed": "declined"})
    assert up(op, {"status": "paid"}) == {"status": "succeeded"}


def test_map_values_down_inverts() -> None:
    """map_values down replaces new enum values by the old ones."""
    op = map_values("status", {"paid": "succeeded", "failed": "declined"})
    assert down(op, {"status": "declined"}) == {"status": "failed"}


def test_map_values_leaves_unmapped_values() -> None:
    """A value not in the table stays as it is."""
    op = map_values("status", {"paid": "succeeded"})
    assert down(op, {"status": "pending"}) == {"status": "pending"}
    assert up(op, {"status": "pending"}) == {"status": "pending"}


def test_map_values_missing_property_left_alone() -> None:
    """map_values on an object without the property changes nothing."""
    op = map_values("status", {"paid": "succeeded"})
    assert down(op, {"id": 1}) == {"id": 1}


@pytest.mark.parametrize("x", [{"status": "succeeded"}, {"status": "other"}, {"status": None},
                               {"id": 1}])
def test_map_values_is_lossless_and_round_trips(x: dict[str, Any]) -> None:
    """map_values is lossless: up(down(x)) == x."""
    op = map_values("status", {"paid": "succeeded", "failed": "declined"})
    assert op.lossless
    assert up(op, down(op, x)) == x


def test_map_values_rejects_non_one_to_one() -> None:
    """A mapping that sends two old values to one new value is refused."""
    with pytest.raises(ChangeError, match="one-to-one"):
        map_values("status", {"paid": "succeeded", "captured": "succeeded"})


@pytest.mark.parametrize("mapping", [{}, {"a": ["list"]}, [("a", "b")]])
def test_map_values_rejects_bad_mappings(mapping: Any) -> None:
    """map_values refuses empty tables, non-scalar values and non-dicts."""
    with pytest.raises(ChangeError, match="map_values"):
        map_values("status", mapping)


def test_map_values_does_not_confuse_true_with_one() -> None:
    """A JSON ``true`` is not the number 1: it is not in the table {0: ..., 1: ...}."""
    op = map_values("level", {0: "low", 1: "high"})
    assert up(op, {"level": True}) == {"level": True}


# -- convert ----------------------------------------------------------------------


def test_convert_down_and_up() -> None:
    """convert applies ``down`` to the head value and ``up`` to the old value."""
    op = convert("amount", down=lambda v: v / 100, up=lambda v: round(v * 100))
    assert down(op, {"amount": 1250}) == {"amount": 12.5}
    assert up(op, {"amount": 12.5}) == {"amount": 1250}


def test_convert_missing_property_left_alone() -> None:
    """convert never calls its function when the property is missing."""
    def explode(value: Any) -> Any:
        raise AssertionError("must not be called")

    op = convert("amount", down=explode, up=explode)
    assert down(op, {"id": 1}) == {"id": 1}
    assert up(op, {"id": 1}) == {"id": 1}


def test_convert_is_lossy_unless_declared() -> None:
    """convert without lossless= is lossy, as custom is: nothing proves up(down(v)) == v."""
    assert not convert("amount", down=round, up=float).lossless


def test_convert_declared_lossless_round_trips() -> None:
    """convert(lossless=True) says so; str/int round trip."""
    op = convert("count", down=str, up=int, lossless=True)
    assert op.lossless
    assert up(op, down(op, {"count": 42})) == {"count": 42}


def test_convert_description_names_functions() -> None:
    """convert's default description names the property and both functions."""
    assert str(convert("count", down=str, up=int)) == "convert 'count' (int up, str down)"


def test_convert_refuses_non_callable() -> None:
    """convert("a", down=5, up=str) is a ChangeError."""
    with pytest.raises(ChangeError, match="callable"):
        convert("a", down=5, up=str)  # type: ignore[arg-type]


# -- collapse ---------------------------------------------------------------------


def test_collapse_down_replaces_object_by_id() -> None:
    """collapse down replaces an expanded object by its id."""
    op = collapse("customer")
    result = down(op, {"customer": {"id": "cus_1", "object": "customer", "name": "Ann"}})
    assert result == {"customer": "cus_1"}


def test_collapse_down_leaves_id_strings_and_missing() -> None:
    """collapse down leaves a property that already holds an id, and a missing one, alone."""
    op = collapse("customer")
    assert down(op, {"customer": "cus_1"}) == {"customer": "cus_1"}
    assert down(op, {"customer": None}) == {"customer": None}
    assert down(op, {"id": 1}) == {"id": 1}


def test_collapse_up_expands_to_id_object() -> None:
    """collapse up (without expand=) turns an id into ``{"id": id}``."""
    assert up(collapse("customer"), {"customer": "cus_1"}) == {"customer": {"id": "cus_1"}}


def test_collapse_up_with_expand() -> None:
    """collapse(expand=...) turns an id into what expand returns."""
    op = collapse("customer", expand=lambda i: {"id": i, "object": "customer"})
    assert up(op, {"customer": "cus_1"}) == {"customer": {"id": "cus_1", "object": "customer"}}


def test_collapse_up_leaves_objects_and_missing() -> None:
    """collapse up leaves an already expanded object and a missing property alone."""
    op = collapse("customer")
    assert up(op, {"customer": {"id": "cus_1"}}) == {"customer": {"id": "cus_1"}}
    assert up(op, {"id": 1}) == {"id": 1}


def test_collapse_is_lossy() -> None:
    """collapse is lossy: down throws the expanded properties away."""
    assert not collapse("customer").lossless
    assert not collapse("customer", expand=lambda i: {"id": i}).lossless


def test_collapse_up_is_a_barrier() -> None:
    """collapse's up step creates a nested object, so it is a barrier."""
    assert all(step.barrier for step in collapse("customer").up)


# -- custom -----------------------------------------------------------------------


def test_custom_returning_new_dict() -> None:
    """A custom transform that returns a new dict replaces the object."""
    op = custom(down=lambda obj: {"legacy": True, **obj})
    assert down(op, {"id": 1}) == {"legacy": True, "id": 1}


def test_custom_returning_none_keeps_in_place_edit() -> None:
    """A custom transform that edits in place and returns None keeps the edited object."""
    def down_fn(obj: dict[str, Any]) -> None:
        obj["amount"] = obj.pop("value") * 2

    op = custom(down=down_fn)
    obj = {"value": 3}
    [step] = op.down
    assert step.apply(obj) is obj
    assert obj == {"amount": 6}


def test_custom_returning_non_dict_raises_type_error() -> None:
    """A custom transform that returns something other than a dict or None is a TypeError."""
    op = custom(down=lambda obj: [obj])
    with pytest.raises(TypeError, match="must return an object or None"):
        down(op, {"id": 1})


def test_custom_up_only_has_no_down_steps() -> None:
    """custom(up=...) alone has no down steps, and runs its function up."""
    op = custom(up=lambda obj: {**obj, "up": True})
    assert op.down == ()
    assert up(op, {}) == {"up": True}


def test_custom_defaults_to_lossy_and_can_be_declared_lossless() -> None:
    """custom is lossy unless declared lossless, and its round trip holds when it is."""
    assert not custom(down=dict).lossless
    op = custom(down=lambda o: {"n": o["m"]}, up=lambda o: {"m": o["n"]}, lossless=True,
                touches=("m", "n"))
    assert op.lossless
    assert op.touches == frozenset({"m", "n"})
    assert up(op, down(op, {"m": 1})) == {"m": 1}


def test_custom_requires_a_transform() -> None:
    """custom() with neither down= nor up= is a ChangeError."""
    with pytest.raises(ChangeError, match="at least one"):
        custom()


def test_custom_reaching_nested_is_a_barrier() -> None:
    """custom(reaches_nested=True) steps are barriers; plain custom steps are not."""
    assert all(step.barrier for step in custom(down=dict, reaches_nested=True).down)
    assert not any(step.barrier for step in custom(down=dict).down)


# -- missing properties -------------------------------------------------------------


@pytest.mark.parametrize(
    "op",
    [
        rename("a", "b"),
        move("a", "x.y"),
        move("x.y", "a"),
        map_values("a", {"p": "q"}),
        convert("a", down=str, up=int),
        collapse("a"),
        remove("a", 0),
    ],
    ids=["rename", "move-in", "move-out", "map_values", "convert", "collapse", "remove"],
)
def test_declarative_up_and_down_leave_unrelated_objects_alone(op: Operation) -> None:
    """Declarative steps whose property is missing leave the object unchanged (remove's up)."""
    obj = {"id": 1, "other": {"nested": [1, 2]}}
    assert up(op, obj) == obj
    if op.kind != "remove":
        assert down(op, obj) == obj
