"""Which operations break old clients, by Cognite's and Sanity's published rules.

``RULES`` is the whole table; ``classify`` looks an operation up in it by its
kind and the side of the resource it is declared on, as the resource
declarations say (:class:`~datever.Resource`; never guessed from the name:
``checkout.session`` is a response resource). Without declarations every
resource is a response resource. An operation on a response resource that
its request bodies share (see ``datever.resources.NOT_SHARED``) is breaking
when it breaks either side. A change whose every operation is compatible
may be applied to old versions retroactively, as Sanity does.

Two choices the seeds leave open, both made for the old client's sake:

- ``add`` on a request resource is *breaking*. Its up step fills a value
  that the head reads: had the head treated the property as optional with
  that same value, no change would have been needed. The old client keeps
  working only because the fill runs, which makes the property required by
  the head ("adding a required request property"). Applied retroactively,
  the fill would stop and previous requests would behave differently.
- ``remove`` on a request resource is *compatible*: the head no longer reads
  the property, and an old client may go on sending it. This assumes the
  head ignores properties it does not know, as the up step (a drop) does.

Anything the table does not know (a ``custom`` transform, a kind from
elsewhere) is assumed breaking: a wrong "breaking" only keeps a transform
that was not needed, a wrong "compatible" changes what old clients see.
"""

from __future__ import annotations

from typing import Literal, NamedTuple

from datever.changes import Change
from datever.operations import Operation
from datever.resources import NOT_SHARED, UNDECLARED, Resources

__all__ = [
    "RULES",
    "Rule",
    "Side",
    "Verdict",
    "change_is_retroactive",
    "classify",
    "is_breaking",
    "reason",
    "resource_side",
]

Verdict = Literal["breaking", "compatible"]
Side = Literal["response", "request", "any"]


class Rule(NamedTuple):
    """One row of the table: operations of ``kind`` on ``side`` resources get ``verdict``.

    ``side`` is ``"response"`` (a response resource), ``"request"`` (a
    declared request body such as ``"charge.create"``) or ``"any"``. ``reason``
    is the sentence a changelog shows, naming where the rule comes from.
    """

    kind: str
    side: Side
    verdict: Verdict
    reason: str


#: Every operation kind datever declares, in operations.py and endpoints.py.
RULES: tuple[Rule, ...] = (
    # -- payload operations (datever.operations) --
    Rule("rename", "any", "breaking", "renaming a property is breaking (Cognite)"),
    Rule("move", "any", "breaking",
         "moving a property renames its path, and renaming a property is breaking (Cognite)"),
    Rule("add", "response", "compatible",
         "adding a response property is compatible (Cognite, Sanity)"),
    Rule("add", "request", "breaking",
         "adding a request property the head needs is breaking: previous requests keep "
         "working only through the filled default (Cognite)"),
    Rule("remove", "response", "breaking",
         "removing a response property is breaking (Cognite)"),
    Rule("remove", "request", "compatible",
         "no longer reading a request property is compatible: previous requests may still "
         "send it (datever)"),
    Rule("map_values", "any", "breaking",
         "changing the values of an enum is breaking: parsing gives different results "
         "(Cognite)"),
    Rule("convert", "any", "breaking",
         "changing the type of a property is breaking: parsing gives different results "
         "(Cognite)"),
    Rule("collapse", "any", "breaking",
         "expanding an id into an object changes its type, which is breaking (Cognite)"),
    Rule("custom", "any", "breaking",
         "a custom transform cannot be checked, so it is assumed breaking (datever)"),
    # -- HTTP operations (datever.endpoints) --
    Rule("add_endpoint", "any", "compatible", "adding an endpoint is compatible (Sanity)"),
    Rule("remove_endpoint", "any", "breaking", "removing an endpoint is breaking (Cognite)"),
    Rule("rename_endpoint", "any", "breaking",
         "moving an endpoint removes its old path, which is breaking (Cognite)"),
    Rule("rename_param", "any", "breaking",
         "renaming a query parameter is breaking (Cognite)"),
    Rule("add_param", "any", "compatible",
         "adding an optional parameter is compatible (Cognite, Sanity)"),
    Rule("add_required_param", "any", "breaking",
         "adding a required parameter is breaking: previous requests lack it (Cognite)"),
    Rule("change_status", "any", "breaking",
         "changing a 2xx status to another 2xx is breaking (Cognite)"),
    Rule("change_error_format", "any", "breaking",
         "changing the error response format is breaking (Cognite)"),
    Rule("lower_limit", "any", "breaking",
         "lowering a request limit is breaking (Cognite)"),
    Rule("raise_limit", "any", "compatible",
         "raising a request limit is compatible (Cognite)"),
    Rule("change_sort_order", "any", "breaking",
         "changing a sort order is breaking (Cognite)"),
    Rule("add_header", "any", "compatible",
         "adding an HTTP header is compatible (Sanity)"),
    Rule("reorder_properties", "any", "compatible",
         "changing the order of response properties is compatible (Sanity)"),
)

_TABLE: dict[tuple[str, Side], Rule] = {(rule.kind, rule.side): rule for rule in RULES}


def resource_side(resource: str,
                  resources: Resources | None = None) -> Literal["response", "request"]:
    """``"request"`` for a request body declared in ``resources``, else ``"response"``."""
    return (resources or UNDECLARED).side(resource)


def _sides(op: Operation, resource: str,
           resources: Resources) -> tuple[Literal["response", "request"], ...]:
    """The sides ``op`` declared on ``resource`` rewrites: a response resource's shared
    operations rewrite its request bodies too."""
    side = resources.side(resource)
    if side == "response" and op.kind not in NOT_SHARED and resources.requests_of(resource):
        return ("response", "request")
    return (side,)


def _rule(op: Operation, resource: str, resources: Resources | None) -> Rule:
    rules = [_TABLE.get((op.kind, side)) or _TABLE.get((op.kind, "any"))
             for side in _sides(op, resource, resources or UNDECLARED)]
    known = [rule for rule in rules if rule is not None]
    if not known:
        return Rule(op.kind, "any", "breaking",
                    f"an operation of unknown kind {op.kind!r} is assumed breaking (datever)")
    return next((rule for rule in known if rule.verdict == "breaking"), known[0])


def classify(op: Operation, resource: str, resources: Resources | None = None) -> Verdict:
    """``"breaking"`` or ``"compatible"``: what ``op`` declared on ``resource`` is, with
    the sides of resources as ``resources`` declares them."""
    return _rule(op, resource, resources).verdict


def is_breaking(op: Operation, resource: str, resources: Resources | None = None) -> bool:
    """True when ``op`` declared on ``resource`` breaks clients of older versions."""
    return classify(op, resource, resources) == "breaking"


def reason(op: Operation, resource: str, resources: Resources | None = None) -> str:
    """The rule behind the verdict, as one sentence naming its source."""
    return _rule(op, resource, resources).reason


def change_is_retroactive(change: Change) -> bool:
    """True when ``change`` may apply to old versions too: it declares operations,
    every one of them compatible (under the declarations it is bound to), and no side
    effects."""
    if change.side_effects or not change.resources:
        return False
    return all(not is_breaking(op, resource, change.declarations)
               for resource, ops in change.resources.items() for op in ops)
