"""Breaking or compatible: the classifier's table, the HTTP declarations, the reference API."""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

import datever
from datever import Change, ChangeError, Operation, Resource, operations
from datever import endpoints as ep
from datever.classify import (
    RULES,
    Rule,
    change_is_retroactive,
    classify,
    is_breaking,
    reason,
    resource_side,
)
from datever.resources import Resources
from datever.versions import Timeline

CHANGES_DIR = Path(__file__).parent.parent / "changes"


def _factories(module: ModuleType) -> set[str]:
    return {name for name in module.__all__ if inspect.isfunction(getattr(module, name))}


#: One or more operations from every factory of operations.py and endpoints.py.
SAMPLES: dict[str, tuple[Operation, ...]] = {
    "rename": (datever.rename("source", "payment_method"),),
    "move": (datever.move("risk_level", "outcome.risk_level"),),
    "add": (datever.add("outcome", {}),),
    "remove": (datever.remove("paid", False),),
    "map_values": (datever.map_values("status", {"paid": "succeeded"}),),
    "convert": (datever.convert("amount", down=str, up=int),),
    "collapse": (datever.collapse("customer"),),
    "custom": (datever.custom(down=lambda obj: None, description="something else"),),
    "add_endpoint": (ep.add_endpoint("GET", "/v1/charges/search"),),
    "remove_endpoint": (ep.remove_endpoint("DELETE", "/v1/customers/{id}"),),
    "rename_endpoint": (ep.rename_endpoint("GET", "/v1/sources", "/v1/payment_methods"),),
    "rename_param": (ep.rename_param("GET", "/v1/charges", "count", "limit"),),
    "add_param": (ep.add_param("GET", "/v1/charges", "expand"),
                  ep.add_param("GET", "/v1/charges", "customer", required=True)),
    "change_status": (ep.change_status("POST", "/v1/refunds", 200, 202),),
    "change_error_format": (ep.change_error_format("errors are RFC 9457 problem details"),),
    "change_limit": (ep.change_limit("GET", "/v1/charges", "limit", 100, 50),
                     ep.change_limit("GET", "/v1/charges", "limit", 100, 1000)),
    "change_sort_order": (ep.change_sort_order("GET", "/v1/charges", "newest first"),),
    "add_header": (ep.add_header("Request-Id"),
                   ep.add_header("Idempotency-Key", response=False)),
    "reorder_properties": (ep.reorder_properties("charge"), ep.reorder_properties()),
}
ALL_SAMPLES = [op for ops in SAMPLES.values() for op in ops]

#: The declarations the cases are classified under: which names are request bodies is
#: declared, never read off a name (charge.list is a response resource).
SIDES = Resources([
    Resource("charge", requests=("charge.create",)), Resource("customer"), Resource("refund"),
    Resource("source"), Resource("error"), Resource("charge.list"),
    Resource("payment_method.create", request=True),
])

#: (operation, resource it is declared on, expected verdict) under SIDES
CASES: list[tuple[Operation, str, str]] = [
    (datever.rename("source", "payment_method"), "charge", "breaking"),
    (datever.rename("source", "payment_method"), "charge.create", "breaking"),
    (datever.move("risk_level", "outcome.risk_level"), "charge", "breaking"),
    (datever.move("risk_level", "outcome.risk_level"), "charge.create", "breaking"),
    (datever.add("capture_method", "automatic"), "charge", "compatible"),
    (datever.add("confirm", True), "charge.create", "breaking"),
    (datever.remove("paid", False), "charge", "breaking"),
    (datever.remove("paid", False), "charge.create", "compatible"),
    (datever.map_values("status", {"paid": "succeeded"}), "charge", "breaking"),
    (datever.map_values("type", {"sepa": "sepa_debit"}), "payment_method.create", "breaking"),
    (datever.convert("amount", down=str, up=int), "charge", "breaking"),
    (datever.convert("amount", down=str, up=int), "charge.create", "breaking"),
    (datever.collapse("customer"), "charge", "breaking"),
    (datever.custom(down=lambda obj: None), "charge", "breaking"),
    (datever.custom(up=lambda obj: None), "charge.create", "breaking"),
    (ep.add_endpoint("GET", "/v1/charges/search"), "charge", "compatible"),
    (ep.remove_endpoint("DELETE", "/v1/customers/{id}"), "customer", "breaking"),
    (ep.rename_endpoint("GET", "/v1/sources", "/v1/payment_methods"), "source", "breaking"),
    (ep.rename_param("GET", "/v1/charges", "count", "limit"), "charge.list", "breaking"),
    (ep.add_param("GET", "/v1/charges", "expand"), "charge.list", "compatible"),
    (ep.add_param("GET", "/v1/charges", "customer", required=True), "charge.list", "breaking"),
    (ep.change_status("POST", "/v1/refunds", 200, 202), "refund", "breaking"),
    (ep.change_error_format("errors are RFC 9457 problem details"), "error", "breaking"),
    (ep.change_limit("GET", "/v1/charges", "limit", 100, 50), "charge.list", "breaking"),
    (ep.change_limit("GET", "/v1/charges", "limit", 100, 1000), "charge.list", "compatible"),
    (ep.change_sort_order("GET", "/v1/charges", "newest first"), "charge.list", "breaking"),
    (ep.add_header("Request-Id"), "charge", "compatible"),
    (ep.add_header("Idempotency-Key", response=False), "charge.create", "compatible"),
    (ep.reorder_properties("charge"), "charge", "compatible"),
]


def _case_id(case: tuple[Operation, str, str]) -> str:
    op, resource, _ = case
    return f"{op.kind}-{resource}"


# -- the table --------------------------------------------------------------


def test_samples_cover_every_operation_factory() -> None:
    """Every factory function of operations.py and endpoints.py has a sample here."""
    assert set(SAMPLES) == _factories(operations) | _factories(ep)


@pytest.mark.parametrize("op", ALL_SAMPLES, ids=lambda op: op.kind)
def test_every_operation_kind_has_a_rule(op: Operation) -> None:
    """RULES holds a row for the kind of every operation datever declares."""
    assert op.kind in {rule.kind for rule in RULES}


def test_every_rule_names_a_kind_that_exists() -> None:
    """No row of RULES describes a kind that no factory produces."""
    assert {rule.kind for rule in RULES} == {op.kind for op in ALL_SAMPLES}


def test_rules_have_one_row_per_kind_and_side() -> None:
    """No (kind, side) pair appears twice in RULES."""
    keys = [(rule.kind, rule.side) for rule in RULES]
    assert len(keys) == len(set(keys))


def test_side_specific_kinds_have_both_sides_and_no_catch_all() -> None:
    """A kind is either ruled for "any" side, or for both the response and the request side."""
    for kind in {rule.kind for rule in RULES}:
        sides = {rule.side for rule in RULES if rule.kind == kind}
        assert sides in ({"any"}, {"response", "request"}), kind


def test_rules_are_four_field_rows_with_known_verdicts() -> None:
    """Each row unpacks as (kind, side, verdict, reason) with a known side and verdict."""
    for kind, side, verdict, text in RULES:
        assert kind
        assert text
        assert side in ("response", "request", "any")
        assert verdict in ("breaking", "compatible")


def test_every_reason_names_its_source() -> None:
    """Every reason ends by naming the seed it quotes (Cognite, Sanity) or datever's own choice."""
    for rule in RULES:
        assert rule.reason.endswith(("(Cognite)", "(Sanity)", "(Cognite, Sanity)", "(datever)"))


def test_every_reason_agrees_with_its_verdict() -> None:
    """A breaking rule's reason says "breaking", a compatible one's says "compatible"."""
    for rule in RULES:
        assert rule.verdict in rule.reason


def test_rules_are_namedtuples() -> None:
    """A rule is a Rule, a tuple whose fields can be read by name."""
    assert all(isinstance(rule, Rule) for rule in RULES)


# -- classifying ------------------------------------------------------------


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_classify(case: tuple[Operation, str, str]) -> None:
    """Each operation kind on each side gets the verdict of the seed rules."""
    op, resource, verdict = case
    assert classify(op, resource, SIDES) == verdict


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_is_breaking_agrees_with_classify(case: tuple[Operation, str, str]) -> None:
    """is_breaking is True exactly when classify says "breaking"."""
    op, resource, verdict = case
    assert is_breaking(op, resource, SIDES) is (verdict == "breaking")


@pytest.mark.parametrize("case", CASES, ids=_case_id)
def test_reason_is_the_reason_of_a_rule_with_that_verdict(
        case: tuple[Operation, str, str]) -> None:
    """reason() returns the sentence of a RULES row for the kind, with the same verdict."""
    op, resource, verdict = case
    assert (op.kind, verdict, reason(op, resource, SIDES)) in {
        (rule.kind, rule.verdict, rule.reason) for rule in RULES}


def test_case_table_covers_every_rule() -> None:
    """The classification cases exercise every row of RULES."""
    seen = {(op.kind, resource_side(resource, SIDES)) for op, resource, _ in CASES}
    for rule in RULES:
        if rule.side == "any":
            assert any(kind == rule.kind for kind, _ in seen), rule
        else:
            assert (rule.kind, rule.side) in seen, rule


def test_reason_quotes_the_rule() -> None:
    """Renaming a property gives Cognite's rule as a sentence."""
    op = datever.rename("source", "payment_method")
    assert reason(op, "charge") == "renaming a property is breaking (Cognite)"


def test_resource_side_comes_from_the_declarations() -> None:
    """A declared request body is a request; a response resource is one, dot or not."""
    declared = Resources([Resource("charge", requests=("charge.create",)),
                          Resource("checkout.session"), Resource("charge.capture", request=True)])
    sides = [resource_side(name, declared)
             for name in ("charge", "charge.create", "checkout.session", "charge.capture")]
    assert sides == ["response", "request", "response", "request"]


def test_without_declarations_every_resource_is_a_response() -> None:
    """With nothing declared, a dotted name is a response resource too: never guessed."""
    assert resource_side("charge.create") == "response"
    assert is_breaking(datever.remove("paid", False), "charge.create")


def test_unknown_kind_is_breaking() -> None:
    """An operation of a kind the table does not know is assumed breaking."""
    op = Operation("teleport", "teleport it", down=(), up=(), lossless=True)
    assert classify(op, "charge") == "breaking"


def test_unknown_kind_reason_names_the_kind() -> None:
    """The reason given for an unknown kind names that kind."""
    op = Operation("teleport", "teleport it", down=(), up=(), lossless=True)
    assert "'teleport'" in reason(op, "charge")


def test_lowered_limit_is_breaking() -> None:
    """Lowering a request limit is breaking."""
    assert is_breaking(ep.change_limit("GET", "/v1/charges", "limit", 100, 10), "charge")


def test_raised_limit_is_compatible() -> None:
    """Raising a request limit is compatible."""
    assert not is_breaking(ep.change_limit("GET", "/v1/charges", "limit", 10, 100), "charge")


def test_limit_kind_says_the_direction() -> None:
    """change_limit declares a lower_limit or a raise_limit operation."""
    lowered = ep.change_limit("GET", "/v1/charges", "limit", 100, 10)
    raised = ep.change_limit("GET", "/v1/charges", "limit", 10, 100)
    assert (lowered.kind, raised.kind) == ("lower_limit", "raise_limit")


def test_required_param_kind_differs_from_optional() -> None:
    """add_param declares add_param when optional and add_required_param when required."""
    optional = ep.add_param("GET", "/v1/charges", "expand")
    required = ep.add_param("GET", "/v1/charges", "expand", required=True)
    assert (optional.kind, required.kind) == ("add_param", "add_required_param")


# -- the HTTP declarations --------------------------------------------------


@pytest.mark.parametrize("op", [op for op in ALL_SAMPLES if isinstance(op, ep.EndpointOperation)],
                         ids=lambda op: op.kind)
def test_endpoint_operations_carry_no_steps(op: ep.EndpointOperation) -> None:
    """An HTTP declaration has no down or up steps and is lossless."""
    assert (op.down, op.up, op.lossless) == ((), (), True)


@pytest.mark.parametrize("op", [op for op in ALL_SAMPLES if isinstance(op, ep.EndpointOperation)],
                         ids=lambda op: op.kind)
def test_endpoint_operations_have_a_description(op: ep.EndpointOperation) -> None:
    """An HTTP declaration describes itself in words."""
    assert op.description
    assert str(op) == op.description


def test_endpoint_operation_is_an_operation() -> None:
    """EndpointOperation is a frozen Operation."""
    op = ep.add_endpoint("GET", "/v1/charges/search")
    assert isinstance(op, Operation)
    with pytest.raises(dataclasses.FrozenInstanceError):
        op.kind = "remove_endpoint"  # type: ignore[misc]


def test_endpoint_operation_details_default_to_empty() -> None:
    """An EndpointOperation built without details has an empty mapping."""
    op = ep.EndpointOperation("add_endpoint", "add it", down=(), up=(), lossless=True)
    assert dict(op.details) == {}


def test_endpoint_operation_copies_the_details_it_is_given() -> None:
    """Editing the dict an EndpointOperation was built with does not edit the operation."""
    details = {"method": "GET"}
    op = ep.EndpointOperation("add_endpoint", "add it", down=(), up=(), lossless=True,
                              details=details)
    details["method"] = "POST"
    assert op.details["method"] == "GET"


def test_endpoint_operation_details_are_read_only() -> None:
    """The details of a declaration cannot be edited afterwards."""
    op = ep.change_status("POST", "/v1/refunds", 200, 202)
    with pytest.raises(TypeError):
        op.details["new"] = 204  # type: ignore[index]


def test_endpoint_operations_are_hashable_and_equal_by_value() -> None:
    """Two identical declarations are equal and collapse in a set."""
    ops = {ep.add_param("GET", "/v1/charges", "expand") for _ in range(2)}
    assert len(ops) == 1


def test_rename_endpoint_details() -> None:
    """rename_endpoint records the method and both paths."""
    op = ep.rename_endpoint("GET", "/v1/sources", "/v1/payment_methods")
    assert dict(op.details) == {"method": "GET", "old_path": "/v1/sources",
                                "new_path": "/v1/payment_methods"}


def test_change_limit_details_and_touches() -> None:
    """change_limit records old and new limits and touches the limited parameter."""
    op = ep.change_limit("GET", "/v1/charges", "limit", 100, 50)
    assert dict(op.details) == {"method": "GET", "path": "/v1/charges", "name": "limit",
                                "old": 100, "new": 50}
    assert op.touches == frozenset({"limit"})


def test_rename_param_touches_both_names() -> None:
    """rename_param touches the old and the new parameter name."""
    op = ep.rename_param("GET", "/v1/charges", "count", "limit")
    assert op.touches == frozenset({"count", "limit"})


def test_change_status_description() -> None:
    """change_status says which endpoint answers which status instead of which."""
    op = ep.change_status("POST", "/v1/refunds", 200, 202)
    assert op.description == "POST /v1/refunds answers 202 instead of 200"


def test_add_header_records_its_direction() -> None:
    """add_header records whether the header is on responses or requests."""
    assert ep.add_header("Request-Id").details["response"] is True
    assert ep.add_header("Idempotency-Key", response=False).details["response"] is False


def test_endpoint_operations_live_in_a_change_without_steps() -> None:
    """A change may declare HTTP operations; they add no step to any pipeline."""
    change = Change(released="2025-01-06", resources={
        "charge.list": [ep.change_limit("GET", "/v1/charges", "limit", 100, 50)]})
    assert change.steps("charge.list", "down") == change.steps("charge.list", "up") == ()


@pytest.mark.parametrize(("old", "new"), [
    (200, 200), (200, 404), (301, 200), (199, 200), (200, 300), ("200", 201), (True, 201),
    (200.0, 201),
])
def test_change_status_rejects(old: object, new: object) -> None:
    """change_status takes two different integer statuses between 200 and 299."""
    with pytest.raises(ChangeError, match="change_status"):
        ep.change_status("POST", "/v1/refunds", old, new)  # type: ignore[arg-type]


def test_change_status_non_2xx_message_says_what_is_accepted() -> None:
    """Declaring a change to a non-2xx status says only 200 to 299 are declared here."""
    with pytest.raises(ChangeError, match=r"new=404 is not a 2xx status.*\(200 to 299\)"):
        ep.change_status("POST", "/v1/refunds", 200, 404)


def test_change_status_same_status_message() -> None:
    """Declaring the same status twice says that old and new must differ."""
    with pytest.raises(ChangeError, match="old and new must differ"):
        ep.change_status("POST", "/v1/refunds", 201, 201)


def test_lowercase_method_error_suggests_the_uppercase_form() -> None:
    """A lowercase method is refused with its uppercase spelling as the fix."""
    with pytest.raises(ChangeError, match="'GET', not 'get'"):
        ep.add_endpoint("get", "/v1/charges")


BAD_CALLS: list[tuple[str, Callable[[], object], str]] = [
    ("add_endpoint-method", lambda: ep.add_endpoint("FETCH", "/v1/charges"), "method"),
    ("add_endpoint-path", lambda: ep.add_endpoint("GET", "v1/charges"), "starting with '/'"),
    ("add_endpoint-query", lambda: ep.add_endpoint("GET", "/v1/charges?limit=3"), "query"),
    ("remove_endpoint-method", lambda: ep.remove_endpoint("delete", "/v1/x"), "uppercase"),
    ("remove_endpoint-path", lambda: ep.remove_endpoint("DELETE", ""), "starting with '/'"),
    ("rename_endpoint-same", lambda: ep.rename_endpoint("GET", "/v1/a", "/v1/a"), "itself"),
    ("rename_endpoint-path", lambda: ep.rename_endpoint("GET", "/v1/a", "v1/b"), "new_path"),
    ("rename_endpoint-method", lambda: ep.rename_endpoint(None, "/a", "/b"), "method"),  # type: ignore[arg-type]
    ("rename_param-same", lambda: ep.rename_param("GET", "/v1/a", "q", "q"), "itself"),
    ("rename_param-empty", lambda: ep.rename_param("GET", "/v1/a", "", "q"), "old"),
    ("rename_param-space", lambda: ep.rename_param("GET", "/v1/a", "q", "a b"), "new"),
    ("rename_param-path", lambda: ep.rename_param("GET", "a", "q", "r"), "path"),
    ("add_param-name", lambda: ep.add_param("GET", "/v1/a", "a=b"), "parameter name"),
    ("add_param-required", lambda: ep.add_param("GET", "/v1/a", "q", required="yes"),  # type: ignore[arg-type]
     "True or False"),
    ("add_param-method", lambda: ep.add_param("BREW", "/v1/a", "q"), "method"),
    ("change_error_format-empty", lambda: ep.change_error_format("  "), "non-empty sentence"),
    ("change_error_format-type", lambda: ep.change_error_format(None),  # type: ignore[arg-type]
     "non-empty sentence"),
    ("change_limit-same", lambda: ep.change_limit("GET", "/v1/a", "limit", 10, 10), "differ"),
    ("change_limit-zero", lambda: ep.change_limit("GET", "/v1/a", "limit", 10, 0), "positive"),
    ("change_limit-float", lambda: ep.change_limit("GET", "/v1/a", "limit", 10, 5.5),  # type: ignore[arg-type]
     "integer"),
    ("change_limit-bool", lambda: ep.change_limit("GET", "/v1/a", "limit", True, 5), "integer"),
    ("change_limit-name", lambda: ep.change_limit("GET", "/v1/a", "", 10, 5), "name"),
    ("change_sort_order-empty", lambda: ep.change_sort_order("GET", "/v1/a", ""), "sentence"),
    ("change_sort_order-path", lambda: ep.change_sort_order("GET", "/v1 a", "x"), "whitespace"),
    ("add_header-name", lambda: ep.add_header("Request Id"), "header name"),
    ("add_header-empty", lambda: ep.add_header(""), "header name"),
    ("add_header-response", lambda: ep.add_header("Request-Id", response=None),  # type: ignore[arg-type]
     "True or False"),
    ("change_status-method", lambda: ep.change_status("post", "/v1/a", 200, 201), "uppercase"),
    ("change_status-path", lambda: ep.change_status("POST", "/v1/a#x", 200, 201), "fragment"),
    ("reorder_properties-empty", lambda: ep.reorder_properties(""), "resource_hint"),
]


@pytest.mark.parametrize(("call", "message"), [(call, message) for _, call, message in BAD_CALLS],
                         ids=[name for name, _, _ in BAD_CALLS])
def test_endpoint_functions_reject_bad_arguments(call: Callable[[], object],
                                                 message: str) -> None:
    """Every HTTP declaration refuses bad arguments with a ChangeError that says why."""
    with pytest.raises(ChangeError, match=message):
        call()


def test_bad_call_table_covers_every_endpoint_function() -> None:
    """Each endpoint function has at least one bad-argument case above."""
    assert {name.split("-")[0] for name, _, _ in BAD_CALLS} == _factories(ep)


# -- changes ----------------------------------------------------------------


def test_change_of_compatible_operations_is_retroactive() -> None:
    """A change that only adds response properties and an endpoint may apply to old versions."""
    change = Change(released="2025-01-06", description="Adds things.", resources={
        "charge": [datever.add("receipt_url"), ep.add_endpoint("GET", "/v1/charges/search")],
        "customer": [datever.add("tax_ids", [])],
    })
    assert change_is_retroactive(change)


def test_mixed_change_is_not_retroactive() -> None:
    """One breaking operation among compatible ones makes the change breaking."""
    change = Change(released="2025-01-06", description="Adds and renames.", resources={
        "charge": [datever.add("receipt_url")],
        "charge.create": [datever.rename("capture", "capture_method")],
    })
    assert not change_is_retroactive(change)


def test_remove_on_a_dotted_response_resource_is_breaking() -> None:
    """Removing a property of checkout.session, a response resource, keeps the change
    versioned: old clients still get the property."""
    change = Change(released="2025-01-06", description="Removes a property.", id="r",
                    resources={"checkout.session": [datever.remove("locale", None)]})
    timeline = Timeline([change], resources=[Resource("checkout.session")])
    assert timeline.retroactive == frozenset()
    assert is_breaking(change.resources["checkout.session"][0], "checkout.session",
                       timeline.resources)


def test_remove_on_a_declared_request_body_is_retroactive() -> None:
    """No longer reading a property of a declared request body is compatible."""
    change = Change(released="2025-01-06", description="Ignores a parameter.", id="r",
                    resources={"charge.capture": [datever.remove("statement", None)]})
    timeline = Timeline([change], resources=[Resource("charge.capture", request=True)])
    assert timeline.retroactive == frozenset({change})


def test_add_on_a_response_resource_with_request_bodies_stays_compatible() -> None:
    """An add is not shared with request bodies, so adding a response property of charge
    is compatible even though charge shares its properties with charge.create."""
    change = Change(released="2025-01-06", description="Adds a property.", id="a",
                    resources={"charge": [datever.add("receipt_url")]})
    timeline = Timeline([change], resources=[Resource("charge", requests=("charge.create",))])
    assert change_is_retroactive(change)
    assert change.operations == {"charge": change.resources["charge"]}
    assert timeline.retroactive == frozenset({change})


def test_shared_operation_is_classified_on_every_side_it_rewrites() -> None:
    """A rename on charge also renames charge.create bodies, and is breaking."""
    sides = Resources([Resource("charge", requests=("charge.create",))])
    op = datever.rename("source", "payment_method")
    assert classify(op, "charge", sides) == "breaking"
    assert reason(op, "charge", sides) == "renaming a property is breaking (Cognite)"


def test_side_effect_change_is_not_retroactive() -> None:
    """A change with side effects is never retroactive."""
    change = Change(released="2025-01-06", description="Async.", side_effects=True)
    assert not change_is_retroactive(change)


def test_side_effect_change_with_compatible_operations_is_not_retroactive() -> None:
    """Side effects keep a change breaking even when its operations are all compatible."""
    change = Change(released="2025-01-06", description="Async.", side_effects=True,
                    resources={"refund": [datever.add("pending_reason")]})
    assert not change_is_retroactive(change)


# -- the reference API ------------------------------------------------------

#: (change id, resource, operation kind, verdict), read off the modules in changes/.
REFERENCE: list[tuple[str, str, str, str]] = [
    ("2019_04_15_amounts_in_cents", "charge", "convert", "breaking"),
    ("2019_08_05_charge_status_succeeded", "event", "map_values", "breaking"),
    ("2019_11_11_charge_source_is_payment_method", "charge", "rename", "breaking"),
    ("2020_02_03_charge_refunds_list", "charge", "custom", "breaking"),
    ("2020_02_03_list_count_removed", "list", "remove", "breaking"),
    ("2020_05_18_customer_address_object", "customer", "add", "compatible"),
    ("2020_05_18_customer_address_object", "customer", "move", "breaking"),
    ("2020_05_18_customer_address_object", "customer.create", "add", "breaking"),
    ("2020_08_24_charge_customer_expandable", "charge", "collapse", "breaking"),
    ("2021_05_10_charge_outcome_object", "charge", "add", "compatible"),
    ("2021_11_15_customer_name_single_field", "customer", "custom", "breaking"),
    ("2022_05_16_charge_capture_method", "charge", "add", "compatible"),
    ("2022_05_16_charge_capture_method", "charge.create", "rename", "breaking"),
    ("2022_05_16_charge_capture_method", "charge.create", "convert", "breaking"),
    ("2023_03_20_payment_method_type_names", "payment_method", "map_values", "breaking"),
    ("2023_06_26_customer_delinquent_removed", "customer", "remove", "breaking"),
    ("2024_07_29_charge_create_explicit_confirm", "charge.create", "add", "breaking"),
    ("2025_09_29_event_request_context", "event", "add", "compatible"),
    ("beta_charge_declined_status", "charge", "map_values", "breaking"),
    ("experimental_event_created_milliseconds", "event", "convert", "breaking"),
]

#: Reference changes whose every operation is compatible: none, under these rules.
RETROACTIVE: set[str] = set()


@pytest.fixture(scope="module")
def reference() -> dict[str, Change]:
    """The reference API's changes, by id."""
    return {change.id: change for change in datever.changes.load_changes(CHANGES_DIR)}


def test_every_reference_change_gets_a_verdict(capsys: pytest.CaptureFixture[str]) -> None:
    """Every change in changes/ loads, each operation is classified, and nothing is printed."""
    changes = datever.changes.load_changes(CHANGES_DIR)
    verdicts = {(change.id, resource, classify(op, resource))
                for change in changes for resource, ops in change.resources.items()
                for op in ops}
    retroactive = {change.id: change_is_retroactive(change) for change in changes}
    assert len(changes) >= 35
    assert {verdict for _, _, verdict in verdicts} <= {"breaking", "compatible"}
    assert set(retroactive) == {change.id for change in changes}
    assert capsys.readouterr() == ("", "")


@pytest.mark.parametrize(("change_id", "resource", "kind", "verdict"), REFERENCE,
                         ids=[f"{row[0]}-{row[1]}-{row[2]}" for row in REFERENCE])
def test_reference_operation_verdict(reference: dict[str, Change], change_id: str,
                                     resource: str, kind: str, verdict: str) -> None:
    """Each listed operation of the reference API gets the verdict read off its module."""
    change = reference[change_id]
    ops = [op for op in change.resources[resource] if op.kind == kind]
    assert ops
    assert {classify(op, resource, change.declarations) for op in ops} == {verdict}


def test_reference_table_covers_every_kind_and_side_used(
        reference: dict[str, Change]) -> None:
    """The expected table holds a row for every (kind, side) the reference API uses."""
    sides = datever.changes.load_changes(CHANGES_DIR)[0].declarations
    used = {(op.kind, resource_side(resource, sides)) for change in reference.values()
            for resource, ops in change.resources.items() for op in ops}
    listed = {(kind, resource_side(resource, sides)) for _, resource, kind, _ in REFERENCE}
    assert used == listed


def test_reference_retroactive_changes(reference: dict[str, Change]) -> None:
    """Exactly the expected reference changes would be retroactive: none of them."""
    found = {change.id for change in reference.values() if change_is_retroactive(change)}
    assert found == RETROACTIVE


def test_reference_side_effect_change_is_not_retroactive(reference: dict[str, Change]) -> None:
    """The asynchronous-refunds change, a side effect, stays breaking."""
    assert not change_is_retroactive(reference["2022_05_16_asynchronous_refunds"])


def test_explicit_confirm_would_change_old_requests(reference: dict[str, Change]) -> None:
    """The one all-additive reference change adds a request property, so it is not retroactive."""
    change = reference["2024_07_29_charge_create_explicit_confirm"]
    assert [op.kind for op in change.resources["charge.create"]] == ["add"]
    assert not change_is_retroactive(change)
