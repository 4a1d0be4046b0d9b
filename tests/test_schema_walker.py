"""The schema-directed walk: with shapes, the compiled pipeline enters only where a touched
resource can occur, and still gives what the reference interpreter gives."""

from __future__ import annotations

import copy
import datetime as dt
from collections.abc import Callable
from typing import Annotated, Any, Literal, TypeVar

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from datever import (
    Change,
    Engine,
    MigrationError,
    Schemas,
    add,
    collapse,
    custom,
    map_values,
    move,
    reference_down,
    reference_up,
    remove,
    rename,
)
from datever.changes import load_schemas
from datever.pipeline import MAX_DEPTH
from datever.testing import head_payloads, payloads, requests
from datever.versions import Timeline, Version
from datever.walk_plan import DEAD, _plain
from tests.reference import CHANGES

TODAY = dt.date(2026, 1, 1)
FEW = settings(max_examples=10, deadline=None)
DEPTH = 6

REFERENCE_SCHEMAS = load_schemas(CHANGES)
assert REFERENCE_SCHEMAS is not None
REFERENCE = Engine.from_directory(CHANGES, schemas=REFERENCE_SCHEMAS)
REFERENCE_VERSIONS = [*REFERENCE.timeline.versions, "beta", "X"]
REFERENCE_BODIES = sorted(REFERENCE_SCHEMAS.requests)


# -- a purpose-made history: nested, listed, expandable and union resources ----------


class Product(msgspec.Struct, tag_field="object", tag="product"):
    """Not strict: other keys may hold anything, so products are always visited."""

    id: str
    name: str
    price: int


class Customer(msgspec.Struct, tag_field="object", tag="customer", forbid_unknown_fields=True):
    id: str
    email: str | None
    phone: str | None
    metadata: dict[str, str]


class LineItem(msgspec.Struct, tag_field="object", tag="line_item", forbid_unknown_fields=True):
    id: str
    quantity: int
    product: str | Product


class Shipping(msgspec.Struct, forbid_unknown_fields=True):
    carrier: str
    recipient: Customer | None


class Note(msgspec.Struct, tag_field="object", tag="note", forbid_unknown_fields=True):
    """Touched by no change and holding nothing that is: never visited."""

    id: str
    text: str
    tags: list[str]


class Order(msgspec.Struct, tag_field="object", tag="order", forbid_unknown_fields=True):
    id: str
    status: Literal["paid", "open"]
    customer: str | Customer
    items: list[LineItem]
    shipping: Shipping
    related: list[Order | Customer | Note]
    note: Note | None
    metadata: dict[str, str]


class OrderCreate(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    customer: str
    status: Literal["paid", "open"] = "open"
    carrier: str | None = None


SHOP = Schemas([Order, Customer, LineItem, Product, Note], requests={"order.create": OrderCreate},
               shares={"order.create": "order"})


def item_count(order: dict[str, Any]) -> int:
    """What older orders reported: the number of their line items (a nested read)."""
    return len(order.get("items") or ())


SHOP_CHANGES = [
    Change(released="2021-01-01", id="product_title", description="Products have a name.",
           resources={"product": [rename("title", "name")]}),
    Change(released="2021-06-01", id="order_open", description="Pending orders are open.",
           resources={"order": [map_values("status", {"pending": "open"})]}),
    Change(released="2022-01-01", id="order_count", description="Orders lose item_count.",
           resources={"order": [remove("item_count", compute=item_count,
                                       reaches_nested=True)]}),
    Change(released="2022-06-01", id="product_expanded",
           description="Line items expand their product.",
           resources={"line_item": [collapse("product")]}),
    Change(released="2023-01-01", id="carrier_nested",
           description="The carrier moves into shipping.",
           resources={"order": [move("carrier", "shipping.carrier")]}),
    Change(released="2023-06-01", id="customer_phone", description="Customers have a phone.",
           resources={"customer": [add("phone", None), rename("mail", "email")]}),
]
SHOP_TIMELINE = Timeline(SHOP_CHANGES, resources=SHOP.resources())
SHOP.check(SHOP_TIMELINE.changes)
SHOP_ENGINE = Engine(SHOP_TIMELINE, schemas=SHOP)
SHOP_VERSIONS = [*SHOP_TIMELINE.versions, "X"]


def resolve(engine: Engine, name: str) -> Version:
    return engine.resolve(name, today=TODAY)


def outcome(run: Callable[[], Any]) -> tuple[str, Any]:
    """What ``run`` gives: its result, or the change, resource, path and reason it fails with."""
    try:
        return "result", run()
    except MigrationError as exc:
        return "error", (exc.change, exc.resource, exc.path, exc.reason)


# -- compiled with schemas equals the reference --------------------------------------


@pytest.mark.parametrize("name", REFERENCE_VERSIONS)
@FEW
@given(drawn=head_payloads(REFERENCE_SCHEMAS, max_depth=DEPTH))
def test_reference_api_responses_match_the_reference_at_every_version(
        name: str, drawn: tuple[str, dict[str, Any]]) -> None:
    """Down, with the reference API's shapes: every valid head response migrates as the
    reference interpreter migrates it."""
    version = resolve(REFERENCE, name)
    _, payload = drawn
    assert outcome(lambda: REFERENCE.down(payload, version)) == outcome(
        lambda: reference_down(payload, version))


@pytest.mark.parametrize("name", REFERENCE_VERSIONS)
@FEW
@given(data=st.data())
def test_reference_api_requests_match_the_reference_at_every_version(
        name: str, data: st.DataObject) -> None:
    """Up, with the reference API's shapes: every request body valid at its version
    migrates as the reference interpreter migrates it."""
    version = resolve(REFERENCE, name)
    resource = data.draw(st.sampled_from(REFERENCE_BODIES))
    body = data.draw(requests(REFERENCE_SCHEMAS, resource, version, max_depth=DEPTH))
    assert outcome(lambda: REFERENCE.up(body, version, resource=resource)) == outcome(
        lambda: reference_up(body, version, resource=resource))


@pytest.mark.parametrize("name", SHOP_VERSIONS)
@settings(max_examples=40, deadline=None)
@given(drawn=head_payloads(SHOP, max_depth=DEPTH))
def test_nested_history_responses_match_the_reference_at_every_version(
        name: str, drawn: tuple[str, dict[str, Any]]) -> None:
    """Down through a history with nested, listed, expandable and union resources and a
    change that reads nested resources (a pass of its own): compiled equals reference."""
    version = resolve(SHOP_ENGINE, name)
    _, payload = drawn
    assert outcome(lambda: SHOP_ENGINE.down(payload, version)) == outcome(
        lambda: reference_down(payload, version))


@pytest.mark.parametrize("name", SHOP_VERSIONS)
@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_nested_history_requests_match_the_reference_at_every_version(
        name: str, data: st.DataObject) -> None:
    """Up through the same history (collapse expands: a barrier up): compiled equals
    reference on every body valid at its version."""
    version = resolve(SHOP_ENGINE, name)
    body = data.draw(requests(SHOP, "order.create", version, max_depth=DEPTH))
    assert outcome(lambda: SHOP_ENGINE.up(body, version, resource="order.create")) == outcome(
        lambda: reference_up(body, version, resource="order.create"))


@settings(max_examples=40, deadline=None)
@given(order=payloads(SHOP, "order", max_depth=DEPTH))
def test_list_roots_match_the_reference(order: dict[str, Any]) -> None:
    """A bare JSON array of resources at the root is walked as the reference walks it."""
    version = resolve(SHOP_ENGINE, "v1")
    payload = [order, [order]]
    assert SHOP_ENGINE.down(payload, version) == reference_down(payload, version)


# -- what the plans leave alone -----------------------------------------------------


def test_opaque_maps_are_never_entered() -> None:
    """A resource-looking dict inside metadata is user data: left as it is."""
    version = resolve(SHOP_ENGINE, "v1")
    customer = {"object": "customer", "id": "cus_1", "email": "a@b.c", "phone": None,
                "metadata": {"object": "customer", "email": "x"}}
    migrated = SHOP_ENGINE.down(customer, version)
    assert migrated["mail"] == "a@b.c"
    assert migrated["metadata"] == {"object": "customer", "email": "x"}


def test_scalar_properties_are_not_entered() -> None:
    """A property declared as scalars is not looked into: with shapes, a resource placed
    there against the shape is left as it is, where the generic walk migrates it."""
    stray = {"object": "customer", "id": "cus_2", "email": "s@t.u", "phone": None,
             "metadata": {}}
    shaped = _customer_in("email", stray)
    version = resolve(SHOP_ENGINE, "v1")
    assert SHOP_ENGINE.down(shaped, version)["mail"] == stray
    plain = Engine(SHOP_TIMELINE)
    assert plain.down(shaped, version)["mail"]["mail"] == "s@t.u"


def _customer_in(key: str, value: Any) -> dict[str, Any]:
    return {"object": "customer", "id": "cus_1", "email": None, "phone": None,
            "metadata": {}, key: value}


def test_an_untouched_subtree_is_not_visited() -> None:
    """A note (touched by no change, holding nothing touched) is never entered: a list
    nested past MAX_DEPTH in it stops the generic walk, not the planned one."""
    version = resolve(SHOP_ENGINE, "v1")
    deep: list[Any] = []
    for _ in range(MAX_DEPTH + 5):
        deep = [deep]
    order = {"object": "order", "id": "or_1", "status": "open", "customer": "cus_1",
             "items": [], "shipping": {"carrier": "ups", "recipient": None}, "related": [],
             "note": {"object": "note", "id": "n", "text": "t", "tags": deep},
             "metadata": {}}
    migrated = SHOP_ENGINE.pipeline(version, "down").run(copy.deepcopy(order))
    assert migrated["note"] == order["note"]
    assert (migrated["status"], migrated["item_count"]) == ("pending", 0)
    with pytest.raises(MigrationError) as caught:
        Engine(SHOP_TIMELINE).pipeline(version, "down").run(copy.deepcopy(order))
    assert caught.value.reason == "too_deep"


def test_an_unexpected_resource_falls_back_to_the_generic_walk() -> None:
    """A dict whose discriminator names no resource of the shapes is walked generically:
    a customer inside it is still migrated."""
    version = resolve(SHOP_ENGINE, "v1")
    customer = _customer_in("email", "c@d.e")
    stranger = {"object": "coupon", "owner": customer}
    assert SHOP_ENGINE.down(stranger, version) == reference_down(stranger, version)
    assert SHOP_ENGINE.down(stranger, version)["owner"]["mail"] == "c@d.e"


def test_an_undeclared_key_falls_back_to_the_generic_walk() -> None:
    """A resource carrying a key its shape does not declare is walked generically, so a
    resource under that key is migrated as the reference migrates it."""
    version = resolve(SHOP_ENGINE, "v1")
    customer = _customer_in("referrer", _customer_in("email", "r@s.t"))
    migrated = SHOP_ENGINE.down(customer, version)
    assert migrated == reference_down(customer, version)
    assert migrated["referrer"]["mail"] == "r@s.t"


def test_non_strict_shapes_are_always_visited() -> None:
    """A product (not strict) may hold anything under other keys: a customer there is
    migrated even though the product itself is touched by no change at the head."""
    version = resolve(SHOP_ENGINE, "2022-01-01")
    item = {"object": "line_item", "id": "li_1", "quantity": 1,
            "product": {"object": "product", "id": "p", "name": "n", "price": 1}}
    assert SHOP_ENGINE.down(item, version) == reference_down(item, version)
    plans = SHOP_ENGINE.pipeline(version, "down").plans
    assert plans is not None
    assert all(plan["product"] is not DEAD for plan in plans)


def test_without_schemas_pipelines_have_no_plans() -> None:
    """An engine given no shapes compiles the generic walk, as before."""
    assert Engine(SHOP_TIMELINE).pipeline("v1", "down").plans is None
    assert SHOP_ENGINE.pipeline("v1", "down").plans is not None


def _order(**changes: Any) -> dict[str, Any]:
    order = {"object": "order", "id": "or_1", "status": "open", "customer": "cus_1",
             "items": [], "shipping": {"carrier": "ups", "recipient": None}, "related": [],
             "note": None, "metadata": {}}
    return {**order, **changes}


def _nested_orders(depth: int) -> dict[str, Any]:
    order = _order()
    for _ in range(depth):
        order = _order(related=[order])
    return order


ILL_SHAPED = {
    "a list where an object is declared": _order(customer=[_customer_in("email", "l@m.n")]),
    "an untagged object where a resource is declared": _order(
        customer={"holder": _customer_in("email", "u@v.w")}),
    "a list in a list of resources": _order(items=[[_customer_in("email", "t@u.v")]]),
    "a nested resource whose transform fails": _order(items=[{
        "object": "line_item", "id": "li", "quantity": 1,
        "product": {"object": "product", "name": "p", "price": 1}}]),
    "resources nested past MAX_DEPTH": _nested_orders(MAX_DEPTH),
    "a failing resource in a list in a list of resources": _order(items=[[{
        "object": "line_item", "id": "li", "quantity": 1,
        "product": {"object": "product", "name": "p", "price": 1}}]]),
}


@pytest.mark.parametrize("payload", ILL_SHAPED.values(), ids=ILL_SHAPED.keys())
def test_payloads_the_plans_do_not_expect_still_match_the_reference(
        payload: dict[str, Any]) -> None:
    """Where a payload leaves its shapes on a path the plans walk, the generic walk takes
    over there: result or error (change, resource, path, reason) as the reference's."""
    version = resolve(SHOP_ENGINE, "v1")
    assert outcome(lambda: SHOP_ENGINE.down(payload, version)) == outcome(
        lambda: reference_down(payload, version))


def test_a_request_body_the_shapes_do_not_describe_is_walked_generically() -> None:
    """Up, a root resource with no shape is migrated by the generic walk, as the reference
    migrates it, and a root that is not an object is refused the same way."""
    version = resolve(SHOP_ENGINE, "v1")
    body = {"total": 3, "customer": _customer_in("email", "x@y.z")}
    assert outcome(lambda: SHOP_ENGINE.up(body, version, resource="order.refund")) == outcome(
        lambda: reference_up(body, version, resource="order.refund"))
    assert outcome(lambda: SHOP_ENGINE.up([body], version, resource="order.create")) == outcome(
        lambda: reference_up([body], version, resource="order.create"))


@pytest.mark.parametrize(("kind", "plain"), [
    (str, True), (bool, True), (dt.datetime, True), (Literal["a", "b"], True),
    (Annotated[int, msgspec.Meta(ge=0)], True), (dict[str, str], True),
    (list[int] | None, True), (tuple[int, ...], True), (Any, False), (object, False),
    (dict[str, Any], False), (list[Any], False), (Order, False), (dict, False),
    (TypeVar("T"), False),
])
def test_only_scalar_types_are_plain(kind: Any, plain: bool) -> None:
    """A property typed as JSON scalars (or containers of them) cannot hold a resource;
    anything that may hold an object can."""
    assert _plain(kind) is plain


class Box(msgspec.Struct, tag_field="object", tag="box", forbid_unknown_fields=True):
    """Properties the shapes cannot see into: ``Any`` and a list of ``Any``."""

    id: str
    extra: Any
    contents: list[Any]
    owner: Customer | None


def renamed_copy(customer: dict[str, Any]) -> dict[str, Any]:
    """A transform that returns a new object rather than editing the one it is given."""
    return {("mail" if key == "email" else key): value for key, value in customer.items()}


def email_back(customer: dict[str, Any]) -> dict[str, Any]:
    return {("email" if key == "mail" else key): value for key, value in customer.items()}


BOXES = Schemas([Box])
BOX_TIMELINE = Timeline([
    Change(released="2021-01-01", id="box_custom", description="Boxes were rewritten.",
           resources={"box": [custom(down=lambda box: box, up=lambda box: box,
                                     touches=("legacy",))]}),
    Change(released="2022-01-01", id="customer_mail", description="Customers have email.",
           resources={"customer": [custom(down=renamed_copy, up=email_back,
                                          touches=("email", "mail"),
                                          old_types={"mail": str | None})]}),
], resources=BOXES.resources())
BOX_ENGINE = Engine(BOX_TIMELINE, schemas=BOXES)


@pytest.mark.parametrize("name", ["v1", "2021-01-01"])
def test_properties_the_shapes_cannot_see_into_are_walked_generically(name: str) -> None:
    """Resources under ``Any``, in a ``list[Any]``, or in a resource whose shape a custom
    transform left unknown are migrated as the reference migrates them, by transforms
    that return new objects."""
    version = resolve(BOX_ENGINE, name)
    box = {"object": "box", "id": "b", "extra": _customer_in("email", "e@f.g"),
           "contents": [_customer_in("email", "h@i.j"), [_customer_in("email", "k@l.m")]],
           "owner": _customer_in("email", "o@p.q")}
    migrated = BOX_ENGINE.down(box, version)
    assert migrated == reference_down(box, version)
    assert [migrated["extra"]["mail"], migrated["contents"][0]["mail"],
            migrated["owner"]["mail"]] == ["e@f.g", "h@i.j", "o@p.q"]


def test_a_root_list_nested_past_max_depth_is_refused_as_the_reference_refuses_it() -> None:
    """Lists nested past MAX_DEPTH at the root are too deep for the planned walk too."""
    version = resolve(SHOP_ENGINE, "v1")
    deep: list[Any] = [_order()]
    for _ in range(MAX_DEPTH):
        deep = [deep]
    assert outcome(lambda: SHOP_ENGINE.down(deep, version)) == outcome(
        lambda: reference_down(deep, version))
    assert outcome(lambda: SHOP_ENGINE.down(deep, version))[1][3] == "too_deep"


def test_a_scalar_root_is_returned_as_it_is() -> None:
    """A response that is a JSON scalar holds no resource: it comes back unchanged."""
    assert SHOP_ENGINE.down("plain", resolve(SHOP_ENGINE, "v1")) == "plain"


def test_plans_name_what_they_enter() -> None:
    """A plan's repr lists the properties it enters."""
    plans = SHOP_ENGINE.pipeline("v1", "down").plans
    assert plans is not None
    assert repr(plans[0]["line_item"]) == "<ObjectPlan line_item: enter ['product']>"
