"""Resource declarations: which names are request bodies, what they share, what is user data.

A :class:`Resource` declares one response resource (found in responses by
its discriminator), the request bodies that share its properties, and its
*opaque* properties (user data such as ``metadata``, never walked for
nested resources). Whether a name is a request body is always declared,
never read off the name: Stripe's ``checkout.session`` is a response
resource. A changes directory declares them in ``resources.py``;
:class:`Resources` is the checked set a timeline works with.
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from datever.errors import ChangeError
from datever.operations import Operation

if TYPE_CHECKING:
    from datever.changes import Change

__all__ = ["NOT_SHARED", "UNDECLARED", "Resource", "Resources", "shared_operations"]

Side = Literal["response", "request"]

#: Operation kinds that describe what the server renders and so stay on the
#: response resource they are declared on: a new or dropped read-only
#: property, an id expanded into an object. Every other operation rewrites a
#: property in place and applies to the request bodies that share it too.
NOT_SHARED = frozenset({"add", "remove", "collapse"})


def _names(value: object, what: str, owner: str) -> tuple[str, ...]:
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ChangeError(f"Resource({owner!r}): {what}= is a tuple of names, got {value!r}; "
                          f"write {what}=({value!r},)")
    names = tuple(value)
    for name in names:
        if not isinstance(name, str) or not name:
            raise ChangeError(f"Resource({owner!r}): {what}= holds non-empty strings, "
                              f"got {name!r}")
    repeated = sorted({name for name in names if names.count(name) > 1})
    if repeated:
        raise ChangeError(f"Resource({owner!r}): {what}= lists {', '.join(map(repr, repeated))} "
                          "twice")
    return names


@dataclass(frozen=True, slots=True)
class Resource:
    """One declared resource.

    ``Resource("charge", requests=("charge.create", "charge.update"), opaque=("metadata",))``
    declares the response resource ``charge``, the request bodies that share
    its properties (an operation declared on ``charge`` rewrites them too,
    except ``add``, ``remove`` and ``collapse``: see :data:`NOT_SHARED`) and
    its opaque properties, user data that is never searched for nested
    resources (in the request bodies as well). ``Resource("charge.capture",
    request=True)`` declares a request body of its own; a name with a dot
    and no ``request=True`` is a response resource (``checkout.session``).
    """

    name: str
    requests: tuple[str, ...] = ()
    opaque: tuple[str, ...] = ()
    request: bool = False

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ChangeError(f"a Resource is named by a non-empty string, got {self.name!r}")
        requests = _names(self.requests, "requests", self.name)
        opaque = _names(self.opaque, "opaque", self.name)
        if self.request not in (True, False):
            raise ChangeError(f"Resource({self.name!r}): request= is True or False, "
                              f"got {self.request!r}")
        if self.request and requests:
            raise ChangeError(f"Resource({self.name!r}): a request body (request=True) has "
                              "no requests= of its own; declare those on the response resource")
        if self.name in requests:
            raise ChangeError(f"Resource({self.name!r}) lists itself in requests=")
        for prop in opaque:
            if "." in prop:
                raise ChangeError(f"Resource({self.name!r}): opaque= names properties of the "
                                  f"resource itself, {prop!r} is a path")
        # Lists are accepted for convenience; stored as tuples to stay hashable.
        object.__setattr__(self, "requests", requests)
        object.__setattr__(self, "opaque", opaque)


class Resources:
    """The checked resource declarations of one timeline (empty: nothing declared).

    Without declarations every name is a response resource and nothing is
    opaque. With them, :meth:`side`, :meth:`requests_of` and :attr:`opaque`
    answer from the declarations alone; :meth:`closest` suggests a declared
    name for a misspelt one. ``file`` is where they were declared.
    """

    __slots__ = ("_requests", "_sides", "declarations", "file", "opaque")

    def __init__(self, declarations: Iterable[Resource] = (), *,
                 file: str | None = None) -> None:
        self.declarations: tuple[Resource, ...] = tuple(declarations)
        self.file = file
        self._sides: dict[str, Side] = {}
        self._requests: dict[str, tuple[str, ...]] = {}
        opaque: dict[str, frozenset[str]] = {}
        owner: dict[str, str] = {}
        for declared in self.declarations:
            if not isinstance(declared, Resource):
                raise ChangeError(f"resources are declared with Resource(...), got {declared!r}",
                                  file=file)
            self._declare(declared.name, "request" if declared.request else "response",
                          owner, declared.name)
            self._requests[declared.name] = declared.requests
            for request in declared.requests:
                self._declare(request, "request", owner, declared.name)
            for name in (declared.name, *declared.requests):
                if declared.opaque:
                    opaque[name] = frozenset(declared.opaque)
        #: the opaque properties of each resource name, request bodies included
        self.opaque: Mapping[str, frozenset[str]] = opaque

    def _declare(self, name: str, side: Side, owner: dict[str, str], by: str) -> None:
        if name in owner:
            first, second = (f"Resource({who!r})" for who in (owner[name], by))
            where = first if first == second else f"{first} and {second}"
            raise ChangeError(f"{name!r} is declared twice, by {where}; declare each resource "
                              "once", file=self.file)
        owner[name] = by
        self._sides[name] = side

    def __bool__(self) -> bool:
        return bool(self.declarations)

    def __contains__(self, name: object) -> bool:
        return name in self._sides

    def __iter__(self) -> Iterator[Resource]:
        return iter(self.declarations)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Resources):
            return NotImplemented
        return set(self.declarations) == set(other.declarations)

    def __hash__(self) -> int:
        return hash(frozenset(self.declarations))

    @property
    def names(self) -> frozenset[str]:
        """Every declared name: response resources and request bodies."""
        return frozenset(self._sides)

    def side(self, name: str) -> Side:
        """``"request"`` for a declared request body, else ``"response"``."""
        return self._sides.get(name, "response")

    def requests_of(self, name: str) -> tuple[str, ...]:
        """The request bodies that share the properties of response resource ``name``."""
        return self._requests.get(name, ())

    def closest(self, name: str) -> str | None:
        """The declared name most like ``name`` (for "did you mean"), or None."""
        found = difflib.get_close_matches(name, sorted(self._sides), n=1, cutoff=0.5)
        return found[0] if found else None

    def __repr__(self) -> str:
        return f"<Resources {sorted(self._sides)}>"


#: No declarations: every name is a response resource, nothing is opaque.
UNDECLARED = Resources()


def shared_operations(change: Change,
                       resources: Resources) -> dict[str, tuple[Operation, ...]]:
    """``change.resources`` with each response resource's shared operations added to its
    request bodies, after their own, every name checked against ``resources``.

    A body's own operations come first: they prepare what is particular to requests
    (``add("address", {})`` before the shared moves into it).
    """
    if resources:
        for name in change.resources:
            if name not in resources:
                closest = resources.closest(name)
                hint = (f"did you mean {closest!r}? Otherwise declare it"
                        if closest else "declare it")
                raise ChangeError(
                    f"{change.id} names the resource {name!r}, which is not declared in "
                    f"{resources.file or 'the resource declarations'}; {hint} "
                    f"(Resource({name!r}), or list it in a response resource's requests=)",
                    file=change.file)
    shared: dict[str, tuple[str, tuple[Operation, ...]]] = {}
    for name, ops in change.resources.items():
        carried = tuple(op for op in ops if op.kind not in NOT_SHARED)
        for request in resources.requests_of(name) if carried else ():
            shared[request] = (name, carried)
    operations = dict(change.resources)
    for request, (response, carried) in shared.items():
        own = change.resources.get(request, ())
        for op in own:
            if op in carried:
                raise ChangeError(
                    f"{change.id} declares {str(op)!r} on both {response!r} and {request!r}, "
                    f"but Resource({response!r}) already applies its operations to its request "
                    f"body {request!r}: remove the {request!r} copy", file=change.file)
        operations[request] = (*own, *carried)
    return operations
