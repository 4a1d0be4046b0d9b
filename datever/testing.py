"""Hypothesis strategies and a pytest check for a service's own change modules.

``test_versions = datever.testing.verify("changes")`` in a test module checks
every version of the history against the head shapes (:class:`~datever.Schemas`):
valid head responses go down to valid old ones, valid old requests go up to
valid head ones, the compiled pipelines agree with the reference interpreter,
and lossless changes round trip. The strategies it draws from
(:func:`payloads`, :func:`head_payloads`, :func:`requests`) are public for
tests of one's own. Needs hypothesis: ``pip install 'datever[testing]'``.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import os
from collections.abc import Callable, Iterable, Mapping
from typing import TYPE_CHECKING, Any, NoReturn

import msgspec
import msgspec.inspect as mi

try:
    from hypothesis import HealthCheck, given, settings
    from hypothesis import strategies as st
except ImportError as exc:
    raise ImportError("datever.testing draws payloads with hypothesis, which is not "
                      "installed: pip install 'datever[testing]'") from exc

from datever.api import API
from datever.changes import Change, Direction
from datever.errors import MigrationError
from datever.interpreter import reference_run
from datever.schemas import Schemas
from datever.versions import Version

if TYPE_CHECKING:
    from hypothesis.strategies import SearchStrategy

__all__ = ["head_payloads", "payloads", "requests", "verify"]

#: how many resources deep a drawn payload nests before lists come out empty
MAX_DEPTH = 3
_INT64 = (-(2**63), 2**63 - 1)
_JSON_SCALARS = st.none() | st.booleans() | st.integers(*_INT64) | st.text(max_size=8)
_ANY_JSON = st.recursive(_JSON_SCALARS, lambda inner: st.lists(inner, max_size=3)
                         | st.dictionaries(st.text(max_size=8), inner, max_size=3),
                         max_leaves=6)


# -- strategies ---------------------------------------------------------------------


def payloads(schemas: Schemas, resource: str, *, version: Version | None = None,
             max_depth: int = MAX_DEPTH) -> SearchStrategy[dict[str, Any]]:
    """JSON objects valid against ``resource``'s Struct at the head, or at ``version``.

    Nested resources, expandable ids (``str | Customer``), enums, free-form
    maps and the Meta constraints of ints, floats and strings are followed;
    ``msgspec.convert(payload, struct)`` accepts every one drawn. ``"list"``
    names a list envelope (``{"object": "list", "data": [...]}``) of the
    response resources when the schemas declare none of their own.
    """
    types = _types(schemas, version)
    if resource not in types and resource == "list":
        items = [payloads(schemas, name, version=version, max_depth=max_depth - 1)
                 for name in _responses(schemas)]
        return st.fixed_dictionaries({schemas.discriminator: st.just("list"),
                                      "data": st.lists(st.one_of(items), max_size=3)})
    if resource not in types:
        raise KeyError(f"no resource {resource!r} in these schemas; they describe "
                       f"{', '.join(sorted(types))}")
    return _Drawer(max_depth).strategy(mi.type_info(types[resource]), max_depth)


def head_payloads(schemas: Schemas, *, max_depth: int = MAX_DEPTH
                  ) -> SearchStrategy[tuple[str, dict[str, Any]]]:
    """``(resource, payload)``: a valid head response of any response resource, list
    envelopes included."""
    names = sorted({*_responses(schemas), "list"})
    return st.one_of([st.tuples(st.just(name), payloads(schemas, name, max_depth=max_depth))
                      for name in names])


def requests(schemas: Schemas, resource: str, version: Version, *,
             max_depth: int = MAX_DEPTH) -> SearchStrategy[dict[str, Any]]:
    """Request bodies of ``resource`` as a client of ``version`` writes them: valid against
    that version's derived Struct (``schemas.at(version)[resource]``)."""
    if resource not in schemas.head or resource in _responses(schemas):
        raise KeyError(f"{resource!r} is not a request body of these schemas; they "
                       f"describe {', '.join(sorted(set(schemas.head) - _responses(schemas)))}")
    return payloads(schemas, resource, version=version, max_depth=max_depth)


def _types(schemas: Schemas, version: Version | None) -> Mapping[str, Any]:
    return schemas.head if version is None else schemas.at(version)


def _responses(schemas: Schemas) -> set[str]:
    """Response resources are tagged Structs; request bodies are untagged."""
    return {name for name, struct in schemas.head.items()
            if struct.__struct_config__.tag_field is not None}


class _Drawer:
    """Builds one strategy per (type, depth); depth falls by one inside each object, and
    at zero lists come out empty and unions leave their objects out, so recursive
    shapes (a charge listing refunds that expand their charge) stay finite."""

    def __init__(self, max_depth: int) -> None:
        self.floor = -max_depth - 8  # past it, the shape has no way to stop nesting
        self.memo: dict[tuple[int, int], tuple[mi.Type, SearchStrategy[Any]]] = {}

    def strategy(self, info: mi.Type, depth: int) -> SearchStrategy[Any]:
        found = self.memo.get((id(info), depth))
        if found is None:
            found = self.memo[(id(info), depth)] = (info, self._build(info, depth))
        return found[1]

    def _build(self, info: mi.Type, depth: int) -> SearchStrategy[Any]:
        if isinstance(info, mi.Metadata):
            return self.strategy(info.type, depth)
        if isinstance(info, mi.StructType | mi.TypedDictType | mi.DataclassType):
            return self._object(info, depth)
        if isinstance(info, mi.UnionType):
            options = list(info.types)
            if depth <= 0 and any(not _nests(option) for option in options):
                options = [option for option in options if not _nests(option)]
            return st.one_of([self.strategy(option, depth) for option in options])
        if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
            low = info.min_length or 0
            if depth <= 0 and not low:
                return st.just([])
            high = low if depth <= 0 else max(low, min(3, info.max_length or 3))
            return st.lists(self.strategy(info.item_type, depth), min_size=low, max_size=high,
                            unique=not isinstance(info, mi.ListType | mi.VarTupleType))
        if isinstance(info, mi.TupleType):
            return st.tuples(*(self.strategy(item, depth) for item in info.item_types)).map(list)
        if isinstance(info, mi.DictType):
            low = info.min_length or 0
            return st.dictionaries(self.strategy(info.key_type, depth),
                                   self.strategy(info.value_type, depth - 1), min_size=low,
                                   max_size=max(low, min(3, info.max_length or 3)))
        return _scalar(info)

    def _object(self, info: mi.StructType | mi.TypedDictType | mi.DataclassType,
                depth: int) -> SearchStrategy[dict[str, Any]]:
        if depth < self.floor:
            raise TypeError(f"{info.cls.__name__} cannot be drawn: it requires itself at "
                            "every depth (make one of its properties optional)")
        if isinstance(info, mi.StructType) and info.array_like:
            raise TypeError(f"{info.cls.__name__} is array_like; JSON objects only")
        required: dict[str, SearchStrategy[Any]] = {}
        if isinstance(info, mi.StructType) and info.tag_field is not None:
            required[info.tag_field] = st.just(info.tag)
        optional: dict[str, SearchStrategy[Any]] = {}
        for field in info.fields:
            kind = self.strategy(field.type, depth - 1)
            (required if field.required else optional)[field.encode_name] = kind
        return st.fixed_dictionaries(required, optional=optional)


def _nests(info: mi.Type) -> bool:
    """Whether drawing ``info`` goes into an object."""
    if isinstance(info, mi.Metadata):
        return _nests(info.type)
    if isinstance(info, mi.UnionType):
        return any(_nests(option) for option in info.types)
    if isinstance(info, mi.DictType):
        return _nests(info.value_type)
    if isinstance(info, mi.ListType | mi.VarTupleType | mi.SetType | mi.FrozenSetType):
        return bool(info.min_length) and _nests(info.item_type)
    return isinstance(info, mi.StructType | mi.TypedDictType | mi.DataclassType)


def _bounds(info: mi.IntType | mi.FloatType) -> tuple[Any, Any]:
    low = info.ge if info.ge is not None else info.gt
    high = info.le if info.le is not None else info.lt
    return low, high


def _scalar(info: mi.Type) -> SearchStrategy[Any]:
    if isinstance(info, mi.AnyType):
        return _ANY_JSON
    if isinstance(info, mi.NoneType):
        return st.none()
    if isinstance(info, mi.BoolType):
        return st.booleans()
    if isinstance(info, mi.LiteralType):
        return st.sampled_from(info.values)
    if isinstance(info, mi.EnumType):
        return st.sampled_from([member.value for member in info.cls])
    if isinstance(info, mi.IntType):
        low, high = _bounds(info)
        low = _INT64[0] if low is None else low + (info.gt is not None and info.ge is None)
        high = _INT64[1] if high is None else high - (info.lt is not None and info.le is None)
        step = info.multiple_of or 1
        return st.integers(-(-low // step), high // step).map(lambda n: n * step)
    if isinstance(info, mi.FloatType):
        low, high = _bounds(info)
        floats = st.floats(low, high, allow_nan=False, allow_infinity=False,
                           exclude_min=info.gt is not None and info.ge is None,
                           exclude_max=info.lt is not None and info.le is None)
        multiple = info.multiple_of
        return floats if multiple is None else floats.filter(lambda x: x % multiple == 0)
    if isinstance(info, mi.StrType):
        low, high = info.min_length or 0, info.max_length
        if info.pattern is None:
            return st.text(min_size=low, max_size=high if high is not None else 12)
        return st.from_regex(info.pattern).filter(
            lambda text: low <= len(text) <= (high if high is not None else len(text)))
    return _encoded(info)


def _encoded(info: mi.Type) -> SearchStrategy[Any]:
    """Types JSON holds as strings: drawn as values, written as msgspec encodes them."""
    encode: Callable[[Any], Any] = msgspec.to_builtins
    if isinstance(info, mi.DateTimeType):
        zones = st.none() if info.tz is False else st.just(dt.UTC)
        return st.datetimes(timezones=zones if info.tz is not None else st.none()
                            | st.just(dt.UTC)).map(encode)
    if isinstance(info, mi.DateType):
        return st.dates().map(encode)
    if isinstance(info, mi.TimeType):
        return st.times(timezones=st.none() if not info.tz else st.just(dt.UTC)).map(encode)
    if isinstance(info, mi.TimeDeltaType):
        return st.timedeltas().map(encode)
    if isinstance(info, mi.UUIDType):
        return st.uuids().map(encode)
    if isinstance(info, mi.DecimalType):
        return st.decimals(allow_nan=False, allow_infinity=False).map(encode)
    if isinstance(info, mi.BytesType | mi.ByteArrayType | mi.MemoryViewType):
        return st.binary(max_size=12).map(lambda raw: base64.b64encode(raw).decode())
    raise TypeError(f"datever.testing cannot draw JSON for {info!r}; give the property a "
                    "JSON type (str, int, float, bool, None, a Struct, a list, a dict)")


# -- the check ----------------------------------------------------------------------


def verify(api: API | str | os.PathLike[str] = "changes", *, schemas: Schemas | None = None,
           max_examples: int = 50, max_depth: int = MAX_DEPTH,
           versions: Iterable[str] | None = None,
           today: dt.date | None = None) -> Callable[[str], None]:
    """A pytest test, parametrised by version, of every change in ``api``'s history.

    >>> test_versions = verify("changes")                      # doctest: +SKIP

    ``api`` is an :class:`~datever.API` or its changes directory; ``schemas``
    are the head shapes (by default the directory's ``schemas.py``). For each
    version, on ``max_examples`` drawn payloads: down of a valid head
    response is valid at that version; up of a valid old request (a body
    whose shape is known there) is a valid head request; compiled and
    reference agree both ways; every lossless change gives back what it
    was given (``up(down(x)) == x``). A failure names the law, the version
    and the change, and hypothesis prints the shrunk payload. ``today``
    resolves dated names (by default the newest release, so no clock is read).
    ``versions`` limits the check to those names (by default every release,
    ``beta`` and ``X``, each once however many names resolve to it).
    """
    import pytest

    target = api if isinstance(api, API) else API(api, schemas=schemas)
    shapes = schemas if schemas is not None else target.schemas
    if shapes is None:
        raise ValueError("verify checks payloads against the head shapes: give schemas="
                         "Schemas(...) or write them in the changes directory's schemas.py")
    timeline = target.timeline
    day = today or timeline.newest or dt.date(2000, 1, 1)
    names, seen = [], set()
    for name in versions if versions is not None else (*timeline.versions, "beta", "X"):
        pending = tuple(change.id for change in timeline.resolve(name, today=day).pending)
        if pending and pending not in seen:
            seen.add(pending)
            names.append(name)
    checks = settings(max_examples=max_examples, deadline=None,
                      suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                                             HealthCheck.filter_too_much])

    @pytest.mark.parametrize("version", names)
    def test_versions(version: str) -> None:
        """Every law of datever's changes holds at ``version``."""
        _Laws(target, shapes, timeline.resolve(version, today=day)).run(checks, max_depth)

    return test_versions


class _Laws:
    """The laws at one version, each a hypothesis test of its own."""

    def __init__(self, api: API, schemas: Schemas, version: Version) -> None:
        self.engine = api.engine
        self.schemas = schemas
        self.version = version
        self.discriminator = schemas.discriminator
        self.known = [name for name in sorted(set(schemas.head) - _responses(schemas))
                      if name not in schemas.at(version).unknown]

    def run(self, checks: settings, max_depth: int) -> None:
        label = "".join(char if char.isalnum() else "_" for char in self.version.name)

        def down(case: tuple[str, dict[str, Any]]) -> None:
            self.down(*case)

        # named before hypothesis wraps it: its report shows the name
        down.__name__ = down.__qualname__ = f"down_to_{label}"
        checks(given(case=head_payloads(self.schemas, max_depth=max_depth))(down))()
        if not self.known:
            return
        bodies = st.one_of([st.tuples(st.just(name), requests(self.schemas, name, self.version,
                                                              max_depth=max_depth))
                            for name in self.known])

        def up(case: tuple[str, dict[str, Any]]) -> None:
            self.up(*case)

        up.__name__ = up.__qualname__ = f"up_from_{label}"
        checks(given(case=bodies)(up))()

    def down(self, resource: str, payload: dict[str, Any]) -> None:
        """Down to a valid old response; compiled equals reference; lossless round trips."""
        changes = tuple(reversed(self.version.pending))
        states = self._reference(payload, changes, "down", None)
        self._compiled(lambda: self.engine.down(payload, self.version), states[-1], "down")
        self._valid(states, changes, resource, "down")
        for index, change in enumerate(changes):
            if change.lossless:
                back = self._run(states[index + 1], change, "up", None)
                if back != states[index]:
                    self._fail("round trip: up(down(x)) == x for a lossless change", change,
                               f"x = {states[index]!r}\ngot {back!r}")

    def up(self, resource: str, body: dict[str, Any]) -> None:
        """Up to a valid head request; compiled equals reference."""
        changes = self.version.pending
        states = self._reference(body, changes, "up", resource)
        self._compiled(lambda: self.engine.up(body, self.version, resource=resource),
                       states[-1], "up")
        self._valid(states, changes, resource, "up")

    def _reference(self, payload: Any, changes: Iterable[Change], direction: Direction,
                   resource: str | None) -> list[Any]:
        states = [payload]
        for change in changes:
            states.append(self._run(states[-1], change, direction, resource))
        return states

    def _run(self, payload: Any, change: Change, direction: Direction,
             resource: str | None) -> Any:
        try:
            return reference_run(payload, (change,), direction, resource=resource,
                                 discriminator=self.discriminator)
        except MigrationError as exc:
            return self._fail(f"{direction} of a valid payload migrates", change, str(exc))

    def _compiled(self, run: Callable[[], Any], expected: Any, direction: str) -> None:
        try:
            got = run()
        except MigrationError as exc:  # pragma: no cover - compiled and reference disagree
            self._fail(f"compiled {direction} migrates what the reference migrates",
                       exc.change, str(exc))
        if got != expected:  # pragma: no cover - compiled and reference disagree
            self._fail(f"compiled equals reference ({direction})", None,
                       f"compiled {got!r}\nreference {expected!r}")

    def _valid(self, states: list[Any], changes: tuple[Change, ...], resource: str,
               direction: str) -> None:
        """The result fits the version's shape; if not, blame the first change whose
        output does not fit the shape just past it."""
        pending = self.version.pending
        law, undone = (("up of a valid old request is valid at the head", ())
                       if direction == "up" else
                       ("down of a valid head payload is valid at the old version", pending))
        if self._problem(states[-1], resource, undone) is None:
            return
        for index, change in enumerate(changes):
            # down undoes the newest changes first; up redoes the oldest first
            undone = (pending[len(pending) - index - 1:] if direction == "down"
                      else pending[index + 1:])
            problem = self._problem(states[index + 1], resource, undone)
            if problem is not None:
                self._fail(law, change,
                           f"{problem}\nin {states[index + 1]!r}")
        raise AssertionError("unreachable: the last state failed")  # pragma: no cover

    def _problem(self, payload: Any, resource: str,
                 pending: tuple[Change, ...]) -> str | None:
        """Why ``payload`` does not fit the shapes with ``pending`` changes undone."""
        shapes: Mapping[str, Any] = (self.schemas.at(dataclasses.replace(
            self.version, name=f"{self.version.name} ({len(pending)} pending)",
            pending=pending)) if pending else self.schemas.head)
        try:
            if resource in shapes:
                msgspec.convert(payload, shapes[resource])
            else:  # a list envelope the schemas leave undeclared: each item by its own
                for item in payload["data"]:
                    msgspec.convert(item, shapes[item[self.discriminator]])
        except msgspec.ValidationError as exc:
            return f"{exc} (resource {resource!r})"
        return None

    def _fail(self, law: str, change: Change | str | None, detail: str) -> NoReturn:
        name = change.id if isinstance(change, Change) else change
        blame = f", change {name}" if name else ""
        raise AssertionError(f"law broken: {law} (version {self.version.name}{blame})\n"
                             f"{detail}")
