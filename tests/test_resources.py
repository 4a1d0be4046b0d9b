"""Resource declarations: request bodies, the operations they share, opaque properties."""

from __future__ import annotations

import copy
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    ChangeError,
    Engine,
    Resource,
    add,
    collapse,
    map_values,
    move,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.resources import Resources
from datever.versions import Timeline

CHARGE = Resource("charge", requests=("charge.create", "charge.update"), opaque=("metadata",))


def change(resources: dict[str, Any], *, id: str = "c1", released: str = "2021-01-01") -> Change:
    """A released change with a description, named ``id``."""
    return Change(released=released, description=f"change {id}", id=id, resources=resources)


# -- the declaration -------------------------------------------------------------

BAD_DECLARATIONS: list[tuple[str, dict[str, Any], str]] = [
    ("empty-name", {"name": ""}, "non-empty string"),
    ("name-not-a-string", {"name": 3}, "non-empty string"),
    ("requests-a-bare-string", {"name": "charge", "requests": "charge.create"},
     r"requests=\('charge.create',\)"),
    ("request-listed-twice", {"name": "charge", "requests": ("charge.create",) * 2},
     "'charge.create' twice"),
    ("request-empty-name", {"name": "charge", "requests": ("",)}, "non-empty strings"),
    ("request-with-requests", {"name": "charge.capture", "request": True,
                               "requests": ("charge.create",)}, "no requests= of its own"),
    ("lists-itself", {"name": "charge", "requests": ("charge",)}, "lists itself"),
    ("opaque-not-a-string", {"name": "charge", "opaque": (1,)}, "non-empty strings"),
    ("opaque-a-bare-string", {"name": "charge", "opaque": "metadata"},
     r"opaque=\('metadata',\)"),
    ("opaque-a-path", {"name": "charge", "opaque": ("metadata.inner",)}, "is a path"),
    ("opaque-twice", {"name": "charge", "opaque": ("metadata", "metadata")}, "twice"),
    ("request-not-a-bool", {"name": "charge.capture", "request": "yes"}, "True or False"),
]


@pytest.mark.parametrize(("arguments", "message"),
                         [(arguments, message) for _, arguments, message in BAD_DECLARATIONS],
                         ids=[name for name, _, _ in BAD_DECLARATIONS])
def test_bad_declarations_are_refused(arguments: dict[str, Any], message: str) -> None:
    """A malformed Resource is a ChangeError, raised where it is declared, saying why."""
    with pytest.raises(ChangeError, match=message):
        Resource(**arguments)


def test_lists_are_stored_as_tuples() -> None:
    """requests= and opaque= may be lists; the declaration keeps tuples and stays hashable."""
    declared = Resource("charge", requests=["charge.create"], opaque=["metadata"])  # type: ignore[arg-type]
    assert (declared.requests, declared.opaque) == (("charge.create",), ("metadata",))
    assert hash(declared) == hash(Resource("charge", ("charge.create",), ("metadata",)))


def test_a_declaration_is_frozen() -> None:
    """A Resource cannot be edited after it is declared."""
    with pytest.raises(AttributeError):
        CHARGE.request = True  # type: ignore[misc]


def test_a_name_declared_twice_is_refused() -> None:
    """Two declarations of one name are refused, naming both."""
    with pytest.raises(ChangeError, match=r"'charge\.create' is declared twice, by "
                                          r"Resource\('charge'\) and Resource\('charge\.create'\)"):
        Resources([CHARGE, Resource("charge.create", request=True)])


def test_a_request_body_shared_by_two_responses_is_refused() -> None:
    """A request body belongs to one response resource."""
    with pytest.raises(ChangeError, match="declared twice"):
        Resources([CHARGE, Resource("payment", requests=("charge.create",))])


def test_sides_come_from_the_declarations_only() -> None:
    """Request bodies are those declared so; a dotted name is otherwise a response resource."""
    declared = Resources([CHARGE, Resource("checkout.session"),
                          Resource("charge.capture", request=True)])
    assert [declared.side(name) for name in ("charge", "charge.create", "checkout.session",
                                             "charge.capture", "unknown.name")] == [
        "response", "request", "response", "request", "response"]


def test_request_bodies_share_the_opaque_properties() -> None:
    """A response resource's opaque properties are opaque in its request bodies too."""
    declared = Resources([CHARGE, Resource("event")])
    assert dict(declared.opaque) == {name: frozenset({"metadata"})
                                     for name in ("charge", "charge.create", "charge.update")}


def test_closest_suggests_a_declared_name() -> None:
    """A misspelt name gets the declared name most like it."""
    assert Resources([CHARGE, Resource("customer")]).closest("charges") == "charge"


# -- a timeline with declarations --------------------------------------------------


def test_undeclared_resource_names_the_change_and_the_closest_name() -> None:
    """A change naming an undeclared resource is refused with a suggestion."""
    with pytest.raises(ChangeError) as info:
        Timeline([change({"charges": [rename("a", "b")]})], resources=[CHARGE])
    assert "c1 names the resource 'charges'" in str(info.value)
    assert "did you mean 'charge'?" in str(info.value)


def test_without_declarations_any_name_is_accepted() -> None:
    """A timeline without declarations takes every name as a response resource."""
    timeline = Timeline([change({"charges": [rename("a", "b")]})])
    assert not timeline.resources
    assert Engine(timeline).down({"object": "charges", "b": 1}, "v1") == {
        "object": "charges", "a": 1}


def test_a_response_operation_rewrites_its_request_bodies() -> None:
    """A rename declared once on charge renames the property in charge.create requests."""
    engine = Engine(Timeline([change({"charge": [rename("source", "payment_method")]})],
                             resources=[CHARGE]))
    assert engine.up({"source": "pm_1"}, "v1", resource="charge.create") == {
        "payment_method": "pm_1"}
    assert engine.up({"source": "pm_1"}, "v1", resource="charge.update") == {
        "payment_method": "pm_1"}


def test_shared_operations_migrate_like_the_reference() -> None:
    """The compiled up pipeline of a request body agrees with the reference interpreter."""
    timeline = Timeline([change({"charge": [rename("source", "payment_method"),
                                            map_values("status", {"paid": "succeeded"})]})],
                        resources=[CHARGE])
    body = {"source": "pm_1", "status": "paid"}
    version = timeline.resolve("v1")
    assert Engine(timeline).up(body, version, resource="charge.create") == reference_up(
        body, version, resource="charge.create")


@pytest.mark.parametrize("operation", [add("receipt_url", None), remove("paid", False),
                                       collapse("customer")], ids=lambda op: op.kind)
def test_add_remove_and_collapse_stay_on_the_response(operation: Any) -> None:
    """What a response renders (a new or dropped property, an expansion) is not shared."""
    declared = change({"charge": [operation]})
    Timeline([declared], resources=[CHARGE])
    assert set(declared.operations) == {"charge"}


def test_a_request_body_keeps_its_own_operations_before_the_shared_ones() -> None:
    """A body's own add runs first in up, so the shared move has an object to move into."""
    declared = change({"customer": [add("address", {}), move("address_city", "address.city")],
                       "customer.create": [add("address", {})]})
    engine = Engine(Timeline([declared], resources=[
        Resource("customer", requests=("customer.create",))]))
    assert [op.kind for op in declared.operations["customer.create"]] == ["add", "move"]
    assert engine.up({"email": "a@b.c"}, "v1", resource="customer.create") == {
        "email": "a@b.c", "address": {}}


def test_the_same_operation_on_a_response_and_its_request_body_collides() -> None:
    """Declaring a shared operation twice says to remove the request body's copy."""
    with pytest.raises(ChangeError, match=r"remove the 'charge\.create' copy"):
        Timeline([change({"charge": [rename("a", "b")], "charge.create": [rename("a", "b")]})],
                 resources=[CHARGE])


def test_a_request_only_operation_is_declared_on_the_request_body() -> None:
    """An add on charge.create fills old requests; charge responses are untouched by it."""
    engine = Engine(Timeline([change({"charge.create": [add("confirm", True)]})],
                             resources=[CHARGE]))
    assert engine.up({"amount": 1}, "v1", resource="charge.create") == {
        "amount": 1, "confirm": True}
    assert engine.down({"object": "charge", "confirm": False}, "v1") == {
        "object": "charge", "confirm": False}


def test_a_dotted_response_resource_is_migrated_down() -> None:
    """checkout.session is a response resource: old clients get its removed property back."""
    engine = Engine(Timeline([change({"checkout.session": [remove("locale", "auto")]})],
                             resources=[Resource("checkout.session")]))
    assert engine.down({"object": "checkout.session", "id": "cs_1"}, "v1") == {
        "object": "checkout.session", "id": "cs_1", "locale": "auto"}


def test_declarations_travel_with_the_changes() -> None:
    """A Timeline of changes already bound takes their declarations."""
    declared = change({"charge": [rename("a", "b")]})
    first = Timeline([declared], resources=[CHARGE])
    assert Timeline([declared]).resources == first.resources


def test_a_change_is_not_rebound_to_other_declarations() -> None:
    """Binding a change to a second, different set of declarations is refused."""
    declared = change({"charge": [rename("a", "b")]})
    Timeline([declared], resources=[CHARGE])
    with pytest.raises(ChangeError, match="already checked against other resource"):
        Timeline([declared], resources=[Resource("charge")])


# -- opaque properties ---------------------------------------------------------------


def status_engine(*declarations: Resource) -> Engine:
    """An engine whose one change renames the charge status paid -> succeeded."""
    return Engine(Timeline([change({"charge": [map_values("status", {"paid": "succeeded"})]})],
                           resources=declarations or None))


def test_metadata_of_a_request_body_is_not_migrated() -> None:
    """User data that looks like a charge, in a request body's metadata, is left alone."""
    body = {"amount": 1, "metadata": {"object": "charge", "status": "paid"}}
    engine = status_engine(CHARGE)
    assert engine.up(body, "v1", resource="charge.create") == body
    assert reference_up(body, engine.resolve("v1"), resource="charge.create") == body


def test_without_opaque_metadata_is_walked() -> None:
    """Without opaque=, the same metadata is taken for a charge: the declaration matters."""
    body = {"amount": 1, "metadata": {"object": "charge", "status": "paid"}}
    engine = status_engine(Resource("charge", requests=("charge.create",)))
    assert engine.up(body, "v1", resource="charge.create")["metadata"]["status"] == "succeeded"


def test_metadata_of_a_response_resource_is_not_migrated() -> None:
    """A charge's metadata is not searched for charges, compiled, reference and bytes alike."""
    charge = {"object": "charge", "status": "succeeded",
              "metadata": {"object": "charge", "status": "succeeded"}}
    engine = status_engine(CHARGE)
    expected = {**charge, "status": "paid"}
    assert engine.down(charge, "v1") == expected
    assert reference_down(charge, engine.resolve("v1")) == expected
    assert msgspec.json.decode(engine.down_json(msgspec.json.encode(charge), "v1")) == expected


def test_opaque_properties_of_untouched_resources_are_not_walked() -> None:
    """A customer's metadata stays as is even when no change touches customers."""
    payload = {"object": "customer", "metadata": {"nested": {"object": "charge",
                                                             "status": "succeeded"}}}
    engine = status_engine(CHARGE, Resource("customer", opaque=("metadata",)))
    assert engine.down(payload, "v1") == payload


def test_other_properties_of_a_resource_are_walked() -> None:
    """Only the opaque properties are skipped: a nested charge elsewhere is migrated."""
    payload = {"object": "charge", "status": "succeeded", "metadata": {},
               "related": {"object": "charge", "status": "succeeded", "metadata": {}}}
    engine = status_engine(CHARGE)
    assert engine.down(payload, "v1")["related"]["status"] == "paid"


_LEAF = st.one_of(st.none(), st.integers(-5, 5), st.sampled_from(["paid", "succeeded", "x"]))
_KEYS = st.sampled_from(["metadata", "data", "object", "other"])


def _json(children: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    # a status is a scalar, as the value map of the change expects
    objects = st.builds(lambda obj, status: {**obj, "status": status},
                        st.dictionaries(_KEYS, children, max_size=4), _LEAF)
    charges = objects.map(lambda obj: {**obj, "object": "charge"})
    customers = objects.map(lambda obj: {**obj, "object": "customer"})
    return st.one_of(st.lists(children, max_size=3), objects, charges, customers)


PAYLOADS = st.recursive(_LEAF, _json, max_leaves=20)


@settings(max_examples=150, deadline=None)
@given(payload=PAYLOADS)
def test_compiled_and_reference_agree_with_opaque_properties(payload: Any) -> None:
    """On any payload, the compiled walk skips exactly what the reference interpreter skips."""
    engine = status_engine(CHARGE, Resource("customer", opaque=("metadata", "data")))
    version = engine.resolve("v1")
    before = copy.deepcopy(payload)
    assert engine.down(payload, version) == reference_down(payload, version)
    assert payload == before
