"""Head shapes as msgspec Structs, every version's shapes derived, and the load-time checks.

The reference API's shapes are tested in test_schemas_reference.py.
"""

from __future__ import annotations

import datetime as dt
import sys
import textwrap
from pathlib import Path
from typing import Any, ForwardRef, Literal

import msgspec
import pytest

from datever import (
    Change,
    ChangeError,
    Schemas,
    add,
    change_limit,
    collapse,
    convert,
    custom,
    map_values,
    move,
    remove,
    rename,
)
from datever.changes import load_changes, load_resources, load_schemas
from datever.check import collect_problems
from datever.versions import Timeline, Version

TODAY = dt.date(2026, 12, 1)


# -- small shapes, in memory ------------------------------------------------------


class Customer(msgspec.Struct, tag_field="object", tag="customer"):
    """A customer."""

    id: str
    email: str | None


class Outcome(msgspec.Struct):
    """A plain nested object."""

    risk_level: str
    reason: str | None


class Charge(msgspec.Struct, tag_field="object", tag="charge"):
    """A charge."""

    id: str
    amount: int
    status: Literal["succeeded", "pending"]
    description: str | None
    customer: str | Customer | None
    outcome: Outcome
    metadata: dict[str, str]


class Node(msgspec.Struct):
    """A plain object nested in itself."""

    children: list[Node]


class Page(msgspec.Struct, tag_field="object", tag="list"):
    """A list of charges and customers."""

    data: list[Charge | Customer]


def initial(*changes: Change) -> tuple[Schemas, Version]:
    """Fresh head shapes and the initial version of a timeline of ``changes``."""
    timeline = Timeline(list(changes))
    return Schemas([Charge]), timeline.resolve("v1", today=TODAY)


def released(day: str, **resources: Any) -> Change:
    """A change released on ``day``; ``charge__list`` names the resource ``charge.list``."""
    # retroactive=False: a backward-compatible change (an add) stays versioned here
    return Change(released=day, description="a change", id=f"c{day}", retroactive=False,
                  resources={name.replace("__", "."): ops for name, ops in resources.items()})


def fields(struct: Any) -> dict[str, Any]:
    """Each property of a Struct type and its type."""
    return {info.encode_name: info.type for info in msgspec.structs.fields(struct)}


# -- reading the head ---------------------------------------------------------------


def test_nested_tagged_structs_are_resources_of_their_own() -> None:
    """A tagged Struct found inside a response resource is described by name too."""
    assert Schemas([Charge]).names == {"charge", "customer"}


def test_free_form_maps_are_opaque() -> None:
    """``dict[...]`` properties are user data: listed as opaque, never walked."""
    assert Schemas([Charge]).opaque == {"charge": {"metadata"}, "customer": frozenset()}


def test_a_response_resource_must_be_tagged_by_the_discriminator() -> None:
    """An untagged Struct given as a response resource is an error that says how to tag it."""
    with pytest.raises(ChangeError, match=r"Outcome is a response resource.*tag_field='object'"):
        Schemas([Outcome])


def test_a_struct_tagged_by_another_field_is_refused() -> None:
    """Resources are tagged by the discriminator, not another field."""

    class Odd(msgspec.Struct, tag_field="kind", tag="odd"):
        """Tagged by the wrong field."""

    with pytest.raises(ChangeError, match="tagged by 'kind'"):
        Schemas([Odd])


def test_a_request_body_is_an_untagged_struct() -> None:
    """requests= names untagged Structs: request bodies carry no discriminator."""
    with pytest.raises(ChangeError, match=r"'charge\.create' is an untagged msgspec Struct"):
        Schemas([Charge], requests={"charge.create": Customer})


def test_schemas_refuse_what_is_not_a_struct() -> None:
    """Resources are msgspec Struct types; request bodies are named by non-empty strings."""
    with pytest.raises(ChangeError, match="resources are msgspec Struct types"):
        Schemas([dict])  # type: ignore[list-item]
    with pytest.raises(ChangeError, match="non-empty names"):
        Schemas([Charge], requests={"": Outcome})


def test_a_resource_is_described_once() -> None:
    """Two Structs tagged with one resource name are an error naming both."""

    class Other(msgspec.Struct, tag_field="object", tag="charge"):
        """A second charge."""

    with pytest.raises(ChangeError, match=r"'charge' is described twice, by .*Charge and "):
        Schemas([Charge, Other])


def test_a_plain_object_that_contains_itself_is_refused() -> None:
    """An untagged Struct nested in itself has no name to be referred to by."""

    class Tree(msgspec.Struct, tag_field="object", tag="tree"):
        """A tree."""

        root: Node

    with pytest.raises(ChangeError, match="Node contains itself; tag it"):
        Schemas([Tree])


def test_annotations_that_do_not_resolve_are_an_error() -> None:
    """A Struct whose annotations name what its module lacks is refused, saying which."""

    class Local(msgspec.Struct):
        """Defined in a function: its module does not hold it."""

    class Holder(msgspec.Struct, tag_field="object", tag="holder"):
        """Refers to Local."""

        local: Local

    with pytest.raises(ChangeError, match=r"annotations of .*Holder do not resolve"):
        Schemas([Holder])


def test_struct_names_never_collide() -> None:
    """A nested object and a resource whose names make one class name get two."""
    schemas = Schemas([Charge], requests={"charge.outcome": Outcome})
    derived = schemas.at(Timeline([]).resolve("X", today=TODAY))
    assert derived["charge.outcome"].__name__ == "ChargeOutcome"
    assert fields(derived["charge"])["outcome"].__name__ == "ChargeOutcome2"


def test_a_version_schema_is_a_mapping_of_resources() -> None:
    """A VersionSchema maps every resource name to its type."""
    schemas, v1 = initial()
    derived = schemas.at(v1)
    assert sorted(derived) == ["charge", "customer"]
    assert len(derived) == 2
    assert repr(derived) == "<VersionSchema v1: charge, customer>"
    assert repr(schemas) == "<Schemas ['charge', 'customer']>"


# -- deriving older shapes ---------------------------------------------------------------


def test_rename_gives_older_versions_the_old_name() -> None:
    """rename('memo', 'description'): older versions have 'memo', same type."""
    schemas, v1 = initial(released("2021-01-04", charge=[rename("memo", "description")]))
    shape = fields(schemas.at(v1)["charge"])
    assert "description" not in shape
    assert shape["memo"] == str | None


def test_move_out_of_a_nested_object() -> None:
    """move('risk_level', 'outcome.risk_level'): older versions have it at the top."""
    schemas, v1 = initial(released("2021-01-04", charge=[move("risk_level",
                                                               "outcome.risk_level")]))
    struct = schemas.at(v1)["charge"]
    assert fields(struct)["risk_level"] is str
    assert set(fields(fields(struct)["outcome"])) == {"reason"}


def test_add_is_absent_from_older_versions() -> None:
    """add('description'): older versions lack the property."""
    schemas, v1 = initial(released("2021-01-04", charge=[add("description")]))
    assert "description" not in fields(schemas.at(v1)["charge"])


def test_remove_gives_older_versions_the_default_type() -> None:
    """remove('paid', False): older versions have a bool; with compute, Any."""
    schemas, v1 = initial(released("2021-01-04", charge=[remove("paid", False),
                                                         remove("fee", compute=len)]))
    shape = fields(schemas.at(v1)["charge"])
    assert shape["paid"] is bool
    assert shape["fee"] is Any


def test_remove_with_an_object_or_array_default() -> None:
    """remove(prop, {}) gives a free-form object, remove(prop, []) an array."""
    schemas, v1 = initial(released("2021-01-04", charge=[remove("extra", {}),
                                                         remove("tags", [])]))
    shape = fields(schemas.at(v1)["charge"])
    assert shape["extra"] == dict[str, Any]
    assert shape["tags"] == list[Any]


def test_move_into_a_new_nested_object_creates_it() -> None:
    """move('details.note', 'description'): older versions have a details object."""
    schemas, v1 = initial(released("2021-01-04", charge=[move("details.note",
                                                               "description")]))
    details = fields(schemas.at(v1)["charge"])["details"]
    assert fields(details) == {"note": str | None}


def test_a_path_through_a_non_object_is_reported() -> None:
    """A move whose path goes through a property that is not an object names it."""
    schemas, v1 = initial(released("2021-01-04", charge=[move("value", "amount.value")]))
    problem, = schemas.problems(v1.timeline.changes)
    assert problem.property == "amount"


def test_an_old_type_may_name_a_resource() -> None:
    """A string (or ForwardRef) in an old type names a resource, at its version's shape."""
    schemas, v1 = initial(released("2021-01-04", charge=[
        convert("amount", down=str, up=int, old_type=ForwardRef("customer") | None)]))
    derived = schemas.at(v1)
    assert fields(derived["charge"])["amount"] == derived["customer"] | None


def test_an_unknown_nested_resource_is_a_free_form_object() -> None:
    """A resource whose shape is unknown is a free-form object where it is nested."""
    schemas, v1 = initial(released("2021-01-04", customer=[custom(down=lambda obj: None)]))
    derived = schemas.at(v1)
    assert fields(derived["charge"])["customer"] == str | dict[str, Any] | None
    msgspec.convert({"object": "charge", "id": "ch_1", "amount": 1, "status": "pending",
                     "description": None, "customer": {"anything": True},
                     "outcome": {"risk_level": "normal", "reason": None}, "metadata": {}},
                    derived["charge"])


def test_an_unknown_resource_among_tagged_ones_makes_a_free_form_object() -> None:
    """msgspec tells objects of a union apart by tag: with one unknown, they become one
    free-form object type."""
    timeline = Timeline([released("2021-01-04", customer=[custom(down=lambda obj: None)])])
    derived = Schemas([Page]).at(timeline.resolve("v1", today=TODAY))
    assert fields(derived["list"])["data"] == list[dict[str, Any]]


def test_map_values_renames_enum_literals() -> None:
    """map_values({'paid': 'succeeded'}): older versions' literal is 'paid'."""
    schemas, v1 = initial(released("2021-01-04", charge=[map_values("status",
                                                                    {"paid": "succeeded"})]))
    assert fields(schemas.at(v1)["charge"])["status"] == Literal["paid", "pending"]


def test_convert_takes_the_declared_old_type() -> None:
    """convert(old_type=str): older versions have that type."""
    schemas, v1 = initial(released("2021-01-04", charge=[
        convert("amount", down=str, up=int, old_type=str)]))
    assert fields(schemas.at(v1)["charge"])["amount"] is str


def test_convert_without_an_old_type_is_any() -> None:
    """convert() without old_type: the old type is unknown from there back."""
    schemas, v1 = initial(released("2021-01-04", charge=[convert("amount", down=str, up=int)]))
    assert fields(schemas.at(v1)["charge"])["amount"] is Any


def test_collapse_gives_the_id() -> None:
    """collapse('customer'): the expanded object becomes its id; null stays."""
    schemas, v1 = initial(released("2021-01-04", charge=[collapse("customer")]))
    assert fields(schemas.at(v1)["charge"])["customer"] == str | None


def test_custom_with_old_types_declares_its_effect() -> None:
    """custom(old_types=...): the declared properties get those types, other touched
    properties are absent in older versions."""
    schemas, v1 = initial(released("2021-01-04", charge=[custom(
        down=lambda obj: None, touches=("description", "summary"),
        old_types={"summary": str})]))
    shape = fields(schemas.at(v1)["charge"])
    assert shape["summary"] is str
    assert "description" not in shape


def test_custom_without_old_types_leaves_the_shape_unknown() -> None:
    """custom() without old_types: the resource's shape is unknown from there back, and
    older operations on it are not checked."""
    schemas, v1 = initial(
        released("2020-01-06", charge=[rename("anything", "whatever")]),
        released("2021-01-04", charge=[custom(down=lambda obj: None)]))
    derived = schemas.at(v1)
    assert derived["charge"] == dict[str, Any]
    assert derived.unknown == {"charge"}
    assert schemas.problems(v1.timeline.changes) == []


def test_custom_old_types_names_only_touched_properties() -> None:
    """old_types may only name properties listed in touches."""
    with pytest.raises(ChangeError, match=r"old_types names 'summary'.*touches="):
        custom(down=lambda obj: None, old_types={"summary": str})


def test_endpoint_operations_leave_the_shapes_alone() -> None:
    """An endpoint operation names no shape and is never reported."""
    schemas, v1 = initial(released("2021-01-04", charge__list=[
        change_limit("GET", "/v1/charges", "limit", 100, 50)]))
    assert schemas.problems(v1.timeline.changes) == []
    head = v1.timeline.resolve("X", today=TODAY)
    assert schemas.at(v1).json_schema() == schemas.at(head).json_schema()


def test_strict_head_structs_give_strict_older_shapes() -> None:
    """A head Struct with forbid_unknown_fields=True gives older shapes that refuse a
    property their version does not have (the renamed one's new name, say)."""

    class Strict(msgspec.Struct, tag_field="object", tag="strict", forbid_unknown_fields=True):
        """A strict resource."""

        description: str

    timeline = Timeline([released("2021-01-04", strict=[rename("memo", "description")])])
    derived = Schemas([Strict]).at(timeline.resolve("v1", today=TODAY))
    msgspec.convert({"object": "strict", "memo": "a"}, derived["strict"])
    with pytest.raises(msgspec.ValidationError, match="unknown field `description`"):
        msgspec.convert({"object": "strict", "memo": "a", "description": "a"},
                        derived["strict"])


def test_json_schema_of_a_version_names_its_properties() -> None:
    """json_schema() is msgspec's JSON Schema of the version's Structs."""
    schemas, v1 = initial(released("2021-01-04", charge=[rename("memo", "description")]))
    document = schemas.at(v1).json_schema()
    assert document["resources"]["charge"] == {"$ref": "#/$defs/Charge"}
    assert "memo" in document["$defs"]["Charge"]["properties"]
    assert document["$defs"]["Charge"]["properties"]["object"] == {"enum": ["charge"]}


# -- checks at load time -----------------------------------------------------------------


def test_a_misspelt_property_names_the_closest() -> None:
    """An operation on a property the resource lacks names the change, resource and the
    closest existing property."""
    schemas, v1 = initial(released("2021-01-04", charge=[map_values("descripton",
                                                                    {"a": "b"})]))
    with pytest.raises(ChangeError, match=r"c2021-01-04 .* on 'charge': the resource has no "
                                          r"property 'descripton'.*did you mean 'description'"):
        schemas.check(v1.timeline.changes)


def test_a_misspelt_nested_path_names_the_closest() -> None:
    """A dotted path is checked segment by segment."""
    schemas, v1 = initial(released("2021-01-04", charge=[move("risk", "outcome.risk_levl")]))
    problem, = schemas.problems(v1.timeline.changes)
    assert problem.property == "outcome.risk_levl"
    assert problem.closest == "outcome.risk_level"


def test_a_property_checked_at_its_point_of_history() -> None:
    """An older change sees the shape as newer changes left it: a renamed property is
    known by its old name there."""
    schemas, v1 = initial(
        released("2020-01-06", charge=[map_values("description", {"a": "b"})]),
        released("2021-01-04", charge=[rename("memo", "description")]))
    problem, = schemas.problems(v1.timeline.changes)
    assert problem.change.id == "c2020-01-06"
    assert problem.closest is None
    assert "it has 'amount'" in problem.message
    assert "'memo'" in problem.message


def test_removing_a_property_the_head_still_has_is_reported() -> None:
    """remove('amount') while the newer shape has 'amount' is a mistake."""
    schemas, v1 = initial(released("2021-01-04", charge=[remove("amount", 0)]))
    problem, = schemas.problems(v1.timeline.changes)
    assert "still a property" in problem.message


def test_a_misspelt_resource_names_the_closest() -> None:
    """An operation on a resource the schemas do not describe names the closest one."""
    schemas, v1 = initial(released("2021-01-04", charges=[rename("memo", "description")]))
    with pytest.raises(ChangeError, match=r"resource 'charges'.*did you mean 'charge'"):
        schemas.check(v1.timeline.changes)


SCHEMAS_MODULE = '''\
import msgspec
from datever import Schemas

class Charge(msgspec.Struct, tag_field="object", tag="charge"):
    id: str
    description: str | None
    status: str

schemas = Schemas([Charge])
'''


def write_changes(root: Path, **modules: str) -> Path:
    """A changes directory holding SCHEMAS_MODULE and a change module per keyword."""
    root.mkdir()
    (root / "schemas.py").write_text(SCHEMAS_MODULE)
    for name, body in modules.items():
        (root / f"{name}.py").write_text(
            '"""A change."""\nfrom datever import Change, map_values, rename\n'
            + textwrap.dedent(body))
    return root


def test_loader_refuses_a_misspelt_property_naming_the_file(tmp_path: Path) -> None:
    """load_changes with schemas.py: a misspelt property is a ChangeError naming the file,
    the change, the resource, the property and the closest name."""
    root = write_changes(tmp_path / "changes", **{"2021_01_04_memo": (
        'change = Change(released="2021-01-04", '
        'resources={"charge": [rename("memo", "descripton")]})\n')})
    with pytest.raises(ChangeError) as caught:
        load_changes(root)
    assert caught.value.file == str(root / "2021_01_04_memo.py")
    assert "2021_01_04_memo" in str(caught.value)
    assert "'charge'" in str(caught.value)
    assert "did you mean 'description'?" in str(caught.value)


def test_check_reports_every_schema_problem_at_once(tmp_path: Path) -> None:
    """datever check lists every operation the shapes refuse, each with its change."""
    root = write_changes(
        tmp_path / "changes",
        **{"2021_01_04_memo": ('change = Change(released="2021-01-04", '
                               'resources={"charge": [rename("memo", "descripton")]})\n'),
           "2021_02_01_status": ('change = Change(released="2021-02-01", '
                                 'resources={"charges": [map_values("status", {"a": "b"})]})\n')})
    problems = [p for p in collect_problems(root) if p.level == "error"]
    # without resources.py the shapes declare the resources: a misspelt resource is
    # undeclared, a misspelt property a schema problem
    assert sorted((p.kind, p.change) for p in problems) == [
        ("resources", "2021_02_01_status"), ("schema", "2021_01_04_memo")]
    assert all("did you mean" in p.message for p in problems)


def test_check_reports_every_misspelt_property(tmp_path: Path) -> None:
    """Two modules with misspelt properties: check reports both, each with its change,
    resource and closest name."""
    root = write_changes(
        tmp_path / "changes",
        **{"2021_01_04_memo": ('change = Change(released="2021-01-04", '
                               'resources={"charge": [rename("memo", "descripton")]})\n'),
           "2021_02_01_status": ('change = Change(released="2021-02-01", '
                                 'resources={"charge": [map_values("stauts", {"a": "b"})]})\n')})
    problems = [p for p in collect_problems(root) if p.kind == "schema"]
    assert [(p.change, p.resource) for p in problems] == [("2021_02_01_status", "charge"),
                                                          ("2021_01_04_memo", "charge")]
    assert "did you mean 'status'?" in problems[0].message
    assert "did you mean 'description'?" in problems[1].message
    assert problems[0].file == str(root / "2021_02_01_status.py")


def test_a_schemas_module_without_schemas_is_an_error(tmp_path: Path) -> None:
    """schemas.py must hold exactly one Schemas."""
    root = tmp_path / "changes"
    root.mkdir()
    (root / "schemas.py").write_text("SHAPES = None\n")
    with pytest.raises(ChangeError, match=r"schemas.py: .*exactly one Schemas"):
        load_changes(root)


def test_without_resources_py_the_declarations_come_from_the_shapes(tmp_path: Path) -> None:
    """A changes directory with schemas.py and no resources.py declares what the shapes
    imply: request bodies, what they share, free-form maps as opaque."""
    root = tmp_path / "changes"
    root.mkdir()
    (root / "schemas.py").write_text(SCHEMAS_MODULE.replace(
        "schemas = Schemas([Charge])",
        "class ChargeCreate(msgspec.Struct):\n    description: str | None = None\n"
        "    metadata: dict[str, str] = {}\n\n"
        "schemas = Schemas([Charge], requests={'charge.create': ChargeCreate},\n"
        "                  shares={'charge.create': 'charge'})"))
    declared = load_resources(root)
    assert declared.requests_of("charge") == ("charge.create",)
    assert declared.side("charge.create") == "request"
    assert declared.opaque == {"charge": {"metadata"}, "charge.create": {"metadata"}}
    assert declared.file == str(root / "schemas.py")


def test_shares_names_a_request_body_and_a_response_resource() -> None:
    """shares= maps a request body of requests= to a response resource of the schemas."""
    with pytest.raises(ChangeError, match=r"'charge\.update', which is not one of the request"):
        Schemas([Charge], shares={"charge.update": "charge"})
    with pytest.raises(ChangeError, match=r"'charges', which is not a response resource"):
        Schemas([Charge], requests={"charge.create": Outcome},
                shares={"charge.create": "charges"})


def test_check_reports_a_schemas_module_that_does_not_load(tmp_path: Path) -> None:
    """datever check reports a broken schemas.py as a load error naming it."""
    root = tmp_path / "changes"
    root.mkdir()
    (root / "schemas.py").write_text("raise RuntimeError('no shapes today')\n")
    problems = [p for p in collect_problems(root) if p.file == str(root / "schemas.py")]
    assert [p.kind for p in problems] == ["load"]
    assert "no shapes today" in problems[0].message


def test_a_failed_schemas_load_leaves_no_module_behind(tmp_path: Path) -> None:
    """load_schemas that fails removes what it imported from sys.modules."""
    root = tmp_path / "changes"
    root.mkdir()
    (root / "schemas.py").write_text("raise RuntimeError('no shapes today')\n")
    before = set(sys.modules)
    with pytest.raises(ChangeError, match="no shapes today"):
        load_schemas(root)
    assert set(sys.modules) - before == set()
