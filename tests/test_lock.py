"""The schema lock: every category of difference classified by the breaking rules,
coverage by newer change modules, the lock file, and the CLI guard in a subprocess."""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
import textwrap
from pathlib import Path
from typing import Annotated, Any, Literal

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from msgspec import Meta, Struct

from datever import Change, convert, custom, map_values, move, remove, rename
from datever.cli import main
from datever.endpoints import change_limit, remove_endpoint
from datever.lock import (
    LOCK_FILE,
    Finding,
    Lock,
    LockError,
    _newer,
    compare,
    fix,
    head_lock,
    head_schemas,
    loadable_changes,
    read_lock,
    write_lock,
)
from datever.lock_diff import Difference
from datever.versions import Timeline
from tests.cli_runs import on, write

# -- purpose-made pairs: the lock's Structs (Old*) and the head's (New*) ---------------


def _findings(old: list[type[Struct]], new: list[type[Struct]],
              old_requests: dict[str, type[Struct]] | None = None,
              new_requests: dict[str, type[Struct]] | None = None,
              changes: tuple[Change, ...] = ()) -> list[Finding]:
    return compare(head_lock(old, old_requests), head_lock(new, new_requests), changes)


def _only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, [finding.message for finding in findings]
    return findings[0]


class OldOutcome(Struct):
    reason: str | None = None


class OldCharge(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["paid", "failed"]
    paid: bool
    note: str
    outcome: OldOutcome | None = None


class NewOutcome(Struct):
    reason: int | None = None


class Renamed(Struct, tag_field="object", tag="charge"):
    id: str
    description: str
    amount: int
    status: Literal["paid", "failed"]
    paid: bool
    note: str
    outcome: OldOutcome | None = None


def test_renamed_property_is_a_breaking_rename_candidate() -> None:
    """A property removed and one of the same type added is reported as a rename, breaking."""
    finding = _only(_findings([OldCharge], [Renamed]))
    diff = finding.difference
    assert (diff.category, diff.path, diff.renamed_to, diff.breaking) == (
        "property_renamed", "descripton", "description", True)
    assert fix(diff) == 'rename("descripton", "description")'
    assert "renaming a property is breaking (Cognite)" in finding.message


class Removed(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["paid", "failed"]
    note: str
    outcome: OldOutcome | None = None


def test_removed_response_property_is_breaking() -> None:
    """A response property gone is breaking, and remove() with a value of its type covers it."""
    diff = _only(_findings([OldCharge], [Removed])).difference
    assert (diff.category, diff.path, diff.breaking) == ("property_removed", "paid", True)
    assert fix(diff) == 'remove("paid", False)'


class TypeChanged(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: str
    status: Literal["paid", "failed"]
    paid: bool
    note: str
    outcome: OldOutcome | None = None


def test_changed_type_is_breaking() -> None:
    """integer -> string is a type change, breaking, covered by convert()."""
    diff = _only(_findings([OldCharge], [TypeChanged])).difference
    assert (diff.category, diff.path, diff.detail, diff.breaking) == (
        "type_changed", "amount", "integer is now string", True)
    assert fix(diff) == 'convert("amount", down=..., up=...)'


class NestedChanged(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["paid", "failed"]
    paid: bool
    note: str
    outcome: NewOutcome | None = None


def test_a_nested_objects_property_is_compared() -> None:
    """A nested Struct is compared property by property: its path is dotted."""
    diff = _only(_findings([OldCharge], [NestedChanged])).difference
    assert (diff.category, diff.path, diff.breaking) == ("type_changed", "outcome.reason", True)
    assert fix(diff) == 'convert("outcome", down=..., up=...)'


class EnumRenamed(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["succeeded", "failed"]
    paid: bool
    note: str
    outcome: OldOutcome | None = None


def test_enum_value_removed_is_breaking_and_added_is_a_note_on_responses() -> None:
    """'paid' gone is breaking (map_values pairs it with the one new value); 'succeeded'
    added is compatible."""
    removed, added = _findings([OldCharge], [EnumRenamed])
    assert (removed.difference.category, removed.difference.breaking) == (
        "enum_value_removed", True)
    assert fix(removed.difference) == 'map_values("status", {"paid": "succeeded"})'
    assert (added.difference.category, added.difference.breaking, added.level) == (
        "enum_value_added", False, "info")
    assert "clients that switch on it" in added.message


class OldCreate(Struct):
    amount: Annotated[int, Meta(le=100)]
    description: Annotated[str, Meta(max_length=100)] = ""
    note: str | None = None
    kind: Literal["card", "bank"] = "card"


class CreateLowered(Struct):
    amount: Annotated[int, Meta(le=50)]
    description: Annotated[str, Meta(max_length=100)] = ""
    note: str | None = None
    kind: Literal["card", "bank"] = "card"


def test_request_limit_lowered_is_breaking() -> None:
    """maximum 100 -> 50 on a request body is breaking (Cognite), change_limit covers it."""
    finding = _only(_findings([], [], {"charge.create": OldCreate},
                              {"charge.create": CreateLowered}))
    diff = finding.difference
    assert (diff.category, diff.keyword, diff.breaking) == ("limit_lowered", "maximum", True)
    assert "lowering a request limit is breaking (Cognite)" in finding.message
    assert fix(diff) == 'change_limit("POST", "/path/of/the/endpoint", "amount", 100, 50)'


class CreateRaised(Struct):
    amount: Annotated[int, Meta(le=100)]
    description: Annotated[str, Meta(max_length=500)] = ""
    note: str | None = None
    kind: Literal["card", "bank"] = "card"


def test_request_limit_raised_is_compatible() -> None:
    """maxLength 100 -> 500 on a request body is compatible."""
    finding = _only(_findings([], [], {"charge.create": OldCreate},
                              {"charge.create": CreateRaised}))
    assert (finding.difference.category, finding.level) == ("limit_raised", "info")


class CreateNotNull(Struct):
    amount: Annotated[int, Meta(le=100)]
    description: Annotated[str, Meta(max_length=100)] = ""
    note: str = ""
    kind: Literal["card", "bank"] = "card"


def test_request_nullability_narrowed_is_breaking() -> None:
    """A request property that no longer takes null is breaking: old requests send null."""
    diff = _only(_findings([], [], {"charge.create": OldCreate},
                           {"charge.create": CreateNotNull})).difference
    assert (diff.category, diff.path, diff.breaking) == ("nullability_narrowed", "note", True)


class NullableNote(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["paid", "failed"]
    paid: bool
    note: str | None
    outcome: OldOutcome | None = None


def test_response_nullability_widened_is_breaking_and_narrowed_is_not() -> None:
    """A response property that may now be null breaks old clients; the reverse does not."""
    widened = _only(_findings([OldCharge], [NullableNote])).difference
    narrowed = _only(_findings([NullableNote], [OldCharge])).difference
    assert (widened.category, widened.breaking) == ("nullability_widened", True)
    assert (narrowed.category, narrowed.breaking) == ("nullability_narrowed", False)


class CreateRequired(Struct):
    amount: Annotated[int, Meta(le=100)]
    currency: str
    description: Annotated[str, Meta(max_length=100)] = ""
    note: str | None = None
    kind: Literal["card", "bank"] = "card"


def test_request_property_newly_required_is_breaking() -> None:
    """A new required request property is breaking; add() filling it covers it."""
    diff = _only(_findings([], [], {"charge.create": OldCreate},
                           {"charge.create": CreateRequired})).difference
    assert (diff.category, diff.path, diff.breaking) == ("request_required", "currency", True)
    assert fix(diff) == 'add("currency", "")'


class CreateOptional(Struct):
    amount: Annotated[int, Meta(le=100)]
    description: Annotated[str, Meta(max_length=100)] = ""
    note: str | None = None
    kind: Literal["card", "bank", "wallet"] = "card"
    currency: str = "usd"


def test_optional_request_property_and_enum_value_added_are_compatible() -> None:
    """An optional request property and a new accepted enum value are compatible."""
    found = _findings([], [], {"charge.create": OldCreate}, {"charge.create": CreateOptional})
    assert [(f.difference.category, f.level) for f in found] == [
        ("property_added", "info"), ("enum_value_added", "info")]


class Added(Struct, tag_field="object", tag="charge"):
    id: str
    descripton: str
    amount: int
    status: Literal["paid", "failed"]
    paid: bool
    note: str
    outcome: OldOutcome | None = None
    captured: bool = True


class Refund(Struct, tag_field="object", tag="refund"):
    id: str


def test_added_property_and_resource_are_compatible() -> None:
    """A new response property and a new resource are compatible; a resource gone breaks."""
    found = _findings([OldCharge], [Added, Refund])
    assert [(f.difference.category, f.difference.where, f.level) for f in found] == [
        ("property_added", "charge captured", "info"), ("resource_added", "refund", "info")]
    gone = _only(_findings([OldCharge, Refund], [OldCharge])).difference
    assert (gone.category, gone.resource, gone.breaking) == ("resource_removed", "refund", True)


class Tree(Struct, tag_field="object", tag="tree"):
    name: str
    children: list[Node] = []


class Node(Struct):
    label: str
    children: list[Node] = []


def test_recursive_structs_are_compared_without_end() -> None:
    """A Struct that holds itself is compared once along each path, and is no difference."""
    assert _findings([Tree], [Tree]) == []


# -- coverage --------------------------------------------------------------------------


def _lock_at(newest: str, ids: tuple[str, ...] = ()) -> Lock:
    lock = head_lock([OldCharge])
    return Lock(lock.resources, lock.components, newest=newest, newest_changes=ids)


def _change(released: str | None, *ops: Any, resource: str = "charge",
            id: str = "c") -> Change:
    change = Change(released=released, stage=None if released else "beta",
                    description="d", resources={resource: list(ops)}, id=id)
    Timeline([change])
    return change


@pytest.mark.parametrize(("head", "op"), [
    (Renamed, rename("descripton", "description")),
    (Renamed, move("descripton", "description")),
    (Removed, remove("paid", False)),
    (TypeChanged, convert("amount", down=int, up=str)),
    (NestedChanged, convert("outcome", down=dict, up=dict)),
    (EnumRenamed, map_values("status", {"paid": "succeeded"})),
])
def test_a_newer_change_with_the_operation_covers_the_breaking_difference(
        head: type[Struct], op: Any) -> None:
    """Each breaking category is covered by a change after the lock declaring its operation."""
    findings = compare(_lock_at("2024-01-01"), head_lock([head]),
                       [_change("2024-06-01", op)])
    breaking = [f for f in findings if f.difference.breaking]
    assert breaking
    assert all(f.covered_by is not None and f.level == "info" for f in breaking)


def test_a_change_released_before_the_lock_covers_nothing() -> None:
    """A change the lock already knew (released before its newest release) covers nothing."""
    finding = _only(compare(_lock_at("2024-01-01"), head_lock([Renamed]),
                            [_change("2023-06-01", rename("descripton", "description"))]))
    assert (finding.covered_by, finding.level) == (None, "error")


def test_a_change_of_the_locks_day_covers_only_when_the_lock_did_not_know_it() -> None:
    """On the lock's newest release day, a change the lock lists covers nothing; a new one does."""
    op = rename("descripton", "description")
    known = _only(compare(_lock_at("2024-01-01", ("c",)), head_lock([Renamed]),
                          [_change("2024-01-01", op)]))
    new = _only(compare(_lock_at("2024-01-01", ("other",)), head_lock([Renamed]),
                        [_change("2024-01-01", op)]))
    assert known.covered_by is None
    assert new.covered_by is not None


def test_an_unreleased_change_covers() -> None:
    """A beta change is newer than any lock."""
    finding = _only(compare(_lock_at("2024-01-01"), head_lock([Removed]),
                            [_change(None, remove("paid", False))]))
    assert finding.covered_by is not None


def test_the_wrong_operation_does_not_cover() -> None:
    """remove() of another property, or map_values of another value, covers nothing."""
    lock = _lock_at("2024-01-01")
    assert _only(compare(lock, head_lock([Removed]),
                         [_change("2024-06-01", remove("note", ""))])).covered_by is None
    enum = compare(lock, head_lock([EnumRenamed]),
                   [_change("2024-06-01", map_values("status", {"failed": "declined"}))])
    assert [f.level for f in enum] == ["error", "info"]


def test_a_limit_is_covered_by_change_limit() -> None:
    """A lowered request limit is covered by change_limit on the request body."""
    old = head_lock([], {"charge.create": OldCreate})
    lock = Lock(old.resources, old.components, newest="2024-01-01")
    op = change_limit("POST", "/v1/charges", "amount", 100, 50)
    finding = _only(compare(lock, head_lock([], {"charge.create": CreateLowered}),
                            [_change("2024-06-01", op, resource="charge.create")]))
    assert finding.covered_by is not None


def test_a_removed_resource_is_covered_by_remove_endpoint() -> None:
    """A resource gone is covered by remove_endpoint declared under it."""
    old = head_lock([OldCharge, Refund])
    lock = Lock(old.resources, old.components, newest="2024-01-01")
    op = remove_endpoint("GET", "/v1/refunds/{id}")
    finding = _only(compare(lock, head_lock([OldCharge]),
                            [_change("2024-06-01", op, resource="refund")]))
    assert finding.covered_by is not None


# -- the lock file ---------------------------------------------------------------------


def test_lock_round_trip_has_no_differences(tmp_path: Path) -> None:
    """A lock written and read back equals the head it was made from: no differences."""
    path = tmp_path / LOCK_FILE
    head = head_lock([OldCharge, Tree], {"charge.create": OldCreate}, schemas="m:S")
    write_lock(path, head)
    assert read_lock(path) == head
    assert compare(read_lock(path), head) == []


def test_lock_file_is_sorted_and_stable(tmp_path: Path) -> None:
    """The same schemas given in another order write the same bytes, keys sorted."""
    one = head_lock([OldCharge, Refund], {"charge.create": OldCreate}).dumps()
    two = head_lock([Refund, OldCharge], {"charge.create": OldCreate}).dumps()
    assert one == two
    assert one == json.dumps(json.loads(one), indent=2, sort_keys=True) + "\n"


def test_lock_records_the_timelines_newest_release() -> None:
    """The lock keeps the newest release and the changes released in it."""
    timeline = Timeline([_change("2024-06-01", remove("paid", False), id="a"),
                         _change("2024-06-01", remove("note", ""), id="b"),
                         _change("2023-01-01", remove("amount", 0), id="old")])
    lock = head_lock([OldCharge], timeline=timeline)
    assert (lock.newest, lock.newest_changes) == ("2024-06-01", ("a", "b"))


def test_untagged_response_struct_is_refused() -> None:
    """A response resource must be tagged: the error says how to declare it."""
    with pytest.raises(LockError, match=r"OldCreate has no tag: .*tag_field='object'"):
        head_lock([OldCreate])


def test_a_bad_lock_file_names_the_file(tmp_path: Path) -> None:
    """A lock that is not one says so, naming the file and how to write it again."""
    path = tmp_path / LOCK_FILE
    path.write_text('{"resources": {}}')
    with pytest.raises(LockError, match=r"schema\.lock\.json: not a datever schema lock"):
        read_lock(path)


def test_head_schemas_accepts_a_list_or_an_object_with_responses_and_requests() -> None:
    """A list is responses only; a mapping or object gives responses and requests."""
    assert head_schemas([OldCharge]) == ([OldCharge], {})
    both = {"responses": [OldCharge], "requests": {"charge.create": OldCreate}}
    assert head_schemas(both) == ([OldCharge], {"charge.create": OldCreate})
    with pytest.raises(LockError, match="give a list of tagged msgspec Structs"):
        head_schemas(42)


# -- the command line ------------------------------------------------------------------

_CHANGES = {
    "resources.py": '''
        from datever import Resource

        charge = Resource("charge", requests=("charge.create",))
    ''',
    "2024_01_01_charge_amount.py": '''
        """Charges carry their amount."""

        from datever import Change, add

        change = Change(released="2024-01-01", resources={"charge": [add("amount", 0)]})
    ''',
}

_SCHEMAS = '''
    import msgspec

    class Charge(msgspec.Struct, tag_field="object", tag="charge"):
        id: str
        {name}: str

    class ChargeCreate(msgspec.Struct):
        amount: int

    SCHEMAS = {{"responses": [Charge], "requests": {{"charge.create": ChargeCreate}}}}
'''

_RENAME = {"2024_06_01_description_spelt.py": '''
    """`descripton` is spelt `description`."""

    from datever import Change, rename

    change = Change(released="2024-06-01",
                    resources={"charge": [rename("descripton", "description")]})
'''}


@pytest.fixture
def service(tmp_path: Path) -> Path:
    """A service checkout with its changes and its head schemas, locked."""
    write(tmp_path / "changes", _CHANGES)
    write(tmp_path / "myapi", {"__init__.py": "",
                               "schemas.py": _SCHEMAS.format(name="descripton")})
    result = on(tmp_path / "changes", "schema", "lock", "--schemas", "myapi.schemas:SCHEMAS",
                cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    return tmp_path


def test_schema_lock_writes_the_lock_and_says_so(service: Path) -> None:
    """The lock lands in the changes directory, naming the schemas and the newest release."""
    lock = read_lock(service / "changes" / LOCK_FILE)
    assert (lock.schemas, lock.newest, sorted(lock.resources)) == (
        "myapi.schemas:SCHEMAS", "2024-01-01", ["charge", "charge.create"])
    again = on(service / "changes", "schema", "--json", "lock", "--schemas",
               "myapi.schemas:SCHEMAS", cwd=service)
    assert json.loads(again.stdout)["resources"] == {"charge": "response",
                                                     "charge.create": "request"}


def test_check_passes_when_the_head_matches_the_lock(service: Path) -> None:
    """No differences: check passes, and finds the schemas through the lock."""
    result = on(service / "changes", "check", cwd=service)
    assert (result.returncode, result.stdout.splitlines()[-1]) == (0, "no problems")


def test_check_fails_on_an_uncovered_breaking_change(service: Path) -> None:
    """A renamed property with no change module fails check, which names the operation."""
    write(service / "myapi", {"schemas.py": _SCHEMAS.format(name="description")})
    result = on(service / "changes", "check", cwd=service)
    assert result.returncode == 1
    assert "error: lock: " in result.stdout
    assert ("charge descripton (response): 'descripton' is now 'description' (a rename "
            "candidate: one removed, one of its type added) [property_renamed]") in result.stdout
    assert ("no change released after the lock's 2024-01-01 or unreleased accounts for it: "
            'declare in a new change module `"charge": [rename("descripton", "description")]`'
            ) in result.stdout


def test_check_passes_when_a_newer_change_covers_it(service: Path) -> None:
    """The same rename, declared by a change released after the lock, passes (listed as info)."""
    write(service / "myapi", {"schemas.py": _SCHEMAS.format(name="description")})
    write(service / "changes", _RENAME)
    result = on(service / "changes", "check", "--json", cwd=service)
    report = json.loads(result.stdout)
    assert (result.returncode, report["ok"], report["errors"]) == (0, True, 0)
    assert [(p["level"], p["change"]) for p in report["problems"] if p["kind"] == "lock"] == [
        ("info", "2024_06_01_description_spelt")]


def test_check_without_a_lock_warns_when_given_schemas(tmp_path: Path) -> None:
    """--schemas with no lock written yet is a warning saying how to write it."""
    write(tmp_path / "changes", _CHANGES)
    result = on(tmp_path / "changes", "check", "--schemas", "myapi.schemas:SCHEMAS",
                cwd=tmp_path)
    assert result.returncode == 0
    assert "warning: lock: no schema lock at" in result.stdout
    assert "datever schema lock --schemas myapi.schemas:SCHEMAS" in result.stdout


def test_schema_lock_without_schemas_is_a_usage_error(tmp_path: Path) -> None:
    """schema lock needs --schemas or a schemas.py: exit 2 with the command's usage."""
    result = on(write(tmp_path / "changes", _CHANGES), "schema", "lock", cwd=tmp_path)
    assert result.returncode == 2
    assert "usage: datever schema" in result.stderr
    assert ("schema lock needs the head's msgspec Structs: --schemas MODULE:ATTR, or a "
            "schemas.py in the changes directory") in result.stderr


def test_schema_lock_refuses_what_is_not_schemas(service: Path) -> None:
    """--schemas naming something else is a usage error saying what is accepted."""
    result = on(service / "changes", "schema", "lock", "--schemas", "myapi.schemas:msgspec",
                cwd=service)
    assert result.returncode == 2
    assert "give a list of tagged msgspec Structs" in result.stderr


def test_lock_file_option_places_it_elsewhere(service: Path) -> None:
    """--lock FILE writes and reads the lock where it says."""
    other = service / "api.lock.json"
    on(service / "changes", "schema", "lock", "--lock", str(other), "--schemas",
       "myapi.schemas:SCHEMAS", cwd=service)
    (service / "changes" / LOCK_FILE).unlink()
    write(service / "myapi", {"schemas.py": _SCHEMAS.format(name="description")})
    assert on(service / "changes", "check", cwd=service).returncode == 0
    assert on(service / "changes", "check", "--lock", str(other), cwd=service).returncode == 1


def test_a_msgspec_schema_is_what_the_lock_holds() -> None:
    """The components are msgspec's own JSON Schema of the Structs."""
    lock = head_lock([OldCharge])
    _, components = msgspec.json.schema_components([OldCharge],
                                                   ref_template="#/components/{name}")
    assert lock.components == msgspec.json.decode(msgspec.json.encode(components))


# -- more shapes -----------------------------------------------------------------------


class Customer(Struct, tag_field="object", tag="customer"):
    id: str
    default: OldCharge | None = None


class CustomerOfRenamed(Struct, tag_field="object", tag="customer"):
    id: str
    default: Renamed | None = None


class CustomerOfRefunds(Struct, tag_field="object", tag="customer"):
    id: str
    default: Refund | None = None


def test_a_nested_resource_is_a_reference_not_walked_from_its_parent() -> None:
    """A nested resource that becomes another is a type change of the parent's property;
    a change inside the nested resource is reported on that resource alone."""
    swapped = _only(_findings([Customer, OldCharge, Refund],
                              [CustomerOfRefunds, OldCharge, Refund])).difference
    assert (swapped.resource, swapped.path, swapped.detail) == (
        "customer", "default", "a charge is now a refund")
    inner = _findings([Customer, OldCharge], [CustomerOfRenamed, Renamed])
    assert [f.difference.where for f in inner] == ["charge descripton"]


class Shapes(Struct, tag_field="object", tag="shape"):
    either: int | str = 0
    metadata: dict[str, int] = {}
    kind: Literal["a", None] = None
    at: str = ""


class ShapesChanged(Struct, tag_field="object", tag="shape"):
    either: int | str | bool = 0
    metadata: dict[str, str] = {}
    kind: Literal["a"] = "a"
    at: dt.date | None = None


def test_unions_maps_literal_null_and_formats_are_compared() -> None:
    """A union that gains a member, map values of another type, a Literal losing None,
    and a string that becomes a date (and nullable) are each found."""
    found = [(f.difference.path, f.difference.category, f.difference.detail)
             for f in _findings([Shapes], [ShapesChanged])]
    assert found == [
        ("at", "nullability_widened", "now nullable"),
        ("at", "type_changed", "string is now string (date)"),
        ("either", "type_changed", "integer | string is now integer | string | boolean"),
        ("kind", "nullability_narrowed", "no longer nullable"),
        ("metadata.*", "type_changed", "integer is now string"),
    ]


class Closed(Struct, forbid_unknown_fields=True):
    amount: int
    note: str | None = None


class ClosedRequired(Struct, forbid_unknown_fields=True):
    amount: int
    note: str | None


class ClosedShrunk(Struct, forbid_unknown_fields=True):
    amount: int


def test_a_request_that_forbids_unknown_properties_refuses_a_removed_one() -> None:
    """Removing a property from a request body that forbids unknown ones is breaking;
    making an optional one required is too."""
    refused = _only(_findings([], [], {"c": Closed}, {"c": ClosedShrunk})).difference
    assert (refused.category, refused.breaking) == ("property_refused", True)
    assert fix(refused) == 'remove("note", None)'
    required = _only(_findings([], [], {"c": Closed}, {"c": ClosedRequired})).difference
    assert (required.category, required.detail) == ("request_required", "'note' is now required")


def test_a_removed_request_property_of_an_open_body_is_compatible() -> None:
    """An open request body no longer reading a property is compatible (classify's rule)."""
    gone = _only(_findings([], [], {"c": OldCreate}, {"c": _OpenShrunk}))
    assert (gone.difference.category, gone.level) == ("property_removed", "info")


class _OpenShrunk(Struct):
    amount: Annotated[int, Meta(le=100)]
    description: Annotated[str, Meta(max_length=100)] = ""
    kind: Literal["card", "bank"] = "card"


class _Kind(Struct, tag_field="kind", tag="k"):
    id: str


class Pay(Struct):
    card: str = ""


class Order(Struct, tag_field="object", tag="order"):
    pay: Pay


class PayMoved(Struct):
    card_number: str = ""


class OrderMoved(Struct, tag_field="object", tag="order"):
    pay: PayMoved


def test_a_nested_rename_is_covered_by_move() -> None:
    """A property renamed inside a nested object suggests move(), and move() covers it."""
    old = head_lock([Order])
    lock = Lock(old.resources, old.components, newest="2024-01-01")
    diff = _only(compare(lock, head_lock([OrderMoved]))).difference
    assert fix(diff) == 'move("pay.card", "pay.card_number")'
    covered = compare(lock, head_lock([OrderMoved]),
                      [_change("2024-06-01", move("pay.card", "pay.card_number"),
                               resource="order")])
    assert _only(covered).covered_by is not None


def test_a_custom_transform_touching_the_property_covers_anything() -> None:
    """custom(touches=(prop,)) accounts for any difference of that property."""
    op = custom(up=lambda obj: obj, touches=("amount",))
    finding = _only(compare(_lock_at("2024-01-01"), head_lock([TypeChanged]),
                            [_change("2024-06-01", op)]))
    assert finding.covered_by is not None


def test_newer_than_a_named_lock() -> None:
    """On a named timeline, a change of a later version is newer than the lock."""
    lock = Lock({}, {}, newest="v2", newest_changes=("known",))
    later = Change(released="v3", description="d", resources={"c": [remove("x")]}, id="l")
    same = Change(released="v2", description="d", resources={"c": [remove("x")]}, id="known")
    older = Change(released="v1-preview1", description="d", resources={"c": [remove("x")]})
    assert [_newer(change, lock) for change in (later, same, older)] == [True, False, False]


def test_lock_of_a_named_timeline_records_its_newest_version() -> None:
    """head_lock names a named timeline's newest version and its changes."""
    change = Change(released="v2", description="d", resources={"charge": [remove("x")]},
                    id="v2_x")
    lock = head_lock([OldCharge], timeline=Timeline([change]))
    assert (lock.newest, lock.newest_changes) == ("v2", ("v2_x",))


@pytest.mark.parametrize(("responses", "requests", "message"), [
    ([OldCharge, Renamed], {}, "OldCharge and Renamed are both tagged 'charge'"),
    ([OldCharge], {"charge": OldCreate}, "'charge' is both a response resource and a request"),
    ([int], {}, "a response resource: <class 'int'> is not a msgspec Struct type"),
    ([OldCharge, _Kind], {}, r"several tag fields \['kind', 'object'\]"),
])
def test_schemas_that_cannot_be_locked(responses: list[Any], requests: dict[str, Any],
                                       message: str) -> None:
    """Two Structs with one tag, a name on both sides, a non-Struct, two tag fields."""
    with pytest.raises(LockError, match=message):
        head_lock(responses, requests)


def test_bad_lock_files(tmp_path: Path) -> None:
    """A missing file, JSON that is not a lock, and an unknown side each say what is wrong."""
    with pytest.raises(LockError, match="cannot read the schema lock"):
        read_lock(tmp_path / "missing.json")
    lock = json.loads(head_lock([OldCharge]).dumps())
    lock["resources"]["charge"]["side"] = "sideways"
    (tmp_path / "bad.json").write_text(json.dumps(lock))
    with pytest.raises(LockError, match=r"a malformed schema lock .*neither response nor"):
        read_lock(tmp_path / "bad.json")


def test_head_schemas_refuses_requests_that_are_not_a_mapping() -> None:
    """requests must map names to Structs."""
    with pytest.raises(LockError, match="requests a mapping of name to Struct"):
        head_schemas({"responses": [OldCharge], "requests": [OldCreate]})


def test_loadable_changes_leaves_out_what_does_not_load(tmp_path: Path) -> None:
    """A module that fails to import is left out; the others load and bind."""
    write(tmp_path, {**_CHANGES, "2024_02_01_broken.py": "raise RuntimeError('no')\n"})
    assert [change.id for change in loadable_changes(tmp_path)] == [
        "2024_01_01_charge_amount"]
    (tmp_path / "resources.py").write_text("x = 1\n")
    assert len(loadable_changes(tmp_path)) == 1


def test_suggested_values_follow_the_old_type() -> None:
    """The suggested remove() default is of the removed property's type, an enum's first
    value, None for a nullable one; a removed resource suggests remove_endpoint."""
    for prop, expected in (("status", '"failed"'), ("outcome", "None"), ("amount", "0")):
        diff = Difference("charge", "response", prop, "property_removed", "",
                          old=head_lock([OldCharge]).components["OldCharge"]["properties"][prop])
        assert fix(diff) == f'remove("{prop}", {expected})'
    gone = Difference("refund", "response", "", "resource_removed", "")
    assert fix(gone) == 'remove_endpoint("GET", "/path/of/the/endpoint")'


# -- the command line, in process (the same code, measured) ----------------------------


@pytest.fixture
def project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> tuple[Path, str]:
    """A checkout with changes and a schemas module of its own name, as the cwd."""
    module = f"schemas_{tmp_path.name}"
    write(tmp_path / "changes", _CHANGES)
    (tmp_path / f"{module}.py").write_text(
        textwrap.dedent(_SCHEMAS.format(name="descripton")))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(sys, "path", list(sys.path))
    monkeypatch.delitem(sys.modules, module, raising=False)
    return tmp_path, f"{module}:SCHEMAS"


def _main(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    status = main(["--today", "2026-11-22", *args])
    return status, capsys.readouterr().out


def test_schema_lock_json_then_check(project: tuple[Path, str],
                                     capsys: pytest.CaptureFixture[str]) -> None:
    """schema lock --json says what it wrote; check then finds nothing to report."""
    root, spec = project
    status, out = _main(capsys, "schema", "lock", "--json", "--schemas", spec)
    assert (status, json.loads(out)) == (0, {
        "path": str(Path("changes") / LOCK_FILE), "schemas": spec,
        "newest_release": "2024-01-01",
        "resources": {"charge": "response", "charge.create": "request"}})
    assert _main(capsys, "check")[0] == 0
    assert (root / "changes" / LOCK_FILE).is_file()


def test_check_reports_a_lock_it_cannot_read(project: tuple[Path, str],
                                             capsys: pytest.CaptureFixture[str]) -> None:
    """A malformed lock file is an error of check naming the file."""
    root, _ = project
    (root / "changes" / LOCK_FILE).write_text("{")
    status, out = _main(capsys, "check")
    assert status == 1
    assert f"error: lock: {Path('changes') / LOCK_FILE}: cannot read the schema lock" in out


def test_check_needs_schemas_when_the_lock_names_none(project: tuple[Path, str],
                                                      capsys: pytest.CaptureFixture[str]
                                                      ) -> None:
    """A lock written without a schemas spec needs --schemas at check."""
    root, spec = project
    write_lock(root / "changes" / LOCK_FILE, head_lock([OldCharge]))
    status, out = _main(capsys, "check")
    assert status == 1
    assert "the lock names no head schemas: give --schemas MODULE:ATTR" in out
    status, out = _main(capsys, "check", "--schemas", spec)
    assert status == 1
    assert "a new request resource 'charge.create' [resource_added]" in out


def test_check_on_a_timeline_compares_with_its_changes(project: tuple[Path, str],
                                                       capsys: pytest.CaptureFixture[str]
                                                       ) -> None:
    """With --timeline, the timeline's changes are the ones that may cover."""
    root, spec = project
    assert _main(capsys, "schema", "lock", "--schemas", spec)[0] == 0
    module = spec.split(":")[0]
    (root / f"{module}.py").write_text(textwrap.dedent(_SCHEMAS.format(name="description")))
    write(root / "changes", _RENAME)
    (root / "timeline_mod.py").write_text(
        "from datever.changes import load_changes\nfrom datever import Engine\n"
        "ENGINE = Engine.from_directory('changes')\n")
    sys.modules.pop(module, None)
    status, out = _main(capsys, "check", "--timeline", "timeline_mod:ENGINE")
    assert status == 0, out
    assert "covered by 2024_06_01_description_spelt" in out


# -- laws ------------------------------------------------------------------------------

_TYPES: list[Any] = [
    int, str, bool, float, int | None, str | None, list[str], dict[str, int],
    Literal["a", "b"], Annotated[str, Meta(max_length=10)], Annotated[int, Meta(ge=0)],
    OldOutcome, OldOutcome | None, list[OldOutcome],
]
_NAMES = st.text("abcdefgh", min_size=1, max_size=4)


@st.composite
def _resources(draw: st.DrawFn) -> type[Struct]:
    names = draw(st.lists(_NAMES, unique=True, max_size=6))
    fields = [(name, draw(st.sampled_from(_TYPES))) for name in names]
    return msgspec.defstruct("Drawn", fields, tag_field="object", tag="drawn")


@given(_resources())
@settings(max_examples=60, deadline=None)
def test_a_head_never_differs_from_its_own_lock(struct: type[Struct]) -> None:
    """For any resource, the lock of the head, written and read back, holds no difference."""
    head = head_lock([struct], {"drawn.create": struct})
    with tempfile.TemporaryDirectory() as directory:
        write_lock(Path(directory) / LOCK_FILE, head)
        assert compare(read_lock(Path(directory) / LOCK_FILE), head) == []


@given(_resources(), _NAMES.map(lambda name: "new_" + name), st.sampled_from(_TYPES))
@settings(max_examples=60, deadline=None)
def test_an_optional_property_added_never_breaks(struct: type[Struct], name: str,
                                                 kind: Any) -> None:
    """Adding a property with a default to a response or a request body breaks nothing."""
    fields: list[Any] = [(f.name, f.type) for f in msgspec.structs.fields(struct)]
    grown = msgspec.defstruct("Drawn", [*fields, (name, kind, None)], tag_field="object",
                              tag="drawn")
    found = compare(head_lock([struct], {"drawn.create": struct}),
                    head_lock([grown], {"drawn.create": grown}))
    assert [f.difference.category for f in found] == ["property_added", "property_added"]
    assert all(f.level == "info" for f in found)


def test_schema_lock_says_what_it_wrote(project: tuple[Path, str],
                                        capsys: pytest.CaptureFixture[str]) -> None:
    """schema lock prints the file, the count on each side, the newest release, each name."""
    _, spec = project
    status, out = _main(capsys, "schema", "lock", "--schemas", spec)
    assert (status, out.splitlines()) == (0, [
        f"wrote {Path('changes') / LOCK_FILE}: 1 response resource, 1 request body, newest "
        "release 2024-01-01",
        "  charge  (response)",
        "  charge.create  (request)",
        "commit it: `datever check` compares the head with it",
    ])


_DIRECTORY_SCHEMAS = {"schemas.py": '''
    import msgspec

    from datever import Schemas

    class Charge(msgspec.Struct, tag_field="object", tag="charge"):
        id: str
        {name}: str
        amount: int = 0

    class ChargeCreate(msgspec.Struct):
        amount: int

    schemas = Schemas([Charge], requests={{"charge.create": ChargeCreate}},
                      shares={{"charge.create": "charge"}})
'''}


def test_the_changes_directorys_schemas_are_locked_and_checked(tmp_path: Path) -> None:
    """Without --schemas, schema lock and check read the directory's schemas.py."""
    changes = write(tmp_path / "changes", {
        **_CHANGES, **{k: v.format(name="descripton") for k, v in _DIRECTORY_SCHEMAS.items()}})
    locked = on(changes, "schema", "lock", cwd=tmp_path)
    assert locked.returncode == 0, locked.stderr
    assert read_lock(changes / LOCK_FILE).schemas is None
    assert on(changes, "check", cwd=tmp_path).returncode == 0
    write(changes, {k: v.format(name="description") for k, v in _DIRECTORY_SCHEMAS.items()})
    result = on(changes, "check", cwd=tmp_path)
    assert result.returncode == 1
    assert '`"charge": [rename("descripton", "description")]`' in result.stdout
