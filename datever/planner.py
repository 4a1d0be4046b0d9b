"""The planner: a resource's steps fused into a shorter, typed plan for the code generator.

Between opaque steps (custom calls, computed fills, nested moves), the planner
runs the steps symbolically: for every property name it keeps an expression
of where its final value comes from. A rename chain collapses to one entry, a
fill that a later drop discards disappears, value maps stack up. The result is
one :class:`Rebuild` for all renames and drops, then a short step per
property that still needs a value transform or a default.

Fusion assumes *well-formed* payloads: a head-shaped response carries no
property that only older versions have. Only down pipelines are fused that
way; up pipelines (requests, written by clients) run their steps as declared.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Literal

from datever.changes import Change
from datever.operations import Collapse, Convert, Drop, Fill, MapValues, Move, Step

__all__ = ["Cancelled", "FusedStep", "How", "Rebuild", "RebuildForm", "fuse", "plan"]

#: How the planner arrived at a step: ``declared`` as one change wrote it (on the
#: property's final name), ``merged`` renames and drops of one or more changes in one
#: :class:`Rebuild`, ``composed`` value maps of several steps in one table,
#: ``fill_absent`` a fill of a property known to be absent there, so it needs no check.
How = Literal["declared", "merged", "composed", "fill_absent"]

#: The code a :class:`Rebuild` becomes: ``statements`` (a pop per drop, a move per
#: rename), ``filter`` (one comprehension that filters the drops out, then the renames as
#: statements) or ``rebuild`` (one comprehension that renames and drops at once).
RebuildForm = Literal["statements", "filter", "rebuild"]

# Up to _RENAMES independent renames run as statements rather than one dict rebuild
# (measured on the synthetic benchmark: objects of 20-40 properties), and up to
# _POPS drops as pops rather than one filtering comprehension.
_RENAMES = 16
_POPS = 12


@dataclass(frozen=True)
class Rebuild(Step):
    """Rename and drop many top-level properties at once, keeping their order.

    ``form`` is the code it compiles to; ``apply`` means the same whatever it is.
    """

    renames: dict[str, str]
    drops: frozenset[str]
    form: RebuildForm = "rebuild"

    def apply(self, obj: dict[str, Any]) -> dict[str, Any]:
        return {self.renames.get(k, k): v for k, v in obj.items() if k not in self.drops}

    def keys(self) -> frozenset[str]:
        return frozenset(self.renames) | frozenset(self.renames.values()) | self.drops


def _rebuild_form(renames: dict[str, str], drops: frozenset[str]) -> RebuildForm:
    """Statements while they are few and independent (most drops find nothing to drop)."""
    chained = set(renames) & (set(renames.values()) | drops)
    if len(renames) > _RENAMES or chained:
        return "rebuild"
    return "statements" if len(drops) <= _POPS else "filter"


@dataclass(frozen=True, slots=True)
class FusedStep:
    """A step of the plan and the changes it stands for (several when fused)."""

    step: Step
    origins: tuple[Change, ...]
    how: How = "declared"

    @property
    def fused(self) -> bool:
        """True when the step stands for several changes or merges several edits."""
        if isinstance(self.step, Rebuild):
            edits = len(self.step.renames) + len(self.step.drops)
            return len(self.origins) > 1 or edits > 1
        return len(self.origins) > 1 or self.how == "composed"


@dataclass(frozen=True, slots=True)
class Cancelled:
    """A value that ``set_by`` gives ``key`` and ``dropped_by`` drops: never computed."""

    key: str
    set_by: tuple[Change, ...]
    dropped_by: Change


# -- the symbolic state: where a property's final value comes from -------------


@dataclass(frozen=True, slots=True)
class _Input:
    """The input property ``name``, renamed on its way by ``moved_by``."""

    name: str
    moved_by: tuple[Change, ...] = ()


@dataclass(frozen=True, slots=True)
class _Gone:
    """Known absent: moved away or dropped."""


@dataclass(frozen=True, slots=True)
class _Default:
    """A fill of a property known to be absent: its default, set unconditionally."""

    fill: Fill
    change: Change


@dataclass(frozen=True, slots=True)
class _FillIfAbsent:
    """``inner`` if present, else the fill's default."""

    inner: _Expr
    fill: Fill
    change: Change


@dataclass(frozen=True, slots=True)
class _Mapped:
    """``inner`` passed through a value step (MapValues, Convert, Collapse)."""

    inner: _Expr
    step: Step
    change: Change


_Expr = _Input | _Gone | _Default | _FillIfAbsent | _Mapped
_GONE = _Gone()


def _base(expr: _Expr) -> str | None:
    """The input property ``expr``'s value starts from, if any."""
    while isinstance(expr, _FillIfAbsent | _Mapped):
        expr = expr.inner
    return expr.name if isinstance(expr, _Input) else None


def _origins(expr: _Expr) -> list[Change]:
    """The changes that shaped ``expr``, in application order."""
    if isinstance(expr, _Input):
        return list(expr.moved_by)
    if isinstance(expr, _Default):
        return [expr.change]
    if isinstance(expr, _FillIfAbsent | _Mapped):
        return [*_origins(expr.inner), expr.change]
    return []


def _simple(step: Step) -> bool:
    """True for the steps the planner runs symbolically."""
    if type(step) is Move:
        return len(step.src) == 1 and len(step.dst) == 1
    if type(step) is Fill:
        return step.compute is None
    return type(step) in (Drop, MapValues, Convert, Collapse)


def plan(steps: Sequence[tuple[Step, Change]]) -> tuple[list[FusedStep], list[Cancelled]]:
    """Fuse a run of simple steps; returns (steps to run, values cancelled)."""
    state: dict[str, _Expr] = {}
    cancelled: list[Cancelled] = []
    moves: dict[str, list[Change]] = {}
    consumed: set[str] = set()  # input properties moved or dropped from where they were

    def origin(name: str) -> _Expr:
        return state.get(name) or _Input(name)

    for step, change in steps:
        if type(step) is Move:
            src, dst = step.src[0], step.dst[0]
            expr = origin(src)
            if isinstance(expr, _Gone):
                continue  # moving an absent property does nothing
            base = _base(expr)
            if base is not None:
                consumed.add(base)
            if isinstance(expr, _Input):
                expr = _Input(expr.name, (*expr.moved_by, change))
            state[dst], state[src] = expr, _GONE
        elif type(step) is Drop:
            expr = origin(step.key)
            if not isinstance(expr, _Gone):
                base = _base(expr)
                if base is not None:
                    consumed.add(base)
                    moves.setdefault(base, []).extend([*_origins(expr), change])
                if not isinstance(expr, _Input):
                    cancelled.append(Cancelled(step.key, tuple(_origins(expr)), change))
            state[step.key] = _GONE
        elif type(step) is Fill:
            expr = origin(step.key)
            state[step.key] = (_Default(step, change) if isinstance(expr, _Gone)
                               else _FillIfAbsent(expr, step, change))
        else:
            (key,) = step.keys()
            expr = origin(key)
            if not isinstance(expr, _Gone):
                state[key] = _Mapped(expr, step, change)

    renames: dict[str, str] = {}
    kept: set[str] = set()
    for name, expr in state.items():
        base = _base(expr)
        if base is not None:
            kept.add(base)
            if base != name:
                renames[base] = name
                moves.setdefault(base, []).extend(
                    expr.moved_by if isinstance(expr, _Input) else ())
    drops = frozenset(consumed - kept)
    out: list[FusedStep] = []
    if renames or drops:
        changes = tuple(dict.fromkeys(c for base in sorted(renames.keys() | drops)
                                      for c in moves.get(base, [])))
        rebuild = Rebuild(renames, drops, _rebuild_form(renames, drops))
        out.append(FusedStep(rebuild, changes, "merged"))
    for name, expr in state.items():
        out.extend(_value_steps(name, expr))
    return out, cancelled


def _value_steps(name: str, expr: _Expr) -> list[FusedStep]:
    """The steps that give ``name`` its value once the rebuild has renamed it."""
    if isinstance(expr, _Input | _Gone):
        return []
    if isinstance(expr, _Default):
        return [FusedStep(Fill(name, expr.fill.default), (expr.change,), "fill_absent")]
    inner = _value_steps(name, expr.inner)
    if isinstance(expr, _FillIfAbsent):
        return [*inner, FusedStep(Fill(name, expr.fill.default), (expr.change,))]
    step = expr.step
    renamed: Step
    if type(step) is MapValues:
        renamed = dataclasses.replace(step, key=name)
        first = inner[-1].step if inner else None
        # a dict cannot hold both True and 1 (or 1.0), which JSON tells apart: tables
        # with keys other than strings are looked up one after the other
        if isinstance(first, MapValues) and first.typed is None and renamed.typed is None:
            previous = inner.pop()
            table = dict(step.table)
            table.update({old: renamed.apply({name: new})[name]
                          for old, new in first.table.items()})
            return [*inner, FusedStep(MapValues(name, table),
                                      (*previous.origins, expr.change), "composed")]
    elif type(step) is Convert:
        renamed = Convert(name, step.fn)
    else:
        renamed = Collapse(name)
    return [*inner, FusedStep(renamed, (expr.change,))]


def fuse(steps: Sequence[tuple[Step, Change]], *, planned: bool = True,
         ) -> tuple[list[FusedStep], list[Cancelled]]:
    """Fuse a resource's steps: simple runs are planned, opaque steps kept in place.

    With ``planned=False`` every step is kept as it is: exact on any input,
    which is what request bodies (written by clients) need.
    """
    if not planned:
        return [FusedStep(step, (change,)) for step, change in steps], []
    out: list[FusedStep] = []
    cancelled: list[Cancelled] = []
    run: list[tuple[Step, Change]] = []
    run_keys: set[str] = set()

    def flush() -> None:
        steps, dropped = plan(run)
        out.extend(steps)
        cancelled.extend(dropped)
        run.clear()
        run_keys.clear()

    for step, change in steps:
        if _simple(step):
            run.append((step, change))
            run_keys.update(step.keys())
            continue
        keys = step.keys()
        if run and (step.barrier or not keys or keys & run_keys):
            flush()
        # otherwise it commutes with the whole pending run: it runs first, planning goes on
        out.append(FusedStep(step, (change,)))
    if run:
        flush()
    return out, cancelled
